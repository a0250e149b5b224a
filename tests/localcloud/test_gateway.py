"""The local cloud's front: --latency on every API call, the call counts, and metadata-only mode."""

from __future__ import annotations

import json
import time
import urllib.request

import boto3
import pytest

from relight.localcloud import LocalCloud


def _stats(cloud: LocalCloud) -> dict[str, int]:
    with urllib.request.urlopen(f"{cloud.endpoint}/_relight/stats") as resp:
        return dict(json.load(resp)["requests"])


def test_latency_is_added_to_every_api_call_and_calls_are_counted(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cloud, "latency", 0.3)
    urllib.request.urlopen(urllib.request.Request(f"{cloud.endpoint}/_relight/stats/reset", method="POST", data=b""))
    ec2 = boto3.client("ec2")
    started = time.monotonic()
    ec2.describe_vpcs()
    ec2.create_vpc(CidrBlock="10.9.0.0/16")
    took = time.monotonic() - started
    assert took >= 0.6  # two calls, each delayed (a lower bound: the feature works, not a speed target)
    assert _stats(cloud) == {"DescribeVpcs": 1, "CreateVpc": 1}
    started = time.monotonic()
    with urllib.request.urlopen(f"{cloud.endpoint}/_relight/data-plane") as resp:  # the local cloud's own API
        assert json.load(resp)["latency_seconds"] == 0.3
    assert time.monotonic() - started < 0.3


def test_where_there_is_no_data_plane_the_cloud_keeps_metadata_only(cloud: LocalCloud) -> None:
    from relight.localcloud.dataplane import hooks

    plane = hooks.active()
    hooks.activate(None)  # what a machine without sandboxes gets: the hooks do nothing
    try:
        ec2, ssm = boto3.client("ec2"), boto3.client("ssm")
        node = ec2.run_instances(ImageId="ami-0a17e2170c0ffee02", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        out = ssm.send_command(InstanceIds=[node], DocumentName="AWS-RunShellScript", Parameters={"commands": ["exit 3"]})
        inv = ssm.get_command_invocation(CommandId=out["Command"]["CommandId"], InstanceId=node)
        assert (inv["Status"], inv["ResponseCode"]) == ("Success", 0)  # the emulator's own answer: nothing ran
        assert plane is None or plane.instance_view(node) is None
    finally:
        hooks.activate(plane)


def test_the_probe_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from relight.localcloud.dataplane import sandbox

    real = shutil.which
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None if name == "bwrap" else real(name))
    assert sandbox.probe() == "'bwrap' is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    monkeypatch.setattr(sandbox.sys, "platform", "darwin")
    assert sandbox.probe() == "instances need Linux namespaces; this is darwin"


def test_a_bad_latency_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    from relight.cli.main import main

    assert main(["local-cloud", "--latency", "5x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: --latency: invalid duration '5x'") and "50ms" in err
    assert "Traceback" not in err


def test_every_api_answer_says_it_comes_from_the_local_cloud(cloud: LocalCloud) -> None:
    from relight.localcloud.gateway import MARK_HEADER, emulator_name

    for client, call in ((boto3.client("ec2"), "describe_vpcs"), (boto3.client("sts"), "get_caller_identity")):
        answer = getattr(client, call)()
        assert answer["ResponseMetadata"]["HTTPHeaders"][MARK_HEADER] == emulator_name()
    assert emulator_name().startswith("moto ")
    with urllib.request.urlopen(f"{cloud.endpoint}/_relight/stats") as resp:  # not an AWS answer
        assert resp.headers.get(MARK_HEADER) is None


def test_the_aws_provider_knows_the_local_cloud_from_aws_by_the_mark(cloud: LocalCloud) -> None:
    from tests.aws.harness import aws_provider

    api = aws_provider().api
    assert api is not None and api.emulator() is not None and api.emulator().startswith("moto ")  # type: ignore[union-attr]
