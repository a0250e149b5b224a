"""The pipeline on the local cloud's GitHub Enterprise stack: PR -> plan -> merge -> confirm -> apply."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import boto3

from relight.localcloud import LocalCloud
from tests.server.conftest import Live

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "github-enterprise"


def test_ghe_stack_through_the_pipeline(cloud: LocalCloud, make_live: Callable[..., Live]) -> None:
    ws = ('workspace "ghe" {\n  repo = "acme/infra"\n  dir = "github-enterprise"\n  approvers = ["alice"]\n}\n')
    live = make_live(workspaces=ws)
    assert live.slack is not None
    alice = live.token("alice")
    repo = live.repo
    base = repo.head()
    repo.branch("ghe")
    files = {f"github-enterprise/{p.name}": p.read_text() for p in sorted(EXAMPLE.glob("*.tf"))}
    head = repo.commit(files, "GitHub Enterprise on AWS")
    live.github.pr_files[("acme/infra", 2)] = list(files)
    assert live.hooks.pull_request(2, head, base_sha=base).status_code == 202
    status = live.github.wait_status("relight/plan: ghe", "success", sha=head, timeout=120)
    assert status.description == "Plan: 10 to add, 0 to change, 0 to destroy."
    assert boto3.client("ec2").describe_instances()["Reservations"] == []  # a plan changes nothing

    repo.checkout("main")
    merged = repo.merge("ghe")
    run_id = live.hooks.push(base, merged, files=list(files)).json()["runs"][0]
    live.wait_run(run_id, ("planned",), alice, timeout=120)
    live.slack.wait_text("ghe: 10 to add, 0 to change, 0 to destroy, waiting for confirmation")
    assert live.api(alice).post(f"/api/runs/{run_id}/confirm").status_code == 202
    done = live.wait_run(run_id, ("applied", "errored"), alice, timeout=180)
    assert done["status"] == "applied", live.api(alice).get(f"/api/runs/{run_id}/log").json()[-5:]
    live.github.wait_status("relight/apply: ghe", "success", sha=merged)
    live.slack.wait_text("ghe: applied in")
    reservations = boto3.client("ec2").describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["running"]}])["Reservations"]
    assert [i["PrivateIpAddress"] for r in reservations for i in r["Instances"]] == ["10.0.1.10"]
    state = live.api(alice).get("/api/workspaces/ghe/state").json()
    assert {r["type"] for r in state["resources"]} >= {"aws_instance", "aws_ebs_volume", "aws_volume_attachment"}
