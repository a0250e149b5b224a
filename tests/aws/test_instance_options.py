"""aws_instance's further arguments, through the CLI on the local cloud: ``monitoring``,
``iam_instance_profile``, ``ebs_optimized``, ``source_dest_check``, ``metadata_options``,
``ebs_block_device``, ``volume_tags``, ``user_data`` (in place, or replaced with
``user_data_replace_on_change``), the attributes ``public_dns``/``private_dns``/``arn``, and what
the local cloud cannot do (``cpu_options``, ``tenancy``, ``credit_specification``, changing
``monitoring``): planned, said, recorded, and no changes on the next plan.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import boto3
import pytest

from relight.localcloud import LocalCloud

from .harness import Workspace, import_state
from .stack import Cloud

AMI = "ami-0a17e2170c0ffee02"
SCRIPT = "#!/bin/sh\necho one > /tmp/one\n"


@pytest.fixture
def net(cloud: LocalCloud) -> dict[str, str]:
    view = Cloud()
    vpc = view.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = view.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")
    sg = view.ec2.create_security_group(GroupName="a", Description="a", VpcId=vpc)["GroupId"]
    iam = boto3.client("iam")
    for name in ("web", "web2"):
        iam.create_instance_profile(InstanceProfileName=name, Path="/apps/")
    return {"vpc": vpc, "subnet": subnet["Subnet"]["SubnetId"], "sg": sg}


@pytest.fixture
def ws(net: dict[str, str], tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def instance(net: dict[str, str], extra: str = "", **overrides: str) -> str:
    attrs = {
        "ami": f'"{AMI}"',
        "instance_type": '"t3.small"',
        "subnet_id": f'"{net["subnet"]}"',
        "private_ip": '"10.0.1.20"',
        "vpc_security_group_ids": f'["{net["sg"]}"]',
        "tags": '{ Name = "web" }',
    }
    attrs.update(overrides)
    body = "\n".join(f"  {k} = {v}" for k, v in attrs.items() if v)
    return f'provider "aws" {{}}\n\nresource "aws_instance" "web" {{\n{body}\n{extra}}}\n'


FULL_BLOCKS = """
  metadata_options {
    http_tokens                 = "%(tokens)s"
    http_put_response_hop_limit = 2
    instance_metadata_tags      = "enabled"
  }

  ebs_block_device {
    device_name = "/dev/sdb"
    volume_size = %(size)s
    volume_type = "gp3"
    tags        = { Name = "%(scratch)s" }
  }
