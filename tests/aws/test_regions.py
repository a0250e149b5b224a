"""The local cloud in every region: the GitHub Enterprise example plans, applies and converges in
eu-west-1 and ap-southeast-2, with everything in that region and nothing in us-east-1.

(Before, the emulator made its images' snapshots from volumes in us-east-1a whatever the region,
which the local cloud's own zone check refused: no region but us-east-1 could start.)
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from relight.localcloud import LocalCloud

from .stack import copy_example, relight


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-2"])
def test_the_github_enterprise_example_runs_in_another_region(cloud: LocalCloud, tmp_path: Path, region: str) -> None:
    workdir = copy_example("github-enterprise", tmp_path)
    zone = f"{region}a"
    variables = ("-var", f"region={region}", "-var", f"availability_zone={zone}")

    plan = relight(workdir, "plan", "-no-color", "-detailed-exitcode", *variables)
    assert plan.code == 2, plan.text
    applied = relight(workdir, "apply", "-auto-approve", "-no-color", *variables)
    assert applied.code == 0, applied.text
    again = relight(workdir, "plan", "-no-color", "-detailed-exitcode", *variables)
    assert again.code == 0, again.text

    ec2 = boto3.client("ec2", region_name=region)
    running = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"] if i["State"]["Name"] == "running"]
    [node] = running
    assert node["Placement"]["AvailabilityZone"] == zone and node["PrivateIpAddress"] == "10.0.1.10"
    assert node["ImageId"].startswith("ami-0a17e2170")  # the example's image, found in this region
    [data] = [v for v in ec2.describe_volumes()["Volumes"] if v["Size"] == 100]
    assert data["AvailabilityZone"] == zone and data["Attachments"][0]["InstanceId"] == node["InstanceId"]
    alarms = boto3.client("cloudwatch", region_name=region).describe_alarms()["MetricAlarms"]
    assert {a["AlarmName"] for a in alarms} == {"ghe-cpu-high", "ghe-status-check-failed"}
    assert all(f":{region}:" in a["AlarmArn"] for a in alarms)
    home = boto3.client("ec2", region_name="us-east-1")
    assert [r for r in home.describe_instances()["Reservations"]] == []

    destroyed = relight(workdir, "destroy", "-auto-approve", "-no-color", *variables)
    assert destroyed.code == 0, destroyed.text
    assert [v for v in ec2.describe_volumes()["Volumes"] if v["Size"] == 100 and v["State"] != "deleted"] == []


def test_an_image_made_in_another_region_is_snapshotted_there(cloud: LocalCloud) -> None:
    ec2 = boto3.client("ec2", region_name="ap-southeast-2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="ap-southeast-2b")["Subnet"]
    [inst] = ec2.run_instances(
        ImageId="ami-0a17e2170c0ffee02", MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=subnet["SubnetId"]
    )["Instances"]
    image = ec2.create_image(InstanceId=inst["InstanceId"], Name="baked")["ImageId"]
    [found] = ec2.describe_images(ImageIds=[image])["Images"]
    assert found["State"] == "available" and found["Name"] == "baked"
