"""Health checks in the server: a terminated node on the local cloud is found and recovered
through the queue; what is not a recovery under mode "auto" opens a run that waits for a person,
reported once however many passes find it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from relight.localcloud import LocalCloud
from relight.providers.registry import ProviderRegistry
from tests.server.conftest import Live
from tests.server.fakes import wait_for
from tests.server.slow_server import SlowProvider

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "github-enterprise"


def _runs(live: Live, token: str, workspace: str) -> list[dict[str, object]]:
    return list(reversed(live.api(token).get("/api/runs", params={"workspace": workspace}).json()))


def _heal_runs(live: Live, token: str, workspace: str) -> list[dict[str, object]]:
    return [r for r in _runs(live, token, workspace) if r["operation"] == "heal"]


def test_a_health_check_recovers_a_terminated_node(cloud: LocalCloud, make_live: Callable[..., Live]) -> None:
    ws = ('workspace "ghe" {\n  repo = "acme/infra"\n  dir = "github-enterprise"\n  approvers = ["alice"]\n'
          '  auto_apply = true\n  health_check = "2s"\n}\n')
    live = make_live(workspaces=ws)
    assert live.slack is not None
    alice = live.token("alice")
    base = live.repo.head()
    files = {f"github-enterprise/{p.name}": p.read_text() for p in sorted(EXAMPLE.glob("*.tf"))}
    head = live.repo.commit(files, "GitHub Enterprise on AWS")
    run_id = live.hooks.push(base, head, files=list(files)).json()["runs"][0]
    assert live.wait_run(run_id, ("applied", "errored"), alice, timeout=180)["status"] == "applied"
    # The next health check finds nothing wrong.
    wait_for(lambda: any(r["status"] == "planned_and_finished" for r in _heal_runs(live, alice, "ghe")), 90,
             "a clean health check")
    ec2 = boto3.client("ec2")
    [old] = [i for r in ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])[
        "Reservations"] for i in r["Instances"]]
    ec2.terminate_instances(InstanceIds=[old["InstanceId"]])

    def recovered() -> dict[str, object] | None:
        done = [r for r in _heal_runs(live, alice, "ghe") if r["status"] == "applied"]
        return done[0] if done else None

    heal = wait_for(recovered, 180, "a health check to recover the node")
    assert heal["kind"] == "apply" and str(heal["trigger"]).startswith("health check")
    running = [i for r in ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])[
        "Reservations"] for i in r["Instances"]]
    assert [i["PrivateIpAddress"] for i in running] == ["10.0.1.10"]
    assert running[0]["InstanceId"] != old["InstanceId"]
    incidents = live.api(alice).get("/api/workspaces/ghe/incidents").json()
    assert incidents[0]["outcome"] == "recovered" and incidents[0]["run_id"] == heal["id"]
    assert "aws_instance.ghe_node" in incidents[0]["vanished"]
    live.slack.wait_text("recovered")
    page = live.api(alice).get("/workspaces/ghe").text
    assert incidents[0]["id"] in page and "recovered" in page and "Health check every 2s" in page


SLOW = 'resource "slow_thing" "n" {\n  name = "n"\n}\n'


def test_what_a_person_must_decide_opens_a_run_once(tmp_path: Path, make_live: Callable[..., Live],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cloud = tmp_path / "slow-cloud"
    cloud.mkdir()
    monkeypatch.setenv("SLOW_CLOUD", str(cloud))
    monkeypatch.setenv("SLOW_DELAY", "0")
    ws = ('workspace "ghe" {\n  repo = "acme/infra"\n  dir = "infra"\n  approvers = ["alice"]\n'
          '  auto_apply = true\n  health_check = "1s"\n}\n')
    live = make_live(workspaces=ws, registry=ProviderRegistry({"slow": SlowProvider}))
    assert live.slack is not None
    alice = live.token("alice")
    base = live.repo.head()
    head = live.repo.commit({"infra/main.tf": SLOW}, "a slow thing")  # no heal block: mode "notify"
    run_id = live.hooks.push(base, head, files=["infra/main.tf"]).json()["runs"][0]
    assert live.wait_run(run_id, ("applied", "errored"), alice)["status"] == "applied"
    [thing] = list(cloud.iterdir())
    thing.unlink()  # the object vanished outside relight

    def opened() -> dict[str, object] | None:
        waiting = [r for r in _runs(live, alice, "ghe") if r["operation"] == "plan" and r["status"] == "planned"]
        return waiting[0] if waiting else None

    run = wait_for(opened, 60, "a run that waits for a person")
    # Not applied by itself, even in an auto_apply workspace: it waits for Confirm & Apply.
    assert run["confirm_required"] is True and run["plan"] == {"add": 1, "change": 0, "destroy": 0}
    assert list(cloud.iterdir()) == []
    # Later passes find the same thing and tell nobody again.
    wait_for(lambda: len([r for r in _heal_runs(live, alice, "ghe") if r["status"] == "planned_and_finished"]) >= 4,
             60, "more health checks")
    opened_runs = [r for r in _runs(live, alice, "ghe") if r["operation"] == "plan" and r["id"] != run_id]
    assert [r["id"] for r in opened_runs] == [run["id"]]
    notices = [t for t in live.slack.texts() if "slow_thing.n" in t]
    assert notices == ["relight: objects vanished in ghe (slow_thing.n)",
                       "relight: recovery blocked for ghe (slow_thing.n)"], "told once, by the first pass"
    [incident] = live.api(alice).get("/api/workspaces/ghe/incidents").json()
    assert incident["outcome"] == "needs-person" and incident["passes"] >= 3
    # A person confirms: the node comes back and the next check resolves the incident.
    assert live.api(alice).post(f"/api/runs/{run['id']}/confirm").status_code == 202
    assert live.wait_run(int(str(run["id"])), ("applied", "errored"), alice)["status"] == "applied"
    wait_for(lambda: live.api(alice).get("/api/workspaces/ghe/incidents").json()[0]["outcome"] == "resolved", 60,
             "the incident to be resolved")
