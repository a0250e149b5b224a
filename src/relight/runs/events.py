"""One typed event stream per run: what CLI progress, the server's run log and Slack watch.

Every event is a frozen dataclass with a ``kind`` and :meth:`Event.to_json`, so the server can
store and stream it. A sink receives them through :meth:`EventSink.emit`, from the run's worker
threads: sinks must be thread-safe. :class:`SafeSink` wraps whatever sink a run is given: a
sink that raises never breaks the run; its first failure is kept (the run reports it once, as a
warning) and the sink is not called again. :class:`HookBridge` turns the engine's hook calls
into these events.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol

from relight.addrs import InstanceAddr
from relight.diagnostics import Diagnostic, Diagnostics
from relight.engine import CANCELED, Action, Hook, Plan
from relight.runs.healpolicy import HealPolicy
from relight.runs.planjson import plan_to_json

__all__ = [
    "ApplyDone",
    "ApplySkipped",
    "ApplyStarted",
    "DiagnosticEvent",
    "Event",
    "EventSink",
    "HealFinding",
    "HealPolicyLoaded",
    "HookBridge",
    "ListSink",
    "Message",
    "PlanReady",
    "RefreshDone",
    "RefreshStarted",
    "RunFinished",
    "RunStarted",
    "SafeSink",
]


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["kind"] = self.kind
        return doc


@dataclass(frozen=True)
class RunStarted(Event):
    kind: ClassVar[str] = "run_started"
    operation: str
    directory: str


@dataclass(frozen=True)
class RefreshStarted(Event):
    kind: ClassVar[str] = "refresh_started"
    address: str


@dataclass(frozen=True)
class RefreshDone(Event):
    kind: ClassVar[str] = "refresh_done"
    address: str
    gone: bool


@dataclass(frozen=True)
class ApplyStarted(Event):
    kind: ClassVar[str] = "apply_started"
    address: str
    action: str
    destroying: bool


@dataclass(frozen=True)
class ApplyDone(Event):
    kind: ClassVar[str] = "apply_done"
    address: str
    action: str
    destroying: bool
    elapsed: float
    object_id: str | None
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class ApplySkipped(Event):
    kind: ClassVar[str] = "apply_skipped"
    address: str
    reason: str


@dataclass(frozen=True)
class Message(Event):
    """A line for people (a snapshot kept, a lock taken over, a heal decision)."""

    kind: ClassVar[str] = "message"
    text: str


@dataclass(frozen=True)
class DiagnosticEvent(Event):
    kind: ClassVar[str] = "diagnostic"
    diagnostic: Diagnostic

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "diagnostic": self.diagnostic.to_json()}


@dataclass(frozen=True)
class PlanReady(Event):
    """The plan is made (before any approval or apply). In-process sinks use ``plan``; the JSON
    form carries the plan in the ``-json`` plan format."""

    kind: ClassVar[str] = "plan_ready"
    plan: Plan = field(compare=False)

    def to_json(self) -> dict[str, Any]:
        add, change, destroy = self.plan.counts()
        return {
            "kind": self.kind,
            "summary": {"add": add, "change": change, "destroy": destroy},
            "has_changes": self.plan.has_changes,
            "plan": plan_to_json(self.plan),
        }


@dataclass(frozen=True)
class HealPolicyLoaded(Event):
    """A heal pass read its policy (before acting on it). The JSON form leaves out the
    notification URLs (secrets)."""

    kind: ClassVar[str] = "heal_policy"
    policy: HealPolicy

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "mode": self.policy.mode, "description": self.policy.describe()}


@dataclass(frozen=True)
class HealFinding(Event):
    """A heal pass classified its plan, before deciding whether to apply it."""

    kind: ClassVar[str] = "heal_finding"
    classification: str  # recovery | drift | other
    vanished: tuple[str, ...]
    drifted: tuple[str, ...]
    changed: dict[str, list[str]]
    reasons: tuple[str, ...]
    plan_lines: tuple[str, ...]
    held_back: tuple[str, ...]
    summary: str  # one sentence for people: what vanished or changed
    will_apply: bool


@dataclass(frozen=True)
class RunFinished(Event):
    kind: ClassVar[str] = "run_finished"
    status: str
    add: int = 0
    change: int = 0
    destroy: int = 0
    wall_seconds: float = 0.0
    cloud_seconds: float = 0.0


class EventSink(Protocol):
    def emit(self, event: Event) -> None: ...


class ListSink:
    """Keeps every event (tests, and the server before it stores them)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]


class SafeSink:
    """Forwards to ``inner`` and never raises; redacts ``secrets`` from message text.

    After the first failure the inner sink is not called again; ``failure`` describes it.
    """

    def __init__(self, inner: EventSink | None, secrets: Iterable[str] = ()) -> None:
        self.inner = inner
        self.failure: str | None = None
        self._secrets = sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True)
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        if self.inner is None or self.failure is not None:
            return
        if isinstance(event, Message) and self._secrets:
            event = Message(self.redact(event.text))
        try:
            self.inner.emit(event)
        except Exception as exc:
            with self._lock:
                if self.failure is None:
                    self.failure = f"{type(self.inner).__name__}.emit raised {type(exc).__name__}: {exc}"

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "(sensitive value)")
        return text


class HookBridge(Hook):
    """The engine's hook calls, as events on a sink (which must not raise: give a SafeSink).

    Also collects what a cancellation skipped, for the run's result.
    """

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink
        self.canceled: list[str] = []
        self._lock = threading.Lock()

    def refresh_start(self, addr: InstanceAddr) -> None:
        self.sink.emit(RefreshStarted(str(addr)))

    def refresh_done(self, addr: InstanceAddr, gone: bool) -> None:
        self.sink.emit(RefreshDone(str(addr), gone))

    def apply_start(self, addr: InstanceAddr, action: Action, destroying: bool) -> None:
        self.sink.emit(ApplyStarted(str(addr), action.value, destroying))

    def apply_done(
        self,
        addr: InstanceAddr,
        action: Action,
        destroying: bool,
        elapsed: float,
        object_id: str | None,
        diagnostics: Diagnostics,
    ) -> None:
        errors = tuple(d.summary for d in diagnostics.errors)
        self.sink.emit(ApplyDone(str(addr), action.value, destroying, elapsed, object_id, errors))

    def apply_skipped(self, addr: InstanceAddr, reason: str) -> None:
        if reason == CANCELED:
            with self._lock:
                self.canceled.append(str(addr))
        self.sink.emit(ApplySkipped(str(addr), reason))

    def message(self, text: str) -> None:
        self.sink.emit(Message(text))
