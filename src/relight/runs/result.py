"""What a run gives back: :class:`RunResult`, data only.

:meth:`relight.runs.Runner.execute` always returns one, even when the run failed: ``status``
says how it ended, ``diagnostics`` why, and everything the operation produced (the plan, the
saved plan's bytes, the state's lineage and serial, outputs, timings) is in its fields.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relight.diagnostics import Diagnostics
from relight.engine import Plan
from relight.runs.planjson import plan_to_json
from relight.state import OutputState, ResourceInstanceState, State, VersionInfo

__all__ = ["Counts", "HealReport", "RunResult", "RunStatus", "Timings"]


class RunStatus(enum.Enum):
    """How a run ended, spelled as HCP Terraform spells run statuses where one applies."""

    PLANNED = "planned"  # a plan with changes waits for confirmation (approval "confirm")
    PLANNED_AND_FINISHED = "planned_and_finished"  # a plan run, or an apply with nothing to do
    APPLIED = "applied"
    ERRORED = "errored"
    CANCELED = "canceled"  # stopped by RunContext.cancel; what finished is recorded
    DISCARDED = "discarded"  # the person asked declined the plan (approval "ask")
    SUCCEEDED = "succeeded"  # any other operation (validate, state, output, import, heal...)


@dataclass(frozen=True)
class Counts:
    add: int = 0
    change: int = 0
    destroy: int = 0
    imported: int = 0  # objects import blocks bring under management (also counted in change if updated)

    def summary(self) -> str:
        head = f"{self.imported} to import, " if self.imported else ""
        return f"{head}{self.add} to add, {self.change} to change, {self.destroy} to destroy"


@dataclass(frozen=True)
class Timings:
    """Seconds: ``wall`` for the whole run (time at an approval prompt excluded), ``cloud`` with a
    cloud call or wait in flight (the union of intervals), ``relight`` the rest."""

    wall: float = 0.0
    cloud: float = 0.0
    calls: int = 0

    @property
    def relight(self) -> float:
        return max(0.0, self.wall - self.cloud)


@dataclass(frozen=True)
class HealReport:
    """What a heal pass found and did (see :mod:`relight.runs.heal`)."""

    outcome: str  # clean | recovered | failed | needs-person | skipped | error | off
    kind: str = "clean"  # clean | recovery | drift | other
    message: str = ""
    policy: Any = None  # relight.runs.healpolicy.HealPolicy
    vanished: tuple[str, ...] = ()
    drifted: tuple[str, ...] = ()
    changed: Mapping[str, list[str]] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    plan_lines: tuple[str, ...] = ()
    held_back: tuple[str, ...] = ()
    why_not: str = ""  # why nothing was applied, for people
    notes: tuple[str, ...] = ()  # what the pass decided on the way (drift held back...)
    applied_at: str | None = None
    verification: Mapping[str, Any] | None = None
    error: str = ""
    detected: float | None = None  # time.monotonic() values
    apply_started: float | None = None
    recovered: float | None = None
    cloud_seconds: float = 0.0  # cloud time from detection to verification
    lock_holder: str = ""


@dataclass
class RunResult:
    """The outcome of one run. Fields an operation does not produce keep their defaults."""

    status: RunStatus
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    sources: Mapping[str, str] = field(default_factory=dict)  # configuration text, for rendering
    plan: Plan | None = None
    plan_file: bytes | None = None
    lineage: str = ""
    serial: int = 0
    outputs: Mapping[str, OutputState] = field(default_factory=dict)
    timings: Timings = field(default_factory=Timings)
    skipped: tuple[str, ...] = ()  # actions never started because the run was canceled
    state: State | None = None  # state pull / state push: the state
    state_file: bytes | None = None  # state pull -format=terraform: the state in Terraform's format
    source: str = ""  # state push: where the pushed state came from (a path, s3://bucket/key)
    instances: tuple[ResourceInstanceState, ...] = ()  # state list / show / rm
    moves: tuple[tuple[str, str], ...] = ()  # state mv
    history: tuple[VersionInfo, ...] = ()
    graph: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # node -> its dependencies
    heal: HealReport | None = None

    @property
    def ok(self) -> bool:
        return self.status not in (RunStatus.ERRORED, RunStatus.CANCELED)

    @property
    def counts(self) -> Counts:
        if self.plan is None:
            return Counts()
        return Counts(*self.plan.counts(), imported=self.plan.import_count())

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-able data (the plan in the ``-json`` plan format)."""
        return {
            "status": self.status.value,
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "counts": {"add": self.counts.add, "change": self.counts.change, "destroy": self.counts.destroy}
            | ({"import": self.counts.imported} if self.counts.imported else {}),
            "has_changes": bool(self.plan is not None and self.plan.has_changes),
            "plan": plan_to_json(self.plan) if self.plan is not None else None,
            "lineage": self.lineage,
            "serial": self.serial,
            "timings": {"wall": self.timings.wall, "cloud": self.timings.cloud, "relight": self.timings.relight},
            "skipped": list(self.skipped),
        }
