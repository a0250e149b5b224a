"""The heal loop against the local cloud: recover a vanished node by itself, and only that.

The stack is examples/github-enterprise (its heal.tf says mode = "auto"). A local HTTP server
plays Slack and the generic webhook.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.instances import InstanceBackend

from relight.heal.healer import Healer, PassResult
from relight.heal.incidents import IncidentLog
from relight.localcloud import LocalCloud
from relight.runs import RunContext
from relight.state import LocalBackend

from ..aws.stack import Cloud, copy_example, relight

IP = "10.0.1.10"


class Inbox:
    """A local stand-in for Slack and a JSON webhook: records every POST by path."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                inbox.posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def slack(self) -> list[dict[str, Any]]:
        return [body for path, body in self.posts if path == "/slack"]

    def webhook(self) -> list[dict[str, Any]]:
        return [body for path, body in self.posts if path == "/hook"]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    yield box
    box.server.shutdown()


@pytest.fixture
def stack(cloud: LocalCloud, tmp_path: Path, inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TF_VAR_slack_webhook_url", f"{inbox.url}/slack")
    monkeypatch.setenv("TF_VAR_incident_webhook_url", f"{inbox.url}/hook")
    workdir = copy_example("github-enterprise", tmp_path)
    assert relight(workdir, "apply", "-auto-approve").code == 0
    return workdir


def healer(workdir: Path, lines: list[str] | None = None, **kw: Any) -> Healer:
    out = lines if lines is not None else []
    return Healer(RunContext(str(workdir), environment=dict(os.environ)), say=out.append, **kw)


def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_watch_recovers_a_terminated_node_and_tells_slack(stack: Path, inbox: Inbox) -> None:
    view = Cloud()
    node = view.instances()[0]
    volume = view.volumes()
    lines: list[str] = []
    h = healer(stack, lines)
    stop = threading.Event()
    results: list[PassResult] = []
    loop = threading.Thread(target=h.watch, args=(0.2, stop), kwargs={"on_pass": results.append})
    loop.start()
    try:
        wait_for(lambda: len(results) >= 2)  # a few clean passes first
        assert {r.status for r in results} == {"clean"}
        view.terminate(node["InstanceId"])
        wait_for(lambda: any(r.status == "recovered" for r in results))
        wait_for(lambda: len(inbox.slack()) >= 2)
    finally:
        stop.set()
        loop.join(timeout=30)
        h.close()
    [new] = view.instances()
    assert new["InstanceId"] != node["InstanceId"] and new["PrivateIpAddress"] == IP
    data = [v for v in view.volumes() if v["Size"] == 100]
    assert [v["VolumeId"] for v in data] == [v["VolumeId"] for v in volume if v["Size"] == 100]
    assert [a["InstanceId"] for a in data[0]["Attachments"]] == [new["InstanceId"]]

    [incident] = IncidentLog(str(stack / "relight.tfstate")).all()
    assert incident.outcome == "recovered" and "aws_instance.ghe_node" in incident.vanished
    assert incident.verification["ok"] is True and incident.time_to_recover is not None
    assert incident.applied_at and incident.recovered_at

    kinds = [b["blocks"][0]["text"]["text"] for b in inbox.slack()]
    assert len(kinds) == 2 and "recovered" in kinds[1].lower()
    assert [b["event"]["kind"] for b in inbox.webhook()] == ["detected", "recovered"]
    assert inbox.webhook()[1]["event"]["time_to_recover"] == incident.time_to_recover
    assert any("recovered in" in line for line in lines)


def test_a_changed_attribute_is_reported_not_applied(stack: Path, inbox: Inbox) -> None:
    view = Cloud()
    node = view.instances()[0]["InstanceId"]
    view.ec2.create_tags(Resources=[node], Tags=[{"Key": "Name", "Value": "renamed-by-hand"}])
    h = healer(stack)
    result = h.run_pass()
    h.close()
    assert result.status == "needs-person"
    assert "changed outside relight" in result.message and "revert_drift is off" in result.message
    tags = {t["Key"]: t["Value"] for t in view.instances()[0]["Tags"]}
    assert tags["Name"] == "renamed-by-hand"  # not reverted
    [incident] = IncidentLog(str(stack / "relight.tfstate")).all()
    assert incident.kind == "drift" and incident.outcome == "needs-person" and incident.applied_at is None
    assert [b["event"]["kind"] for b in inbox.webhook()] == ["drift"]
    # A second pass says nothing new to people.
    h2 = healer(stack)
    assert h2.run_pass().status == "needs-person"
    h2.close()
    assert len(inbox.webhook()) == 1


def test_revert_drift_true_lets_drift_be_applied(stack: Path) -> None:
    (stack / "heal.tf").write_text((stack / "heal.tf").read_text().replace("revert_drift            = false", "revert_drift = true"))
    view = Cloud()
    node = view.instances()[0]["InstanceId"]
    view.ec2.create_tags(Resources=[node], Tags=[{"Key": "Name", "Value": "renamed-by-hand"}])
    result = healer(stack).run_pass()
    assert result.status == "recovered", result.message
    assert {t["Key"]: t["Value"] for t in view.instances()[0]["Tags"]}["Name"] == "github-enterprise"


def test_a_pass_while_another_run_holds_the_lock_is_skipped(stack: Path) -> None:
    backend = LocalBackend(str(stack / "relight.tfstate"))
    Cloud().terminate(Cloud().instances()[0]["InstanceId"])
    with backend.lock("apply"):
        result = healer(stack).run_pass()
    assert result.status == "skipped"
    assert "skipped this pass: the state is locked (apply by" in result.message
    assert Cloud().instances() == []  # nothing was done
    assert healer(stack).run_pass().status == "recovered"  # and the next pass does it


def test_a_failed_recovery_is_recorded_and_backs_off(stack: Path, monkeypatch: pytest.MonkeyPatch, inbox: Inbox) -> None:
    def no_capacity(*args: object, **kwargs: object) -> None:
        raise EC2ClientError("InsufficientInstanceCapacity", "We currently do not have sufficient capacity.")

    view = Cloud()
    view.terminate(view.instances()[0]["InstanceId"])
    original = InstanceBackend.run_instances
    monkeypatch.setattr(InstanceBackend, "run_instances", no_capacity)
    h = healer(stack)
    first = h.run_pass()
    assert first.status == "failed"
    assert "InsufficientInstanceCapacity" in first.message and "backing off" in first.message
    assert h.backoff_seconds(1.0) == 2.0
    second = h.run_pass()
    assert second.status == "failed", second.message
    assert h.failures == 2 and h.backoff_seconds(1.0) == 4.0
    [incident] = IncidentLog(str(stack / "relight.tfstate")).all()
    assert incident.outcome == "failed" and incident.passes == 2
    assert "InsufficientInstanceCapacity" in (incident.error or "")
    monkeypatch.setattr(InstanceBackend, "run_instances", original)  # capacity is back
    third = h.run_pass()
    assert third.status == "recovered", (third.message, [(d.summary, d.detail) for d in third.diagnostics])
    assert h.failures == 0
    [incident] = IncidentLog(str(stack / "relight.tfstate")).all()
    assert incident.outcome == "recovered"
    h.close()
    assert "failed" in [b["event"]["kind"] for b in inbox.webhook()]


def test_watch_backs_off_and_says_so(stack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_capacity(*args: object, **kwargs: object) -> None:
        raise EC2ClientError("InsufficientInstanceCapacity", "No capacity.")

    Cloud().terminate(Cloud().instances()[0]["InstanceId"])
    monkeypatch.setattr(InstanceBackend, "run_instances", no_capacity)
    lines: list[str] = []
    h = healer(stack, lines)
    started = time.monotonic()
    h.watch(0.1, threading.Event(), max_passes=3)
    assert time.monotonic() - started >= 0.2 + 0.4  # waited 2x then 4x the interval
    assert any("backing off after 2 failed recoveries in a row: next pass in" in line for line in lines)


def test_notify_mode_reports_the_recovery_without_applying_it(stack: Path, inbox: Inbox) -> None:
    Cloud().terminate(Cloud().instances()[0]["InstanceId"])
    h = healer(stack, mode="notify")
    result = h.run_pass()
    h.close()
    assert result.status == "needs-person" and 'heal mode is "notify"' in result.message
    assert Cloud().instances() == []
    assert [b["event"]["kind"] for b in inbox.webhook()] == ["detected", "blocked"]


def test_the_hourly_cap_stops_a_recovery_loop(stack: Path) -> None:
    (stack / "heal.tf").write_text((stack / "heal.tf").read_text().replace("max_recoveries_per_hour = 3", "max_recoveries_per_hour = 1"))
    Cloud().terminate(Cloud().instances()[0]["InstanceId"])
    assert healer(stack).run_pass().status == "recovered"
    Cloud().terminate(Cloud().instances()[0]["InstanceId"])
    result = healer(stack).run_pass()
    assert result.status == "needs-person" and "max_recoveries_per_hour (1)" in result.message


def test_a_vanished_data_volume_is_never_recreated_by_itself(stack: Path) -> None:
    view = Cloud()
    node = view.instances()[0]["InstanceId"]
    [vol] = [v for v in view.volumes() if v["Size"] == 100]
    view.ec2.detach_volume(VolumeId=vol["VolumeId"], InstanceId=node, Device="/dev/xvdf")
    view.ec2.delete_volume(VolumeId=vol["VolumeId"])
    result = healer(stack).run_pass()
    assert result.status == "needs-person"
    assert "aws_ebs_volume.ghe_data holds data and vanished" in result.message
    assert not [v for v in view.volumes() if v["Size"] == 100]


def test_edited_configuration_is_not_a_recovery(stack: Path) -> None:
    Cloud().terminate(Cloud().instances()[0]["InstanceId"])
    main = stack / "main.tf"
    main.write_text(main.read_text().replace("threshold           = 85", "threshold           = 90"))
    result = healer(stack).run_pass()
    assert result.status == "needs-person"
    assert "the configuration has changes that were never applied: update aws_cloudwatch_metric_alarm.ghe_cpu_high" in result.message
    assert Cloud().instances() == []


def test_a_bad_policy_is_a_clear_error(stack: Path) -> None:
    (stack / "heal.tf").write_text('relight {\n  heal {\n    mode = "sometimes"\n  }\n}\n')
    lines: list[str] = []
    result = healer(stack, lines).run_pass()
    assert result.status == "error"
    errors = [d for d in result.diagnostics if d.severity.value == "error"]
    assert errors[0].summary == "Invalid heal mode" and errors[0].subject is not None and errors[0].subject.start.line == 3


def test_heal_and_incidents_commands(stack: Path) -> None:
    Cloud().terminate(Cloud().instances()[0]["InstanceId"])
    res = relight(stack, "heal")
    assert res.code == 0 and "recovered in" in res.out, res.text
    res = relight(stack, "heal")
    assert res.code == 0 and "no changes" in res.out
    res = relight(stack, "incidents")
    assert res.code == 0 and "recovery" in res.out and "recovered" in res.out
    doc = json.loads(relight(stack, "incidents", "-json").out)
    assert doc[0]["outcome"] == "recovered" and doc[0]["config_revision"] is None  # not a git checkout
    Cloud().terminate(Cloud().instances()[0]["InstanceId"])
    res = relight(stack, "heal", "-mode=notify")
    assert res.code == 2 and 'heal mode is "notify"' in res.out


def test_a_recovery_goes_ahead_and_holds_back_drift_for_a_person(stack: Path, inbox: Inbox) -> None:
    view = Cloud()
    node = view.instances()[0]["InstanceId"]
    view.ec2.create_tags(Resources=[node], Tags=[{"Key": "Name", "Value": "hand-edited"}])
    [vol] = [v for v in view.volumes() if v["Size"] == 100]
    view.ec2.detach_volume(VolumeId=vol["VolumeId"])
    lines: list[str] = []
    result = healer(stack, lines).run_pass()
    assert result.status == "recovered", result.message
    assert view.volume(vol["VolumeId"])["Attachments"][0]["InstanceId"] == node  # re-attached
    assert {t["Key"]: t["Value"] for t in view.instances()[0]["Tags"]}["Name"] == "hand-edited"  # drift kept
    assert any('held back (revert_drift is off; a person decides)' in line and 'tags.Name: "github-enterprise" -> "hand-edited"' in line for line in lines)
    [incident] = IncidentLog(str(stack / "relight.tfstate")).all()
    assert incident.held_back == ("aws_instance.ghe_node",)
    assert incident.changed["aws_instance.ghe_node"] == [
        'tags.Name: "github-enterprise" -> "hand-edited"',
        'tags_all.Name: "github-enterprise" -> "hand-edited"',
    ]
    nxt = healer(stack).run_pass()
    assert nxt.status == "needs-person" and "changed outside relight" in nxt.message


def test_a_blind_loop_says_it_once_backs_off_and_tells_people(cloud: LocalCloud, tmp_path: Path, inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "main.tf").write_text(
        'provider "aws" {\n  max_retries = 0\n}\nresource "aws_vpc" "v" {\n  cidr_block = "10.0.0.0/16"\n}\n'
        f'relight {{\n  heal {{\n    mode = "auto"\n    notify {{\n      webhook = "{inbox.url}/hook"\n    }}\n  }}\n}}\n'
    )
    assert relight(tmp_path, "apply", "-auto-approve").code == 0
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    lines: list[str] = []
    printed: list[str] = []
    h = Healer(RunContext(str(tmp_path), environment=dict(os.environ)), say=lines.append, print_diags=lambda d, s: printed.extend(x.summary for x in d))
    results = [h.run_pass() for _ in range(4)]
    h.close()
    assert {r.status for r in results} == {"error"}
    assert "cannot reach the AWS endpoint" in results[0].message
    assert len(printed) == 1, printed  # shown once, not every pass
    assert [b["event"]["kind"] for b in inbox.webhook()] == ["blind"]
    assert h.errors == 4


def test_validate_catches_a_bad_heal_policy(stack: Path) -> None:
    (stack / "heal.tf").write_text('relight {\n  heal {\n    mode = "sometimes"\n  }\n}\n')
    res = relight(stack, "validate")
    assert res.code == 1 and "Invalid heal mode" in res.err and "heal.tf:3" in res.err
