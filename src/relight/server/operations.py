"""The server's one seam to running an operation: the run layer's ``Runner.execute``.

:func:`plan` and :func:`apply` build a :class:`~relight.runs.RunRequest` and a
:class:`~relight.runs.RunContext` (the checkout's directory, the workspace's state backend, the
run's environment, the providers), execute it, and turn the :class:`~relight.runs.RunResult`
into an :class:`Outcome`: the status, the saved plan's bytes, the plan as JSON and as the CLI
prints it, the diagnostics rendered with their source lines. Both always return.

Events reach ``sink`` as JSON-able dicts (the event's own JSON plus a ``text`` line worded as
the CLI's progress lines); the sink must not raise (the run layer ignores one that does).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from relight.diagnostics import render
from relight.errors import StateError
from relight.lang import FilePolicy
from relight.providers.registry import ProviderRegistry
from relight.runs import (
    Approval,
    DiagnosticEvent,
    Event,
    Operation,
    PlanReady,
    RunContext,
    RunFinished,
    Runner,
    RunRequest,
    RunResult,
    RunStatus,
    plan_summary,
    plan_to_json,
    progress_line,
    render_plan,
)
from relight.state import LockInfo, State, StateBackend, VersionInfo

__all__ = ["EventSink", "LogSink", "Outcome", "ReadOnlyBackend", "apply", "plan", "run_context", "run_environment"]

EventSink = Callable[[Mapping[str, Any]], None]
Status = Literal["planned", "planned_and_finished", "applied", "errored"]

_STATUSES: dict[RunStatus, Status] = {
    RunStatus.PLANNED: "planned",
    RunStatus.PLANNED_AND_FINISHED: "planned_and_finished",
    RunStatus.APPLIED: "applied",
}
# What a run may see of the server's environment: its variables and cloud credentials only
# (never the server's own GitHub or Slack secrets). The secret ones are also redacted from logs.
_PASSED_PREFIXES = ("TF_VAR_", "AWS_")
_SECRET_NAMES = frozenset({"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    plan_file: bytes | None = None
    plan_json: dict[str, Any] = field(default_factory=dict)
    plan_text: str = ""
    counts: tuple[int, int, int] = (0, 0, 0)
    has_changes: bool = False
    diagnostics_text: str = ""
    error: str = ""  # the first error's summary, for statuses and Slack
    stale: bool = False
    seconds: float = 0.0
    canceled: bool = False  # the apply was stopped between actions (a shutdown); what ran is recorded


def run_environment(env: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(environment, secrets) for runs, picked from the server's environment."""
    picked = {k: v for k, v in env.items() if k.startswith(_PASSED_PREFIXES)}
    secrets = {k: v for k, v in picked.items() if k in _SECRET_NAMES}
    return {k: v for k, v in picked.items() if k not in secrets}, secrets


class ReadOnlyBackend:
    """A backend for speculative plans: reads pass through; writing or locking is refused (the
    run layer takes no lock and writes nothing for them; this makes sure of it)."""

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


def plan(
    directory: str,
    backend: StateBackend,
    *,
    speculative: bool,
    env: Mapping[str, str],
    registry: ProviderRegistry,
    sink: EventSink,
    root: str | None = None,
) -> Outcome:
    """A speculative plan (pull requests: no lock, no state written), or the plan of an apply run
    that stops for confirmation with its saved plan (``planned``; ``planned_and_finished`` when
    there is nothing to do). File functions may read only inside ``root`` (the checkout)."""
    if speculative:
        request = RunRequest(Operation.PLAN, speculative=True)
        backend = ReadOnlyBackend(backend)
    else:
        request = RunRequest(Operation.APPLY, approval=Approval.CONFIRM)
    return _outcome(_execute(request, directory, backend, env, registry, sink, root))


