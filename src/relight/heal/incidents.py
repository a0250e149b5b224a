"""Incidents: one record per detection, kept durably.

:class:`IncidentStore` is the seam the heal scheduler writes through; :class:`IncidentLog` (a
file beside the state, for the CLI's ``relight heal``/``watch``) and the server's database
table both implement it. Every write is durable when it returns, and ``current`` is the newest
incident that is not closed.

The file log is ``<state file>.incidents.jsonl``: each line is the whole incident as it stands after
a change (opened, applied, recovered, failed...), appended and fsynced; reading folds the lines
by id, so the last line of an incident wins. A torn last line (a crash while appending) is
skipped; any other bad line is reported with its line number and the file is left as it is.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from relight.errors import StateError

__all__ = ["Incident", "IncidentLog", "IncidentRecords", "IncidentStore", "Outcome", "new_incident_id", "now_iso"]

Outcome = Literal["open", "recovered", "failed", "needs-person", "resolved", "superseded"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Incident:
    """What vanished or changed, when it was seen, what was planned and done, and how it ended.

    ``outcome``: ``open`` (being handled), ``recovered`` (applied and verified), ``failed``
    (apply or verification failed), ``needs-person`` (reported, not applied: policy or the kind
    of change), ``resolved`` (the problem went away without a recovery by relight, e.g. a person
    applied), ``superseded`` (a newer incident took over: what vanished changed).
    ``changed`` lists, per drifted object, what was changed outside relight.
    """

    id: str
    stack: str
    kind: str  # recovery | drift | other
    detected_at: str
    vanished: tuple[str, ...] = ()
    drifted: tuple[str, ...] = ()
    plan: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    outcome: Outcome = "open"
    applied_at: str | None = None
    recovered_at: str | None = None
    resolved_at: str | None = None
    time_to_recover: float | None = None
    cloud_seconds: float | None = None  # of time_to_recover, waiting on the cloud API
    relight_seconds: float | None = None  # of time_to_recover, relight's own
    verification: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    config_revision: str | None = None
    passes: int = 1
    notes: tuple[str, ...] = ()
    held_back: tuple[str, ...] = ()
    changed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def closed(self) -> bool:
        return self.outcome in ("recovered", "resolved", "superseded")

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        for key in ("vanished", "drifted", "plan", "reasons", "notes", "held_back"):
            doc[key] = list(doc[key])
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Incident:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in doc.items() if k in known}
        for key in ("vanished", "drifted", "plan", "reasons", "notes", "held_back"):
            values[key] = tuple(values.get(key) or ())
        return cls(**values)


def new_incident_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"inc-{stamp}-{uuid.uuid4().hex[:6]}"


class IncidentStore(Protocol):
    """Where one stack's incidents live. Each write is durable when it returns and raises
    :class:`~relight.errors.StateError` when it cannot be made so."""

    def open(self, stack: str, kind: str, **fields: Any) -> Incident: ...

    def update(self, incident: Incident, **changes: Any) -> Incident: ...

    def all(self) -> list[Incident]: ...

    def current(self) -> Incident | None: ...

    def recoveries_since(self, hours: float = 1.0) -> int: ...


def recoveries_since(incidents: list[Incident], hours: float) -> int:
    """Recoveries applied in the last ``hours`` among ``incidents``."""
    since = datetime.now(UTC) - timedelta(hours=hours)
    return sum(1 for i in incidents if i.applied_at is not None and datetime.fromisoformat(i.applied_at) >= since)


class IncidentRecords:
    """An :class:`IncidentStore` made of two primitives a subclass gives: :meth:`write` (one
    incident as it is now, durable when it returns) and :meth:`all` (each incident as last
    written, oldest first)."""

    def write(self, incident: Incident) -> None:
        raise NotImplementedError

    def all(self) -> list[Incident]:
        raise NotImplementedError

    def open(self, stack: str, kind: str, **fields: Any) -> Incident:
        incident = Incident(id=new_incident_id(), stack=stack, kind=kind, **fields)
        self.write(incident)
        return incident

    def update(self, incident: Incident, **changes: Any) -> Incident:
        updated = replace(incident, **changes)
        self.write(updated)
        return updated

    def current(self) -> Incident | None:
        """The newest incident that is not closed, if any."""
        open_ = [i for i in self.all() if not i.closed]
        return open_[-1] if open_ else None

    def recoveries_since(self, hours: float = 1.0) -> int:
        """Recoveries applied in the last ``hours`` (for max_recoveries_per_hour)."""
        return recoveries_since(self.all(), hours)


class IncidentLog(IncidentRecords):
    """The incident file of one state. Thread-safe; every write is durable when it returns."""

    def __init__(self, state_path: str) -> None:
        self.path = f"{state_path}.incidents.jsonl"
        self._lock = threading.Lock()
        # The fold of the file as last read, keyed by its size and mtime: a watch pass asks for the
        # open incident every time, and re-parsing a growing history each pass is wasted work.
        self._cache: tuple[tuple[int, int], list[Incident]] | None = None

    def write(self, incident: Incident) -> None:
        line = json.dumps(incident.to_json(), sort_keys=True) + "\n"
        with self._lock:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line.encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise StateError(f"{self.path}: could not record the incident: {exc}") from exc

    def all(self) -> list[Incident]:
        """Every incident, oldest first, each as last written."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return []
        stamp = (info.st_size, info.st_mtime_ns)
        if self._cache is not None and self._cache[0] == stamp:
            return list(self._cache[1])
        try:
            with open(self.path, encoding="utf-8") as fh:
                lines = fh.read().split("\n")
        except FileNotFoundError:
            return []
        latest: dict[str, Incident] = {}
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                incident = Incident.from_json(json.loads(line))
            except (ValueError, TypeError) as exc:
                if n >= len(lines) - 1:
                    continue  # a torn last line: the append was cut short by a crash
                raise StateError(f"{self.path}, line {n}: not an incident record ({exc})") from None
            latest[incident.id] = incident
        ordered = sorted(latest.values(), key=lambda i: i.detected_at)
        self._cache = (stamp, ordered)
        return list(ordered)

