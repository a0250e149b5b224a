"""aws_subnet and aws_security_group through the engine, on the local cloud."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from relight.localcloud import LocalCloud
from relight.providers.aws.security_group import normalize_rules, rules_from_aws, unique_name

from .harness import Workspace, create_with_token, find_created, import_state, read_state


@pytest.fixture
def ws(cloud: LocalCloud, tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def ec2_client() -> Any:
    return boto3.client("ec2")


def subnet_of(ws: Workspace, address: str = "aws_subnet.a") -> dict[str, Any]:
    subnet_id = ws.state(address)["id"]
    subnets: list[dict[str, Any]] = ec2_client().describe_subnets(SubnetIds=[subnet_id])["Subnets"]
    return subnets[0]


def group_of(ws: Workspace, address: str = "aws_security_group.web") -> dict[str, Any]:
    group_id = ws.state(address)["id"]
    groups: list[dict[str, Any]] = ec2_client().describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    return groups[0]


def tags(obj: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in obj.get("Tags", []) if not t["Key"].startswith("relight:")}


# -- aws_subnet ---------------------------------------------------------------------------

SUBNET = """
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}
resource "aws_subnet" "a" {
  vpc_id                  = aws_vpc.main.id
  cidr_block              = "10.0.1.0/24"
  availability_zone       = "us-east-1a"
  map_public_ip_on_launch = %(public)s
  tags = {
    Name = "%(name)s"
  }
}
"""


def test_subnet_create_update_drift_and_destroy(ws: Workspace) -> None:
    ws.write(SUBNET % {"public": "false", "name": "one"})
    ws.apply()
    state = ws.state("aws_subnet.a")
    subnet = subnet_of(ws)
    assert subnet["CidrBlock"] == "10.0.1.0/24" and subnet["AvailabilityZone"] == "us-east-1a"
    assert subnet["VpcId"] == ws.state("aws_vpc.main")["id"] == state["vpc_id"]
    assert tags(subnet) == {"Name": "one"} and subnet["MapPublicIpOnLaunch"] is False
    assert state["arn"].endswith(f":subnet/{state['id']}") and state["owner_id"]
    assert ws.plan().code == 0

    # in place: the attribute and the tag
    ws.write(SUBNET % {"public": "true", "name": "two"})
    res = ws.plan()
    assert res.code == 2 and "0 to add, 1 to change, 0 to destroy" in res.out
    ws.apply()
    subnet = subnet_of(ws)
    assert subnet["MapPublicIpOnLaunch"] is True and tags(subnet) == {"Name": "two"}
    assert ws.state("aws_subnet.a")["id"] == state["id"]
    assert ws.plan().code == 0

    # a tag changed behind relight's back is put back
    ec2_client().create_tags(Resources=[state["id"]], Tags=[{"Key": "Name", "Value": "hacked"}])
    res = ws.plan()
    assert res.code == 2 and "1 to change" in res.out and "Objects have changed outside" in res.out
    ws.apply()
    assert tags(subnet_of(ws)) == {"Name": "two"}

    # deleted behind relight's back: the plan re-creates it
    ec2_client().delete_subnet(SubnetId=state["id"])
    res = ws.plan()
    assert res.code == 2 and "deleted outside relight" in res.out and "1 to add" in res.out
    ws.apply()
    assert ws.state("aws_subnet.a")["id"] != state["id"]
    assert subnet_of(ws)["MapPublicIpOnLaunch"] is True
    assert ws.plan().code == 0

    # a new CIDR replaces it
    ws.write((SUBNET % {"public": "true", "name": "two"}).replace("10.0.1.0/24", "10.0.2.0/24"))
    res = ws.plan()
    assert res.code == 2 and "1 to add, 0 to change, 1 to destroy" in res.out
    ws.apply()
    assert subnet_of(ws)["CidrBlock"] == "10.0.2.0/24"

    ws.destroy()
    vpc_subnets = ec2_client().describe_subnets(Filters=[{"Name": "cidr-block", "Values": ["10.0.2.0/24"]}])
    assert vpc_subnets["Subnets"] == []


def test_subnet_zone_not_in_region_is_refused_naming_the_valid_zones(ws: Workspace) -> None:
    ws.write((SUBNET % {"public": "false", "name": "x"}).replace("us-east-1a", "eu-west-1a"))
    res = ws.apply_fails()
    assert "CreateSubnet failed: InvalidParameterValue" in res.err
    assert "eu-west-1a" in res.err and "us-east-1a, us-east-1b" in res.err
    assert "aws_subnet.a" in res.err
    assert ec2_client().describe_subnets(Filters=[{"Name": "cidr-block", "Values": ["10.0.1.0/24"]}])["Subnets"] == []


def test_subnet_refused_by_aws_is_a_clear_error(ws: Workspace) -> None:
    ws.write((SUBNET % {"public": "false", "name": "x"}).replace("10.0.1.0/24", "10.9.1.0/24"))
    res = ws.apply_fails()
    assert "CreateSubnet failed: InvalidSubnet.Range" in res.err
    assert "10.9.1.0/24" in res.err


def test_subnet_import_and_find_created(ws: Workspace) -> None:
    ws.write(SUBNET % {"public": "true", "name": "imp"})
    ws.apply()
    state = ws.state("aws_subnet.a")
    assert import_state("aws_subnet", state["id"]) == state

    vpc_id = ws.state("aws_vpc.main")["id"]
    made = create_with_token("aws_subnet", {"vpc_id": vpc_id, "cidr_block": "10.0.7.0/24"}, "tok-subnet-1")
    assert made["availability_zone"].startswith("us-east-1")
    assert find_created("aws_subnet", "tok-subnet-1") == made
    assert find_created("aws_subnet", "tok-never-used") is None
    assert read_state("aws_subnet", {**made, "id": "subnet-0123456789abcdef0"}) is None


# -- aws_security_group -------------------------------------------------------------------

GROUP = """
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}
resource "aws_security_group" "web" {
  name        = "web"
  description = "web servers"
  vpc_id      = aws_vpc.main.id

  ingress {
    description = "https"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.1.0.0/16", "10.0.0.0/16"]
  }
  ingress {
    from_port = 0
    to_port   = 0
    protocol  = "all"
    self      = true
  }
%(extra)s
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
  tags = {
    Role = "%(role)s"
  }
}
"""

SSH = """
  ingress {
    description = "%s"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["192.168.0.0/24"]
  }