def apply(directory: str, backend: StateBackend, plan_file: bytes, *, env: Mapping[str, str],
          registry: ProviderRegistry, sink: EventSink, planned_serial: int | None = None,
          root: str | None = None, cancel: threading.Event | None = None) -> Outcome:
    """Apply exactly the saved plan. Refused when stale (the state moved on since the plan, as
    the state's serial shows): ``errored`` with ``stale`` set, nothing changed. ``cancel``, once
    set, stops the apply between actions (``errored`` with ``canceled`` set)."""
    request = RunRequest(Operation.APPLY, plan_file=plan_file, source="the run's saved plan")
    result = _execute(request, directory, backend, env, registry, sink, root, cancel)
    outcome = _outcome(result)
    if result.status is RunStatus.CANCELED:
        return Outcome(**{**_fields(outcome), "canceled": True, "error": "stopped by a shutdown"})
    if outcome.status == "errored" and planned_serial is not None:
        with contextlib.suppress(StateError):
            if backend.read().serial != planned_serial:
                return Outcome(**{**_fields(outcome), "stale": True})
    return outcome


def run_context(directory: str, backend: StateBackend, env: Mapping[str, str], registry: ProviderRegistry,
                root: str | None = None, cancel: threading.Event | None = None) -> RunContext:
    """The context of a server run: the checkout, the workspace's backend, the run's environment.

    Pull requests bring configuration nobody reviewed yet: file functions stay inside the
    checkout (``root``), and nothing is read from or written to a parse cache.
    """
    environment, secrets = run_environment(env)
    return RunContext(directory=directory, environment=environment, secrets=secrets,
                      backend=lambda config, where: backend, registry=registry,
                      files=FilePolicy.confined(root or directory), parse_cache=None,
                      cancel=cancel if cancel is not None else threading.Event())


def _execute(request: RunRequest, directory: str, backend: StateBackend, env: Mapping[str, str],
             registry: ProviderRegistry, sink: EventSink, root: str | None,
             cancel: threading.Event | None = None) -> RunResult:
    context = run_context(directory, backend, env, registry, root, cancel)
    return Runner().execute(request, context, LogSink(sink))


def _outcome(result: RunResult) -> Outcome:
    status = _STATUSES.get(result.status, "errored")
    errors = result.diagnostics.errors
    text = render(result.diagnostics, result.sources) if len(result.diagnostics) else ""
    counts = result.counts
    return Outcome(
        status=status,
        plan_file=result.plan_file,
        plan_json=plan_to_json(result.plan) if result.plan is not None else {},
        plan_text=render_plan(result.plan) if result.plan is not None else "",
        counts=(counts.add, counts.change, counts.destroy),
        has_changes=bool(result.plan is not None and result.plan.has_changes),
        diagnostics_text=text,
        error=errors[0].summary if errors else ("failed" if status == "errored" else ""),
        seconds=result.timings.wall,
    )


def _fields(out: Outcome) -> dict[str, Any]:
    return {name: getattr(out, name) for name in Outcome.__dataclass_fields__}


def event_text(event: Event) -> str | None:
    """The line a person reads for ``event`` in the run's log, worded as the CLI's progress."""
    line = progress_line(event)
    if line is not None:
        return line
    if isinstance(event, DiagnosticEvent):
        d = event.diagnostic
        where = f" ({d.subject})" if d.subject is not None else ""
        return f"{d.severity.value.capitalize()}: {d.summary}{where}"
    if isinstance(event, PlanReady):  # the plan itself is on the run's page, above the log
        if not event.plan.has_changes:
            return "Plan: no changes."
        return f"Plan: {plan_summary(event.plan)}."
    if isinstance(event, RunFinished) and event.status == "applied":
        return f"Apply complete! Resources: {event.add} added, {event.change} changed, {event.destroy} destroyed."
    return None


class LogSink:
    """The run layer's events, as the server's log entries (the plan itself is stored apart)."""

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink

    def emit(self, event: Event) -> None:
        text = event_text(event)
        doc = event.to_json()
        if isinstance(event, PlanReady):
            doc.pop("plan", None)
        if text is not None:
            doc["text"] = text
        self.sink(doc)
