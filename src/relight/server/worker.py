"""``relight worker``: a process that runs the server's runs, on any machine that reaches its
PostgreSQL database.

It reads the same ``relight-server.hcl`` as the server (the database, the workspaces, GitHub
and Slack credentials for statuses and notices; the webhook secret is not needed) and runs
``concurrency`` jobs at a time from the distributed queue (:mod:`relight.server.distributed`):
the same executor as the server's own workers. Checkouts go under ``data_dir`` on this machine.
SIGTERM or SIGINT stops it gracefully: no new job, runs in flight may finish for ``drain``
seconds, then are asked to stop between actions (their runs end ``errored`` with a fresh plan
queued). A worker killed outright is noticed by the others within ``lost_after`` seconds plus
one housekeeping round.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Mapping
from types import FrameType

from relight.errors import RelightError
from relight.providers.registry import ProviderRegistry
from relight.server.accounts import Accounts
from relight.server.config import ServerConfig
from relight.server.db import Database
from relight.server.distributed import DistributedQueue
from relight.server.executor import Executor
from relight.server.github import GitHubClient
from relight.server.logs import Logger
from relight.server.slack import RunNotices
from relight.server.store import Store

__all__ = ["NeedsPostgreSQLError", "Worker"]


class NeedsPostgreSQLError(RelightError):
    """``relight worker`` was pointed at a configuration on SQLite."""


class Worker:
    """One worker process's parts; :meth:`run` blocks until a stop signal (or :meth:`stop`)."""

    def __init__(self, config: ServerConfig, env: Mapping[str, str], *, concurrency: int = 1,
                 registry: ProviderRegistry | None = None, drain: float = 30.0,
                 log: Callable[[str], None] | None = None, lost_after: float = 30.0, heartbeat: float = 5.0) -> None:
        if not config.server.database:
            raise NeedsPostgreSQLError(
                f"{config.path}: relight worker takes runs from a PostgreSQL database shared with the server; set "
                'server { database = "postgresql://..." } (with SQLite, the server runs its runs itself)')
        self.log = log if isinstance(log, Logger) else Logger(log, "worker") if log else Logger(component="worker")
        self.drain = drain
        os.makedirs(config.server.data_dir, mode=0o700, exist_ok=True)
        self.db = Database(config.server.database_url)
        self.db.migrate()
        self.store = Store(self.db)
        self.store.sync_workspaces(config.workspaces.values())
        accounts = Accounts(self.db)
        github = GitHubClient(config.github) if (config.github.token or config.github.app) else None
        self.notices = RunNotices(config.slack.webhook_url, self.log)
        self.executor = Executor(config=config, store=self.store, accounts=accounts, github=github,
                                 notices=self.notices, registry=registry or ProviderRegistry(), env=env,
                                 log=self.log, keep_checkouts=False)
        self.queue = DistributedQueue(self.store, self.executor, config, workers=max(1, concurrency), log=self.log,
                                      heartbeat=heartbeat, lost_after=lost_after)
        self.executor.wake = self.queue.wake
        self._stop = threading.Event()

    def run(self, handle_signals: bool = True) -> None:
        """Take jobs until SIGTERM/SIGINT (or :meth:`stop`), then stop gracefully."""
        if handle_signals:
            def on_signal(signum: int, frame: FrameType | None) -> None:
                self._stop.set()

            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)
        self.queue.start()
        self.log.info("worker started", event="worker.start", name=self.queue.name,
                      concurrency=self.queue.workers)
        try:
            self._stop.wait()
        finally:
            self.log.info("stopping: no new runs; runs in flight may finish", event="worker.stop", drain=self.drain)
            self.queue.stop(self.drain)
            self.notices.close()
            self.db.dispose()
            self.log.info("worker stopped", event="worker.stopped")

    def stop(self) -> None:
        self._stop.set()
