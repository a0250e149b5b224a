"""The pipeline server assembled: configuration -> database -> queue -> ASGI app -> uvicorn.

:class:`Server` is what ``relight serve`` runs and what tests start in-process. Starting it
migrates the database and syncs the configured workspaces, then starts the queue:

- SQLite (the default): the embedded queue's ``workers`` threads. Runs a previous process left
  in flight end ``errored`` first (see :meth:`relight.server.executor.Executor.recover_interrupted`);
  one server owns a ``data_dir`` at a time (a lock file refuses a second one).
- PostgreSQL: the distributed queue (:mod:`relight.server.distributed`) with ``workers`` jobs at
  a time in this process (``server { workers = 0 }``: none, ``relight worker`` processes run
  them). Runs cut off by a dead process are found by their stalled jobs, not at start-up (other
  workers may be running them).

Stopping (SIGTERM/SIGINT through uvicorn) stops taking work, lets runs in flight finish for up
to ``drain`` seconds, then asks the rest to stop between actions: their runs end ``errored``
with a fresh plan queued, what they completed recorded in the state.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from collections.abc import Callable, Iterator, Mapping

import uvicorn

from relight.errors import RelightError
from relight.providers.registry import ProviderRegistry
from relight.server import healthcheck
from relight.server.accounts import Accounts
from relight.server.actions import Actions
from relight.server.app import create_app
from relight.server.auth import Auth
from relight.server.config import ServerConfig
from relight.server.db import Database, StoreError
from relight.server.executor import Executor
from relight.server.github import GitHubClient
from relight.server.logs import Logger
from relight.server.metrics import Metrics
from relight.server.queue import EmbeddedQueue, RunQueue
from relight.server.services import Services
from relight.server.slack import RunNotices
from relight.server.store import Store

__all__ = ["Server", "ServerBusyError"]


class ServerBusyError(RelightError):
    """Another server already uses this data_dir's SQLite database."""


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Server:
    """``workers`` overrides ``server { workers = N }``; ``log`` receives structured log lines
    (JSON); ``lost_after`` and ``heartbeat`` tune worker-fault detection (distributed queue)."""

    def __init__(self, config: ServerConfig, env: Mapping[str, str], *, registry: ProviderRegistry | None = None,
                 workers: int | None = None, poll: float = 1.0, drain: float = 30.0,
                 log: Callable[[str], None] = _stderr, lost_after: float = 30.0, heartbeat: float = 5.0) -> None:
        self.config = config
        self.log = log if isinstance(log, Logger) else Logger(log, "server")
        self.drain = drain
        self.workers = config.server.workers if workers is None else workers
        self.distributed = bool(config.server.database)
        os.makedirs(config.server.data_dir, mode=0o700, exist_ok=True)
        self._owner_fd: int | None = None
        if not config.server.database:
            self._own_data_dir()
        self.db = Database(config.server.database_url)
        self.db.migrate()
        self.store = Store(self.db)
        self.store.sync_workspaces(config.workspaces.values())
        self.accounts = Accounts(self.db)
        github = GitHubClient(config.github) if (config.github.token or config.github.app) else None
        self.notices = RunNotices(config.slack.webhook_url, log)
        self.registry = registry or ProviderRegistry()
        self.executor = Executor(config=config, store=self.store, accounts=self.accounts, github=github,
                                 notices=self.notices, registry=self.registry, env=env, log=self.log,
                                 keep_checkouts=not self.distributed)
        self.queue = self._queue(poll, lost_after, heartbeat)
        self.executor.wake = self.queue.wake
        actions = Actions(config, self.store, self.accounts, self.queue)
        auth = Auth(self.accounts, self.store.secret_setting("session_key"),
                    secure=config.server.public_url.startswith("https://"))
        self.services = Services(config, self.store, self.accounts, self.queue, actions, auth, github, self.log,
                                 Metrics(self.db, self.workers), self.registry, dict(env), self.ready)
        self.app = create_app(self.services, self.start, self.stop)
        self._started = False

    def _queue(self, poll: float, lost_after: float, heartbeat: float) -> RunQueue:
        if self.distributed:
            from relight.server.distributed import DistributedQueue  # procrastinate: PostgreSQL only

            return DistributedQueue(self.store, self.executor, self.config, workers=self.workers, log=self.log,
                                    heartbeat=heartbeat, lost_after=lost_after, poll=max(poll, 1.0))
        return EmbeddedQueue(self.store, self.executor.execute, workers=self.workers, poll=poll, log=self.log,
                             housekeeping=lambda: healthcheck.schedule_due(self.store, self.config),
                             cancel=self.executor.cancel_all)

    def ready(self) -> str | None:
        """Why this server cannot take work now (for ``/readyz``), or None when it can."""
        if not self._started:
            return "starting or stopping"
        try:
            with self.db.read() as conn:
                conn.exec_driver_sql("SELECT 1")
        except StoreError as exc:
            return f"the database does not answer: {exc}"
        return None

    def start(self) -> None:
        """Recover runs cut off by a previous process, then start the workers (idempotent)."""
        if self._started:
            return
        if not self.distributed:
            fresh = self.executor.recover_interrupted()
            if fresh:
                self.log.info(f"{len(fresh)} run(s) were cut off by a stop; fresh plans queued: "
                              f"{', '.join(map(str, fresh))}", event="server.recovered", fresh_runs=fresh)
        self.queue.start()
        self._started = True
        self.log.info("server started", event="server.start", workers=self.workers,
                      queue="distributed" if self.distributed else "embedded")

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self.log.info("stopping: no new runs; runs in flight may finish", event="server.stop", drain=self.drain)
        self.queue.stop(self.drain)
        self.notices.close()

    def close(self) -> None:
        self.stop()
        self.db.dispose()
        if self._owner_fd is not None:
            os.close(self._owner_fd)
            self._owner_fd = None

    def uvicorn_config(self) -> uvicorn.Config:
        s = self.config.server
        return uvicorn.Config(self.app, host=s.listen_host, port=s.listen_port, log_level="warning",
                              lifespan="on", access_log=False, timeout_graceful_shutdown=int(self.drain))

    def serve(self) -> None:
        """Serve until SIGINT/SIGTERM (uvicorn's handlers), then drain and stop."""
        try:
            uvicorn.Server(self.uvicorn_config()).run()
        finally:
            self.close()

    def _own_data_dir(self) -> None:
        path = os.path.join(self.config.server.data_dir, "server.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ServerBusyError(f"another relight server is using {self.config.server.data_dir}; stop it first "
                                  "(or give this one its own data_dir)") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._owner_fd = fd


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """Start and stop a server's workers around a block (for tests driving the app directly)."""
    server.start()
    try:
        yield server
    finally:
        server.close()
