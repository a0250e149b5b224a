"""The queue rule, as a table of cases; the health-check schedule; incidents in the database;
the configuration of workers and health checks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from relight.durations import parse_duration
from relight.heal.incidents import IncidentLog, IncidentStore
from relight.server import healthcheck
from relight.server.config import WorkspaceSettings, parse_server_config
from relight.server.db import Database
from relight.server.schema import runs
from relight.server.store import NewRun, Store, now

# Each case: the runs of workspace "a" (and "b") in creation order as (workspace, kind, operation,
# status), and the indexes of those the rule lets start now, with their phase.
CASES = [
    ("FIFO: the second push waits", [("a", "apply", "plan", "pending"), ("a", "apply", "plan", "pending")],
     [(0, "plan")]),
    ("a plan waiting for a person holds the workspace",
     [("a", "apply", "plan", "planned"), ("a", "apply", "plan", "pending")], []),
    ("but not a heal pass (the plan goes stale instead)",
     [("a", "apply", "plan", "planned"), ("a", "apply", "heal", "pending")], [(1, "plan")]),
    ("a heal pass waits for a confirmed run",
     [("a", "apply", "plan", "confirmed"), ("a", "apply", "heal", "pending")], [(0, "apply")]),
    ("a confirmed run waits for a heal pass in flight",
     [("a", "apply", "plan", "confirmed"), ("a", "apply", "heal", "applying")], []),
    ("a push waits for a heal pass in flight",
     [("a", "apply", "heal", "planning"), ("a", "apply", "plan", "pending")], []),
    ("heal passes go one at a time",
     [("a", "apply", "heal", "pending"), ("a", "apply", "heal", "pending")], [(0, "plan")]),
    ("the two lanes are independent when nothing runs",
     [("a", "apply", "plan", "pending"), ("a", "apply", "heal", "pending")], [(0, "plan"), (1, "plan")]),
    ("speculative plans never wait",
     [("a", "apply", "plan", "applying"), ("a", "speculative", "plan", "pending"),
      ("a", "speculative", "plan", "pending")], [(1, "plan"), (2, "plan")]),
    ("workspaces do not wait for each other",
     [("a", "apply", "plan", "planned"), ("b", "apply", "plan", "pending"), ("a", "apply", "plan", "pending")],
     [(1, "plan")]),
    ("finished runs hold nothing",
     [("a", "apply", "plan", "applied"), ("a", "apply", "plan", "errored"), ("a", "apply", "plan", "discarded"),
      ("a", "apply", "plan", "pending")], [(3, "plan")]),
    ("a confirmed run comes first", [("a", "speculative", "plan", "pending"), ("b", "apply", "plan", "confirmed")],
     [(1, "apply"), (0, "plan")]),
]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    db = Database(f"sqlite:///{tmp_path / 'relight.db'}")
    db.migrate()
    s = Store(db)
    s.sync_workspaces([WorkspaceSettings("a", "acme/infra", "a"), WorkspaceSettings("b", "acme/infra", "b")])
    return s


def _insert(store: Store, rows: list[tuple[str, str, str, str]]) -> list[int]:
    ids = []
    for ws, kind, operation, status in rows:
        run_id = store.create_run(NewRun(workspace=ws, kind=kind, commit_sha="a" * 40, ref="main",  # type: ignore[arg-type]
                                         clone_url="file:///x", trigger="test", operation=operation))  # type: ignore[arg-type]
        store.update_run(run_id, status=status)
        ids.append(run_id)
    return ids


@pytest.mark.parametrize(("case", "rows", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_queue_rule(store: Store, case: str, rows: list[tuple[str, str, str, str]],
                        expected: list[tuple[int, str]]) -> None:
    ids = _insert(store, rows)
    eligible = [(ids.index(e.run_id), e.phase) for e in store.eligible()]
    assert eligible == expected, case
    # claim_run agrees with the rule, one run at a time, and claim_next takes the first.
    if expected:
        first, phase = expected[0]
        job = store.claim_next("w")
        assert job is not None and (ids.index(job.run_id), job.phase) == (first, phase)
    blocked = [i for i in range(len(ids)) if i not in {e for e, _ in expected}]
    for i in blocked:
        assert store.claim_run(ids[i], "plan", "w") is None and store.claim_run(ids[i], "apply", "w") is None


def test_claim_run_is_a_compare_and_set(store: Store) -> None:
    [run_id] = _insert(store, [("a", "apply", "plan", "pending")])
    job = store.claim_run(run_id, "plan", "job:1")
    assert job is not None and job.phase == "plan"
    assert store.claim_run(run_id, "plan", "job:2") is None  # a duplicate job finds it taken
    run = store.get_run(run_id)
    assert run is not None and run.status == "planning" and run.claimed_by == "job:1" and run.started_at


# -- health checks -------------------------------------------------------------------------------


def _config(tmp_path: Path, every: str = "5m") -> object:
    text = (f'server {{\n  data_dir = "{tmp_path}"\n}}\ngithub {{\n  webhook_secret = "s"\n  token = "t"\n}}\n'
            f'workspace "a" {{\n  repo = "acme/infra"\n  dir = "a"\n  health_check = "{every}"\n}}\n'
            'workspace "b" {\n  repo = "acme/infra"\n  dir = "b"\n}\n')
    config, diags = parse_server_config(text, str(tmp_path / "relight-server.hcl"), {})
    assert config is not None, list(diags)
    return config


def test_health_checks_are_queued_when_due_once_per_interval(store: Store, tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert healthcheck.schedule_due(store, config) == []  # type: ignore[arg-type]  # nothing applied yet
    [applied] = _insert(store, [("a", "apply", "plan", "applied")])
    at = now() + timedelta(minutes=5, seconds=1)
    [heal] = healthcheck.schedule_due(store, config, at)  # type: ignore[arg-type]
    run = store.get_run(heal)
    assert run is not None and (run.operation, run.kind, run.status) == ("heal", "apply", "pending")
    assert run.commit_sha == "a" * 40 and run.trigger == "health check (every 5m)"
    assert healthcheck.schedule_due(store, config, at) == []  # type: ignore[arg-type]  # not due again yet
    later = at + timedelta(minutes=6)
    assert healthcheck.schedule_due(store, config, later) == []  # type: ignore[arg-type]  # one still pending
    store.update_run(heal, status="planned_and_finished")
    assert len(healthcheck.schedule_due(store, config, later + timedelta(minutes=6))) == 1  # type: ignore[arg-type]
    assert applied


def test_incidents_in_the_database_behave_as_the_file(store: Store, tmp_path: Path) -> None:
    ws_id = store.workspace_id("a")
    assert ws_id is not None
    stores: list[IncidentStore] = [healthcheck.SqlIncidents(store.db, ws_id, run_id=7),
                                   IncidentLog(str(tmp_path / "relight.tfstate"))]
    for s in stores:
        first = s.open("a", "recovery", detected_at="2026-12-01T10:00:00.000+00:00", vanished=("aws_instance.x",))
        assert s.current() == first
        done = s.update(first, outcome="recovered", applied_at=now().isoformat())
        assert s.current() is None and s.recoveries_since(1.0) == 1
        second = s.open("a", "drift", detected_at="2026-12-01T11:00:00.000+00:00")
        assert [i.id for i in s.all()] == [done.id, second.id] and s.current() == second
    listed = healthcheck.incidents_of(store.db, ws_id)
    assert [i["kind"] for i in listed] == ["drift", "recovery"] and listed[0]["run_id"] == 7


# -- configuration -------------------------------------------------------------------------------

DURATIONS = [("5m", 300.0), ("30s", 30.0), ("1h30m", 5400.0), ("500ms", 0.5), ("2.5s", 2.5), ("5", 5.0),
             ("m", None), ("5 m", None), ("-5m", None), ("1d", None)]


@pytest.mark.parametrize(("text", "seconds"), DURATIONS)
def test_durations(text: str, seconds: float | None) -> None:
    """The server reads health_check with the one duration parser (relight.durations)."""
    if seconds is None:
        with pytest.raises(ValueError):
            parse_duration(text)
    else:
        assert parse_duration(text) == seconds


BASE = 'github {\n  webhook_secret = "s"\n  token = "t"\n}\n'
MISTAKES = [
    ("workers without PostgreSQL", 'server {\n  workers = 0\n}\n', 'Invalid value for "workers"', 2),
    ("negative workers", 'server {\n  database = "postgresql://h/db"\n  workers = -1\n}\n',
     'Invalid value for "workers"', 3),
    ("fractional workers", 'server {\n  workers = 1.5\n}\n', 'Invalid value for "workers"', 2),
    ("workers as text", 'server {\n  workers = "two"\n}\n', "Incorrect attribute value type", 2),
    ("a bad health check", 'workspace "a" {\n  repo = "acme/infra"\n  health_check = "often"\n}\n',
     'Invalid value for "health_check"', 3),
    ("a too frequent health check", 'workspace "a" {\n  repo = "acme/infra"\n  health_check = "10ms"\n}\n',
     'Invalid value for "health_check"', 3),
    ("a bad channel", 'workspace "a" {\n  repo = "acme/infra"\n  channel = "Prod!"\n}\n', 'Invalid value for "channel"', 3),
    ("an image directory outside", 'workspace "a" {\n  repo = "acme/infra"\n  images = ["../x"]\n}\n',
     'Invalid value for "images"', 3),
]


@pytest.mark.parametrize(("what", "text", "summary", "line"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_worker_and_health_check_mistakes(what: str, text: str, summary: str, line: int) -> None:
    config, diags = parse_server_config(text + BASE, "relight-server.hcl", {})
    assert config is None
    [d] = [d for d in diags.errors if d.summary == summary]
    assert d.subject is not None and d.subject.start.line == line, what


def test_workers_and_health_checks_load() -> None:
    text = ('server {\n  database = "postgresql://relight@db/relight"\n  workers = 0\n}\n' + BASE +
            'workspace "a" {\n  repo = "acme/infra"\n  health_check = "5m"\n}\n')
    config, diags = parse_server_config(text, "relight-server.hcl", {})
    assert config is not None, list(diags)
    assert config.server.workers == 0 and config.workspaces["a"].health_check == 300.0


def test_runs_table_has_the_new_columns(store: Store) -> None:
    with store.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar() == 0
    assert {"confirm_required", "claimed_by"} <= {c.name for c in runs.c}


def test_a_run_whose_lock_was_released_records_nothing_more(store: Store) -> None:
    """Fencing: the lock of a run whose worker was declared lost is released with the run; if that
    worker comes back, its journal refuses to record anything more."""
    from relight.addrs import InstanceAddr
    from relight.errors import StateError
    from relight.server.sqlstate import SqlStateBackend, release_run_locks
    from relight.state import ObjectState

    ws_id = store.workspace_id("a")
    assert ws_id is not None
    backend = SqlStateBackend(store.db, ws_id, "a", run_id=5)
    first, second = InstanceAddr.parse("terraform_data.a"), InstanceAddr.parse("terraform_data.b")
    with backend.lock("apply"):
        journal = backend.open_journal(backend.read())
        journal.set(first, "terraform", ObjectState({"id": "a1"}))
        assert release_run_locks(store.db, 5) == 1
        assert backend.holder() is None
        with pytest.raises(StateError, match="no longer holds the state lock"):
            journal.set(second, "terraform", ObjectState({"id": "b1"}))
        journal.close()
    state = backend.read()
    assert [str(i.addr) for i in state] == ["terraform_data.a"]
