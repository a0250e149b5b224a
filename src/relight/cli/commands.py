"""The core commands: init, validate, plan, apply, destroy, output, graph, import, force-unlock.

Each is argparse -> RunRequest -> Runner -> view, and returns an exit code: 0 success, 1 error,
2 (``plan -detailed-exitcode``) a plan with changes. User mistakes are diagnostics, printed by
the view; nothing here reaches into the engine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType

from relight.cli.context import directory_of, lock_timeout, plan_flags, run_context, var_inputs
from relight.cli.views import ProgressView, Terminal, print_diagnostics, print_json, print_outputs
from relight.diagnostics import Diagnostic, Diagnostics
from relight.runs import (
    Approval,
    Operation,
    Plan,
    RunContext,
    Runner,
    RunRequest,
    RunResult,
    RunStatus,
    VarInput,
    parse_addresses,
    plan_to_json,
    render_value,
)
from relight.values import type_of

__all__ = ["COMMANDS", "execute", "fail"]


def fail(message: str, detail: str = "") -> int:
    """Print one error the way diagnostics are printed; exit code 1."""
    print_diagnostics([Diagnostic.error(message, detail)], {}, sys.stderr.isatty())
    return 1


def execute(request: RunRequest, context: RunContext, view: ProgressView, interruptible: bool = False) -> RunResult:
    """Run ``request``; the view prints progress and diagnostics as they come."""
    with _graceful_interrupt(context) if interruptible else contextlib.nullcontext():
        result = Runner().execute(request, context, view)
    view.close()
    return result


@contextlib.contextmanager
def _graceful_interrupt(context: RunContext) -> Iterator[None]:
    """The first Ctrl-C stops the run between actions (calls in flight finish and are recorded);
    a second one stops at once."""

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        if context.cancel.is_set():
            raise KeyboardInterrupt
        print("\nInterrupt received. Stopping after the operations in flight finish...", file=sys.stderr)
        context.cancel.set()

    try:
        previous = signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # not the main thread (tests drive the CLI from threads)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _view(args: argparse.Namespace, **options: bool) -> ProgressView:
    json_mode = bool(getattr(args, "json", False))
    out = sys.stderr if json_mode else sys.stdout
    return ProgressView(Terminal(getattr(args, "no_color", False)), directory_of(args), out, **options)


# -- commands -----------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    result = execute(RunRequest(Operation.INIT), run_context(args), _view(args))
    if not result.ok:
        return 1
    print("relight has been successfully initialized! Providers are built in; nothing to download.")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    view = _view(args, show_diagnostics=not args.json)
    result = execute(RunRequest(Operation.VALIDATE), run_context(args), view)
    if args.json:
        diags = result.diagnostics
        print_json(
            {
                "valid": not diags.has_errors,
                "error_count": len(diags.errors),
                "diagnostics": [d.to_json() for d in diags],
            }
        )
        return 1 if diags.has_errors else 0
    if not result.ok:
        return 1
    print("Success! The configuration is valid.")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    flags = plan_flags(args, bool(args.destroy))
    if flags.diags.has_errors:
        print_diagnostics(flags.diags, {}, Terminal(args.no_color).err_color)
        return 1
    request = flags.request(Operation.PLAN, save_plan=bool(args.out))
    context = run_context(args)
    result = execute(request, context, _view(args, show_plan=not args.json))
    if not result.ok or result.plan is None:
        return 1
    if args.json:
        print_json(plan_to_json(result.plan))
    if args.out and result.plan_file is not None:
        _write_atomically(context.path(args.out), result.plan_file)
        if not args.json:
            print(
                f"\nSaved the plan to: {args.out}\n\nTo perform exactly these actions, run:\n"
                f"    relight apply {args.out}"
            )
    elif not args.json and result.plan.has_changes:
        print(
            "\nNote: You didn't use the -out option to save this plan, so relight can't "
            'guarantee to take exactly these actions if you run "relight apply" now.'
        )
    return 2 if args.detailed_exitcode and result.plan.has_changes else 0


def cmd_apply(args: argparse.Namespace, destroy: bool = False) -> int:
    destroy = destroy or bool(getattr(args, "destroy", False))
    flags = plan_flags(args, destroy)
    context = run_context(args, approve=None if args.auto_approve else _confirmer(destroy))
    if getattr(args, "planfile", None):
        saved = _saved_plan_request(args, flags.variables, context)
        if isinstance(saved, int):
            return saved
        request = saved
    else:
        if flags.diags.has_errors:
            print_diagnostics(flags.diags, {}, Terminal(args.no_color).err_color)
            return 1
        request = flags.request(Operation.APPLY, approval=Approval.AUTO if args.auto_approve else Approval.ASK)
    result = execute(request, context, _view(args, show_plan=not args.json), interruptible=True)
    if args.json and result.plan is not None and request.plan_file is None:
        print_json(plan_to_json(result.plan))
    return _after_apply(result, destroy)


def _saved_plan_request(
    args: argparse.Namespace, variables: tuple[VarInput, ...], context: RunContext
) -> RunRequest | int:
    """The request applying ``args.planfile``, or an exit code after printing why not."""
    if variables:
        return fail(
            "Can't set variables when applying a saved plan",
            "The -var and -var-file options cannot be used when applying a saved plan file, because a "
            "saved plan includes the variable values that were set when it was created.",
        )
    try:
        with open(context.path(args.planfile), "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return fail("Failed to load the saved plan", f"{args.planfile}: no such plan file")
    except OSError as exc:
        return fail("Failed to load the saved plan", f"{args.planfile}: {exc.strerror}")
    diags = Diagnostics()
    timeout = lock_timeout(args, diags)
    return RunRequest(
        Operation.APPLY,
        plan_file=data,
        source=args.planfile,
        parallelism=max(1, args.parallelism),
        lock=args.lock != "false",
        lock_timeout=timeout,
    )


def _after_apply(result: RunResult, destroy: bool) -> int:
    if result.status is RunStatus.DISCARDED:
        print("\nApply cancelled.")
        return 1
    if result.status is RunStatus.CANCELED:
        print("\nApply canceled: see above for what was not started. Everything that finished is recorded.")
        return 1
    if result.status is RunStatus.ERRORED:
        if result.plan is not None and result.plan.has_changes:
            print(
                "\nApply failed: some actions did not complete (see the errors above). What did "
                "complete is recorded in the state; run apply again after fixing the cause.",
                file=sys.stderr,
            )
        return 1
    if result.status is RunStatus.APPLIED and result.plan is not None:
        add, change, gone = result.plan.counts()
        imported = result.plan.import_count()
        if destroy:
            print(f"\nDestroy complete! Resources: {gone} destroyed.")
        else:
            head = f"{imported} imported, " if imported else ""
            print(f"\nApply complete! Resources: {head}{add} added, {change} changed, {gone} destroyed.")
        t = result.timings
        if t.cloud > 0:
            print(f"Took {t.wall:.1f}s: {t.cloud:.1f}s waiting on the cloud API, {t.relight:.1f}s in relight.")
    print_outputs(result.outputs)
    return 0


def _confirmer(destroy: bool) -> Callable[[Plan], bool]:
    def confirm(plan: Plan) -> bool:
        what = "destroy all remote objects managed by relight here" if destroy else "perform these actions"
        print(
            f"\nDo you want to {what}?\n  relight will perform the actions described above.\n"
            "  Only 'yes' will be accepted to approve.\n"
        )
        return _ask("  Enter a value: ") == "yes"

    return confirm


def _ask(prompt: str) -> str:
    try:
        return input(prompt).strip()
    except EOFError:
        return ""


def cmd_destroy(args: argparse.Namespace) -> int:
    args.planfile = None
    return cmd_apply(args, destroy=True)


def cmd_output(args: argparse.Namespace) -> int:
    result = execute(RunRequest(Operation.OUTPUT), run_context(args), _view(args))
    if not result.ok:
        return 1
    outputs = result.outputs
    if args.name:
        if args.name not in outputs:
            return fail(
                f'Output "{args.name}" not found',
                "The output variable requested could not be found in the state. "
                "Run 'relight apply' first, or check the name with 'relight output'.",
            )
        value = outputs[args.name].value
        if args.json:
            print(json.dumps(value))
        elif args.raw and isinstance(value, str | int | float | bool):
            print(value if not isinstance(value, bool) else str(value).lower(), end="")
        else:
            print(render_value(value))
        return 0
    if args.json:
        print_json(
            {
                n: {
                    "sensitive": o.sensitive,
                    "type": o.type if o.type is not None else type_of(o.value),
                    "value": o.value,
                }
                for n, o in sorted(outputs.items())
            }
        )
        return 0
    if not outputs:
        print("No outputs found. Declare output blocks and run 'relight apply'.", file=sys.stderr)
        return 0
    for name in sorted(outputs):
        o = outputs[name]
        print(f"{name} = {'<sensitive>' if o.sensitive else render_value(o.value)}")
    return 0


def cmd_force_unlock(args: argparse.Namespace) -> int:
    if not args.force:
        print(
            f"Do you really want to force-unlock?\n  relight will remove the lock {args.lock_id} on "
            "the state. Only do this if you are sure no other run holds it.\n  Only 'yes' will "
            "be accepted to confirm.\n"
        )
        if _ask("  Enter a value: ") != "yes":
            print("force-unlock cancelled.")
            return 1
    result = execute(RunRequest(Operation.FORCE_UNLOCK, lock_id=args.lock_id), run_context(args), _view(args))
    if not result.ok:
        return 1
    print("relight state has been successfully unlocked!")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    result = execute(RunRequest(Operation.GRAPH), run_context(args), _view(args))
    if not result.ok:
        return 1
    print('digraph {\n  compound = "true"\n  newrank = "true"\n  subgraph "root" {')
    for node in result.graph:
        print(f'    "{node}" [label="{node}"]')
    for node, deps in result.graph.items():
        for dep in deps:
            print(f'    "{node}" -> "{dep}"')
    print("  }\n}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    addrs, diags = parse_addresses([args.address], "import")
    timeout = lock_timeout(args, diags)
    if diags.has_errors:
        print_diagnostics(diags, {}, Terminal(args.no_color).err_color)
        return 1
    request = RunRequest(
        Operation.IMPORT,
        addresses=addrs,
        import_id=args.id,
        variables=var_inputs(args),
        lock=args.lock != "false",
        lock_timeout=timeout,
    )
    result = execute(request, run_context(args), _view(args))
    if not result.ok:
        return 1
    print(
        "\nImport successful!\n\nThe resources that were imported are shown above. These resources are now in\n"
        "your relight state and will henceforth be managed by relight."
    )
    return 0


def _write_atomically(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


COMMANDS = {
    "init": cmd_init,
    "validate": cmd_validate,
    "plan": cmd_plan,
    "apply": cmd_apply,
    "destroy": cmd_destroy,
    "output": cmd_output,
    "force-unlock": cmd_force_unlock,
    "graph": cmd_graph,
    "import": cmd_import,
}
