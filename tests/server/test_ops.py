"""Operations: health and readiness, Prometheus metrics, structured logs, graceful shutdown,
``relight worker``'s own mistakes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from relight.server.logs import Logger
from tests.server.cluster import Cluster
from tests.server.conftest import SECRET, TF_V1, Live
from tests.server.fakes import FakeGitHub, GitRepo, SlackReceiver, wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_health_readiness_and_metrics(live: Live) -> None:
    assert live.http.get("/healthz").text == "ok"
    ready = live.http.get("/readyz")
    assert ready.status_code == 200 and ready.text == "ready"
    alice = live.token("alice")
    head = live.repo.commit({"infra/main.tf": TF_V1.replace("v1", "v2")}, "v2")
    run_id = live.hooks.push("0" * 40, head, files=["infra/main.tf"]).json()["runs"][0]
    live.wait_run(run_id, ("planned",), alice)
    text = live.http.get("/metrics").text
    assert 'relight_runs{status="planned"} 1.0' in text
    assert 'relight_queue_depth{workspace="ghe"} 0.0' in text
    assert 'relight_webhook_seconds_count{event="push"} 1.0' in text
    assert "relight_workers 2.0" in text and 'relight_worker_heartbeat_age_seconds{worker="embedded-0"}' in text
    assert live.api(alice).post(f"/api/runs/{run_id}/confirm").status_code == 202
    live.wait_run(run_id, ("applied",), alice)
    text = live.http.get("/metrics").text
    assert 'relight_runs{status="applied"} 1.0' in text
    assert 'relight_run_duration_seconds_count{kind="apply"} 1.0' in text
    assert 'relight_run_duration_seconds_bucket{kind="apply",le="+Inf"} 1.0' in text
    assert SECRET not in text


def test_logs_are_one_json_object_per_line() -> None:
    lines: list[str] = []
    log = Logger(lines.append, "worker")
    log.info("run started", event="run.start", run=7, seconds=0.5)
    log("a plain line")
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "info" and first["component"] == "worker" and first["event"] == "run.start"
    assert first["run"] == 7 and first["msg"] == "run started" and first["time"].endswith("Z")
    assert second["msg"] == "a plain line" and "event" not in second


def test_relight_worker_needs_postgresql(tmp_path: Path, github: FakeGitHub) -> None:
    from tests.server.conftest import config_text, free_port

    config = tmp_path / "relight-server.hcl"
    config.write_text(config_text(free_port(), tmp_path / "data", github, None))
    out = subprocess.run([sys.executable, "-m", "relight", "worker", f"-config={config}"], capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60, check=False)
    assert out.returncode == 1 and 'database = "postgresql://..."' in out.stderr
    bad = subprocess.run([sys.executable, "-m", "relight", "worker", f"-config={config}", "-concurrency=0"],
                         capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60,
                         check=False)
    assert bad.returncode == 1 and "-concurrency" in bad.stderr


SLOW = 'resource "slow_thing" "n" {\n  count = 40\n  name  = "n-${count.index}"\n}\n'


@pytest.fixture
def cluster(tmp_path: Path, fresh_database: str, github: FakeGitHub, slack: SlackReceiver) -> Iterator[Cluster]:
    repo = GitRepo(tmp_path / "origin")
    repo.commit({"infra/main.tf": SLOW}, "slow")
    ws = 'workspace "ghe" {\n  repo = "acme/infra"\n  dir = "infra"\n  approvers = ["alice"]\n}\n'
    c = Cluster(tmp_path, fresh_database, repo, github, slack, ws, slow_delay=1.0)
    c.env["WORKER_DRAIN"] = "0.5"
    yield c
    c.stop()


def test_a_stopped_worker_hands_back_its_apply(cluster: Cluster) -> None:
    cluster.start_server()
    cluster.start_workers(1)
    run_id = cluster.hooks.push("0" * 40, cluster.repo.head(), files=["infra/main.tf"]).json()["runs"][0]
    cluster.wait_status(run_id, ("planned",))
    assert cluster.api.post(f"/api/runs/{run_id}/confirm").status_code == 202
    wait_for(lambda: len(list(cluster.cloud.iterdir())) >= 5, 60, "the apply to be under way")
    [worker] = cluster.workers
    worker.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert worker.wait(60) == 0
    assert time.monotonic() - started < 30
    run = cluster.wait_status(run_id, ("errored",), 10)
    assert run.error == "stopped by a shutdown while applying" and run.followed_by is not None
    created = len(list(cluster.cloud.iterdir()))
    assert created < 40, "it stopped between actions"
    assert any("fresh plan was queued" in line for line in cluster.log_lines(run_id))
    cluster.start_workers(1)
    fresh = cluster.wait_status(run.followed_by, ("planned",))
    assert fresh.counts is not None and fresh.counts[0] == 40 - created
