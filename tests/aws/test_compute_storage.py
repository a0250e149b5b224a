"""aws_instance, aws_ebs_volume, aws_volume_attachment, aws_ebs_snapshot and the data sources.

Each through the real CLI on the local cloud: create, a converged second plan, drift (deleted
or changed behind relight's back), update in place, replacement, delete, import, and refused
calls that come back as clear errors.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from relight.localcloud import LocalCloud
from relight.providers.aws import AwsProvider
from relight.providers.base import ConfigureRequest, ImportRequest, ProviderContext

from .stack import Cloud, relight

AMI = "ami-0a17e2170c0ffee02"


@pytest.fixture
def net(cloud: LocalCloud) -> dict[str, str]:
    view = Cloud()
    vpc = view.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = view.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")
    sg = view.ec2.create_security_group(GroupName="a", Description="a", VpcId=vpc)["GroupId"]
    sg2 = view.ec2.create_security_group(GroupName="b", Description="b", VpcId=vpc)["GroupId"]
    return {"vpc": vpc, "subnet": subnet["Subnet"]["SubnetId"], "sg": sg, "sg2": sg2}


def write(workdir: Path, body: str) -> Path:
    (workdir / "main.tf").write_text('provider "aws" {}\n' + body)
    return workdir


def node(net: dict[str, str], **overrides: str) -> str:
    attrs = {
        "ami": f'"{AMI}"',
        "instance_type": '"t3.small"',
        "subnet_id": f'"{net["subnet"]}"',
        "private_ip": '"10.0.1.20"',
        "vpc_security_group_ids": f'["{net["sg"]}"]',
        "tags": '{ Name = "node" }',
    }
    attrs.update(overrides)
    body = "\n".join(f"  {k} = {v}" for k, v in attrs.items())
    return f'resource "aws_instance" "node" {{\n{body}\n}}\n'


def test_instance_lifecycle(net: dict[str, str], tmp_path: Path) -> None:
    view = Cloud()
    write(tmp_path, node(net))
    res = relight(tmp_path, "apply", "-auto-approve")
    assert res.code == 0, res.text
    [inst] = view.instances()
    assert inst["PrivateIpAddress"] == "10.0.1.20" and inst["InstanceType"] == "t3.small"
    assert {t["Key"]: t["Value"] for t in inst["Tags"]}["Name"] == "node"
    assert relight(tmp_path, "plan", "-detailed-exitcode").code == 0

    # Update in place: type (stop, modify, start), security groups and tags; same instance.
    write(tmp_path, node(net, instance_type='"t3.large"', vpc_security_group_ids=f'["{net["sg2"]}"]', tags='{ Name = "node2" }'))
    plan = relight(tmp_path, "plan", "-no-color")
    assert "will be updated in-place" in plan.out, plan.text
    assert relight(tmp_path, "apply", "-auto-approve").code == 0
    [same] = view.instances()
    assert same["InstanceId"] == inst["InstanceId"] and same["InstanceType"] == "t3.large"
    # The groups sit on the primary interface (the emulator leaves the instance's own list empty).
    assert [g["GroupId"] for g in same["NetworkInterfaces"][0]["Groups"]] == [net["sg2"]]
    assert relight(tmp_path, "plan", "-detailed-exitcode").code == 0

    # Drift: a tag changed behind relight's back is shown and reverted.
    view.ec2.create_tags(Resources=[inst["InstanceId"]], Tags=[{"Key": "Name", "Value": "hacked"}])
    plan = relight(tmp_path, "plan", "-no-color")
    assert "has changed" in plan.out and '"hacked"' in plan.out
    assert relight(tmp_path, "apply", "-auto-approve").code == 0

    # A forcing change (the image) replaces it destroy-first, keeping the fixed address.
    write(tmp_path, node(net, ami='"ami-0a17e2160c0ffee01"', instance_type='"t3.large"', vpc_security_group_ids=f'["{net["sg2"]}"]', tags='{ Name = "node2" }'))
    plan = relight(tmp_path, "plan", "-no-color")
    assert "must be replaced" in plan.out and "# forces replacement" in plan.out
    assert relight(tmp_path, "apply", "-auto-approve").code == 0
    [new] = view.instances()
    assert new["InstanceId"] != inst["InstanceId"] and new["PrivateIpAddress"] == "10.0.1.20"

    assert relight(tmp_path, "destroy", "-auto-approve").code == 0
    assert view.instances() == []


def test_instance_launch_refused_names_the_call_and_the_aws_code(net: dict[str, str], tmp_path: Path) -> None:
    view = Cloud()
    view.ec2.run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro",
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": net["subnet"], "PrivateIpAddress": "10.0.1.30"}],
    )
    write(tmp_path, node(net, private_ip='"10.0.1.31"') + node(net, private_ip='"10.0.1.99"').replace('"node"', '"out"', 1).replace("10.0.1.99", "10.0.9.9"))
    res = relight(tmp_path, "apply", "-auto-approve")
    assert res.code == 1
    assert "Error: RunInstances failed: InvalidParameterValue" in res.err
    assert "with aws_instance.out" in res.err
    assert "Traceback" not in res.text
    assert relight(tmp_path, "state", "list").out.split() == ["aws_instance.node"]


def test_instance_in_use_ip_is_refused_after_retries(net: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from relight.providers.aws import instance

    monkeypatch.setattr(instance, "IP_RELEASE_TIMEOUT", 1.5)
    Cloud().ec2.run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro",
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": net["subnet"], "PrivateIpAddress": "10.0.1.20"}],
    )
    write(tmp_path, node(net))
    res = relight(tmp_path, "apply", "-auto-approve")
    assert res.code == 1
    assert "RunInstances failed: InvalidIPAddress.InUse" in res.err and "10.0.1.20" in res.err


def test_volume_attachment_and_final_snapshot(net: dict[str, str], tmp_path: Path) -> None:
    view = Cloud()
    config = node(net) + """
