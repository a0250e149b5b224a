"""What the heal loop tells people: one :class:`Event` per detection, recovery or failure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["Event", "EventKind"]

EventKind = Literal["detected", "recovered", "failed", "drift", "blocked", "resolved", "blind"]


@dataclass(frozen=True)
class Event:
    """One notification-worthy moment of an incident.

    ``kind``: ``detected`` (objects vanished; an incident opened), ``recovered`` (applied and
    verified), ``failed`` (the recovery apply or its verification failed), ``drift`` (objects
    changed outside relight; reported, not applied) and ``blocked`` (a recovery is needed but
    the policy does not allow applying it: mode notify, the hourly cap, or back-off),
    ``resolved`` (an incident closed without a recovery by relight) and ``blind`` (passes keep
    failing before they can check anything: the cloud is unreachable, credentials expired).
    ``what_happened`` and ``what_was_done`` are one or two plain sentences for people;
    ``time_to_recover`` is seconds from detection to verified recovery (recovered only).
    """

    kind: EventKind
    incident_id: str
    stack: str
    what_happened: str
    what_was_done: str
    at: str
    addresses: tuple[str, ...] = ()
    time_to_recover: float | None = None
    config_revision: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["addresses"] = list(self.addresses)
        return doc
