"""The pipeline server assembled: configuration -> database -> queue -> ASGI app -> uvicorn.

:class:`Server` is what ``relight serve`` runs and what tests start in-process. Starting it
migrates the database, syncs the configured workspaces, ends runs a previous process left in
flight (see :meth:`relight.server.executor.Executor.recover_interrupted`), then starts the
workers; stopping lets runs in flight finish for up to ``drain`` seconds. With SQLite, one
server owns a ``data_dir`` at a time (a lock file refuses a second one, which would otherwise
race the first for runs).
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
from relight.server.accounts import Accounts
from relight.server.actions import Actions
from relight.server.app import create_app
from relight.server.auth import Auth
from relight.server.config import ServerConfig
from relight.server.db import Database
from relight.server.executor import Executor
from relight.server.github import GitHubClient
from relight.server.queue import EmbeddedQueue
from relight.server.services import Services
from relight.server.slack import RunNotices
from relight.server.store import Store

__all__ = ["Server", "ServerBusyError"]


class ServerBusyError(RelightError):
    """Another server already uses this data_dir's SQLite database."""


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Server:
    def __init__(self, config: ServerConfig, env: Mapping[str, str], *, registry: ProviderRegistry | None = None,
                 workers: int = 2, poll: float = 1.0, drain: float = 30.0,
                 log: Callable[[str], None] = _stderr) -> None:
        self.config = config
        self.log = log
        self.drain = drain
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
        self.executor = Executor(config=config, store=self.store, accounts=self.accounts, github=github,
                                 notices=self.notices, registry=registry or ProviderRegistry(), env=env, log=log)
        self.queue = EmbeddedQueue(self.store, self.executor.execute, workers=workers, poll=poll, log=log)
        self.executor.wake = self.queue.wake
        actions = Actions(config, self.store, self.accounts, self.queue)
        auth = Auth(self.accounts, self.store.secret_setting("session_key"),
                    secure=config.server.public_url.startswith("https://"))
        self.services = Services(config, self.store, self.accounts, self.queue, actions, auth, github, log)
        self.app = create_app(self.services, self.start, self.stop)
        self._started = False

    def start(self) -> None:
        """Recover runs cut off by a previous process, then start the workers (idempotent)."""
        if self._started:
            return
        self._started = True
        fresh = self.executor.recover_interrupted()
        if fresh:
            self.log(f"relight serve: {len(fresh)} run(s) were cut off by a stop; fresh plans queued: "
                     f"{', '.join(map(str, fresh))}")
        self.queue.start()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
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
