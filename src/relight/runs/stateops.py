"""Operations on the state itself: ``state list|show|rm|mv|pull|push|history``, ``output``,
``force-unlock``, ``import`` and ``graph``.

Those that change the state hold the lock and write through the backend (a new version in its
history); a refused change writes nothing. Reading the configuration is lenient where only its
backend block matters (``output``, ``state ...``), as in Terraform.
"""

from __future__ import annotations

import contextlib

from relight.addrs import InstanceAddr, ModuleAddr, Target
from relight.diagnostics import Diagnostics
from relight.engine import build_graph
from relight.engine.adopt import export_terraform, read_backend_state, read_state_file
from relight.errors import StateError
from relight.providers.base import ProviderContext
from relight.runs.context import RunContext
from relight.runs.load import load_lenient
from relight.runs.request import Operation
from relight.runs.result import RunResult, RunStatus
from relight.runs.scope import RunScope
from relight.state import ResourceInstanceState, State, StateBackend

__all__ = ["OPERATIONS", "run", "state_from_bytes", "terraform_state"]

OPERATIONS = frozenset(
    {
        Operation.STATE_LIST,
        Operation.STATE_SHOW,
        Operation.STATE_RM,
        Operation.STATE_MV,
        Operation.STATE_PULL,
        Operation.STATE_PUSH,
        Operation.STATE_HISTORY,
        Operation.OUTPUT,
        Operation.FORCE_UNLOCK,
        Operation.IMPORT,
        Operation.GRAPH,
    }
)


def run(scope: RunScope) -> RunResult:
    op = scope.request.operation
    if op is Operation.IMPORT:
        return _import(scope)
    if op is Operation.GRAPH:
        return _graph(scope)
    backend = scope.context.state_backend(load_lenient(scope.context))
    if op is Operation.FORCE_UNLOCK:
        backend.force_unlock(scope.request.lock_id)
        return scope.result(RunStatus.SUCCEEDED)
    if op is Operation.STATE_HISTORY:
        result = scope.result(RunStatus.SUCCEEDED)
        result.history = tuple(backend.history())
        return result
    if op in (Operation.STATE_RM, Operation.STATE_MV, Operation.STATE_PUSH):
        lock = backend.lock(op.value, scope.request.lock_timeout) if scope.request.lock else contextlib.nullcontext()
        with lock:
            return _change(scope, backend)
    return _read(scope, backend.read())


def _read(scope: RunScope, state: State) -> RunResult:
    op = scope.request.operation
    result = scope.result(RunStatus.SUCCEEDED)
    _stamp(result, state)
    if op is Operation.STATE_LIST:
        result.instances = tuple(i for i in state if matches(i.addr, scope.request.addresses))
    elif op is Operation.STATE_SHOW:
        addr = scope.request.addresses[0]
        inst = state.get(addr) if isinstance(addr, InstanceAddr) else None
        if inst is None or inst.current is None:
            return scope.failed(
                f"No instance found for the given address {str(addr)!r}",
                "Run 'relight state list' to see the addresses in the state.",
            )
        result.instances = (inst,)
    elif op is Operation.STATE_PULL:
        result.state = state
        if scope.request.state_format == "terraform":
            result.state_file, d = export_terraform(state, scope.context.registry, _providers(scope))
            scope.diags.extend(d)
            if result.state_file is None:
                return scope.result(RunStatus.ERRORED)
    result.outputs = state.outputs
    return result


def _change(scope: RunScope, backend: StateBackend) -> RunResult:
    op = scope.request.operation
    if op is Operation.STATE_PUSH:
        return _push(scope, backend)
    state = backend.read()
    if op is Operation.STATE_RM:
        removed: list[ResourceInstanceState] = [i for i in state if matches(i.addr, scope.request.addresses)]
        if not removed:
            wanted = ", ".join(str(a) for a in scope.request.addresses)
            return scope.failed("Invalid target address", f"No matching objects found for {wanted}.")
        for inst in removed:
            state.remove(inst.addr)
        result = scope.result(RunStatus.SUCCEEDED)
        result.instances = tuple(removed)
    else:
        src, dst = scope.request.addresses[0], scope.request.destination
        assert dst is not None
        if isinstance(src, ModuleAddr) != isinstance(dst, ModuleAddr):
            return scope.failed(
                "Invalid state mv addresses",
                f"Cannot move {src} to {dst}: move a module to a module, a resource to a resource.",
            )
        pairs = state.move_pairs(src, dst)
        if not pairs:
            return scope.failed("Invalid source address", f"Cannot move {src}: it does not exist in the state.")
        for _old, new in pairs:
            if state.get(new) is not None:
                return scope.failed(
                    "Invalid target address", f"Cannot move to {new}: there is already an object there."
                )
        for old, new in pairs:
            state.move(old, new)
        result = scope.result(RunStatus.SUCCEEDED)
        result.moves = tuple((str(o), str(n)) for o, n in pairs)
    _stamp(result, backend.write(state))
    return result


