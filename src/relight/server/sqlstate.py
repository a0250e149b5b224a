"""Each workspace's state in the database: the SQL :class:`~relight.state.StateBackend`.

It keeps the local file backend's promises, with rows instead of files:

- ``state_versions`` holds every snapshot ever written (lineage, serial, the state as the local
  codec writes it). The newest serial is the current snapshot; nothing is ever overwritten.
- ``state_journal`` holds the change records of a run in progress, one row each, keyed by the
  snapshot they extend (lineage and base serial). A recording call returns only once its row is
  committed (SQLite ``synchronous=FULL`` / PostgreSQL's WAL): callers on many threads share
  commits as the local journal shares fsyncs (group commit: the first waiting caller writes
  everything queued so far in one transaction). :meth:`SqlJournal.commit` inserts the next
  snapshot and deletes its records in one transaction, so a crash leaves either the records or
  the snapshot, never neither. Reading replays records on the newest snapshot exactly as the
  local backend replays its journal file (the same record format and replay code); records of an
  older serial are left over by a ``write`` and ignored; records that claim a newer serial or
  another lineage mean the rows were edited by hand, and are refused.
- ``state_locks`` holds at most one row per workspace: the holder's lock info (Terraform's keys
  plus pid, host, boot id and process start). Take-over rule, the same as for lock files: a lock
  whose holder ran on this host and is gone (its pid is dead or reused, or the machine rebooted)
  is taken over and reported in :attr:`~relight.state.LockInfo.took_over_from`; any other holder
  is waited for until the timeout and then named in :class:`~relight.errors.StateLockedError`.
  Taking and taking over happen in claiming transactions, so two runs never both win. A lock
  taken by one of the server's runs records the run, so that when its worker is lost (see
  :mod:`relight.server.distributed`) the lock is released with the run (:func:`release_run_locks`).
- Fencing: while this backend holds the lock, every journal commit checks, in its own
  transaction, that the lock row is still the one it took. A run whose lock was taken from it
  (its worker was declared lost, then came back) can record nothing more.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from relight.errors import StateCorruptError, StateError, StateLockedError
from relight.server.db import Database, StoreError
from relight.server.schema import state_journal, state_locks, state_versions
from relight.state import UNASSIGNED_LINEAGE, GroupCommitJournal, LockInfo, State, VersionInfo, codec
from relight.state.journal import apply_records
from relight.state.locks import holder_is_dead, lock_error_message

__all__ = ["SqlJournal", "SqlStateBackend", "release_run_locks"]

_FIRST_DELAY = 0.05
_MAX_DELAY = 1.0


class SqlStateBackend:
    """The state of workspace ``workspace_id`` (named ``name`` in messages) in ``db``."""

    def __init__(self, db: Database, workspace_id: int, name: str, run_id: int | None = None) -> None:
        self.db = db
        self.workspace_id = workspace_id
        self.name = name
        self.run_id = run_id  # recorded on the versions this backend writes and the locks it takes
        self.where = f"the database state of workspace {name!r}"
        self.held_lock: str | None = None  # the lock ID while this backend holds the lock

    def __repr__(self) -> str:
        return f"SqlStateBackend({self.name!r})"

    # -- reading ---------------------------------------------------------------------------

    def read(self) -> State:
        """The newest snapshot plus the records of a run that did not commit (never written: empty)."""
        with self._reading() as conn:
            snapshot = self._snapshot(conn)
            lineage, records = self._live_records(conn, snapshot)
        if not records:
            return snapshot if snapshot is not None else State(UNASSIGNED_LINEAGE)
        state = snapshot if snapshot is not None else State(lineage)
        apply_records(state, records, f"{self.where} (journal)", self._hint())
        return state

    def read_version(self, serial: int) -> State:
        """The snapshot stored at ``serial``; StateError if there is none."""
        with self._reading() as conn:
            row = conn.execute(
                sa.select(state_versions.c.state).where(
                    state_versions.c.workspace_id == self.workspace_id, state_versions.c.serial == serial
                )
            ).first()
        if row is None:
            raise StateError(f"no stored state version {serial} for workspace {self.name!r}")
        return codec.loads(row.state.encode(), f"{self.where} (serial {serial})", self._hint())

    def history(self) -> list[VersionInfo]:
        """Every stored snapshot, oldest first."""
        with self._reading() as conn:
            rows = conn.execute(
                sa.select(
                    state_versions.c.serial,
                    state_versions.c.lineage,
                    state_versions.c.created_at,
                    state_versions.c.resource_count,
                )
                .where(state_versions.c.workspace_id == self.workspace_id)
                .order_by(state_versions.c.serial)
            ).all()
        return [
            VersionInfo(r.serial, r.lineage, r.created_at, f"workspace {self.name} serial {r.serial}", r.resource_count)
            for r in rows
        ]

    # -- writing ---------------------------------------------------------------------------

    def open_journal(self, state: State) -> SqlJournal:
        """Start recording changes to ``state``, which must be what :meth:`read` returned.

        Raises StateError if the snapshot moved on since. Records left by an interrupted run on
        the same snapshot are continued (they are already in ``state``), so a second crash loses
        nothing either.
        """
        with self._reading() as conn:
            snapshot = self._snapshot(conn)
            lineage, records = self._live_records(conn, snapshot)
        serial = snapshot.serial if snapshot is not None else 0
        current_lineage = snapshot.lineage if snapshot is not None else (lineage or state.lineage)
        if (current_lineage, serial) != (state.lineage, state.serial):
            raise StateError(
                f"{self.where} changed since it was read (now serial {serial}, lineage {current_lineage}; "
                f"read serial {state.serial}, lineage {state.lineage}). Another run wrote it; read it again"
            )
        base = state.copy()
        base.lineage = state.lineage or lineage or str(uuid.uuid4())
        return SqlJournal(self, base, len(records))

    def write(self, state: State, *, force: bool = False) -> State:
        """Store ``state`` whole as the next snapshot (state push, rollback).

        Refuses, unless ``force``, another lineage or an older serial than the stored one. The
        written serial is above both; records of an interrupted run are left behind, ignored.
        """
        result = state.copy()
        result.lineage = state.lineage or str(uuid.uuid4())
        with self.db.write(claim=True) as conn:
            current = self._snapshot(conn)
            if current is not None and not force:
                if current.lineage != state.lineage:
                    raise StateError(
                        f"refusing to write lineage {state.lineage} over {self.where}, which has lineage "
                        f"{current.lineage}: they are different states"
                    )
                if state.serial < current.serial:
                    raise StateError(
                        f"refusing to write serial {state.serial} over {self.where}, which is newer "
                        f"(serial {current.serial}); read it again"
                    )
            result.serial = max(state.serial, current.serial if current is not None else 0) + 1
            self._insert_version(conn, result)
        return result

    # -- locking ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, operation: str, timeout: float = 0.0) -> Iterator[LockInfo]:
        """Hold the workspace's state lock for a ``with`` block (see the module's take-over rule)."""
        info = self._acquire(operation, timeout)
        self.held_lock = info.id
        try:
            yield info
        finally:
            self.held_lock = None

            def release() -> None:
                with self.db.write() as conn:
                    conn.execute(sa.delete(state_locks).where(
                        state_locks.c.workspace_id == self.workspace_id, state_locks.c.lock_id == info.id))

            self.db.retrying(release)

    def force_unlock(self, lock_id: str) -> None:
        """Remove the lock if its ID is ``lock_id``; StateError naming the real holder otherwise."""
        with self.db.write(claim=True) as conn:
            holder = self._holder(conn)
            if holder is None:
                raise StateError(f"workspace {self.name!r} is not locked")
            if holder.id != lock_id:
                raise StateError(
                    f"lock ID {lock_id!r} does not match the lock on workspace {self.name!r}: it is held by "
                    f"{holder.who} (ID {holder.id}, operation {holder.operation}, created {holder.created})"
                )
            conn.execute(sa.delete(state_locks).where(state_locks.c.workspace_id == self.workspace_id))

    # -- Terraform's http backend protocol (server/tfhttp.py) -----------------------------------

    def put(self, state: State) -> State:
        """Store ``state`` as a client of Terraform's http backend sent it: its serial is the
        client's own when above the stored one (Terraform counts serials itself), else the next.
        Refuses another lineage and an older serial (a client that read a stale state)."""
        result = state.copy()
        result.lineage = state.lineage or str(uuid.uuid4())

        def write() -> None:
            with self.db.write(claim=True) as conn:
                current = self._snapshot(conn)
                if current is not None and current.lineage != result.lineage:
                    raise StateError(f"refusing lineage {result.lineage} over {self.where}, which has lineage "
                                     f"{current.lineage}: they are different states")
                if current is not None and result.serial < current.serial:
                    raise StateError(f"refusing serial {result.serial} over {self.where}, which is newer "
                                     f"(serial {current.serial}): read the state again")
                if current is not None and result.serial == current.serial and current.same_content(result):
                    return
                stored = current.serial if current is not None else 0
                result.serial = max(result.serial, stored + 1)
                self._insert_version(conn, result)

        self.db.retrying(write)
        return result

    def lock_as(self, info: LockInfo) -> LockInfo | None:
        """Take the lock for a client that names its own lock info (Terraform's LOCK request);
        None when taken, else the holder (a dead holder on this host is taken over)."""
        with self.db.write(claim=True) as conn:
            holder = self._holder(conn)
            if holder is not None and holder.id == info.id:
                return None
            if holder is not None and not holder_is_dead(holder):
                return holder
            conn.execute(sa.delete(state_locks).where(state_locks.c.workspace_id == self.workspace_id))
            conn.execute(sa.insert(state_locks).values(workspace_id=self.workspace_id, lock_id=info.id,
                                                       info=json.dumps(info.to_json()), created_at=datetime.now(UTC),
                                                       run_id=None))
            return None

    def unlock_as(self, lock_id: str) -> LockInfo | None:
        """Release the lock if its ID is ``lock_id`` (or nobody holds it); else return the holder."""
        with self.db.write(claim=True) as conn:
            holder = self._holder(conn)
            if holder is None:
                return None
            if holder.id != lock_id:
                return holder
            conn.execute(sa.delete(state_locks).where(state_locks.c.workspace_id == self.workspace_id,
                                                      state_locks.c.lock_id == lock_id))
            return None

    def holder(self) -> LockInfo | None:
        """Who holds the lock now, if anyone (for pages and messages)."""
        with self._reading() as conn:
            return self._holder(conn)

    def _acquire(self, operation: str, timeout: float) -> LockInfo:
        info = LockInfo.new(operation, self.where)
        started = time.monotonic()
        delay = _FIRST_DELAY
        while True:
            with self.db.write(claim=True) as conn:
                holder = self._holder(conn)
                if holder is None or holder_is_dead(holder):
                    if holder is not None:
                        conn.execute(sa.delete(state_locks).where(state_locks.c.workspace_id == self.workspace_id))
                    conn.execute(
                        sa.insert(state_locks).values(
                            workspace_id=self.workspace_id,
                            lock_id=info.id,
                            info=json.dumps(info.to_json()),
                            created_at=datetime.now(UTC),
                            run_id=self.run_id,
                        )
                    )
                    return replace(info, took_over_from=holder) if holder is not None else info
            waited = time.monotonic() - started
            if waited >= timeout:
                raise StateLockedError(lock_error_message(holder, self.where, waited), holder.to_json())
            time.sleep(min(delay, max(timeout - waited, 0.01)))
            delay = min(delay * 2, _MAX_DELAY)

    # -- internals shared with the journal -----------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self.db.read() as conn:
                yield conn
        except StoreError as exc:
            raise StateError(f"cannot read {self.where}: {exc}") from exc

    def _holder(self, conn: Connection) -> LockInfo | None:
        row = conn.execute(sa.select(state_locks.c.info).where(state_locks.c.workspace_id == self.workspace_id)).first()
        if row is None:
            return None
        try:
            doc = json.loads(row.info)
        except ValueError:
            doc = {}
        return LockInfo.from_json(doc if isinstance(doc, dict) else {})

    def _snapshot(self, conn: Connection) -> State | None:
        row = conn.execute(
            sa.select(state_versions.c.serial, state_versions.c.state)
            .where(state_versions.c.workspace_id == self.workspace_id)
            .order_by(state_versions.c.serial.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        return codec.loads(row.state.encode(), f"{self.where} (serial {row.serial})", self._hint())

    def _live_records(self, conn: Connection, snapshot: State | None) -> tuple[str, list[dict[str, Any]]]:
        """(lineage, records) of the journal extending ``snapshot``; refuses rows that cannot."""
        serial = snapshot.serial if snapshot is not None else 0
        rows = conn.execute(
            sa.select(state_journal.c.lineage, state_journal.c.base_serial, state_journal.c.record)
            .where(state_journal.c.workspace_id == self.workspace_id, state_journal.c.base_serial >= serial)
            .order_by(state_journal.c.id)
        ).all()
        if not rows:
            return "", []
        lineages = {r.lineage for r in rows}
        bases = {r.base_serial for r in rows}
        expected = snapshot.lineage if snapshot is not None else next(iter(lineages))
        if bases != {serial} or lineages != {expected}:
            raise StateCorruptError(
                codec.corrupt_message(
                    f"{self.where} (journal)",
                    f"journal rows continue serial(s) {sorted(bases)} of lineage(s) {sorted(lineages)}, but the "
                    f"newest snapshot is serial {serial} of lineage {expected} (were rows edited by hand?)",
                    self._hint(),
                )
            )
        records: list[dict[str, Any]] = []
        for r in rows:
            try:
                doc = json.loads(r.record)
            except ValueError:
                doc = None
            if not isinstance(doc, dict):
                raise StateCorruptError(codec.corrupt_message(f"{self.where} (journal)", "a record is not JSON",
                                                              self._hint()))
            records.append(doc)
        return expected, records

    def _insert_version(self, conn: Connection, state: State) -> None:
        conn.execute(
            sa.insert(state_versions).values(
                workspace_id=self.workspace_id,
                serial=state.serial,
                lineage=state.lineage,
                state=codec.dumps(state).decode(),
                resource_count=len(state),
                created_at=datetime.now(UTC),
                run_id=self.run_id,
            )
        )

    def _hint(self) -> str:
        return f"an earlier version (GET /api/workspaces/{self.name}/state?serial=N)"

    def check_fence(self, conn: Connection) -> None:
        """Inside a write: refuse it unless the lock this backend took is still its own (the row
        is read FOR SHARE on PostgreSQL, so a release waits for this transaction to commit)."""
        if self.held_lock is None:
            return
        query = sa.select(state_locks.c.lock_id).where(
            state_locks.c.workspace_id == self.workspace_id, state_locks.c.lock_id == self.held_lock)
        if not self.db.is_sqlite:
            query = query.with_for_update(read=True)
        if conn.execute(query).first() is None:
            raise StateError(f"{self.where}: this run no longer holds the state lock (it was released when its "
                             "worker was declared lost); nothing more is recorded")


def release_run_locks(db: Database, run_id: int) -> int:
    """Remove the state locks held by run ``run_id`` (its worker was lost); returns how many."""
    with db.write(claim=True) as conn:
        return int(conn.execute(sa.delete(state_locks).where(state_locks.c.run_id == run_id)).rowcount)


class SqlJournal(GroupCommitJournal):
    """The :class:`~relight.state.Journal` of :class:`SqlStateBackend`; thread-safe.

    A batch is one transaction inserting its rows (see :mod:`relight.state.groupcommit`).
    """

    def __init__(self, backend: SqlStateBackend, base: State, prior_records: int = 0) -> None:
        super().__init__(base, backend.where, prior_records)
        self._backend = backend

    @property
    def commits(self) -> int:
        return self.flushes

    def _write_batch(self, lines: list[bytes], durable: bool) -> None:
        # Retried while PostgreSQL restarts: the run waits rather than fail between a provider
        # call and its record. (A batch whose commit answer was lost may be written twice; its
        # records replay to the same state.) Fenced: refused once the run's lock was taken away.
        b = self._backend
        rows = [{"workspace_id": b.workspace_id, "lineage": self._base.lineage, "base_serial": self._base.serial,
                 "record": line.decode().rstrip("\n")} for line in lines]

        def insert() -> None:
            with b.db.write() as conn:
                b.check_fence(conn)
                conn.execute(sa.insert(state_journal), rows)

        try:
            b.db.retrying(insert)
        except StoreError as exc:
            raise StateError(f"{b.where}: could not record a change durably: {exc}") from exc

    # -- finishing -------------------------------------------------------------------------

    def commit(self, final: State) -> State:
        """Compact: insert ``final`` as snapshot base + 1 and delete the records, atomically.

        Nothing recorded and nothing changed: nothing is written and the base serial is kept.
        If the insert fails the records stay for the next read.
        """
        if final.lineage not in (self._base.lineage, UNASSIGNED_LINEAGE):
            raise ValueError(f"cannot commit lineage {final.lineage} into a journal for {self._base.lineage}")
        self._stop()
        result = final.copy()
        result.lineage = self._base.lineage
        result.serial = self._base.serial
        b = self._backend

        def write() -> None:
            with b.db.write(claim=True) as conn:
                b.check_fence(conn)
                result.serial = self._base.serial
                if self._records or not final.same_content(self._base):
                    newest = b._snapshot(conn)
                    if newest is not None and newest.serial == self._base.serial + 1 and newest.same_content(result):
                        pass  # this very commit, written before its answer was lost
                    elif newest is not None and newest.serial != self._base.serial:
                        raise StateError(f"{b.where} was written by someone else during this run (now serial "
                                         f"{newest.serial}); the run's records are kept")
                    result.serial += 1
                    if newest is None or newest.serial == self._base.serial:
                        b._insert_version(conn, result)
                conn.execute(
                    sa.delete(state_journal).where(
                        state_journal.c.workspace_id == b.workspace_id,
                        state_journal.c.base_serial == self._base.serial,
                        state_journal.c.lineage == self._base.lineage,
                    )
                )

        b.db.retrying(write)
        return result

    def close(self) -> None:
        """Stop recording; records stay for the next read."""
        if not self._closed:
            self._stop()

    def __enter__(self) -> SqlJournal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
