"""The store and the SQL state backend, on SQLite and on a real PostgreSQL started by the suite."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from relight.addrs import InstanceAddr
from relight.engine import Engine, PlanOptions
from relight.errors import StateCorruptError, StateError, StateLockedError
from relight.lang import load_config
from relight.providers.registry import ProviderRegistry
from relight.server.accounts import Accounts
from relight.server.config import WorkspaceSettings
from relight.server.db import Database
from relight.server.schema import metadata, state_journal, state_locks
from relight.server.sqlstate import SqlStateBackend
from relight.server.store import NewRun, Store
from relight.state import LockInfo, ObjectState, State


@pytest.fixture(scope="session")
def pg_database(postgres_url: str) -> Iterator[Database]:
    """One migrated database for the session; each test starts from empty tables."""
    admin = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("CREATE DATABASE store_tests"))
    admin.dispose()
    database = Database(postgres_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/store_tests")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgresql":
        database: Database = request.getfixturevalue("pg_database")
        names = ", ".join(t.name for t in metadata.sorted_tables)
        with database.write() as conn:
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        yield database
        return
    database = Database(f"sqlite:///{tmp_path / 'relight.db'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def store(db: Database) -> Store:
    s = Store(db)
    s.sync_workspaces([WorkspaceSettings("ghe", "acme/infra"), WorkspaceSettings("jira", "acme/infra", "jira")])
    return s


def _backend(store: Store, name: str = "ghe") -> SqlStateBackend:
    ws_id = store.workspace_id(name)
    assert ws_id is not None
    return SqlStateBackend(store.db, ws_id, name)


def test_migrations_match_the_schema(db: Database) -> None:
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    db.migrate()  # idempotent


ADDR = InstanceAddr.parse("terraform_data.a")


def test_journal_records_survive_a_crash_and_commit_compacts(store: Store) -> None:
    backend = _backend(store)
    empty = backend.read()
    assert (empty.lineage, empty.serial, len(empty)) == ("", 0, 0)
    journal = backend.open_journal(empty)
    journal.set(ADDR, "terraform", ObjectState({"id": "a1"}))
    journal.set_outputs({})
    journal.close()  # the run died before committing
    recovered = backend.read()
    assert recovered.current(ADDR) == ObjectState({"id": "a1"}) and recovered.lineage
    # The next run continues that journal, then commits one snapshot.
    journal = backend.open_journal(recovered)
    with journal.batch():
        journal.set(InstanceAddr.parse("terraform_data.b"), "terraform", ObjectState({"id": "b1"}))
    recovered.set_current(InstanceAddr.parse("terraform_data.b"), "terraform", ObjectState({"id": "b1"}))
    final = journal.commit(recovered)
    assert final.serial == 1
    with store.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(state_journal)).scalar() == 0
    assert backend.read() == final
    assert [v.serial for v in backend.history()] == [1]
    assert backend.read_version(1) == final


def test_open_journal_refuses_a_state_that_moved(store: Store) -> None:
    backend = _backend(store)
    first = backend.write(State.new())
    with pytest.raises(StateError, match="changed since it was read"):
        backend.open_journal(State(first.lineage, 0))
    with pytest.raises(StateError, match="different states"):
        backend.write(State.new())
    with pytest.raises(StateError, match="newer"):
        backend.write(State(first.lineage, 0))
    forced = backend.write(State.new(), force=True)
    assert forced.serial == 2


def test_concurrent_records_share_commits(store: Store) -> None:
    backend = _backend(store)
    state = backend.read()
    journal = backend.open_journal(state)
    threads = [threading.Thread(target=lambda i=i: journal.set(InstanceAddr.parse(f"terraform_data.x[{i}]"),
                                                               "terraform", ObjectState({"id": str(i)})))
               for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal.close()
    assert len(backend.read()) == 40
    assert journal.commits <= 40


def test_hand_edited_journal_rows_are_refused(store: Store) -> None:
    backend = _backend(store)
    backend.write(State.new())
    with store.db.write() as conn:
        conn.execute(sa.insert(state_journal).values(workspace_id=backend.workspace_id, lineage="other",
                                                     base_serial=1, record=json.dumps({"op": "remove", "addr": "a.b"})))
    with pytest.raises(StateCorruptError, match="edited by hand"):
        backend.read()


def test_lock_is_exclusive_names_its_holder_and_takes_over_dead_ones(store: Store) -> None:
    backend = _backend(store)
    with backend.lock("apply") as info:
        assert backend.holder() == replace(info, took_over_from=None)
        with pytest.raises(StateLockedError) as err, backend.lock("plan", timeout=0.2):
            pass
        assert err.value.info["ID"] == info.id and "apply" in str(err.value)
        with pytest.raises(StateError, match="does not match"):
            backend.force_unlock("nope")
    assert backend.holder() is None
    # A lock left by a process that is gone is taken over, and says so.
    dead = replace(LockInfo.new("apply", "x"), pid=2**22 + 12345, process_start="1")
    with store.db.write() as conn:
        conn.execute(sa.insert(state_locks).values(workspace_id=backend.workspace_id, lock_id=dead.id,
                                                   info=json.dumps(dead.to_json()), created_at=sa.func.now()))
    with backend.lock("apply") as info:
        assert info.took_over_from is not None and info.took_over_from.id == dead.id
    # force-unlock removes a live holder's lock by its id.
    with backend.lock("apply") as info:
        backend.force_unlock(info.id)
        assert backend.holder() is None


def test_engine_applies_through_the_sql_backend(store: Store, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "terraform_data" "n" {\n  count = 3\n  input = count.index\n}\n')
    config, diags = load_config(str(tmp_path))
    assert config is not None and not diags.has_errors
    backend = _backend(store)
    engine = Engine(config, backend, ProviderRegistry(), {})
    with engine.lock("apply"):
        plan, _ = engine.plan(PlanOptions())
        state, diags = engine.apply(plan)
    assert not diags.has_errors and len(state) == 3 and state.serial == 1
    again, _ = Engine(config, backend, ProviderRegistry(), {}).plan(PlanOptions())
    assert not again.has_changes


def _new(ws: str, kind: str = "apply", pr: int | None = None) -> NewRun:
    return NewRun(workspace=ws, kind=kind, commit_sha="a" * 40, ref="main", clone_url="file:///x",  # type: ignore[arg-type]
                  trigger="test", pr_number=pr)


def test_claims_follow_the_queue_rule(store: Store) -> None:
    a1, a2 = store.create_run(_new("ghe")), store.create_run(_new("ghe"))
    j1 = store.create_run(_new("jira"))
    spec = store.create_run(_new("ghe", "speculative", pr=3))
    got = [store.claim_next("w"), store.claim_next("w"), store.claim_next("w"), store.claim_next("w")]
    # One apply run per workspace at a time, oldest first; speculative ones never wait.
    assert [(j.run_id, j.phase) for j in got if j] == [(a1, "plan"), (j1, "plan"), (spec, "plan")]
    assert store.transition(a1, ["planning"], "planned")
    assert store.claim_next("w") is None  # a planned run holds its workspace
    assert store.transition(a1, ["planned"], "confirmed")
    assert not store.transition(a1, ["planned"], "discarded")  # compare-and-set
    job = store.claim_next("w")
    assert job is not None and (job.run_id, job.phase) == (a1, "apply")
    assert store.transition(a1, ["applying"], "applied")
    job = store.claim_next("w")
    assert job is not None and job.run_id == a2
    run = store.get_run(a1)
    assert run is not None and run.status == "applied" and run.finished_at is not None


def test_concurrent_workers_never_overlap_a_workspace(store: Store) -> None:
    for _ in range(6):
        store.create_run(_new("ghe"))
        store.create_run(_new("jira"))
    claimed: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        job = store.claim_next(threading.current_thread().name)
        if job is not None:
            with lock:
                claimed.append(job.run_id)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == 2  # one per workspace, however many workers asked
    assert {store.get_run(r).workspace for r in claimed} == {"ghe", "jira"}  # type: ignore[union-attr]


def test_tokens_are_stored_hashed(store: Store) -> None:
    accounts = Accounts(store.db)
    token = accounts.create_token("alice")
    assert accounts.authenticate(token) == "alice"
    assert accounts.authenticate(token + "x") is None and accounts.authenticate("garbage") is None
    with store.db.read() as conn:
        stored = conn.execute(sa.text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert token not in stored and all(len(s) == 64 for s in stored)


def test_deliveries_are_recorded_once(store: Store) -> None:
    with store.db.write() as conn:
        assert store.insert_delivery(conn, "d1", "push", "", "acme/infra", "plan in ghe")
    with store.db.write() as conn:
        assert not store.insert_delivery(conn, "d1", "push", "", "acme/infra", "again")
    found = store.delivery("d1")
    assert found is not None and found["outcome"] == "plan in ghe"
