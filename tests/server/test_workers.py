"""Load: three worker processes and a server on one PostgreSQL; 30 workspaces x 5 pushes each,
as signed webhooks, some redelivered; every workspace auto-applies."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.server.cluster import Cluster
from tests.server.fakes import FakeGitHub, GitRepo, wait_for

WORKSPACES = 30
PUSHES = 5


def _tf(ws: int, push: int) -> str:
    return (f'resource "terraform_data" "node" {{\n  input = "ws{ws}-push{push}"\n}}\n'
            f'output "version" {{\n  value = terraform_data.node.output\n}}\n')


def _workspaces() -> str:
    return "".join(f'workspace "ws{n}" {{\n  repo = "acme/infra"\n  dir = "ws{n}"\n  approvers = ["alice"]\n'
                   f"  auto_apply = true\n}}\n" for n in range(WORKSPACES))


@pytest.fixture
def cluster(tmp_path: Path, fresh_database: str, github: FakeGitHub) -> Iterator[Cluster]:
    repo = GitRepo(tmp_path / "origin")
    repo.commit({f"ws{n}/main.tf": _tf(n, 0) for n in range(WORKSPACES)}, "start")
    c = Cluster(tmp_path, fresh_database, repo, github, None, _workspaces())
    yield c
    c.stop()


@pytest.mark.slow
def test_thirty_workspaces_five_pushes_three_workers(cluster: Cluster) -> None:
    cluster.start_server()
    cluster.start_workers(3)
    rng = random.Random(11)
    before = cluster.repo.head()
    sent: list[tuple[int, int, str, str]] = []  # (workspace, push, commit, delivery)
    redelivered = 0
    for push in range(1, PUSHES + 1):
        order = list(range(WORKSPACES))
        rng.shuffle(order)
        for ws in order:
            sha = cluster.repo.commit({f"ws{ws}/main.tf": _tf(ws, push)}, f"ws{ws} push {push}")
            resp = cluster.hooks.push(before, sha, files=[f"ws{ws}/main.tf"])
            assert resp.status_code == 202, resp.text
            delivery = cluster.hooks.sent[-1]
            sent.append((ws, push, sha, delivery))
            before = sha
            if rng.random() < 0.15:  # GitHub redelivers some: nothing runs twice
                again = cluster.hooks.push(before, sha, files=[f"ws{ws}/main.tf"], delivery=delivery)
                assert again.status_code == 200 and again.json()["duplicate"] is True
                redelivered += 1
    assert redelivered > 0

    def settled() -> bool:
        runs = cluster.runs()
        return len(runs) == WORKSPACES * PUSHES and all(r.is_final for r in runs)

    wait_for(settled, 600, "every run to finish")
    runs = cluster.runs()
    assert Counter(r.status for r in runs) == {"applied": WORKSPACES * PUSHES}, cluster.log_text()
    # No delivery ran twice: one run per delivery, each from its own webhook.
    assert Counter(r.delivery_id for r in runs) == {d: 1 for *_, d in sent}
    by_delivery = {r.delivery_id: r for r in runs}
    for ws in range(WORKSPACES):
        mine = [by_delivery[d] for w, _, _, d in sent if w == ws]
        # In push order, one at a time: each run started after the previous one finished.
        assert [r.commit_sha for r in mine] == [sha for w, _, sha, _ in sent if w == ws]
        for earlier, later in itertools.pairwise(mine):
            assert earlier.id < later.id
            assert earlier.finished_at is not None and later.started_at is not None
            assert earlier.finished_at <= later.started_at, (earlier, later)
        # The final state is the last commit's.
        state = cluster.state(f"ws{ws}")
        assert state["outputs"]["version"]["value"] == f"ws{ws}-push{PUSHES}"
    # Every phase ran exactly once: one plan and one apply in each run's log. (A job deferred twice
    # for one phase, which dispatch allows, finds its run moved on and does nothing.)
    for r in runs:
        lines = cluster.log_lines(r.id)
        assert sum(1 for line in lines if line.startswith(f"Run {r.id} (")) == 1, lines
        assert sum(1 for line in lines if line.startswith("Confirmed by auto-apply")) == 1, lines
    with cluster.db.read() as conn:
        statuses = Counter(conn.execute(sa.text("SELECT status FROM procrastinate_jobs")).scalars())
    assert set(statuses) == {"succeeded"}, statuses