resource "aws_ebs_volume" "data" {
  availability_zone = "us-east-1a"
  size              = 20
  tags              = { Name = "data" }
}
resource "aws_volume_attachment" "data" {
  device_name = "/dev/xvdf"
  volume_id   = aws_ebs_volume.data.id
  instance_id = aws_instance.node.id
}
"""
    write(tmp_path, config)
    assert relight(tmp_path, "apply", "-auto-approve").code == 0
    [vol] = [v for v in view.volumes() if v["Size"] == 20]
    assert vol["State"] == "in-use"
    assert relight(tmp_path, "plan", "-detailed-exitcode").code == 0

    # Grow in place; shrinking is refused at plan time.
    write(tmp_path, config.replace("size              = 20", "size              = 30"))
    res = relight(tmp_path, "apply", "-auto-approve")
    assert res.code == 0 and "will be updated in-place" in res.out, res.text
    assert view.volume(vol["VolumeId"])["Size"] == 30
    write(tmp_path, config.replace("size              = 20", "size              = 10"))
    res = relight(tmp_path, "plan")
    assert res.code == 1 and "Cannot shrink volume" in res.err

    # Detached behind relight's back: the attachment is gone and is re-created.
    write(tmp_path, config.replace("size              = 20", "size              = 30"))
    [inst] = view.instances()
    view.ec2.detach_volume(VolumeId=vol["VolumeId"], InstanceId=inst["InstanceId"], Device="/dev/xvdf")
    plan = relight(tmp_path, "plan", "-no-color")
    assert "aws_volume_attachment.data has been deleted" in plan.out
    assert relight(tmp_path, "apply", "-auto-approve").code == 0
    assert view.volume(vol["VolumeId"])["State"] == "in-use"

    # Destroy: the volume is snapshotted first, by default.
    plan = relight(tmp_path, "plan", "-destroy", "-no-color")
    assert f"(data safety: snapshot {vol['VolumeId']} before destroy)" in plan.out
    res = relight(tmp_path, "destroy", "-auto-approve")
    assert res.code == 0, res.text
    snaps = [s for s in view.snapshots() if s["VolumeId"] == vol["VolumeId"]]
    assert len(snaps) == 1 and snaps[0]["State"] == "completed"
    assert snaps[0]["SnapshotId"] in res.out
    assert {t["Key"]: t["Value"] for t in snaps[0]["Tags"]}["Name"] == "data"
    assert not [v for v in view.volumes() if v["VolumeId"] == vol["VolumeId"]]


def test_final_snapshot_can_be_turned_off_per_volume(cloud: LocalCloud, tmp_path: Path) -> None:
    write(tmp_path, 'resource "aws_ebs_volume" "scratch" {\n  availability_zone = "us-east-1a"\n  size = 5\n  final_snapshot = false\n}\n')
    assert relight(tmp_path, "apply", "-auto-approve").code == 0
    plan = relight(tmp_path, "plan", "-destroy", "-no-color")
    assert "data safety" not in plan.out
    assert relight(tmp_path, "destroy", "-auto-approve").code == 0
    assert Cloud().snapshots() == []


def test_a_failed_final_snapshot_aborts_the_destroy(cloud: LocalCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.elastic_block_store import EBSBackend

    write(tmp_path, 'resource "aws_ebs_volume" "data" {\n  availability_zone = "us-east-1a"\n  size = 5\n}\n')
    assert relight(tmp_path, "apply", "-auto-approve").code == 0

    def refuse(*args: object, **kwargs: object) -> None:
        raise EC2ClientError("SnapshotCreationPerVolumeRateExceeded", "The maximum per volume CreateSnapshot request rate has been exceeded.")

    monkeypatch.setattr(EBSBackend, "create_snapshot", refuse)
    res = relight(tmp_path, "destroy", "-auto-approve")
    assert res.code == 1
    assert "CreateSnapshot failed: SnapshotCreationPerVolumeRateExceeded" in res.err
    assert len(Cloud().volumes()) == 1, "the volume is still there"
    assert relight(tmp_path, "state", "list").out.split() == ["aws_ebs_volume.data"]


def test_a_volume_attached_elsewhere_is_refused(net: dict[str, str], tmp_path: Path) -> None:
    view = Cloud()
    other = view.ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=net["subnet"])["Instances"][0]["InstanceId"]
    vol = view.ec2.create_volume(AvailabilityZone="us-east-1a", Size=5)["VolumeId"]
    view.ec2.attach_volume(VolumeId=vol, InstanceId=other, Device="/dev/xvdg")
    write(tmp_path, node(net) + f'resource "aws_volume_attachment" "a" {{\n  device_name = "/dev/xvdf"\n  volume_id = "{vol}"\n  instance_id = aws_instance.node.id\n}}\n')
    res = relight(tmp_path, "apply", "-auto-approve")
    assert res.code == 1
    assert "AttachVolume failed: VolumeInUse" in res.err and other in res.err


def test_bogus_availability_zone_is_refused(cloud: LocalCloud, tmp_path: Path) -> None:
    write(tmp_path, 'resource "aws_ebs_volume" "v" {\n  availability_zone = "us-east-1"\n  size = 5\n}\n')
    res = relight(tmp_path, "apply", "-auto-approve")
    assert res.code == 1
    assert "CreateVolume failed: InvalidParameterValue" in res.err and "us-east-1" in res.err


def test_snapshot_resource_and_data_sources(cloud: LocalCloud, tmp_path: Path) -> None:
    view = Cloud()
    vol = view.ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    write(
        tmp_path,
        f"""
