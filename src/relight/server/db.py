"""The database connection: SQLite in ``data_dir`` by default, PostgreSQL (psycopg 3) by URL.

:meth:`Database.write` is the only way to change rows: one transaction that commits durably
before the block returns, and that holds the database's write lock from its first statement so
that claims (a worker taking a run, a journal record, a lock row) never race. On SQLite that is
``BEGIN IMMEDIATE`` in WAL mode with ``synchronous=FULL`` (a commit is on disk when it returns,
and readers are never blocked); on PostgreSQL a transaction-scoped advisory lock serialises the
few transactions that claim (``claim=True``). :meth:`Database.read` runs a plain read
transaction. SQLAlchemy's errors are translated here into :class:`StoreError`; a lost or refused
connection to PostgreSQL (a restart, a failover) is marked ``transient``, and
:meth:`Database.retrying` runs a transaction again until the database is back (bounded), for
the writes a run cannot lose: journal records, status changes, lock releases.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from relight.errors import RelightError

__all__ = ["RETRY_FOR", "Database", "StoreError"]

T = TypeVar("T")
RETRY_FOR = 180.0  # seconds a critical write waits for PostgreSQL to come back

_MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")
_CLAIM_LOCK_KEY = 0x72656C69  # "reli": one advisory lock for every claiming transaction
_MIGRATE_LOCK_KEY = 0x72656C6B  # serialises migrations


class StoreError(RelightError):
    """The database could not be reached or refused a statement (the message says which).

    ``transient`` is True when the connection was lost or refused (trying again later may work).
    """

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class Database:
    """One SQLAlchemy engine plus the transaction helpers every store module uses."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
            self.engine: Engine = sa.create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 30.0}, pool_size=10, max_overflow=20
            )
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

    def migrate(self) -> None:
        """Bring the schema to the newest migration (creating every table on a new database).

        On PostgreSQL an advisory lock serialises processes migrating at once (a server and its
        workers started together): the first migrates, the others find nothing left to do.
        """
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", _MIGRATIONS)
        try:
            with self.engine.connect() as conn:
                if not self.is_sqlite:
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATE_LOCK_KEY})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                conn.commit()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate the database {self!r}: {_reason(exc)}") from exc

    @contextlib.contextmanager
    def write(self, claim: bool = False) -> Iterator[Connection]:
        """A write transaction, committed (durably) when the block ends, rolled back on error.

        ``claim`` also serialises the transaction with every other claiming one (workers taking
        runs, lock take-overs); SQLite's BEGIN IMMEDIATE does that for every write already.
        """
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(relight_immediate=True)
                with conn.begin():
                    if claim and not self.is_sqlite:
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CLAIM_LOCK_KEY})
                    yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"database write failed: {_reason(exc)}", self._transient(exc)) from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot on both databases)."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"database read failed: {_reason(exc)}", self._transient(exc)) from exc

    def retrying(self, fn: Callable[[], T], timeout: float = RETRY_FOR) -> T:
        """``fn()`` (one or more transactions), run again while it fails with a transient error,
        for up to ``timeout`` seconds; then the last error is raised. ``fn`` must be safe to run
        again after a failure (a transaction that failed was rolled back; one whose commit
        answer was lost may have committed: callers write what may be written twice)."""
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            try:
                return fn()
            except StoreError as exc:
                if not exc.transient or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 3.0)

    def _transient(self, exc: SQLAlchemyError) -> bool:
        if self.is_sqlite:
            return False
        lost = isinstance(exc, DBAPIError) and exc.connection_invalidated
        return lost or isinstance(exc, OperationalError | InterfaceError)

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_connect(dbapi_conn: Any, record: Any) -> None:
    # Autocommit at the driver level so that we, not pysqlite, decide how transactions begin.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
    finally:
        cur.close()


def _sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get("relight_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
