"""``relight state list|show|rm|mv|pull|push|history``."""

from __future__ import annotations

import argparse
import sys

from relight.addrs import Target
from relight.cli.commands import execute, fail
from relight.cli.context import lock_timeout, run_context
from relight.cli.views import ProgressView, Terminal, print_diagnostics
from relight.diagnostics import Diagnostics
from relight.runs import (
    Operation,
    ResourceInstanceState,
    RunRequest,
    parse_addresses,
    parse_targets,
    render_value,
    state_json,
)

__all__ = ["cmd_state"]

_OPERATIONS = {
    "list": Operation.STATE_LIST,
    "show": Operation.STATE_SHOW,
    "rm": Operation.STATE_RM,
    "mv": Operation.STATE_MV,
    "pull": Operation.STATE_PULL,
    "push": Operation.STATE_PUSH,
    "history": Operation.STATE_HISTORY,
}


def cmd_state(args: argparse.Namespace) -> int:
    sub = args.state_command
    if sub is None:
        print("usage: relight state {list,show,rm,mv,pull,push,history}", file=sys.stderr)
        return 1
    request = _request(args, sub)
    if isinstance(request, int):
        return request
    context = run_context(args)
    view = ProgressView(Terminal(), context.directory)
    result = execute(request, context, view)
    if not result.ok:
        return 1
    if sub == "list":
        for inst in result.instances:
            print(inst.addr)
    elif sub == "show":
        _show(result.instances[0])
    elif sub == "pull" and result.state_file is not None:
        sys.stdout.write(result.state_file.decode())
    elif sub == "pull" and result.state is not None:
        sys.stdout.write(state_json(result.state).decode())
    elif sub == "history":
        for v in result.history:
            print(f"serial {v.serial:>6}  {v.written_at:%Y-%m-%d %H:%M:%S}  {v.resource_count:>5} instances  {v.path}")
    elif sub == "rm":
        for inst in result.instances:
            print(f"Removed {inst.addr}")
        print(
            f"Successfully removed {len(result.instances)} resource instance(s). The real objects were not destroyed."
        )
    elif sub == "mv":
        for old, new in result.moves:
            print(f'Move "{old}" to "{new}"')
        print(f"Successfully moved {len(result.moves)} object(s).")
    elif sub == "push" and result.state is not None:
        state = result.state
        where = f"lineage {state.lineage}, serial {state.serial}"
        print(f"Pushed {result.source} to the state: {len(state)} instance(s), {where}.")
    return 0


def _request(args: argparse.Namespace, sub: str) -> RunRequest | int:
    diags = Diagnostics()
    texts: list[str] = []
    if sub in ("list", "rm"):
        texts = list(args.addresses)
    elif sub == "show":
        texts = [args.address]
    elif sub == "mv":
        texts = [args.source, args.destination]
    addrs: tuple[Target, ...]
    if sub == "show":
        addrs, d = parse_addresses(texts, "resource")
    else:  # list, rm and mv also take module addresses (module.net, module.app["a"])
        addrs, d = parse_targets(texts, "resource or module")
    diags.extend(d)
    timeout = lock_timeout(args, diags)
    if diags.has_errors:
        print_diagnostics(diags, {}, sys.stderr.isatty())
        return 1
    lock = getattr(args, "lock", "true") != "false"
    op = _OPERATIONS[sub]
    if sub == "mv":
        return RunRequest(op, addresses=addrs[:1], destination=addrs[1], lock=lock, lock_timeout=timeout)
    if sub == "pull":
        return RunRequest(op, state_format=args.format)
    if sub == "push" and bool(args.path) == bool(args.from_backend):
        return fail("Give a state file or -from-backend", "relight state push FILE | relight state push -from-backend")
    if sub == "push" and args.from_backend:
        return RunRequest(op, from_backend=True, force=args.force, lock=lock, lock_timeout=timeout)
    if sub == "push":
        path = run_context(args).path(args.path)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            return fail(f"Cannot read {args.path}", exc.strerror or str(exc))
        return RunRequest(op, state_file=data, source=args.path, force=args.force, lock=lock, lock_timeout=timeout)
    return RunRequest(op, addresses=addrs, lock=lock, lock_timeout=timeout)


def _show(inst: ResourceInstanceState) -> None:
    assert inst.current is not None
    addr = inst.addr
    kind = "data" if addr.resource.mode == "data" else "resource"
    print(f"# {addr}:")
    print(f'{kind} "{addr.resource.type}" "{addr.resource.name}" {render_value(inst.current.attributes)}')
    if inst.current.prevent_destroy:
        print("# protected: prevent_destroy is recorded in state")
