"""The one seam between the server and running an operation: plan, or apply a saved plan.

The server never drives the engine anywhere else. :func:`plan` and :func:`apply` take the
configuration directory, the state backend, the inputs and an event sink, and always return an
:class:`Outcome` (data: status, the saved plan's bytes, the plan as JSON and as the CLI prints
it, diagnostics). They will be the only code to change when the run layer (``relight.runs``)
lands: its ``Runner.execute(RunRequest(...), RunContext(...), sink)`` does the same job.

Events are JSON-able dicts with a ``type`` and a ``text`` line as the CLI would print it; the
sink must not raise (a failing sink is ignored: watching a run never breaks it).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from relight.addrs import InstanceAddr
from relight.cli.render import plan_to_json, render_plan  # moves to the run layer with issue 8
from relight.diagnostics import Diagnostics, render
from relight.engine import Engine, Hook, Plan, PlanOptions, read_plan, write_plan
from relight.engine.plan import Action
from relight.engine.workspace import load_checked
from relight.errors import PlanError, StateError, StateLockedError
from relight.lang import collect_variable_values
from relight.providers.registry import ProviderRegistry
from relight.state import LockInfo, State, StateBackend, VersionInfo

__all__ = ["EventSink", "Outcome", "ReadOnlyBackend", "apply", "plan"]

EventSink = Callable[[Mapping[str, Any]], None]
Status = Literal["planned", "planned_and_finished", "applied", "errored"]


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    plan_file: bytes | None = None
    plan_json: dict[str, Any] = field(default_factory=dict)
    plan_text: str = ""
    counts: tuple[int, int, int] = (0, 0, 0)
    diagnostics_text: str = ""
    error: str = ""  # the first error's summary, for statuses and Slack
    stale: bool = False
    seconds: float = 0.0


class ReadOnlyBackend:
    """A backend for speculative plans: reads pass through, anything that writes or locks is refused."""

    def __init__(self, inner: StateBackend) -> None:
        self.inner = inner

    def read(self) -> State:
        return self.inner.read()

    def read_version(self, serial: int) -> State:
        return self.inner.read_version(serial)

    def history(self) -> list[VersionInfo]:
        return self.inner.history()

    def open_journal(self, state: State) -> Any:
        raise StateError("a speculative plan never writes state")

    def write(self, state: State, *, force: bool = False) -> State:
        raise StateError("a speculative plan never writes state")

    def lock(self, operation: str, timeout: float = 0.0) -> contextlib.AbstractContextManager[LockInfo]:
        raise StateError("a speculative plan takes no lock")

    def force_unlock(self, lock_id: str) -> None:
        raise StateError("a speculative plan takes no lock")


def plan(directory: str, backend: StateBackend, *, speculative: bool, env: Mapping[str, str],
         registry: ProviderRegistry, sink: EventSink) -> Outcome:
    """Refresh and plan the configuration in ``directory``.

    Speculative: against a read-only view of the state, without the lock. Otherwise under the
    state lock, saving the plan file. ``planned`` when there are changes, ``planned_and_finished``
    when none, ``errored`` with diagnostics otherwise.
    """
    started = time.monotonic()
    hook = _EventHook(sink)
    config, diags = load_checked(directory)
    if config is None or diags.has_errors:
        return _errored(diags, config.sources if config else {}, started)
    variables, d = collect_variable_values(config, [], env)
    diags.extend(d)
    if diags.has_errors:
        return _errored(diags, config.sources, started)
    engine = Engine(config, ReadOnlyBackend(backend) if speculative else backend, registry, variables, hook)
    try:
        if speculative:
            result, d = engine.plan(PlanOptions())
        else:
            with engine.lock("plan"):
                result, d = engine.plan(PlanOptions())
    except StateLockedError as exc:
        diags.error("Error acquiring the state lock", str(exc))
        return _errored(diags, config.sources, started)
    except StateError as exc:
        diags.error("Failed to read the state", str(exc))
        return _errored(diags, config.sources, started)
    diags.extend(d)
    if diags.has_errors:
        return _errored(diags, config.sources, started)
    _emit_diags(sink, diags, config.sources)
    text = render_plan(result, color=False)
    sink({"type": "plan", "text": text})
    return Outcome(
        status="planned" if result.has_changes else "planned_and_finished",
        plan_file=None if speculative else _plan_bytes(result),
        plan_json=plan_to_json(result),
        plan_text=text,
        counts=result.counts(),
        diagnostics_text=render(diags, config.sources) if diags else "",
        seconds=time.monotonic() - started,
    )


def apply(directory: str, backend: StateBackend, plan_file: bytes, *, registry: ProviderRegistry,
          sink: EventSink) -> Outcome:
    """Apply exactly the saved plan under the state lock.

    A plan made against a state that moved on (or another configuration) is refused:
    ``errored`` with ``stale`` set and nothing changed. Otherwise ``applied``, or ``errored`` with
    what did complete recorded in the state.
    """
    started = time.monotonic()
    hook = _EventHook(sink)
    config, diags = load_checked(directory)
    if config is None or diags.has_errors:
        return _errored(diags, config.sources if config else {}, started)
    saved = _read_plan_bytes(plan_file)
    engine = Engine(config, backend, registry, saved.variables, hook)
    try:
        with engine.lock("apply"):
            _state, d = engine.apply(saved)
    except PlanError as exc:
        diags.error("The saved plan is stale", str(exc))
        out = _errored(diags, config.sources, started)
        return Outcome(**{**_fields(out), "stale": True})
    except StateLockedError as exc:
        diags.error("Error acquiring the state lock", str(exc))
        return _errored(diags, config.sources, started)
    except StateError as exc:
        diags.error("Failed to load or save the state", str(exc))
        return _errored(diags, config.sources, started)
    diags.extend(d)
    if diags.has_errors:
        return _errored(diags, config.sources, started, saved.counts())
    _emit_diags(sink, diags, config.sources)
    add, change, gone = saved.counts()
    sink({"type": "applied", "text": f"Apply complete! Resources: {add} added, {change} changed, {gone} destroyed."})
    return Outcome(status="applied", counts=saved.counts(), seconds=time.monotonic() - started)


# -- internals -------------------------------------------------------------------------------


def _fields(out: Outcome) -> dict[str, Any]:
    return {name: getattr(out, name) for name in Outcome.__dataclass_fields__}


def _errored(diags: Diagnostics, sources: Mapping[str, str], started: float,
             counts: tuple[int, int, int] = (0, 0, 0)) -> Outcome:
    first = diags.errors[0].summary if diags.errors else "failed"
    return Outcome(status="errored", diagnostics_text=render(diags, sources), error=first, counts=counts,
                   seconds=time.monotonic() - started)


def _emit_diags(sink: EventSink, diags: Diagnostics, sources: Mapping[str, str]) -> None:
    for diag in diags:
        _safe(sink, {"type": "diagnostic", "diagnostic": diag.to_json(), "text": render([diag], sources)})


def _plan_bytes(result: Plan) -> bytes:
    with tempfile.TemporaryDirectory(prefix="relight-plan-") as tmp:
        path = os.path.join(tmp, "run.plan")
        write_plan(result, path)
        with open(path, "rb") as fh:
            return fh.read()


def _read_plan_bytes(data: bytes) -> Plan:
    with tempfile.TemporaryDirectory(prefix="relight-plan-") as tmp:
        path = os.path.join(tmp, "run.plan")
        with open(path, "wb") as fh:
            fh.write(data)
        return read_plan(path)


def _safe(sink: EventSink, event: Mapping[str, Any]) -> None:
    with contextlib.suppress(Exception):  # a sink that fails never breaks a run
        sink(event)


_VERBS = {
    Action.CREATE: ("Creating", "Creation"),
    Action.REPLACE: ("Creating", "Creation"),
    Action.UPDATE: ("Modifying", "Modifications"),
    Action.DELETE: ("Destroying", "Destruction"),
    Action.READ: ("Reading", "Read"),
}


class _EventHook(Hook):
    """Engine progress as events, worded as the CLI's progress lines."""

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink

    def _emit(self, kind: str, text: str, **extra: Any) -> None:
        _safe(self.sink, {"type": kind, "text": text, **extra})

    def refresh_start(self, addr: InstanceAddr) -> None:
        self._emit("refresh_start", f"{addr}: Refreshing state...", address=str(addr))

    def apply_start(self, addr: InstanceAddr, action: Action, destroying: bool) -> None:
        verb = _VERBS.get(Action.DELETE if destroying else action, _VERBS[Action.CREATE])[0]
        self._emit("apply_start", f"{addr}: {verb}...", address=str(addr), action=action.value)

    def apply_done(self, addr: InstanceAddr, action: Action, destroying: bool, elapsed: float,
                   object_id: str | None, diagnostics: Diagnostics) -> None:
        noun = _VERBS.get(Action.DELETE if destroying else action, _VERBS[Action.CREATE])[1]
        if diagnostics.has_errors:
            self._emit("apply_errored", f"{addr}: {noun} failed after {int(elapsed)}s: "
                       f"{diagnostics.errors[0].summary}", address=str(addr), action=action.value)
            return
        suffix = f" [id={object_id}]" if object_id and not destroying else ""
        self._emit("apply_done", f"{addr}: {noun} complete after {int(elapsed)}s{suffix}", address=str(addr),
                   action=action.value, elapsed=elapsed)

    def apply_skipped(self, addr: InstanceAddr, reason: str) -> None:
        self._emit("apply_skipped", f"{addr}: Skipped because {reason}", address=str(addr))

    def message(self, text: str) -> None:
        self._emit("message", text)
