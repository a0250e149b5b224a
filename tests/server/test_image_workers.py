"""Image runs on ``relight worker`` processes: with ``server { workers = 0 }`` on PostgreSQL, the
production apply, a PR's image build and its rehearsal are all executed by a worker process (the
run's claim names its pid), and their commit statuses are posted from there."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from relight.localcloud import LocalCloud
from relight.server.store import Run
from tests.localcloud.machines import Machines
from tests.server.cluster import Cluster, wait_until
from tests.server.fakes import FakeGitHub, GitRepo, SlackReceiver

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "examples" / "github-enterprise"
TEMPLATE = ROOT / "examples" / "ghe-image"
WORKSPACE = ('workspace "ghe" {\n  repo = "acme/infra"\n  dir = "github-enterprise"\n  approvers = ["alice"]\n'
             '  images = ["ghe-image"]\n  channel = "production"\n}\n')
FINISHED = ("planned_and_finished", "errored", "canceled")


def _files(src: Path, prefix: str) -> dict[str, str]:
    return {f"{prefix}/{p.relative_to(src)}": p.read_text() for p in sorted(src.rglob("*"))
            if p.is_file() and p.name != "packer-manifest.json"}


def _patched_template() -> dict[str, str]:
    """The example template as a rebuild of the release production runs (2.17.0, from the 2.16.0
    image): the rehearsal's checks (the service reports ``var.ghe_version``) then pass with the
    workspace's configuration unchanged."""
    files = _files(TEMPLATE, "ghe-image")
    path = "ghe-image/ghe.pkr.hcl"
    text = files[path].replace('default     = "2.18.0"', 'default     = "2.17.0"')
    text = text.replace('default     = "2.17.0"\n  description = "The release of the image it starts from."',
                        'default     = "2.16.0"\n  description = "The release of the image it starts from."')
    assert text.count('"2.17.0"') == 1 and '"2.16.0"' in text, "the example template changed: update this test"
    files[path] = text
    return files


@pytest.fixture
def cluster(tmp_path: Path, fresh_database: str, github: FakeGitHub, slack: SlackReceiver,
            dataplane: LocalCloud) -> Iterator[Cluster]:
    repo = GitRepo(tmp_path / "origin")
    repo.commit({"README.md": "infra\n"}, "start")
    c = Cluster(tmp_path, fresh_database, repo, github, slack, WORKSPACE, server_workers=0)
    yield c
    c.stop()


def _executed_by_a_worker(cluster: Cluster, run: Run) -> None:
    assert run.claimed_by, run
    pid = int(run.claimed_by.rsplit(":", 1)[1])  # job:ID@HOST:PID
    assert cluster.server is not None and pid != cluster.server.pid
    assert pid in {w.pid for w in cluster.workers}, (run.claimed_by, cluster.log_text())


def test_image_build_and_rehearsal_run_on_a_worker(cluster: Cluster, dataplane: LocalCloud) -> None:
    cluster.start_server()
    cluster.start_workers(1)
    repo, github = cluster.repo, cluster.github

    # Production, applied by the worker, with a token on its data volume.
    base = repo.head()
    stack = _files(STACK, "github-enterprise")
    first = repo.commit(stack, "GitHub Enterprise")
    run_id = cluster.hooks.push(base, first, files=list(stack)).json()["runs"][0]
    cluster.wait_status(run_id, ("planned",), 180)
    assert cluster.api.post(f"/api/runs/{run_id}/confirm").status_code == 202
    assert cluster.wait_status(run_id, ("applied", "errored"), 240).status == "applied", cluster.log_text()
    _executed_by_a_worker(cluster, cluster.run(run_id))
    node = next(r for r in cluster.state("ghe")["resources"] if r["type"] == "aws_instance")
    instance = node["instances"][0]["attributes"]["id"]
    machines = Machines(dataplane)
    machines.status(instance, timeout=60)
    machines.sh(instance, f"echo {os.urandom(6).hex()} > /data/ghe/token")

    # A PR changes the template: a worker builds the image and then rehearses it.
    repo.branch("rebuild")
    template = _patched_template()
    head = repo.commit(template, "ghe 2.17 image, rebuilt")
    github.pr_files[("acme/infra", 3)] = list(template)
    assert cluster.hooks.pull_request(3, head, base_sha=first, head_ref="rebuild").status_code == 202
    built = github.wait_status("relight/image: ghe", "success", sha=head, timeout=300)
    assert built.description.startswith("Built ami-"), built
    image = built.description.split()[-1]
    # The run has ended when its status is posted (waiting costs nothing and tolerates a slow read).
    build_run = cluster.wait_status(int(built.target_url.rsplit("/", 1)[1]), FINISHED)
    assert (build_run.kind, build_run.operation, build_run.status) == ("image", "build", "planned_and_finished")
    _executed_by_a_worker(cluster, build_run)

    def rehearsal_status() -> object:
        settled = [s for s in github.statuses_for("relight/rehearsal: ghe") if s.sha == head]
        return settled[-1] if settled and settled[-1].state != "pending" else None

    rehearsed = wait_until(rehearsal_status, 600, "the rehearsal's commit status")
    assert rehearsed.state == "success" and rehearsed.description.startswith("Rehearsal passed"), (
        rehearsed, cluster.log_text())
    states = [s.state for s in github.statuses_for("relight/rehearsal: ghe") if s.sha == head]
    assert states[0] == "pending" and states[-1] == "success", states
    rehearsal = cluster.wait_status(int(rehearsed.target_url.rsplit("/", 1)[1]), FINISHED)
    assert (rehearsal.kind, rehearsal.status, rehearsal.commit_sha) == ("rehearsal", "planned_and_finished", head)
    _executed_by_a_worker(cluster, rehearsal)
    report = cluster.api.get(f"/api/runs/{rehearsal.id}/report").json()
    assert report["passed"] and report["image"] == image and report["left_behind"] == [], report
    assert report["checks"] and all(c["passed"] for c in report["checks"]), report
    # Production is as it was: the rehearsal never touched the workspace's node.
    after = next(r for r in cluster.state("ghe")["resources"] if r["type"] == "aws_instance")
    assert after["instances"][0]["attributes"]["id"] == instance
