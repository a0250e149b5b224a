"""A server and ``relight worker`` processes on one PostgreSQL database, for the distributed tests.

The server runs in a subprocess (``slow_server.py``: it can be SIGKILLed) or in this process;
workers always run in subprocesses (``worker_proc.py``), with short fault timings. Both know the
``slow`` provider (a create that sleeps, then writes a file into ``cloud``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from relight.server.accounts import Accounts
from relight.server.db import Database
from relight.server.store import Run, Store
from tests.server.conftest import SECRET, config_text, free_port
from tests.server.fakes import FakeGitHub, GitRepo, Hooks, SlackReceiver, wait_for

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
LOST_AFTER = 4.0
HEARTBEAT = 1.0


class Cluster:
    def __init__(self, tmp: Path, database: str, repo: GitRepo, github: FakeGitHub, slack: SlackReceiver | None,
                 workspaces: str, server_workers: int = 0, slow_delay: float = 0.2) -> None:
        self.tmp = tmp
        self.repo = repo
        self.github = github
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cloud = tmp / "cloud"
        self.cloud.mkdir(exist_ok=True)
        self.config = tmp / "relight-server.hcl"
        self.config.write_text(config_text(self.port, tmp / "data", github, slack, database=database,
                                           workspaces=workspaces, server_extra=f"  workers = {server_workers}\n"))
        self.env = dict(os.environ, SLOW_CLOUD=str(self.cloud), SLOW_DELAY=str(slow_delay), PYTHONPATH=str(ROOT),
                        WORKER_LOST_AFTER=str(LOST_AFTER), WORKER_HEARTBEAT=str(HEARTBEAT))
        self.db = Database(database.replace("postgresql://", "postgresql+psycopg://"))
        self.db.migrate()
        self.store = Store(self.db)
        self.token = Accounts(self.db).create_token("alice")
        self.api = httpx.Client(base_url=self.url, headers={"authorization": f"Bearer {self.token}"}, timeout=15.0)
        self.hooks = Hooks(self.url, SECRET, repo)
        self.server: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    # -- processes ---------------------------------------------------------------------------

    def _spawn(self, script: str, name: str) -> subprocess.Popen[bytes]:
        log = self.tmp / f"{name}.log"
        self.logs.append(log)
        with open(log, "ab") as out:
            return subprocess.Popen([sys.executable, str(HERE / script), str(self.config)], env=self.env, cwd=ROOT,
                                    stdout=out, stderr=subprocess.STDOUT)

    def start_server(self) -> None:
        self.server = self._spawn("slow_server.py", f"server-{len(self.logs)}")

        def up() -> bool:
            assert self.server is not None and self.server.poll() is None, self.log_text()
            try:
                return httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 60, "the server to be ready")

    def start_workers(self, n: int) -> None:
        for _ in range(n):
            self.workers.append(self._spawn("worker_proc.py", f"worker-{len(self.logs)}"))
        wait_for(lambda: self.registered_workers() >= len(self.alive_workers()), 60, "the workers to register")

    def alive_workers(self) -> list[subprocess.Popen[bytes]]:
        return [w for w in self.workers if w.poll() is None]

    def registered_workers(self) -> int:
        with self.db.read() as conn:
            if conn.execute(sa.text("SELECT to_regclass('procrastinate_workers')")).scalar() is None:
                return 0
            return int(conn.execute(sa.text("SELECT count(*) FROM procrastinate_workers")).scalar() or 0)

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        for proc in [*self.workers, *([self.server] if self.server else [])]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.workers, *([self.server] if self.server else [])]:
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.api.close()
        self.db.dispose()

    def log_text(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in self.logs if p.exists())

    # -- the runs ----------------------------------------------------------------------------

    def runs(self, workspace: str | None = None) -> list[Run]:
        return list(reversed(self.store.list_runs(workspace, limit=10_000)))

    def run(self, run_id: int) -> Run:
        run = self.store.get_run(run_id)
        assert run is not None
        return run

    def wait_status(self, run_id: int, statuses: tuple[str, ...], timeout: float = 120.0) -> Run:
        def reached() -> Run | None:
            run = self.run(run_id)
            return run if run.status in statuses else None

        try:
            found: Run = wait_for(reached, timeout, f"run {run_id} to reach {statuses}")
        except AssertionError:
            raise AssertionError(f"run {run_id} is {self.run(run_id).status}, not {statuses}\n{self.log_text()}") from None
        return found

    def state(self, workspace: str) -> dict[str, Any]:
        resp = self.api.get(f"/api/workspaces/{workspace}/state")
        assert resp.status_code == 200, resp.text
        doc: dict[str, Any] = resp.json()
        return doc

    def log_lines(self, run_id: int) -> list[str]:
        return [str(text) for _, e in self.store.events(run_id) if (text := e.get("text"))]


def wait_until(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
