"""Fault test: the server is SIGKILLed in the middle of an apply, then restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from relight.server.db import Database
from relight.server.sqlstate import SqlStateBackend
from relight.server.store import Store
from tests.server.conftest import SECRET, config_text, free_port
from tests.server.fakes import FakeGitHub, GitRepo, Hooks, SlackReceiver, wait_for

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = str(Path(__file__).with_name("slow_server.py"))
N = 40
SLOW_TF = f'resource "slow_thing" "n" {{\n  count = {N}\n  name  = "n-${{count.index}}"\n}}\n'


def _start(config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, SCRIPT, str(config)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    def up() -> bool:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "server exited"
        try:
            return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, 30, "the server to start")


def test_sigkill_mid_apply_then_restart(tmp_path: Path, github: FakeGitHub, slack: SlackReceiver) -> None:
    repo = GitRepo(tmp_path / "origin")
    head = repo.commit({"infra/main.tf": SLOW_TF}, "slow things")
    cloud = tmp_path / "cloud"
    cloud.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = tmp_path / "relight-server.hcl"
    config.write_text(config_text(port, tmp_path / "data", github, slack))
    env = dict(os.environ, SLOW_CLOUD=str(cloud), SLOW_DELAY="0.25", PYTHONPATH=str(ROOT))
    token = subprocess.run([sys.executable, "-m", "relight", "server", "token", "create", "alice",
                            f"-config={config}"], env=env, check=True, capture_output=True, text=True).stdout.strip()
    api = httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=10.0)
    hooks = Hooks(url, SECRET, repo)

    proc = _start(config, env)
    try:
        _wait_up(url, proc)
        run_id = hooks.push("0" * 40, head, files=["infra/main.tf"]).json()["runs"][0]
        wait_for(lambda: api.get(f"/api/runs/{run_id}").json()["status"] == "planned", 60, "the plan")
        assert api.post(f"/api/runs/{run_id}/confirm").status_code == 202
        wait_for(lambda: len(list(cloud.iterdir())) >= 10, 60, "the apply to be under way")

        def logged_creating() -> bool:
            return any("Creating..." in e.get("text", "") for e in api.get(f"/api/runs/{run_id}/log").json())

        # The log is written in the background (at most 0.25 s behind): what was logged before
        # the kill is what must be kept.
        wait_for(logged_creating, 30, "the apply's progress to reach the log")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    created = {p.stem for p in cloud.iterdir()}
    assert 0 < len(created) < N, "the kill must land mid-apply"

    # What the killed run recorded is in the journal table; only calls in flight can be missing.
    db = Database(f"sqlite:///{tmp_path / 'data' / 'relight.db'}")
    store = Store(db)
    ws_id = store.workspace_id("ghe")
    assert ws_id is not None
    recorded = {i.current.attributes["id"] for i in SqlStateBackend(db, ws_id, "ghe").read() if i.current}
    assert recorded and recorded <= created
    assert len(created - recorded) <= 10  # the engine's parallelism
    run = store.get_run(run_id)
    assert run is not None and run.status == "applying"
    db.dispose()

    proc = _start(config, env)
    try:
        _wait_up(url, proc)
        killed = api.get(f"/api/runs/{run_id}").json()
        assert killed["status"] == "errored" and "server stopped" in killed["error"]
        log = [e.get("text", "") for e in api.get(f"/api/runs/{run_id}/log").json()]
        assert any("Creating..." in line for line in log) and any("fresh plan" in line for line in log)
        fresh = killed["followed_by"]
        wait_for(lambda: api.get(f"/api/runs/{fresh}").json()["status"] == "planned", 60, "the fresh plan")
        plan = api.get(f"/api/runs/{fresh}/plan").json()["plan"]["summary"]
        assert plan == {"add": N - len(recorded), "change": 0, "destroy": 0}
        assert api.post(f"/api/runs/{fresh}/confirm").status_code == 202
        wait_for(lambda: api.get(f"/api/runs/{fresh}").json()["status"] in ("applied", "errored"), 120, "the apply")
        assert api.get(f"/api/runs/{fresh}").json()["status"] == "applied"
        state = api.get("/api/workspaces/ghe/state").json()
        assert len(state["resources"][0]["instances"]) == N
        # Converged: the next push plans no changes.
        again = hooks.push(head, head, files=["infra/main.tf"]).json()["runs"][0]
        wait_for(lambda: api.get(f"/api/runs/{again}").json()["status"] == "planned_and_finished", 60, "no changes")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        time.sleep(0)
