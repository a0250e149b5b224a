"""The provider's ``default_tags`` and every tagged type's ``tags_all``, on the local cloud.

One stack with each tagged type (VPC, subnet, security group, instance, volume, snapshot, alarm,
hosted zone): the defaults reach AWS merged under each resource's own tags, state keeps the two
apart as Terraform does, a change of the defaults is an in-place update of every object, a
default tag removed outside relight is put back, and an import leaves the defaults out of
``tags``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from relight.localcloud import LocalCloud

from .harness import Workspace, import_state
from .stack import Cloud

TAGGED = (
    "aws_vpc.main",
    "aws_subnet.a",
    "aws_security_group.web",
    "aws_instance.web",
    "aws_ebs_volume.data",
    "aws_ebs_snapshot.data",
    "aws_cloudwatch_metric_alarm.cpu",
    "aws_route53_zone.main",
)


def stack(defaults: str) -> str:
    block = f"  default_tags {{\n    tags = {defaults}\n  }}\n" if defaults else ""
    return f"""
provider "aws" {{
{block}}}

resource "aws_vpc" "main" {{
  cidr_block = "10.0.0.0/16"
  tags       = {{ Name = "main" }}
}}

resource "aws_subnet" "a" {{
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.0.1.0/24"
  availability_zone = "us-east-1a"
  tags              = {{ Name = "a", Env = "dev" }}
}}

resource "aws_security_group" "web" {{
  name   = "web"
  vpc_id = aws_vpc.main.id
  tags   = {{ Env = "prod" }}
}}

resource "aws_instance" "web" {{
  ami           = "ami-0a17e2170c0ffee02"
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.a.id
}}

resource "aws_ebs_volume" "data" {{
  availability_zone = "us-east-1a"
  size              = 1
  final_snapshot    = false
  tags              = {{ Name = "data" }}
}}

resource "aws_ebs_snapshot" "data" {{
  volume_id = aws_ebs_volume.data.id
}}

resource "aws_cloudwatch_metric_alarm" "cpu" {{
  alarm_name          = "cpu"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  metric_name         = "CPUUtilization"
  namespace           = "AWS/EC2"
  period              = 60
  statistic           = "Average"
  threshold           = 80
  tags                = {{ Name = "cpu" }}
}}

resource "aws_route53_zone" "main" {{
  name = "example.com"
}}
"""


def aws_tags(cloud: Cloud, ws: Workspace, address: str) -> dict[str, str]:
    """The tags AWS holds for the object at ``address`` (relight's own left out)."""
    state = ws.state(address)
    kind = address.split(".")[0]
    if kind == "aws_cloudwatch_metric_alarm":
        items = cloud.cloudwatch.list_tags_for_resource(ResourceARN=state["arn"])["Tags"]
    elif kind == "aws_route53_zone":
        found = cloud.route53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=state["id"])
        items = found["ResourceTagSet"].get("Tags", [])
    else:
        items = cloud.ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [state["id"]]}])["Tags"]
    return {t["Key"]: t["Value"] for t in items if not t["Key"].startswith("relight:")}


@pytest.fixture
def ws(cloud: LocalCloud, tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def test_default_tags_reach_every_type_and_stay_apart_from_tags(ws: Workspace) -> None:
    cloud = Cloud()
    ws.write(stack('{ Env = "prod", Owner = "platform" }'))
    res = ws.plan()
    assert res.code == 2 and "tags_all" in res.out
    ws.apply()
    expected_all: dict[str, dict[str, str]] = {}
    for address in TAGGED:
        state = ws.state(address)
        held = aws_tags(cloud, ws, address)
        assert held == state["tags_all"], address
        assert held["Owner"] == "platform" and "Env" in held, address
        expected_all[address] = held
    # the resource's own value wins; its own tags stay in tags, the defaults do not
    assert ws.state("aws_subnet.a")["tags"] == {"Name": "a", "Env": "dev"}
    assert expected_all["aws_subnet.a"]["Env"] == "dev"
    assert ws.state("aws_instance.web")["tags"] is None
    assert ws.state("aws_vpc.main")["tags"] == {"Name": "main"}
    # a resource tag equal to the default stays the resource's (no change shown for it)
    assert ws.state("aws_security_group.web")["tags"] == {"Env": "prod"}
    assert ws.plan().code == 0

    # new defaults: every tagged object changes in place, nothing else
    ws.write(stack('{ Env = "staging", Team = "ops" }'))
    res = ws.plan()
    assert res.code == 2 and f"0 to add, {len(TAGGED)} to change, 0 to destroy" in res.out, res.out
    ws.apply()
    for address in TAGGED:
        held = aws_tags(cloud, ws, address)
        assert held["Team"] == "ops" and "Owner" not in held, address
        assert held == ws.state(address)["tags_all"], address
    assert aws_tags(cloud, ws, "aws_subnet.a")["Env"] == "dev"
    assert aws_tags(cloud, ws, "aws_instance.web")["Env"] == "staging"
    assert ws.plan().code == 0

    # a default tag removed outside relight is put back
    instance_id = ws.state("aws_instance.web")["id"]
    cloud.ec2.delete_tags(Resources=[instance_id], Tags=[{"Key": "Team"}])
    res = ws.plan()
    assert res.code == 2 and "1 to change" in res.out and "Objects have changed outside" in res.out
    ws.apply()
    assert aws_tags(cloud, ws, "aws_instance.web")["Team"] == "ops"
    assert ws.plan().code == 0

    # no defaults any more: tags_all is the resource's tags again
    ws.write(stack(""))
    ws.apply()
    for address in TAGGED:
        state = ws.state(address)
        assert aws_tags(cloud, ws, address) == (state["tags"] or {}) == state["tags_all"], address
    assert ws.plan().code == 0


def test_an_imported_object_reads_its_default_tags_into_tags_all_only(ws: Workspace) -> None:
    cloud = Cloud()
    vpc = cloud.ec2.create_vpc(
        CidrBlock="10.9.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Env", "Value": "prod"}, {"Key": "Name", "Value": "x"}]}],
    )["Vpc"]["VpcId"]
    state = import_state("aws_vpc", vpc)  # no default tags configured: all are the resource's
    assert state["tags"] == {"Env": "prod", "Name": "x"} and state["tags_all"] == state["tags"]

    ws.write(
        'provider "aws" {\n  default_tags {\n    tags = { Env = "prod" }\n  }\n}\n'
        'resource "aws_vpc" "main" {\n  cidr_block = "10.9.0.0/16"\n  tags = { Name = "x" }\n}\n'
    )
    res = ws.run("import", "aws_vpc.main", vpc)
    assert res.code == 0, res.text
    assert ws.state("aws_vpc.main")["tags"] == {"Name": "x"}
    assert ws.state("aws_vpc.main")["tags_all"] == {"Env": "prod", "Name": "x"}
    assert ws.plan().code == 0


def test_default_tags_must_be_a_map_of_strings(ws: Workspace) -> None:
    ws.write('provider "aws" {\n  default_tags {\n    tags = ["a"]\n  }\n}\nresource "aws_vpc" "v" {\n  cidr_block = "10.0.0.0/16"\n}\n')
    res = ws.run("plan", "-no-color")
    assert res.code == 1 and "Traceback" not in res.text
    assert "main.tf:2" in res.err and "map of string required" in res.err
