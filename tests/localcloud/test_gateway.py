"""The local cloud's front: --latency on every API call, the call counts, and metadata-only mode."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
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


def test_where_there_is_no_data_plane_the_cloud_keeps_metadata_only(tmp_path: object) -> None:
    script = textwrap.dedent(
        """
        import boto3, json
        from relight.localcloud import LocalCloud
        with LocalCloud(data_plane=False) as cloud:
            kw = dict(endpoint_url=cloud.endpoint, region_name="us-east-1",
                      aws_access_key_id="x", aws_secret_access_key="y")
            ec2, ssm = boto3.client("ec2", **kw), boto3.client("ssm", **kw)
            node = ec2.run_instances(ImageId="ami-0a17e2170c0ffee02", MinCount=1, MaxCount=1)["Instances"][0]
            out = ssm.send_command(InstanceIds=[node["InstanceId"]], DocumentName="AWS-RunShellScript",
                                   Parameters={"commands": ["exit 3"]})
            inv = ssm.get_command_invocation(CommandId=out["Command"]["CommandId"], InstanceId=node["InstanceId"])
            print(json.dumps({"reason": cloud.data_plane_reason, "plane": cloud.data_plane is None,
                              "status": inv["Status"], "code": inv["ResponseCode"]}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    # the emulator's own answer: nothing ran
    assert found == {"reason": "turned off", "plane": True, "status": "Success", "code": 0}


def test_the_probe_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from relight.localcloud.dataplane import sandbox

    real = shutil.which
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None if name == "bwrap" else real(name))
    assert sandbox.probe() == "'bwrap' is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    monkeypatch.setattr(sandbox.sys, "platform", "darwin")
    assert sandbox.probe() == "instances need Linux namespaces; this is darwin"
