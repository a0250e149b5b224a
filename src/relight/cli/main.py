"""``relight``: the command-line shell over the engine.

Commands follow Terraform's: validate, plan, apply, destroy, output, state, force-unlock, graph,
version. Heavy modules are imported inside each command so ``relight version`` starts fast.
Exit codes: 0 success, 1 error, 2 (with ``-detailed-exitcode``) a plan with changes.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence

from relight import __version__
from relight.cli import image_args, rehearse_args, server_cmds
from relight.cli.args import normalize_argv

__all__ = ["main"]

_EPILOG = """\
Flags may be written as Terraform writes them (-auto-approve, -var 'k=v', -out=FILE)
or with two dashes (--auto-approve). Run 'relight COMMAND -h' for a command's flags.

Quick start:
  relight init                      check the configuration in this directory
  relight plan                      show what would change
  relight apply                     make it so (asks for 'yes' first)
"""


def _common_vars(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        dest="vars",
        type=lambda v: ("var", v),
        help="set a variable (repeatable)",
    )
    p.add_argument(
        "--var-file",
        action="append",
        default=[],
        metavar="FILE",
        dest="vars",
        type=lambda v: ("var-file", v),
        help="read variables from a .tfvars file",
    )


def _common_lock(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lock",
        default="true",
        choices=["true", "false"],
        help="hold the state lock while working (default true)",
    )
    p.add_argument(
        "--lock-timeout",
        default="0s",
        metavar="DURATION",
        help="how long to wait for the lock, e.g. 30s (default 0s)",
    )


def _plan_flags(p: argparse.ArgumentParser) -> None:
    _common_vars(p)
    _common_lock(p)
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="ADDR",
        help="limit to ADDR and what it depends on (repeatable)",
    )
    p.add_argument(
        "--replace",
        action="append",
        default=[],
        metavar="ADDR",
        help="force replacement of ADDR (repeatable)",
    )
    p.add_argument(
        "--refresh",
        default="true",
        choices=["true", "false"],
        help="read real objects before planning (default true)",
    )
    p.add_argument("--refresh-only", action="store_true", help="only update state to match the real objects")
    p.add_argument(
        "--parallelism",
        type=int,
        default=10,
        metavar="N",
        help="at most N concurrent operations (default 10)",
    )
    p.add_argument("--no-color", action="store_true", help="plain text output")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--input", default="false", help=argparse.SUPPRESS)
    p.add_argument("--compact-warnings", action="store_true", help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relight",
        description="relight: immutable infrastructure with durable data, in Terraform's language.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--chdir", metavar="DIR", help="work in DIR (its configuration, state and relative paths)")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_basic, _add_plan_apply, _add_outputs_and_state, _add_heal, _add_import, _add_local_cloud,
                image_args.add_parsers, rehearse_args.add_parser, server_cmds.add_parsers):
        add(sub)
    return parser


def _add_basic(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub.add_parser("version", help="print the version")
    sub.add_parser("init", help="check the working directory is ready (no downloads needed)")
    v = sub.add_parser("validate", help="check the configuration without touching state")
    v.add_argument("--json", action="store_true", help="machine-readable diagnostics")
    v.add_argument("--no-color", action="store_true")
    f = sub.add_parser("force-unlock", help="remove a stuck state lock by its ID")
    f.add_argument("lock_id")
    f.add_argument("--force", action="store_true", help="do not ask for confirmation")
    g = sub.add_parser("graph", help="print the dependency graph (DOT)")
    g.add_argument("--type", default="plan", help=argparse.SUPPRESS)


def _add_plan_apply(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "plan",
        help="show what apply would change",
        description="Refresh, then compare the configuration with the state and "
        "show the actions needed. Nothing is changed.",
    )
    _plan_flags(p)
    p.add_argument("--destroy", action="store_true", help="plan to destroy everything")
    p.add_argument("--out", metavar="FILE", help="save the plan to FILE for 'relight apply FILE'")
    p.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when there are no changes, 1 on error, 2 when there are changes",
    )
    a = sub.add_parser(
        "apply",
        help="make the changes (asks first unless -auto-approve)",
        description="Plan and apply, or apply a saved plan file exactly. The first Ctrl-C stops "
        "after the operations in flight finish (everything finished is recorded); a second stops at once.",
        epilog="Examples:\n  relight apply\n  relight plan -out=fix.plan && relight apply fix.plan\n"
        "  relight apply -auto-approve -replace=aws_instance.ghe_node      # recycle the node\n"
        "  relight apply -var snapshot_id=snap-0abc                       # restore the data volume",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _plan_flags(a)
    a.add_argument("--auto-approve", action="store_true", help="skip the 'yes' prompt")
    a.add_argument("--destroy", action="store_true", help="destroy everything")
    a.add_argument("planfile", nargs="?", help="a plan saved with 'relight plan -out=FILE'")
    d = sub.add_parser("destroy", help="destroy everything relight manages here")
    _plan_flags(d)
    d.add_argument("--auto-approve", action="store_true", help="skip the 'yes' prompt")


def _add_outputs_and_state(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    o = sub.add_parser("output", help="show output values from the state")
    o.add_argument("name", nargs="?")
    o.add_argument("--json", action="store_true")
    o.add_argument("--raw", action="store_true", help="print a string value without quotes")
    o.add_argument("--no-color", action="store_true")
    s = sub.add_parser("state", help="inspect and change the state")
    ssub = s.add_subparsers(dest="state_command", metavar="SUBCOMMAND")
    ssub.add_parser("list", help="list resource instances").add_argument("addresses", nargs="*")
    ssub.add_parser("show", help="show one instance's attributes").add_argument("address")
    rm = ssub.add_parser("rm", help="forget instances without destroying them")
    rm.add_argument("addresses", nargs="+")
    _common_lock(rm)
    mv = ssub.add_parser("mv", help="rename an instance in state (with its deposed objects)")
    mv.add_argument("source")
    mv.add_argument("destination")
    _common_lock(mv)
    pull = ssub.add_parser(
        "pull",
        help="print the state as JSON",
        description="Print the state. -format=terraform prints it as a Terraform state (format 4), "
        "for handing the stack back: terraform state push FILE.",
    )
    pull.add_argument("--format", choices=["relight", "terraform"], default="relight", help="default relight")
    push = ssub.add_parser(
        "push",
        help="replace the state with a file's content (relight's or Terraform's)",
        description="Replace the state with FILE: a relight state, or a Terraform state (format 4) to adopt "
        "a stack Terraform manages. -from-backend reads the Terraform state of the configuration's "
        'backend "s3" block instead (read only). Lineage is kept and the serial continues.',
        epilog="Examples:\n  relight state push terraform.tfstate\n  relight state push -from-backend",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    push.add_argument("path", nargs="?", metavar="FILE")
    push.add_argument("--from-backend", action="store_true", help='read the backend "s3" block\'s state')
    push.add_argument("--force", action="store_true", help="allow another lineage or a lower serial")
    _common_lock(push)
    ssub.add_parser("history", help="list stored versions of the state")


def _add_heal(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    heal_help = (
        "Each pass refreshes and plans. A plan that only re-creates vanished objects and re-wires "
        "what used them is a recovery: applied by itself when the policy's mode is auto, then "
        "verified. Drift and any other change are reported for a person. Policy: "
        'relight { heal { mode = "auto" | "notify" | "off", revert_drift, max_recoveries_per_hour, '
        "notify { slack, webhook } } }. Incidents are kept beside the state (relight incidents)."
    )
    h = sub.add_parser(
        "heal",
        help="run one heal pass: detect vanished objects and recover them if the policy allows",
        description="Run one heal pass now. " + heal_help,
        epilog="Exit status: 0 nothing to do or recovered, 2 needs a person, 1 failed or skipped.",
    )
    w = sub.add_parser(
        "watch",
        help="run heal passes until stopped (Ctrl-C or SIGTERM finish the current pass)",
        description="Run heal passes every --interval until stopped. " + heal_help,
        epilog="--mode off checks nothing. A pass that finds what the previous one found stays quiet; "
        "after failed recoveries or passes that cannot reach the cloud, the wait between passes "
        "doubles (at most 10 minutes). Example: relight watch --interval 30s --mode auto",
    )
    w.add_argument("--interval", default="30s", metavar="DURATION", help="time between passes (default 30s)")
    for parser_ in (h, w):
        parser_.add_argument(
            "--mode", choices=["auto", "notify", "off"], help="override the policy's mode for this run"
        )
        _common_vars(parser_)
    inc = sub.add_parser(
        "incidents",
        help="list recorded incidents (what vanished, when, how it ended)",
        description="List the incidents the heal loop recorded, oldest first, from "
        "<state file>.incidents.jsonl beside the state: what vanished or drifted, when it was "
        "detected, what was planned and done, the outcome and the time to recover.",
    )
    inc.add_argument("--json", action="store_true", help="machine-readable output")


def _add_import(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    im = sub.add_parser(
        "import",
        help="bring an existing object under relight's management",
        description="Find an existing object by its cloud id and record it in the state at ADDR. "
        "ADDR must have a resource block in the configuration. Nothing in the cloud changes; run "
        "'relight plan' afterwards to see how the configuration and the object differ.",
        epilog="Example:\n  relight import aws_instance.ghe_node i-0abc123def456\n"
        "  relight import aws_volume_attachment.data /dev/xvdf:vol-0abc:i-0def",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    im.add_argument("address", metavar="ADDR", help="the resource address in the configuration, e.g. aws_instance.node")
    im.add_argument("id", metavar="ID", help="the object's id in the cloud, e.g. i-0abc123 (see each type's docs)")
    _common_vars(im)
    _common_lock(im)
    im.add_argument("--no-color", action="store_true", help="plain text output")
    im.add_argument("--input", default="false", help=argparse.SUPPRESS)


def _add_local_cloud(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lc = sub.add_parser(
        "local-cloud",
        help="run the embedded local cloud (an AWS API emulator) in the foreground",
        description=(
            "Run an AWS API emulator on this machine, so relight (and any AWS tool) can work with no "
            "account. Prints the environment variables to export in another shell; stops cleanly on "
            "Ctrl-C. Volumes hold bytes and instances run in sandboxes where the machine allows it "
            "(see docs/local-cloud.md); objects are kept across restarts with --data-dir."
        ),
        epilog="Example:\n  relight local-cloud --port 4566 --data-dir ~/.relight-cloud --latency 50ms\n"
        "  # in another shell: paste the export lines, then\n"
        "  relight -chdir=examples/github-enterprise apply",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lc.add_argument(
        "--port", type=int, default=4566, metavar="N", help="port to listen on (default 4566; 0 = any free port)"
    )
    lc.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    lc.add_argument(
        "--data-dir",
        metavar="DIR",
        help="keep the cloud's objects and their bytes (volumes, snapshots, images, instances) in DIR "
        "across restarts (default: a temporary directory, removed on exit)",
    )
    lc.add_argument(
        "--latency",
        default="0s",
        metavar="DURATION",
        help="add this much time to every API call, e.g. 50ms, to rehearse a real cloud's timing (default 0s)",
    )


# A run holds one large, long-lived object graph (the parsed configuration, the state, the plan)
# and makes few reference cycles. With the default thresholds the cycle collector scans that
# graph again and again as it grows, which made big runs superlinear; collecting less often
# keeps them linear and still collects (this process's policy: the CLI is the shell).
_GC_THRESHOLDS = (200_000, 100, 100)


def main(argv: Sequence[str] | None = None) -> int:
    gc.set_threshold(*_GC_THRESHOLDS)
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(normalize_argv(args_in))
    if args.version or args.command == "version":
        print(f"relight v{__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    if args.chdir and not os.path.isdir(args.chdir):
        print(f"Error: cannot use directory {args.chdir!r}: it does not exist or is not a directory", file=sys.stderr)
        return 1
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print("\nInterrupted. Everything that finished was recorded in the state.", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    # Command modules are imported here, not at the top, so that `relight version` and
    # `relight -h` start without loading the engine (a test holds this).
    if args.command == "local-cloud":
        from relight.cli.localcloud_cmd import run_local_cloud

        return run_local_cloud(args.host, args.port, args.data_dir, args.latency)
    if args.command in ("serve", "server", "worker"):
        return server_cmds.run(args)
    if args.command in ("heal", "watch", "incidents"):
        from relight.cli import heal_cmds

        return {"heal": heal_cmds.cmd_heal, "watch": heal_cmds.cmd_watch, "incidents": heal_cmds.cmd_incidents}[
            args.command
        ](args)
    if args.command == "rehearse":
        from relight.cli.rehearse_cmd import cmd_rehearse

        return cmd_rehearse(args)
    if args.command == "image":
        from relight.cli.image_cmds import cmd_image

        return cmd_image(args)
    if args.command == "state":
        from relight.cli.state_cmds import cmd_state

        return cmd_state(args)
    from relight.cli.commands import COMMANDS

    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
