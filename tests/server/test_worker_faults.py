"""Faults on the distributed queue: a worker SIGKILLed mid-apply, the server SIGKILLed between
answering a webhook and the run starting, PostgreSQL restarted during an apply. After each:
nothing lost, nothing run twice, and the workspace converges on the next run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from relight.server.sqlstate import SqlStateBackend
from tests.server.cluster import LOST_AFTER, Cluster
from tests.server.conftest import PgCluster
from tests.server.fakes import FakeGitHub, GitRepo, SlackReceiver, wait_for

N = 40
SLOW_TF = f'resource "slow_thing" "n" {{\n  count = {N}\n  name  = "n-${{count.index}}"\n}}\n'
WS = 'workspace "ghe" {\n  repo = "acme/infra"\n  dir = "infra"\n  approvers = ["alice"]\n}\n'
AUTO = ('workspace "auto" {\n  repo = "acme/infra"\n  dir = "auto"\n  approvers = ["alice"]\n  auto_apply = true\n}\n'
        'workspace "auto2" {\n  repo = "acme/infra"\n  dir = "auto2"\n  approvers = ["alice"]\n  auto_apply = true\n}\n')


def _recorded(cluster: Cluster, workspace: str = "ghe") -> set[str]:
    ws_id = cluster.store.workspace_id(workspace)
    assert ws_id is not None
    state = SqlStateBackend(cluster.db, ws_id, workspace).read()
    return {i.current.attributes["id"] for i in state if i.current}


def _confirm(cluster: Cluster, run_id: int) -> None:
    resp = cluster.api.post(f"/api/runs/{run_id}/confirm")
    assert resp.status_code == 202, resp.text


def _converges(cluster: Cluster, head: str, files: list[str]) -> None:
    again = cluster.hooks.push(head, head, files=files).json()["runs"][0]
    cluster.wait_status(again, ("planned_and_finished",), 120)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    r = GitRepo(tmp_path / "origin")
    r.commit({"infra/main.tf": SLOW_TF, "auto/main.tf": 'resource "terraform_data" "a" {\n  input = 1\n}\n',
              "auto2/main.tf": 'resource "terraform_data" "b" {\n  input = 1\n}\n'}, "start")
    return r


@pytest.fixture
def cluster(tmp_path: Path, fresh_database: str, repo: GitRepo, github: FakeGitHub,
            slack: SlackReceiver) -> Iterator[Cluster]:
    c = Cluster(tmp_path, fresh_database, repo, github, slack, WS + AUTO, slow_delay=1.0)
    yield c
    c.stop()


def test_a_worker_killed_mid_apply_is_lost_and_its_workspace_converges(cluster: Cluster) -> None:
    cluster.start_server()
    cluster.start_workers(2)
    head = cluster.repo.head()
    run_id = cluster.hooks.push("0" * 40, head, files=["infra/main.tf"]).json()["runs"][0]
    cluster.wait_status(run_id, ("planned",))
    _confirm(cluster, run_id)
    wait_for(lambda: len(list(cluster.cloud.iterdir())) >= 10, 60, "the apply to be under way")
    applying = cluster.run(run_id)
    assert applying.status == "applying" and applying.claimed_by
    pid = int(applying.claimed_by.rsplit(":", 1)[1])  # job:ID@HOST:PID
    [doomed] = [w for w in cluster.workers if w.pid == pid]
    cluster.kill(doomed)
    killed_at = time.monotonic()
    created = {p.stem for p in cluster.cloud.iterdir()}
    assert 0 < len(created) < N, "the kill must land mid-apply"

    lost = cluster.wait_status(run_id, ("errored",), LOST_AFTER + 60)
    noticed = time.monotonic() - killed_at
    assert noticed < 60, f"the lost worker was noticed after {noticed:.1f}s"
    assert lost.error == "worker lost"
    lines = cluster.log_lines(run_id)  # the reason is written in the transaction that ends the run
    assert any("Creating..." in line for line in lines), "the killed run's log is kept"
    assert any("worker running this run was lost" in line for line in lines)
    # What the killed run recorded is in the journal; only calls in flight can be missing.
    recorded = _recorded(cluster)
    assert recorded and recorded <= created and len(created - recorded) <= 10
    # Never retried blindly: a fresh plan waits for a person (the workspace does not auto-apply).
    assert lost.followed_by is not None
    fresh = cluster.wait_status(lost.followed_by, ("planned",))
    assert fresh.counts == (N - len(recorded), 0, 0)
    _confirm(cluster, fresh.id)
    cluster.wait_status(fresh.id, ("applied",), 120)
    ids = _recorded(cluster)
    assert len(ids) == N and recorded <= ids  # what the killed run created was kept, not created again
    _converges(cluster, head, ["infra/main.tf"])
    # The lock the lost run held was released with it (the fresh run got it at once).
    assert not any("waited" in line and "lock" in line for line in cluster.log_lines(fresh.id))


def test_the_server_killed_after_answering_a_webhook_loses_no_run(cluster: Cluster) -> None:
    cluster.start_server()  # workers = 0: nothing runs until a worker is up
    base = cluster.repo.head()
    head = cluster.repo.commit({"auto/main.tf": 'resource "terraform_data" "a" {\n  input = 2\n}\n',
                                "auto2/main.tf": 'resource "terraform_data" "b" {\n  input = 2\n}\n'}, "two")
    resp = cluster.hooks.push(base, head, files=["auto/main.tf", "auto2/main.tf"])
    assert resp.status_code == 202, resp.text
    queued = resp.json()["runs"]
    assert cluster.server is not None
    cluster.kill(cluster.server)  # answered 2xx, not started
    assert all(cluster.run(r).status == "pending" for r in queued)
    cluster.start_workers(1)  # the server stays down: a worker alone dispatches and runs them
    for r in queued:
        assert cluster.wait_status(r, ("applied", "errored"), 120).status == "applied"
    cluster.start_server()
    # Each ran once: one plan and one apply, no second delivery, no fresh run.
    for r in queued:
        lines = cluster.log_lines(r)
        assert sum(1 for line in lines if line.startswith(f"Run {r} (")) == 1
        assert cluster.run(r).followed_by is None
    assert len(cluster.runs()) == len(queued)
    assert cluster.state("auto")["resources"][0]["instances"][0]["attributes"]["input"] == 2
    _converges(cluster, head, ["auto/main.tf"])


def test_postgresql_restarted_during_an_apply(tmp_path: Path, repo: GitRepo, github: FakeGitHub,
                                              slack: SlackReceiver) -> None:
    pg = PgCluster()  # its own cluster: the restart must not cut the other tests' database
    cluster = Cluster(tmp_path, pg.new_database("restart"), repo, github, slack, WS, slow_delay=0.3)
    try:
        cluster.start_server()
        cluster.start_workers(1)
        head = cluster.repo.head()
        run_id = cluster.hooks.push("0" * 40, head, files=["infra/main.tf"]).json()["runs"][0]
        cluster.wait_status(run_id, ("planned",))
        _confirm(cluster, run_id)
        wait_for(lambda: len(list(cluster.cloud.iterdir())) >= 5, 60, "the apply to be under way")
        pg.stop("fast")  # every connection is cut
        time.sleep(3.0)
        pg.start()
        done = cluster.wait_status(run_id, ("applied", "errored"), 180)
        created = {p.stem for p in cluster.cloud.iterdir()}
        ids = _recorded(cluster)
        if done.status == "applied":  # the run waited for the database and finished
            assert len(ids) == N and ids == created
        else:  # or it stopped and a fresh plan picks up from what was recorded
            assert done.followed_by is not None
            fresh = cluster.wait_status(done.followed_by, ("planned",))
            _confirm(cluster, fresh.id)
            cluster.wait_status(fresh.id, ("applied",), 120)
            assert len(_recorded(cluster)) == N
        assert sum(1 for line in cluster.log_lines(run_id) if line.startswith("Confirmed by")) == 1
        _converges(cluster, head, ["infra/main.tf"])
    finally:
        cluster.stop()
        pg.close()