resource "aws_ebs_snapshot" "nightly" {{
  volume_id   = "{vol}"
  description = "nightly"
  tags        = {{ Role = "ghe-data" }}
}}
data "aws_ami" "ghe" {{
  most_recent = true
  owners      = ["self"]
  filter {{
    name   = "name"
    values = ["ghe-*"]
  }}
}}
output "ami" {{ value = data.aws_ami.ghe.name }}
""",
    )
    res = relight(tmp_path, "apply", "-auto-approve")
    assert res.code == 0, res.text
    assert 'ami = "ghe-2.17.0-20261101"' in res.out  # the newest of the ghe-* images
    [snap] = view.snapshots()
    assert snap["VolumeId"] == vol and snap["Description"] == "nightly"
    (tmp_path / "lookup.tf").write_text(
        'data "aws_ebs_snapshot" "latest" {\n  most_recent = true\n  owners = ["self"]\n  tags = { Role = "ghe-data" }\n}\n'
        'output "snap" { value = data.aws_ebs_snapshot.latest.id }\n'
    )
    res = relight(tmp_path, "apply", "-auto-approve")
    assert f'snap = "{snap["SnapshotId"]}"' in res.out, res.text
    view.ec2.delete_snapshot(SnapshotId=snap["SnapshotId"])
    plan = relight(tmp_path, "plan", "-no-color")
    assert plan.code == 1 and "Your query returned no results" in plan.err  # the lookup finds nothing now
    (tmp_path / "lookup.tf").unlink()
    plan = relight(tmp_path, "plan", "-no-color")
    assert "aws_ebs_snapshot.nightly has been deleted" in plan.out


def test_no_image_matches_is_a_clear_error(cloud: LocalCloud, tmp_path: Path) -> None:
    write(tmp_path, 'data "aws_ami" "x" {\n  owners = ["self"]\n  filter {\n    name = "name"\n    values = ["nope-*"]\n  }\n}\n')
    res = relight(tmp_path, "plan")
    assert res.code == 1 and "Your query returned no results" in res.err and "data.aws_ami.x" in res.err


def test_import_reads_existing_objects(net: dict[str, str]) -> None:
    view = Cloud()
    provider = AwsProvider(ProviderContext(dict(os.environ)))
    assert not provider.configure(ConfigureRequest({})).diagnostics.has_errors
    iid = view.ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=net["subnet"])["Instances"][0]["InstanceId"]
    vol = view.ec2.create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    got = provider.import_(ImportRequest("aws_instance", iid))
    assert got.state is not None and got.state["subnet_id"] == net["subnet"]
    got = provider.import_(ImportRequest("aws_ebs_volume", vol))
    assert got.state is not None and got.state["size"] == 8 and got.state["final_snapshot"] is True
    missing = provider.import_(ImportRequest("aws_ebs_volume", "vol-0000000000000000f"))
    assert missing.state is None and not missing.diagnostics.has_errors  # "no such object" is an answer


def test_no_region_is_a_clear_error(cloud: LocalCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    write(tmp_path, 'resource "aws_ebs_volume" "v" {\n  availability_zone = "us-east-1a"\n  size = 5\n}\n')
    res = relight(tmp_path, "plan")
    assert res.code == 1 and 'The provider "aws" needs a region' in res.err


def test_relight_import_then_plan_converges(net: dict[str, str], tmp_path: Path) -> None:
    view = Cloud()
    vol = view.ec2.create_volume(AvailabilityZone="us-east-1a", Size=8, TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "old"}]}])["VolumeId"]
    write(tmp_path, 'resource "aws_ebs_volume" "data" {\n  availability_zone = "us-east-1a"\n  size = 8\n  tags = { Name = "old" }\n}\n')
    res = relight(tmp_path, "import", "aws_ebs_volume.data", vol)
    assert res.code == 0, res.text
    assert "Import successful!" in res.out
    assert relight(tmp_path, "plan", "-detailed-exitcode").code == 0
    again = relight(tmp_path, "import", "aws_ebs_volume.data", vol)
    assert again.code == 1 and "Resource already managed by relight" in again.err
    nowhere = relight(tmp_path, "import", "aws_ebs_volume.other", vol)
    assert nowhere.code == 1 and "Configuration for import target does not exist" in nowhere.err


def test_a_missing_snapshot_is_refused_at_plan_time_and_the_volume_is_kept(cloud: LocalCloud, tmp_path: Path) -> None:
    base = 'variable "snap" {\n  default = null\n}\nresource "aws_ebs_volume" "data" {\n  availability_zone = "us-east-1a"\n  size = 5\n  snapshot_id = var.snap\n}\n'
    write(tmp_path, base)
    assert relight(tmp_path, "apply", "-auto-approve").code == 0
    [vol] = Cloud().volumes()
    res = relight(tmp_path, "apply", "-auto-approve", "-var=snap=snap-0doesnotexist00000")
    assert res.code == 1 and "Snapshot snap-0doesnotexist00000 does not exist" in res.err and "Nothing was changed" in res.err
    assert [v["VolumeId"] for v in Cloud().volumes()] == [vol["VolumeId"]]


def test_a_failed_replacement_names_the_snapshot_that_kept_the_data(cloud: LocalCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.elastic_block_store import EBSBackend

    write(tmp_path, 'resource "aws_ebs_volume" "data" {\n  availability_zone = "us-east-1a"\n  size = 5\n}\n')
    assert relight(tmp_path, "apply", "-auto-approve").code == 0
    original = EBSBackend.create_volume

    def no_capacity(self: object, *args: object, **kwargs: object) -> None:
        raise EC2ClientError("InsufficientVolumeCapacity", "There is not enough capacity.")

    monkeypatch.setattr(EBSBackend, "create_volume", no_capacity)
    res = relight(tmp_path, "apply", "-auto-approve", "-replace=aws_ebs_volume.data")
    assert res.code == 1
    kept = [s["SnapshotId"] for s in Cloud().snapshots()]
    assert len(kept) == 1
    assert f"aws_ebs_volume.data was destroyed, and its data is safe in {kept[0]}" in res.err
    assert f'set snapshot_id = "{kept[0]}"' in res.err
    monkeypatch.setattr(EBSBackend, "create_volume", original)


@pytest.mark.parametrize(
    ("ip", "message"),
    [("10.0.1.999", "Invalid private_ip '10.0.1.999'"), ("10.0.1.2", "InvalidParameterValue"), ("10.0.1.255", "InvalidParameterValue")],
)
def test_bad_private_ips_are_refused_before_anything_is_destroyed(net: dict[str, str], tmp_path: Path, ip: str, message: str) -> None:
    write(tmp_path, node(net, private_ip=f'"{ip}"'))
    res = relight(tmp_path, "apply", "-auto-approve")
    assert res.code == 1 and message in res.err
    assert "Traceback" not in res.text and "<!doctype" not in res.text.lower()


def test_an_unknown_volume_type_is_refused_at_plan_time(cloud: LocalCloud, tmp_path: Path) -> None:
    write(tmp_path, 'resource "aws_ebs_volume" "v" {\n  availability_zone = "us-east-1a"\n  size = 5\n  type = "gp9"\n}\n')
    res = relight(tmp_path, "plan")
    assert res.code == 1 and "Invalid volume type 'gp9'" in res.err


def test_validate_checks_arguments_and_attributes_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in __import__("os").environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    write(tmp_path, 'resource "aws_instance" "n" {\n  ami = "ami-1"\n  instance_typ = "t3.micro"\n}\noutput "ip" {\n  value = aws_instance.n.privat_ip\n}\nresource "aws_ebs_volum" "v" {\n}\n')
    res = relight(tmp_path, "validate")
    assert res.code == 1
    assert 'An argument named "instance_typ" is not expected here (aws_instance.n). Did you mean "instance_type"?' in res.err
    assert 'The argument "instance_type" is required' in res.err
    assert 'named "privat_ip". Did you mean "private_ip"?' in res.err
    assert 'resource type "aws_ebs_volum". Did you mean "aws_ebs_volume"?' in res.err


def test_attaching_to_a_terminated_instance_is_refused(net: dict[str, str]) -> None:
    view = Cloud()
    iid = view.ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=net["subnet"])["Instances"][0]["InstanceId"]
    vol = view.ec2.create_volume(AvailabilityZone="us-east-1a", Size=5)["VolumeId"]
    view.terminate(iid)
    with pytest.raises(Exception, match="IncorrectInstanceState"):
        view.ec2.attach_volume(VolumeId=vol, InstanceId=iid, Device="/dev/xvdf")


def test_a_volume_still_attached_to_a_dead_instance_is_moved_to_the_new_one(net: dict[str, str], tmp_path: Path) -> None:
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.block_device import BlockDeviceType
    from moto.ec2.models.elastic_block_store import VolumeAttachment as MotoAttachment

    from relight.localcloud import ACCOUNT

    view = Cloud()
    dead = view.ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=net["subnet"])["Instances"][0]["InstanceId"]
    vol = view.ec2.create_volume(AvailabilityZone="us-east-1a", Size=5)["VolumeId"]
    view.terminate(dead)
    # AWS can show a volume still attached while its instance shuts down; make the emulator do so.
    backend = ec2_backends[ACCOUNT]["us-east-1"]
    volume = backend.get_volume(vol)
    instance = backend.get_instance(dead)
    volume.attachment = MotoAttachment(volume, instance, "/dev/xvdf", "attached")
    instance.block_device_mapping["/dev/xvdf"] = BlockDeviceType(volume_id=vol, status="in-use", size=5)
    write(tmp_path, node(net) + f'resource "aws_volume_attachment" "a" {{\n  device_name = "/dev/xvdf"\n  volume_id = "{vol}"\n  instance_id = aws_instance.node.id\n}}\n')
    res = relight(tmp_path, "apply", "-auto-approve")
    assert res.code == 0, res.text
    [alive] = view.instances()
    assert [a["InstanceId"] for a in view.volume(vol)["Attachments"]] == [alive["InstanceId"]]
