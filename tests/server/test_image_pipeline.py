"""Images in the pull-request pipeline, on the local cloud's data plane: a PR changes the template
-> ``relight/image: ghe``; a newer push supersedes the running rehearsal (its stack destroyed);
the PR moves the workspace to the new image -> ``relight/rehearsal: ghe`` with its report; the
merge promotes the image (audit, Slack) and the replace plan waits for Confirm & Apply; confirmed,
the node is replaced with the same IP and the new version serves the data written before."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import boto3

from relight.localcloud import LocalCloud
from relight.server.imagestore import SqlRegistry
from tests.images.helpers import leftovers
from tests.localcloud.machines import Machines
from tests.server.conftest import Live

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "examples" / "github-enterprise"
TEMPLATE = ROOT / "examples" / "ghe-image"
WORKSPACE = ('workspace "ghe" {\n  repo = "acme/infra"\n  dir = "github-enterprise"\n  approvers = ["alice"]\n'
             '  images = ["ghe-image"]\n  channel = "production"\n}\n')


def _files(src: Path, prefix: str) -> dict[str, str]:
    return {f"{prefix}/{p.relative_to(src)}": p.read_text() for p in sorted(src.rglob("*"))
            if p.is_file() and p.name != "packer-manifest.json"}


def _runs_of(live: Live, token: str, kind: str) -> list[dict[str, object]]:
    return [r for r in live.runs(token) if r["kind"] == kind]


def _wait(what: str, check: Callable[[], object], timeout: float = 180.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_template_pr_rehearsal_merge_promote_confirm(dataplane: LocalCloud, make_live: Callable[..., Live]) -> None:
    m = Machines(dataplane)
    live = make_live(workspaces=WORKSPACE)
    assert live.slack is not None
    alice = live.token("alice")
    api = live.api(alice)
    repo = live.repo

    # Production at 2.17, through the pipeline, with a token on its data volume.
    base = repo.head()
    stack = _files(STACK, "github-enterprise")
    first = repo.commit(stack, "GitHub Enterprise")
    run_id = live.hooks.push(base, first, files=list(stack)).json()["runs"][0]
    live.wait_run(run_id, ("planned",), alice, timeout=120)
    assert api.post(f"/api/runs/{run_id}/confirm").status_code == 202
    assert live.wait_run(run_id, ("applied", "errored"), alice, timeout=180)["status"] == "applied"
    state = api.get("/api/workspaces/ghe/state").json()
    node = next(r for r in state["resources"] if r["type"] == "aws_instance")["instances"][0]["attributes"]["id"]
    token = os.urandom(8).hex()
    assert m.status(node)["version"] == "2.17.0"
    m.sh(node, f"echo {token} > /data/ghe/token")

    # A PR adds the 2.18 template: the image is built, its status says so, its page shows the log.
    repo.branch("ghe-218")
    template = _files(TEMPLATE, "ghe-image")
    c1 = repo.commit(template, "ghe 2.18 image")
    live.github.pr_files[("acme/infra", 7)] = list(template)
    assert live.hooks.pull_request(7, c1, base_sha=first, head_ref="ghe-218").status_code == 202
    built = live.github.wait_status("relight/image: ghe", "success", sha=c1, timeout=180)
    assert built.description.startswith("Built ami-") and "/runs/" in built.target_url
    image = built.description.split()[-1]
    build_run = int(built.target_url.rsplit("/", 1)[1])
    page = api.get(f"/runs/{build_run}").text
    assert f"AMI: {image}" in page and "relight/image: ghe" in page
    assert SqlRegistry(live.server.db, "").get(image).name == "ghe"  # the registry is the server's database

    # A build of the PR made an image the workspace's channel does not point at: a rehearsal is
    # queued with it; a newer push supersedes it while it runs, and its stack is destroyed.
    first_rehearsal = _wait("the first rehearsal", lambda: next(iter(_runs_of(live, alice, "rehearsal")), None))
    assert isinstance(first_rehearsal, dict)
    live.wait_run(int(first_rehearsal["id"]), ("planning",), alice, timeout=60)
    bump = (STACK / "variables.tf").read_text().replace('default     = "2.17.0"', 'default     = "2.18.0"')
    assert bump != (STACK / "variables.tf").read_text()
    c2 = repo.commit({"github-enterprise/variables.tf": bump}, "ghe: run 2.18")
    live.github.pr_files[("acme/infra", 7)] = [*template, "github-enterprise/variables.tf"]
    assert live.hooks.pull_request(7, c2, action="synchronize", base_sha=first, head_ref="ghe-218").status_code == 202
    assert live.wait_run(int(first_rehearsal["id"]), ("canceled",), alice, timeout=120)["status"] == "canceled"

    # The PR now moves the node to the new image: the plan replaces it; the build is up to date;
    # the rehearsal boots the PR's configuration on a copy of the data and passes.
    assert live.github.wait_status("relight/image: ghe", "success", sha=c2, timeout=120).description == (
        f"Up to date: {image}")
    plan = live.github.wait_status("relight/plan: ghe", "success", sha=c2, timeout=120)
    assert "to destroy" in plan.description
    # The rehearsal of c2 is queued for the plan's image change, boots the PR's configuration on a
    # copy of production's data and passes its checks (the service answers, the token is there).
    rehearsal = _wait("the rehearsal of c2", lambda: next(
        (r for r in _runs_of(live, alice, "rehearsal") if r["commit_sha"] == c2), None))
    assert isinstance(rehearsal, dict)
    rehearsal_run = int(rehearsal["id"])
    live.github.wait_status("relight/rehearsal: ghe", "pending", sha=c2, timeout=60)
    queued = api.get(f"/api/runs/{rehearsal_run}/report").json()
    assert f"aws_instance.ghe_node from {node_image(state)} to {image}" in queued["why"]
    passed = live.github.wait_status("relight/rehearsal: ghe", "success", sha=c2, timeout=600)
    assert passed.description.startswith("Rehearsal passed"), passed.description
    assert passed.target_url and passed.target_url.endswith(f"/runs/{rehearsal_run}")
    report = api.get(f"/api/runs/{rehearsal_run}/report").json()
    assert report["passed"] and report["checks"] and all(c["passed"] for c in report["checks"]), report
    assert "Rehearsal" in api.get(f"/runs/{rehearsal_run}").text

    # Merge: the image is promoted to production (audit, Slack), then the replace plan waits.
    repo.checkout("main")
    merged = repo.merge("ghe-218")
    closed = live.hooks.pull_request(7, c2, action="closed", base_sha=first, head_ref="ghe-218", merged=True)
    assert rehearsal_run not in closed.json().get("canceled", [])  # it had finished
    promote_run = live.hooks.push(first, merged, files=[*template, "github-enterprise/variables.tf"]).json()["runs"]
    assert len(promote_run) == 1
    promotion = live.wait_run(promote_run[0], ("planned_and_finished", "errored"), alice, timeout=180)
    assert promotion["status"] == "planned_and_finished", api.get(f"/api/runs/{promote_run[0]}/log").json()[-5:]
    assert SqlRegistry(live.server.db, "").channel("ghe", "production").image_id == image  # type: ignore[union-attr]
    assert any(e["action"] == "image-promote" for e in api.get("/api/audit").json())
    live.slack.wait_text(f"image ghe {image} promoted to production")
    plan_run = int(str(_wait("the plan after the promotion", lambda: api.get(f"/api/runs/{promote_run[0]}").json()[
        "followed_by"], 30)))
    waiting = live.wait_run(plan_run, ("planned",), alice, timeout=120)
    assert waiting["kind"] == "apply" and waiting["plan"]["destroy"] >= 1
    time.sleep(0.5)
    assert live.wait_run(plan_run, ("planned",), alice)["status"] == "planned"  # never applied by itself

    # A person confirms: the node is replaced, same IP, and the new version serves the old data.
    assert api.post(f"/api/runs/{plan_run}/confirm").status_code == 202
    assert live.wait_run(plan_run, ("applied", "errored"), alice, timeout=240)["status"] == "applied"
    assert live.server.store.get_report(rehearsal_run).get("left_behind") == []  # type: ignore[union-attr]
    state = api.get("/api/workspaces/ghe/state").json()
    attrs = next(r for r in state["resources"] if r["type"] == "aws_instance")["instances"][0]["attributes"]
    assert attrs["id"] != node and attrs["ami"] == image and attrs["private_ip"] == "10.0.1.10"
    status = m.status(attrs["id"])
    assert status["version"] == "2.18.0" and status["data_token"] == token
    live_nodes = leftovers(boto3.client("ec2"), keep_images=(image,)).get("instances", [])
    assert live_nodes == [attrs["id"]]  # no build or rehearsal left an instance


def node_image(state: dict[str, object]) -> str:
    resources = state["resources"]
    assert isinstance(resources, list)
    node = next(r for r in resources if r["type"] == "aws_instance")
    return str(node["instances"][0]["attributes"]["ami"])
