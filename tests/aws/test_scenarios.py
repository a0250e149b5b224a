"""The three failure scenarios of the seed, end to end on the local cloud, with the example stack.

1. The instance is terminated behind relight's back -> the plan reports it deleted, re-creates
   it, replaces the attachment and updates the alarms -> same IP, same volume, DNS unchanged.
2. ``snapshot_id`` is set to an older snapshot -> the volume is replaced from it, and the old
   volume is snapshotted first (recorded in state and printed).
3. Recycle with ``-replace`` (and by terminating then running) -> new instance, same IP and volume.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relight.localcloud import LocalCloud
from relight.state import LocalBackend

from .stack import Cloud, copy_example, relight

IP = "10.0.1.10"


@pytest.fixture
def stack(cloud: LocalCloud, tmp_path: Path) -> Path:
    workdir = copy_example("github-enterprise", tmp_path)
    first = relight(workdir, "apply", "-auto-approve")
    assert first.code == 0, first.text
    assert "Apply complete! Resources: 10 added" in first.out
    return workdir


def outputs(workdir: Path) -> dict[str, str]:
    res = relight(workdir, "output", "-json")
    assert res.code == 0, res.text
    return {k: v["value"] for k, v in json.loads(res.out).items()}


def assert_healthy(workdir: Path, cloud: Cloud, volume_id: str) -> str:
    """One running instance with the fixed IP, the volume attached to it, alarms and DNS on it."""
    running = cloud.instances()
    assert len(running) == 1
    node = running[0]
    assert node["PrivateIpAddress"] == IP
    vol = cloud.volume(volume_id)
    assert vol["State"] == "in-use"
    assert [(a["InstanceId"], a["Device"]) for a in vol["Attachments"]] == [(node["InstanceId"], "/dev/xvdf")]
    alarms = cloud.alarms()
    for name in ("ghe-status-check-failed", "ghe-cpu-high"):
        assert alarms[name]["Dimensions"] == [{"Name": "InstanceId", "Value": node["InstanceId"]}]
    assert cloud.a_records() == {"ghe.corp.internal": [IP]}
    assert relight(workdir, "plan", "-detailed-exitcode").code == 0  # converged: nothing left to do
    return str(node["InstanceId"])


def test_scenario_1_terminated_instance_comes_back_the_same_way(stack: Path) -> None:
    cloud = Cloud()
    before = outputs(stack)
    old_id = assert_healthy(stack, cloud, before["data_volume_id"])
    cloud.terminate(old_id)

    plan = relight(stack, "plan", "-no-color")
    assert plan.code == 0, plan.text
    assert "aws_instance.ghe_node has been deleted" in plan.out
    assert "# aws_instance.ghe_node will be created" in plan.out
    assert "(because the object was deleted outside relight)" in plan.out
    assert "# aws_volume_attachment.ghe_data" in plan.out
    assert "# aws_cloudwatch_metric_alarm.ghe_status_check will be updated in-place" in plan.out
    assert "aws_route53_record.ghe" not in plan.out.split("relight will perform")[1]  # DNS untouched
    assert "aws_ebs_volume.ghe_data" not in plan.out.split("relight will perform")[1]  # data untouched

    recovery = relight(stack, "apply", "-auto-approve")
    assert recovery.code == 0, recovery.text
    after = outputs(stack)
    assert after["data_volume_id"] == before["data_volume_id"]
    assert after["private_ip"] == IP and after["instance_id"] != old_id
    assert assert_healthy(stack, cloud, after["data_volume_id"]) == after["instance_id"]


def test_scenario_2_revert_to_an_older_snapshot_keeps_the_current_data(stack: Path) -> None:
    cloud = Cloud()
    before = outputs(stack)
    old_volume = before["data_volume_id"]
    older = cloud.ec2.create_snapshot(VolumeId=old_volume, Description="nightly")["SnapshotId"]

    plan = relight(stack, "plan", "-no-color", f"-var=snapshot_id={older}")
    assert plan.code == 0, plan.text
    assert "# aws_ebs_volume.ghe_data must be replaced" in plan.out
    assert f"(data safety: snapshot {old_volume} before destroy)" in plan.out
    assert "snapshot_id" in plan.out and "# forces replacement" in plan.out

    apply = relight(stack, "apply", "-auto-approve", f"-var=snapshot_id={older}")
    assert apply.code == 0, apply.text
    after = outputs(stack)
    new_volume = after["data_volume_id"]
    assert new_volume != old_volume
    assert cloud.volume(new_volume)["SnapshotId"] == older
    assert_healthy(stack, cloud, new_volume)

    # The old volume's data was kept: a completed snapshot of it, recorded in state and printed.
    state = LocalBackend(str(stack / "relight.tfstate")).read()
    kept = [r for r in state.retained if r["volume_id"] == old_volume]
    assert len(kept) == 1 and kept[0]["address"] == "aws_ebs_volume.ghe_data"
    snap = {s["SnapshotId"]: s for s in cloud.snapshots()}[kept[0]["snapshot_id"]]
    assert snap["VolumeId"] == old_volume and snap["State"] == "completed"
    assert kept[0]["snapshot_id"] in apply.out
    assert not any(v["VolumeId"] == old_volume for v in cloud.volumes())


def test_scenario_3_recycle_the_node_by_replace_and_by_terminate(stack: Path) -> None:
    cloud = Cloud()
    volume = outputs(stack)["data_volume_id"]
    first = assert_healthy(stack, cloud, volume)

    res = relight(stack, "apply", "-auto-approve", "-replace=aws_instance.ghe_node")
    assert res.code == 0, res.text
    assert "# aws_instance.ghe_node will be replaced, as requested" in res.out
    second = assert_healthy(stack, cloud, volume)
    assert second != first

    cloud.terminate(second)
    res = relight(stack, "apply", "-auto-approve")
    assert res.code == 0, res.text
    third = assert_healthy(stack, cloud, volume)
    assert third not in (first, second)
    assert outputs(stack)["data_volume_id"] == volume


def test_the_seed_2015_example_applies_as_written(cloud: LocalCloud, tmp_path: Path) -> None:
    workdir = copy_example("seed-2015", tmp_path)
    res = relight(workdir, "apply", "-auto-approve")
    assert res.code == 0, res.text
    [node] = Cloud().instances()
    assert node["ImageId"] == "ami-347c015e" and node["InstanceType"] == "m4.xlarge"
    assert node.get("PublicIpAddress")  # associate_public_ip_address = 1
    assert relight(workdir, "plan", "-detailed-exitcode").code == 0
    Cloud().terminate(node["InstanceId"])
    assert relight(workdir, "apply", "-auto-approve").code == 0
    [again] = Cloud().instances()
    vols = [v for v in Cloud().volumes() if v["Size"] == 100]
    assert [a["InstanceId"] for a in vols[0]["Attachments"]] == [again["InstanceId"]]