"""


def rules(perms: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    out = set()
    for p in perms:
        for r in p.get("IpRanges", []):
            out.add((p["IpProtocol"], p.get("FromPort"), "cidr", r["CidrIp"], r.get("Description")))
        for pair in p.get("UserIdGroupPairs", []):
            out.add((p["IpProtocol"], p.get("FromPort"), "group", pair["GroupId"], pair.get("Description")))
    return out


def test_security_group_rules_create_update_and_no_op(ws: Workspace) -> None:
    ws.write(GROUP % {"extra": "", "role": "web"})
    ws.apply()
    state = ws.state("aws_security_group.web")
    group = group_of(ws)
    gid = state["id"]
    assert group["GroupName"] == "web" and group["Description"] == "web servers" and tags(group) == {"Role": "web"}
    assert rules(group["IpPermissions"]) == {
        ("tcp", 443, "cidr", "10.0.0.0/16", "https"),
        ("tcp", 443, "cidr", "10.1.0.0/16", "https"),
        ("-1", None, "group", gid, None),
    }
    assert rules(group["IpPermissionsEgress"]) == {("-1", None, "cidr", "0.0.0.0/0", None)}
    assert state["ingress"] == [
        {
            "cidr_blocks": [],
            "description": "",
            "from_port": 0,
            "ipv6_cidr_blocks": [],
            "prefix_list_ids": [],
            "protocol": "-1",
            "security_groups": [],
            "self": True,
            "to_port": 0,
        },
        {
            "cidr_blocks": ["10.0.0.0/16", "10.1.0.0/16"],
            "description": "https",
            "from_port": 443,
            "ipv6_cidr_blocks": [],
            "prefix_list_ids": [],
            "protocol": "tcp",
            "security_groups": [],
            "self": False,
            "to_port": 443,
        },
    ]
    assert state["arn"].endswith(f":security-group/{gid}") and state["vpc_id"] == ws.state("aws_vpc.main")["id"]
    assert ws.plan().code == 0  # unsorted CIDRs, "all" and an unset description plan as read returns them

    # add a rule, then change only its description: updated in place, same group
    ws.write(GROUP % {"extra": SSH % "ssh", "role": "web"})
    res = ws.plan()
    assert res.code == 2 and "0 to add, 1 to change, 0 to destroy" in res.out
    ws.apply()
    assert ("tcp", 22, "cidr", "192.168.0.0/24", "ssh") in rules(group_of(ws)["IpPermissions"])
    assert ws.plan().code == 0
    ws.write(GROUP % {"extra": SSH % "admin ssh", "role": "ops"})
    ws.apply()
    group = group_of(ws)
    assert ("tcp", 22, "cidr", "192.168.0.0/24", "admin ssh") in rules(group["IpPermissions"])
    assert ("tcp", 22, "cidr", "192.168.0.0/24", "ssh") not in rules(group["IpPermissions"])
    assert tags(group) == {"Role": "ops"} and ws.state("aws_security_group.web")["id"] == gid
    assert ws.plan().code == 0

    # a new description replaces the group (AWS cannot change it)
    ws.write((GROUP % {"extra": "", "role": "ops"}).replace("web servers", "front"))
    res = ws.plan()
    assert res.code == 2 and "1 to add, 0 to change, 1 to destroy" in res.out
    ws.apply()
    assert ws.state("aws_security_group.web")["id"] != gid and group_of(ws)["Description"] == "front"

    ws.destroy()
    assert (
        ec2_client().describe_security_groups(Filters=[{"Name": "group-name", "Values": ["web"]}])["SecurityGroups"]
        == []
    )


def test_security_group_without_egress_blocks_has_no_egress_rules(ws: Workspace) -> None:
    ws.write(
        """
