"""``relight state list|show|rm|mv|pull|push|history``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from relight.addrs import InstanceAddr, ResourceAddr
from relight.cli.commands import _backend, _fail, parse_timeout
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
        return 0
    if sub == "show":
        return _show(backend, args.address)
    if sub == "pull":
        from relight.state import dumps

        sys.stdout.write(dumps(backend.read()).decode())
        return 0
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
            return _push(backend, args.path, args.force)
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


def _push(backend: Any, path: str, force: bool) -> int:
    from relight.errors import StateError
    from relight.state import loads

    try:
        with open(path, "rb") as fh:
            incoming = loads(fh.read(), path)
    except OSError as exc:
        return _fail(f"Cannot read {path}", exc.strerror or str(exc))
    try:
        backend.write(incoming, force=force)
    except StateError as exc:
        return _fail("Failed to push the state", str(exc))
    print(f"Pushed {path} to the state.")
    return 0
