"""``relight state list|show|rm|mv|pull|push|history``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from relight.addrs import InstanceAddr, ResourceAddr
from relight.cli.commands import _backend, _fail, _print_diags, parse_timeout
from relight.lang import load_config

__all__ = ["run"]


def _matches(addr: InstanceAddr, patterns: list[str]) -> bool:
    if not patterns:
        return True
    for pat in patterns:
        try:
            want = InstanceAddr.parse(pat)
        except ValueError:
            continue
        if want == addr or (want.key is None and want.resource == addr.resource):
            return True
    return False


def run(args: argparse.Namespace) -> int:
    config, _ = load_config(".")
    backend = _backend(config)
    sub = args.state_command
    if sub is None:
        print("usage: relight state {list,show,rm,mv,pull,push,history}", file=sys.stderr)
        return 1
    if sub == "list":
        state = backend.read()
        for inst in state:
            if _matches(inst.addr, args.addresses):
                print(inst.addr)
        for module, held in sorted(state.modules.items()):  # kept from Terraform, not managed
            for addr in sorted(held, key=InstanceAddr.sort_key) if not args.addresses else ():
                print(f"{module}.{addr}")
        return 0
    if sub == "show":
        return _show(backend, args.address)
    if sub == "pull":
        return _pull(backend, args.format)
    if sub == "history":
        for v in backend.history():
            print(f"serial {v.serial:>6}  {v.written_at:%Y-%m-%d %H:%M:%S}  {v.resource_count:>5} instances  {v.path}")
        return 0
    with backend.lock(f"state {sub}", parse_timeout(args)):
        if sub == "rm":
            return _rm(backend, args.addresses)
        if sub == "mv":
            return _mv(backend, args.source, args.destination)
        if sub == "push":
            return _push(backend, config, args)
    return 1


def _show(backend: Any, text: str) -> int:
    from relight.cli.render import render_value

    try:
        addr = InstanceAddr.parse(text)
    except ValueError as exc:
        return _fail("Invalid address", str(exc))
    inst = backend.read().get(addr)
    if inst is None or inst.current is None:
        return _fail(
            f"No instance found for the given address {text!r}",
            "Run 'relight state list' to see the addresses in the state.",
        )
    kind = "data" if addr.resource.mode == "data" else "resource"
    print(f"# {addr}:")
    print(f'{kind} "{addr.resource.type}" "{addr.resource.name}" {render_value(inst.current.attributes)}')
    if inst.current.prevent_destroy:
        print("# protected: prevent_destroy is recorded in state")
    return 0


def _rm(backend: Any, addresses: list[str]) -> int:
    state = backend.read()
    removed = []
    for inst in list(state):
        if _matches(inst.addr, addresses):
            state.remove(inst.addr)
            removed.append(inst.addr)
    if not removed:
        return _fail("Invalid target address", f"No matching objects found for {', '.join(addresses)}.")
    backend.write(state)
    for addr in removed:
        print(f"Removed {addr}")
    print(f"Successfully removed {len(removed)} resource instance(s). The real objects were not destroyed.")
    return 0


def _mv(backend: Any, source: str, destination: str) -> int:
    try:
        src, dst = InstanceAddr.parse(source), InstanceAddr.parse(destination)
    except ValueError as exc:
        return _fail("Invalid address", str(exc))
    state = backend.read()
    pairs: list[tuple[InstanceAddr, InstanceAddr]] = []
    if src.key is None and state.get(src) is None:
        rsrc, rdst = ResourceAddr.parse(source), ResourceAddr.parse(destination)
        pairs = [(i.addr, rdst.instance(i.addr.key)) for i in state.resource_instances(rsrc)]
    elif state.get(src) is not None:
        pairs = [(src, dst)]
    if not pairs:
        return _fail("Invalid source address", f"Cannot move {source}: it does not exist in the state.")
    for _old, new in pairs:
        if state.get(new) is not None:
            return _fail("Invalid target address", f"Cannot move to {new}: there is already an object there.")
    for old, new in pairs:
        inst = state.get(old)
        state.remove(old)
        state.set_current(new, inst.provider, inst.current)
        print(f'Move "{old}" to "{new}"')
    backend.write(state)
    print(f"Successfully moved {len(pairs)} object(s).")
    return 0


def _pull(backend: Any, fmt: str) -> int:
    from relight.engine.adopt import export_terraform
    from relight.providers.registry import ProviderRegistry
    from relight.state import dumps

    if fmt == "relight":
        sys.stdout.write(dumps(backend.read()).decode())
        return 0
    data, diags = export_terraform(backend.read(), ProviderRegistry())
    _print_diags(diags, None, sys.stderr.isatty())
    if data is None:
        return 1
    sys.stdout.write(data.decode())
    return 0


def _push(backend: Any, config: Any, args: argparse.Namespace) -> int:
    from relight.engine.adopt import read_backend_state, read_state_file
    from relight.errors import StateError
    from relight.providers.registry import ProviderRegistry

    if bool(args.path) == bool(args.from_backend):
        return _fail("Give a state file or -from-backend", "relight state push FILE | relight state push -from-backend")
    if args.from_backend:
        data, source, diags = read_backend_state(config)
    else:
        data, source, diags = _read(args.path)
    incoming = None
    if data is not None:
        incoming, d = read_state_file(data, source, ProviderRegistry())
        diags.extend(d)
    _print_diags(diags, None, sys.stderr.isatty())
    if incoming is None or diags.has_errors:
        return 1
    try:
        stored = backend.write(incoming, force=args.force)
    except StateError as exc:
        return _fail("Failed to push the state", str(exc))
    print(f"Pushed {source} to the state: {len(stored)} instance(s), lineage {stored.lineage}, serial {stored.serial}.")
    return 0


def _read(path: str) -> tuple[bytes | None, str, Any]:
    from relight.diagnostics import Diagnostics

    diags = Diagnostics()
    try:
        with open(path, "rb") as fh:
            return fh.read(), path, diags
    except OSError as exc:
        diags.error(f"Cannot read {path}", exc.strerror or str(exc))
        return None, path, diags
