"""Fixtures for the pipeline server: the fakes, a local repository, servers in-process, PostgreSQL."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from relight.providers.registry import ProviderRegistry
from relight.server.accounts import Accounts
from relight.server.config import parse_server_config
from relight.server.server import Server
from tests.server.fakes import FakeGitHub, GitRepo, Hooks, SlackReceiver

SECRET = "It's a Secret to Everybody"
TF_V1 = 'resource "terraform_data" "node" {\n  input = "v1"\n}\n'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_text(port: int, data_dir: Path, github: FakeGitHub, slack: SlackReceiver | None, *,
                database: str = "", workspaces: str | None = None, github_extra: str = "",
                auth: str | None = None, server_extra: str = "") -> str:
    ws = workspaces if workspaces is not None else (
        'workspace "ghe" {\n  repo = "acme/infra"\n  dir = "infra"\n  branch = "main"\n'
        '  approvers = ["alice"]\n}\n')
    creds = auth if auth is not None else f'  token          = "{github.token}"\n'
    slack_block = f'slack {{\n  webhook_url = "{slack.url}"\n}}\n' if slack is not None else ""
    return (
        f'server {{\n  listen     = "127.0.0.1:{port}"\n  public_url = "http://127.0.0.1:{port}"\n'
        f'  data_dir   = "{data_dir}"\n  database   = "{database}"\n{server_extra}}}\n'
        f'github {{\n  api_url        = "{github.api_url}"\n  webhook_secret = "{SECRET}"\n{creds}'
        f'  client_id      = "cid-123"\n  client_secret  = "csecret"\n{github_extra}}}\n'
        f"{slack_block}{ws}"
    )


@dataclass
class Live:
    """A server in this process, serving HTTP on a real port."""

    server: Server
    url: str
    thread: threading.Thread
    uv: uvicorn.Server
    repo: GitRepo
    github: FakeGitHub
    slack: SlackReceiver | None
    hooks: Hooks
    http: httpx.Client

    def token(self, user: str) -> str:
        return Accounts(self.server.db).create_token(user)

    def api(self, token: str | None) -> httpx.Client:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10.0)

    def runs(self, token: str) -> list[dict[str, Any]]:
        resp = self.api(token).get("/api/runs", params={"workspace": "ghe"})
        assert resp.status_code == 200, resp.text
        return list(resp.json())

    def wait_run(self, run_id: int, statuses: tuple[str, ...], token: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        doc: dict[str, Any] = {}
        with self.api(token) as client:
            while time.monotonic() < deadline:
                doc = client.get(f"/api/runs/{run_id}").json()
                if doc.get("status") in statuses:
                    return doc
                time.sleep(0.05)
        raise AssertionError(f"run {run_id} did not reach {statuses}: {doc}")

    def stop(self) -> None:
        self.uv.should_exit = True
        self.thread.join(30)
        self.http.close()


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    gh = FakeGitHub().start()
    yield gh
    gh.stop()


@pytest.fixture
def slack() -> Iterator[SlackReceiver]:
    receiver = SlackReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    r = GitRepo(tmp_path / "origin")
    r.commit({"infra/main.tf": TF_V1, "README.md": "infra\n"}, "initial")
    return r


def start_live(tmp_path: Path, repo: GitRepo, github: FakeGitHub, slack: SlackReceiver | None, *,
               env: dict[str, str] | None = None, registry: ProviderRegistry | None = None, **kwargs: Any) -> Live:
    port = free_port()
    data = tmp_path / "data"
    path = tmp_path / "relight-server.hcl"
    path.write_text(config_text(port, data, github, slack, **kwargs))
    config, diags = parse_server_config(path.read_text(), str(path), {})
    assert config is not None, diags
    server = Server(config, dict(os.environ) if env is None else env, registry=registry, workers=2, poll=0.2, drain=10.0, log=lambda line: None)
    uv = uvicorn.Server(server.uvicorn_config())
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert uv.started
    url = f"http://127.0.0.1:{port}"
    return Live(server, url, thread, uv, repo, github, slack, Hooks(url, SECRET, repo), httpx.Client(base_url=url))


@pytest.fixture
def live(tmp_path: Path, repo: GitRepo, github: FakeGitHub, slack: SlackReceiver) -> Iterator[Live]:
    running = start_live(tmp_path, repo, github, slack)
    yield running
    running.stop()
    running.server.close()


@pytest.fixture
def make_live(tmp_path: Path, repo: GitRepo, github: FakeGitHub,
              slack: SlackReceiver) -> Iterator[Callable[..., Live]]:
    started: list[Live] = []

    def make(**kwargs: Any) -> Live:
        running = start_live(tmp_path, repo, github, slack, **kwargs)
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()
        running.server.close()


# -- PostgreSQL, started by the suite in a temporary directory ----------------------------------

def _pg_tool(name: str) -> str | None:
    """``name`` on PATH, else in Debian's newest /usr/lib/postgresql/VERSION/bin."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                      key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return versions[-1] if versions else None


class PgCluster:
    """A PostgreSQL cluster in a temporary directory, started from the machine's binaries."""

    def __init__(self) -> None:
        initdb, pg_ctl = _pg_tool("initdb"), _pg_tool("pg_ctl")
        if initdb is None or pg_ctl is None:
            if os.environ.get("RELIGHT_REQUIRE_POSTGRESQL"):
                pytest.fail("PostgreSQL's initdb/pg_ctl are not installed (CI requires them: see .ci/run)")
            pytest.skip("PostgreSQL's initdb/pg_ctl are not installed on this machine")
        self.pg_ctl = pg_ctl
        # Not under pytest's tmp_path: its folders are private to root, and PostgreSQL runs as postgres.
        self.base = Path(tempfile.mkdtemp(prefix="relight-pg-"))
        self.data = self.base / "data"
        self.port = free_port()
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.base, "postgres")
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*self.as_postgres, initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres",
                        "--no-sync"], check=True, capture_output=True)
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def start(self) -> None:
        subprocess.run([*self.as_postgres, self.pg_ctl, "-D", str(self.data), "-l", str(self.base / "log"), "-o",
                        f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=on "
                        "-c max_connections=300", "-w", "start"], check=True, capture_output=True)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run([*self.as_postgres, self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop"],
                       check=False, capture_output=True)

    def new_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"{self.url}/{name}"

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = PgCluster()
    yield cluster
    cluster.close()


@pytest.fixture(scope="session")
def postgres_url(pg_cluster: PgCluster) -> str:
    return pg_cluster.new_database("relight_test")


@pytest.fixture
def fresh_database(pg_cluster: PgCluster) -> Iterator[str]:
    """A database of its own for one test (the distributed queue's tables included)."""
    name = f"relight_{uuid.uuid4().hex[:12]}"
    url = pg_cluster.new_database(name)
    yield url
    pg_cluster.drop_database(name)
