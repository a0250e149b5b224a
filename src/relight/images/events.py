"""The typed events of image builds and rehearsals, on the run layer's one event stream.

They are :class:`relight.runs.Event` values (frozen, JSON-able), so the CLI prints them, the
server stores them in a run's log, and tests collect them with :class:`relight.runs.ListSink`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from relight.runs import Event

__all__ = [
    "BuildArtifact",
    "BuildFinished",
    "BuildOutput",
    "BuildStarted",
    "BuildStep",
    "RehearsalCheck",
    "RehearsalStep",
]


@dataclass(frozen=True)
class BuildStarted(Event):
    kind: ClassVar[str] = "build_started"
    build: str
    build_id: str


@dataclass(frozen=True)
class BuildStep(Event):
    """A step of amazon-ebs's sequence began (``step`` is its stable name, for tests and logs)."""

    kind: ClassVar[str] = "build_step"
    build: str
    step: str
    message: str


@dataclass(frozen=True)
class BuildOutput(Event):
    """A line a provisioner printed in the instance."""

    kind: ClassVar[str] = "build_output"
    build: str
    line: str


@dataclass(frozen=True)
class BuildArtifact(Event):
    kind: ClassVar[str] = "build_artifact"
    build: str
    artifact_id: str
    image_id: str
    up_to_date: bool


@dataclass(frozen=True)
class BuildFinished(Event):
    kind: ClassVar[str] = "build_finished"
    build: str
    status: str
    seconds: float
    cloud_seconds: float
    aws_calls: int
    error: str


@dataclass(frozen=True)
class RehearsalStarted(Event):
    """A rehearsal began; its own state is kept in ``directory`` (on the machine running it) until
    its stack is destroyed, so whoever finds it cut off can destroy what it made."""

    kind: ClassVar[str] = "rehearsal_started"
    rehearsal_id: str
    directory: str


@dataclass(frozen=True)
class RehearsalStep(Event):
    kind: ClassVar[str] = "rehearsal_step"
    step: str
    message: str


@dataclass(frozen=True)
class RehearsalCheck(Event):
    kind: ClassVar[str] = "rehearsal_check"
    name: str
    passed: bool
    detail: str
