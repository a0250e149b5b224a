"""A rehearsal cut off (its worker lost, its server killed) never destroyed its stack: the fresh run
that follows it destroys that stack from the state the rehearsal kept, before it rehearses."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relight.images import RehearsalStarted
from relight.localcloud import LocalCloud
from relight.runs import RunContext
from relight.server import imageruns
from tests.images.test_rehearsal import V17, production, run, world
from tests.localcloud.machines import Machines


@dataclass
class _Run:
    id: int


@dataclass
class _Store:
    """The two queries the clean-up asks of the store: the runs this one follows, their events."""

    history: dict[int, list[dict[str, Any]]]
    follows: dict[int, list[int]]

    def predecessors(self, run_id: int) -> list[int]:
        return self.follows.get(run_id, [])

    def events(self, run_id: int) -> list[tuple[int, dict[str, Any]]]:
        return list(enumerate(self.history.get(run_id, [])))


@dataclass
class _Log:
    lines: list[tuple[str, str]] = field(default_factory=list)

    def text(self, line: str, kind: str = "message") -> None:
        self.lines.append((kind, line))


@dataclass
class _Ctx:
    run: _Run
    store: _Store
    log: _Log


def test_the_fresh_run_destroys_a_cut_off_rehearsal_s_stack(dataplane: LocalCloud, tmp_path: Path) -> None:
    m = Machines(dataplane)
    directory, node, _token = production(tmp_path, m)
    before = world(m, node)
    kept = run(directory, V17, keep=True)  # a rehearsal whose destroy never ran (as if cut off)
    assert kept.passed and kept.created and world(m, node) != before
    started = RehearsalStarted(kept.id, kept.directory).to_json()
    ctx = _Ctx(_Run(2), _Store({1: [{"kind": "rehearsal_step"}, started]}, {2: [1]}), _Log())

    imageruns._destroy_cut_off_rehearsals(ctx, RunContext(str(directory), environment=dict(os.environ)))  # type: ignore[arg-type]

    assert ctx.log.lines == [("message", f"Destroyed what rehearsal {kept.id} of run 1 made (it was cut off).")]
    assert world(m, node) == before  # every production object and its data; nothing of the rehearsal


def test_a_cut_off_rehearsal_on_another_machine_is_named_with_its_command(tmp_path: Path) -> None:
    elsewhere = RehearsalStarted("r-0123456789", str(tmp_path / "not-here" / "r-0123456789")).to_json()
    ctx = _Ctx(_Run(5), _Store({4: [elsewhere]}, {5: [4]}), _Log())
    imageruns._destroy_cut_off_rehearsals(ctx, RunContext(str(tmp_path)))  # type: ignore[arg-type]
    [(kind, line)] = ctx.log.lines
    assert kind == "error" and "relight rehearse --cleanup r-0123456789" in line and "run 4" in line