def _push(scope: RunScope, backend: StateBackend) -> RunResult:
    """Replace the state with relight's or Terraform's (a file, or the s3 backend's object).

    The whole incoming state is read and converted before anything is written; any problem
    with it is a diagnostic, and then nothing is written.
    """
    req = scope.request
    data, source = req.state_file, req.source or "the pushed state"
    if req.from_backend:
        config = load_lenient(scope.context)
        data, source, d = read_backend_state(config, _providers(scope))
        scope.diags.extend(d)
    if data is None:
        return scope.result(RunStatus.ERRORED)
    incoming, d = read_state_file(data, source, scope.context.registry, _providers(scope))
    scope.diags.extend(d)
    if incoming is None:
        return scope.result(RunStatus.ERRORED)
    try:
        written = backend.write(incoming, force=req.force)
    except StateError as exc:
        return scope.failed("Failed to push the state", str(exc))
    result = scope.result(RunStatus.SUCCEEDED)
    result.state, result.source = written, source
    _stamp(result, written)
    return result


def _providers(scope: RunScope) -> ProviderContext:
    return ProviderContext(scope.context.inputs, scope.clock)


def state_from_bytes(data: bytes, source: str, context: RunContext) -> tuple[State | None, Diagnostics]:
    """relight's state or Terraform's (format 4) from ``data``, converted with the providers of
    ``context``; None with error diagnostics when it cannot be taken whole. For the server's http
    backend, whose clients (``terraform state push`` among them) upload Terraform's format."""
    return read_state_file(data, source, context.registry, ProviderContext(context.inputs))


def terraform_state(state: State, context: RunContext) -> tuple[bytes | None, Diagnostics]:
    """``state`` in Terraform's format, as ``relight state pull -format=terraform`` prints it and
    the server's http backend serves it; None with error diagnostics when an object cannot be."""
    return export_terraform(state, context.registry, ProviderContext(context.inputs))


def _import(scope: RunScope) -> RunResult:
    loaded = scope.load()
    if loaded is None:
        return scope.result(RunStatus.ERRORED)
    values = scope.variables(loaded)
    if values is None:
        return scope.result(RunStatus.ERRORED)
    engine = scope.engine(loaded, values)
    target = scope.request.addresses[0]
    if not isinstance(target, InstanceAddr):
        detail = f"{target} is a module: import needs a resource instance address."
        return scope.failed("Invalid import address", detail)
    with scope.lock(engine, "import"):
        state, d = engine.import_(target, scope.request.import_id)
    scope.diags.extend(d)
    result = scope.result(RunStatus.ERRORED if d.has_errors else RunStatus.SUCCEEDED)
    _stamp(result, state)
    return result


def _graph(scope: RunScope) -> RunResult:
    loaded = scope.load()
    if loaded is None:
        return scope.result(RunStatus.ERRORED)
    graph, d = build_graph(loaded.config)
    scope.diags.extend(d)
    result = scope.result(RunStatus.ERRORED if d.has_errors else RunStatus.SUCCEEDED)
    result.graph = {str(n): tuple(sorted(str(x) for x in graph.deps[n])) for n in graph.order}
    return result


def matches(addr: InstanceAddr, patterns: tuple[Target, ...]) -> bool:
    """True when ``addr`` is one of ``patterns``, an instance of a pattern without a key, or in a
    module a pattern names (``module.net`` names every instance of the call)."""
    if not patterns:
        return True
    return any(_matches(addr, want) for want in patterns)


def _matches(addr: InstanceAddr, want: Target) -> bool:
    if isinstance(want, ModuleAddr):
        return want.contains(addr.resource.module)
    return want == addr or (want.key is None and want.resource == addr.resource)


def _stamp(result: RunResult, state: State) -> None:
    result.lineage, result.serial = state.lineage, state.serial