"""


def full(net: dict[str, str], tokens: str = "required", size: int = 5, scratch: str = "scratch", **over: str) -> str:
    attrs = {
        "iam_instance_profile": '"web"',
        "monitoring": "true",
        "ebs_optimized": "true",
        "source_dest_check": "false",
        "user_data": f'"{SCRIPT.encode("unicode_escape").decode()}"',
    }
    attrs.update(over)
    return instance(net, FULL_BLOCKS % {"tokens": tokens, "size": size, "scratch": scratch}, **attrs)


def described(view: Cloud) -> dict[str, Any]:
    [inst] = view.instances()
    return inst


def user_data(view: Cloud, instance_id: str) -> str:
    held = view.ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")["UserData"]
    return base64.b64decode(held.get("Value") or "").decode()


def device_volume(view: Cloud, inst: dict[str, Any], device: str) -> dict[str, Any]:
    [volume_id] = [m["Ebs"]["VolumeId"] for m in inst["BlockDeviceMappings"] if m["DeviceName"] == device]
    return view.volume(volume_id)


def tags_of(obj: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in obj.get("Tags", []) if not t["Key"].startswith("relight:")}


def test_instance_arguments_are_created_read_back_and_changed_in_place(ws: Workspace, net: dict[str, str]) -> None:
    view = Cloud()
    ws.write(full(net))
    ws.apply()
    inst = described(view)
    assert inst["Monitoring"]["State"] == "enabled" and inst["EbsOptimized"] is True
    assert inst["SourceDestCheck"] is False
    assert inst["IamInstanceProfile"]["Arn"].endswith(":instance-profile/apps/web")
    assert inst["MetadataOptions"]["HttpTokens"] == "required" and inst["MetadataOptions"]["HttpPutResponseHopLimit"] == 2
    assert inst["MetadataOptions"]["InstanceMetadataTags"] == "enabled"
    scratch = device_volume(view, inst, "/dev/sdb")
    assert scratch["Size"] == 5 and scratch["VolumeType"] == "gp3" and tags_of(scratch) == {"Name": "scratch"}
    assert user_data(view, inst["InstanceId"]) == SCRIPT
    state = ws.state("aws_instance.web")
    assert state["iam_instance_profile"] == "web" and state["monitoring"] is True and state["ebs_optimized"] is True
    assert state["source_dest_check"] is False and state["tenancy"] == "default"
    assert state["metadata_options"] == [
        {
            "http_endpoint": "enabled",
            "http_protocol_ipv6": "disabled",
            "http_put_response_hop_limit": 2,
            "http_tokens": "required",
            "instance_metadata_tags": "enabled",
        }
    ]
    [device] = state["ebs_block_device"]
    assert device["device_name"] == "/dev/sdb" and device["volume_id"] == scratch["VolumeId"]
    assert device["volume_size"] == 5 and device["tags"] == {"Name": "scratch"} and device["delete_on_termination"] is True
    assert state["user_data"] == SCRIPT and state["user_data_replace_on_change"] is False
    assert state["arn"] == f"arn:aws:ec2:us-east-1:123456789012:instance/{inst['InstanceId']}"
    assert state["private_dns"] == inst["PrivateDnsName"] and state["public_dns"] is None
    assert ws.plan().code == 0

    # every one of these changes in place: the same instance afterwards
    ws.write(full(net, tokens="optional", scratch="scratch2", iam_instance_profile='"web2"', source_dest_check="true",
                  user_data='"#!/bin/sh\\necho two\\n"'))  # fmt: skip
    res = ws.plan()
    assert res.code == 2 and "0 to add, 1 to change, 0 to destroy" in res.out, res.out
    ws.apply()
    same = described(view)
    assert same["InstanceId"] == inst["InstanceId"]
    assert same["MetadataOptions"]["HttpTokens"] == "optional" and same["SourceDestCheck"] is True
    assert same["IamInstanceProfile"]["Arn"].endswith("/web2")
    assert user_data(view, inst["InstanceId"]) == "#!/bin/sh\necho two\n"
    assert tags_of(device_volume(view, same, "/dev/sdb")) == {"Name": "scratch2"}
    assert ws.plan().code == 0

    # changed behind relight's back: seen, and put back
    view.ec2.modify_instance_metadata_options(
        InstanceId=inst["InstanceId"], HttpTokens="required", HttpEndpoint="enabled", HttpPutResponseHopLimit=2,
        InstanceMetadataTags="enabled",
    )  # fmt: skip
    view.ec2.modify_instance_attribute(InstanceId=inst["InstanceId"], UserData={"Value": b"echo hacked\n"})
    view.ec2.modify_instance_attribute(InstanceId=inst["InstanceId"], SourceDestCheck={"Value": False})
    res = ws.run("plan", "-no-color")
    assert "Objects have changed outside" in res.out and "1 to change" in res.out, res.text
    assert "echo hacked" in res.out and '"required"' in res.out and "source_dest_check" in res.out, res.out
    ws.apply()
    assert described(view)["SourceDestCheck"] is True
    assert described(view)["MetadataOptions"]["HttpTokens"] == "optional"
    assert user_data(view, inst["InstanceId"]) == "#!/bin/sh\necho two\n"
    assert ws.plan().code == 0

    # import: the same object read back
    imported = import_state("aws_instance", inst["InstanceId"])
    state = ws.state("aws_instance.web")
    for key in ("monitoring", "iam_instance_profile", "ebs_optimized", "source_dest_check", "metadata_options",
                "ebs_block_device", "user_data", "tenancy", "arn", "private_dns", "tags", "tags_all"):  # fmt: skip
        assert imported[key] == state[key], key


def test_instance_arguments_that_replace_it_do(ws: Workspace, net: dict[str, str]) -> None:
    view = Cloud()
    ws.write(full(net))
    ws.apply()
    first = described(view)["InstanceId"]
    for change in (
        full(net, size=6),  # another EBS device
        full(net, size=6, ebs_optimized="false"),
        full(net, size=6, ebs_optimized="false", user_data='"echo three"', user_data_replace_on_change="true"),
    ):
        ws.write(change)
        res = ws.run("plan", "-no-color")
        assert "must be replaced" in res.out and "# forces replacement" in res.out, res.text
        ws.apply()
        now = described(view)["InstanceId"]
        assert now != first and ws.plan().code == 0
        first = now
    assert device_volume(view, described(view), "/dev/sdb")["Size"] == 6
    assert user_data(view, first) == "echo three"


def test_volume_tags_tag_the_volumes_launched_with_the_instance(ws: Workspace, net: dict[str, str]) -> None:
    view = Cloud()
    root = "  root_block_device {\n    volume_size = 9\n  }\n"
    ws.write(instance(net, root, volume_tags='{ Backup = "daily" }'))
    ws.apply()
    inst = described(view)
    root_volume = device_volume(view, inst, ws.state("aws_instance.web")["root_block_device"][0]["device_name"])
    assert tags_of(root_volume) == {"Backup": "daily"}
    assert ws.state("aws_instance.web")["volume_tags"] == {"Backup": "daily"}
    assert ws.plan().code == 0

    ws.write(instance(net, root, volume_tags='{ Backup = "weekly", Team = "ops" }'))
    res = ws.plan()
    assert "0 to add, 1 to change, 0 to destroy" in res.out
    ws.apply()
    assert tags_of(view.volume(root_volume["VolumeId"])) == {"Backup": "weekly", "Team": "ops"}
    view.ec2.delete_tags(Resources=[root_volume["VolumeId"]], Tags=[{"Key": "Team"}])
    res = ws.plan()
    assert res.code == 2 and "volume_tags" in res.out
    ws.apply()
    assert tags_of(view.volume(root_volume["VolumeId"])) == {"Backup": "weekly", "Team": "ops"}
    assert ws.plan().code == 0

    ws.write(instance(net, FULL_BLOCKS % {"tokens": "optional", "size": 5, "scratch": "x"}, volume_tags='{ A = "b" }'))
    res = ws.run("plan", "-no-color")
    assert res.code == 1 and "Conflicting configuration arguments" in res.err and "main.tf:" in res.err


def test_what_the_local_cloud_cannot_do_is_planned_said_and_converges(ws: Workspace, net: dict[str, str]) -> None:
    blocks = (
        "  cpu_options {\n    core_count       = 1\n    threads_per_core = 1\n  }\n"
        '  credit_specification {\n    cpu_credits = "%s"\n  }\n'
    )
    ws.write(instance(net, blocks % "unlimited", tenancy='"dedicated"', monitoring="true"))
    res = ws.run("plan", "-no-color")
    assert res.code == 0, res.text
    for what in ("CPU options", "dedicated tenancy", "credit specifications"):
        assert f"The local cloud does not implement {what}: planned, not applied" in res.text, what
    assert "main.tf:" in res.text and "Traceback" not in res.text
    ws.apply()
    state = ws.state("aws_instance.web")
    assert state["cpu_options"] == [{"amd_sev_snp": None, "core_count": 1, "threads_per_core": 1}]
    assert state["tenancy"] == "dedicated" and state["credit_specification"] == [{"cpu_credits": "unlimited"}]
    assert ws.plan().code == 0 and "does not implement" not in ws.plan().text

    # in place on AWS; the local cloud has no call for these: said again at apply
    ws.write(instance(net, blocks % "standard", tenancy='"dedicated"', monitoring="false"))
    res = ws.run("plan", "-no-color")
    assert "0 to add, 1 to change, 0 to destroy" in res.out, res.text
    assert "changing monitoring in place: planned, not applied" in res.text
    applied = ws.apply()
    assert "MonitorInstances" in applied.text and "ModifyInstanceCreditSpecification" in applied.text
    assert ws.state("aws_instance.web")["credit_specification"] == [{"cpu_credits": "standard"}]
    assert ws.plan().code == 0

    # new CPU options replace the instance, on AWS as here
    ws.write(instance(net, (blocks % "standard").replace("core_count       = 1", "core_count       = 2"),
                      tenancy='"dedicated"', monitoring="false"))  # fmt: skip
    res = ws.run("plan", "-no-color")
    assert "must be replaced" in res.out and "CPU options: planned, not applied" in res.text


def test_a_credit_specification_on_a_type_without_credits_is_said_to_do_nothing(ws: Workspace, net: dict[str, str]) -> None:
    ws.write(instance(net, '  credit_specification {\n    cpu_credits = "unlimited"\n  }\n', instance_type='"m5.large"'))
    res = ws.run("plan", "-no-color")
    assert res.code == 0 and "credit_specification has no effect on this instance type" in res.text, res.text
    assert "m5.large" in res.text


@pytest.mark.parametrize(
    ("override", "extra", "message"),
    [
        ({"tenancy": '"shared"'}, "", 'expected tenancy to be one of [default, dedicated, host], got "shared"'),
        ({}, "  metadata_options {\n    http_put_response_hop_limit = 100\n  }\n", "range (1 - 64)"),
        ({}, '  metadata_options {\n    http_tokens = "always"\n  }\n', 'got "always"'),
    ],
)
def test_instance_settings_aws_refuses_are_errors_at_plan_time(
    ws: Workspace, net: dict[str, str], override: dict[str, str], extra: str, message: str
) -> None:
    ws.write(instance(net, extra, **override))
    res = ws.run("plan", "-no-color")
    assert res.code == 1 and message in res.err and "main.tf:" in res.err and "Traceback" not in res.text
    assert Cloud().instances() == []