resource "aws_security_group" "web" {
  name_prefix = "app-"
  ingress {
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"""
    )
    ws.apply()
    state = ws.state("aws_security_group.web")
    group = group_of(ws)
    assert group["IpPermissionsEgress"] == [] and state["egress"] == []
    assert state["name"].startswith("app-") and state["name_prefix"] == "app-"
    assert state["description"] == "Managed by Terraform" and group["Description"] == "Managed by Terraform"
    default_vpc = ec2_client().describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
    assert state["vpc_id"] == default_vpc["VpcId"]
    assert ws.plan().code == 0


def test_security_group_drift_is_reported_and_repaired(ws: Workspace) -> None:
    ws.write(GROUP % {"extra": "", "role": "web"})
    ws.apply()
    gid = ws.state("aws_security_group.web")["id"]
    ec2 = ec2_client()

    # a rule added by hand is revoked, a rule removed by hand is restored
    ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    ec2.revoke_security_group_ingress(
        GroupId=gid,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}],
    )
    drifted = ws.state("aws_security_group.web")
    refreshed = read_state("aws_security_group", drifted)
    assert refreshed is not None
    assert {(r["from_port"], tuple(r["cidr_blocks"])) for r in refreshed["ingress"]} == {
        (0, ()),
        (443, ("10.0.0.0/16",)),
        (3306, ("0.0.0.0/0",)),
    }
    res = ws.plan()
    assert res.code == 2 and "1 to change" in res.out
    ws.apply()
    perms = rules(group_of(ws)["IpPermissions"])
    assert ("tcp", 443, "cidr", "10.1.0.0/16", "https") in perms
    assert not any(p[1] == 3306 for p in perms)
    assert ws.plan().code == 0

    # a tag changed by hand
    ec2.create_tags(Resources=[gid], Tags=[{"Key": "Role", "Value": "db"}])
    assert ws.plan().code == 2
    ws.apply()
    assert tags(group_of(ws)) == {"Role": "web"}

    # deleted by hand: re-created with its rules
    ec2.delete_security_group(GroupId=gid)
    res = ws.plan()
    assert res.code == 2 and "deleted outside relight" in res.out
    ws.apply()
    assert ws.state("aws_security_group.web")["id"] != gid
    assert len(rules(group_of(ws)["IpPermissions"])) == 3
    assert ws.plan().code == 0


def test_security_group_rules_referencing_another_group(ws: Workspace) -> None:
    ws.write(
        """
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}
resource "aws_security_group" "lb" {
  name   = "lb"
  vpc_id = aws_vpc.main.id
}
resource "aws_security_group" "web" {
  name   = "web"
  vpc_id = aws_vpc.main.id
  ingress {
    from_port       = 8080
    to_port         = 8080
    protocol        = "tcp"
    security_groups = [aws_security_group.lb.id]
  }
}
"""
    )
    ws.apply()
    lb = ws.state("aws_security_group.lb")["id"]
    assert rules(group_of(ws)["IpPermissions"]) == {("tcp", 8080, "group", lb, None)}
    assert ws.state("aws_security_group.web")["ingress"][0]["security_groups"] == [lb]
    assert ws.plan().code == 0
    ws.destroy()
    assert ws.addresses() == []


def test_security_group_in_use_is_not_deleted(ws: Workspace) -> None:
    ws.write(
        """
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}
resource "aws_security_group" "web" {
  name   = "web"
  vpc_id = aws_vpc.main.id
}
"""
    )
    ws.apply()
    ec2 = ec2_client()
    gid = ws.state("aws_security_group.web")["id"]
    subnet = ec2.create_subnet(VpcId=ws.state("aws_vpc.main")["id"], CidrBlock="10.0.5.0/24")["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet, Groups=[gid])["NetworkInterface"]["NetworkInterfaceId"]

    res = ws.run("destroy", "-auto-approve", "-no-color", "-target=aws_security_group.web")
    assert res.code == 1 and "Traceback" not in res.text
    assert "DeleteSecurityGroup failed: DependencyViolation" in res.err
    assert eni in res.err and "aws_security_group.web" in res.err
    assert ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"]  # still there
    assert ws.state("aws_security_group.web")["id"] == gid

    ec2.delete_network_interface(NetworkInterfaceId=eni)
    res = ws.run("destroy", "-auto-approve", "-no-color", "-target=aws_security_group.web")
    assert res.code == 0, res.text


def test_security_group_refused_rule_is_a_clear_error(ws: Workspace) -> None:
    ws.write(
        """
resource "aws_security_group" "web" {
  name = "web"
  ingress {
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/33"]
  }
}
"""
    )
    res = ws.apply_fails()
    assert "AuthorizeSecurityGroupIngress failed: InvalidParameterValue" in res.err
    assert "10.0.0.0/33" in res.err
    # the group was made without the rule: it is recorded (tainted) and replaced by the next apply
    assert ws.addresses() == ["aws_security_group.web"]


def test_security_group_import_and_find_created(ws: Workspace) -> None:
    ws.write(GROUP % {"extra": SSH % "ssh", "role": "web"})
    ws.apply()
    state = ws.state("aws_security_group.web")
    imported = import_state("aws_security_group", state["id"])
    assert imported == {**state, "name_prefix": None, "revoke_rules_on_delete": False}

    config = {
        "name": "made",
        "ingress": [{"from_port": 80, "to_port": 80, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}],
    }
    made = create_with_token("aws_security_group", config, "tok-sg-1")
    assert made["name"] == "made" and made["ingress"][0]["cidr_blocks"] == ["0.0.0.0/0"]
    assert find_created("aws_security_group", "tok-sg-1") == made
    assert find_created("aws_security_group", "tok-never-used") is None


def test_rule_helpers() -> None:
    planned = normalize_rules(
        [
            {"from_port": 22, "to_port": 22, "protocol": "6", "cidr_blocks": ["b", "a", "a"], "self": None},
            {"from_port": 0, "to_port": 0, "protocol": "ALL", "self": True, "description": None},
        ]
    )
    assert [r["protocol"] for r in planned] == ["-1", "tcp"]
    assert planned[1]["cidr_blocks"] == ["a", "b"] and planned[1]["self"] is False
    # what AWS reports, grouped per protocol/ports/description; the group's own id becomes self
    live = {("tcp", 22, 22, "cidr", "a", ""), ("tcp", 22, 22, "cidr", "b", ""), ("-1", 0, 0, "group", "sg-1", "")}
    assert rules_from_aws(live, [], "sg-1") == planned
    # a block split differently in the configuration keeps its shape when AWS has all of it
    split = normalize_rules(
        [
            {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["a"]},
            {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["b"]},
            {"from_port": 0, "to_port": 0, "protocol": "-1", "self": True},
        ]
    )
    assert rules_from_aws(live, split, "sg-1") == split
    with pytest.raises(Exception, match="names no source"):
        normalize_rules([{"from_port": 1, "to_port": 1, "protocol": "tcp"}], "ingress")
    first, second = unique_name(), unique_name("web-")
    assert first.startswith("terraform-") and len(first) == len("terraform-") + 26
    assert second.startswith("web-") and first != second
