"""aws_vpc's IPv6 block and aws_security_group's prefix lists, through the CLI on the local cloud.

An Amazon IPv6 block is added, read back, removed and added again in place (never by replacing
the VPC); Terraform's argument rules are errors at plan time; IPAM pools and border groups,
which the local cloud cannot do, are planned and said. Prefix lists in rules are created, read
back (drift included) and changed in place; the local cloud drops a prefix-list rule's
description, which is said and does not show as a change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relight.localcloud import LocalCloud

from .harness import Workspace, import_state
from .stack import Cloud


@pytest.fixture
def ws(cloud: LocalCloud, tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def vpc_config(**args: str) -> str:
    body = "\n".join(f"  {k} = {v}" for k, v in {"cidr_block": '"10.0.0.0/16"', **args}.items())
    return f'provider "aws" {{}}\n\nresource "aws_vpc" "main" {{\n{body}\n}}\n'


def ipv6_of(vpc_id: str) -> list[dict[str, Any]]:
    vpc = Cloud().ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    return [a for a in vpc.get("Ipv6CidrBlockAssociationSet", []) if a["Ipv6CidrBlockState"]["State"] == "associated"]


def test_an_amazon_ipv6_block_comes_and_goes_in_place(ws: Workspace) -> None:
    ws.write(vpc_config(assign_generated_ipv6_cidr_block="true"))
    res = ws.plan()
    assert "ipv6_cidr_block" in res.out and "(known after apply)" in res.out
    ws.apply()
    state = ws.state("aws_vpc.main")
    [block] = ipv6_of(state["id"])
    assert state["assign_generated_ipv6_cidr_block"] is True
    assert state["ipv6_cidr_block"] == block["Ipv6CidrBlock"] and state["ipv6_cidr_block"].endswith("/56")
    assert state["ipv6_association_id"] == block["AssociationId"] and state["ipv6_ipam_pool_id"] is None
    assert ws.plan().code == 0
    assert import_state("aws_vpc", state["id"])["ipv6_cidr_block"] == state["ipv6_cidr_block"]

    ws.write(vpc_config(assign_generated_ipv6_cidr_block="false"))
    res = ws.plan()
    assert "0 to add, 1 to change, 0 to destroy" in res.out, res.out
    ws.apply()
    assert ipv6_of(state["id"]) == [] and ws.state("aws_vpc.main")["ipv6_cidr_block"] is None
    assert ws.state("aws_vpc.main")["id"] == state["id"] and ws.plan().code == 0

    ws.write(vpc_config(assign_generated_ipv6_cidr_block="true"))
    ws.apply()
    [again] = ipv6_of(state["id"])
    assert ws.state("aws_vpc.main")["ipv6_association_id"] == again["AssociationId"] != block["AssociationId"]
    assert ws.plan().code == 0

    # removed outside relight: the next plan adds it back
    Cloud().ec2.disassociate_vpc_cidr_block(AssociationId=again["AssociationId"])
    res = ws.plan()
    assert res.code == 2 and "Objects have changed outside" in res.out
    ws.apply()
    assert len(ipv6_of(state["id"])) == 1 and ws.plan().code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"ipv6_cidr_block": '"2600:1f18::/56"'}, "all of `ipv6_cidr_block,ipv6_ipam_pool_id` must be specified"),
        ({"assign_generated_ipv6_cidr_block": "true", "ipv6_ipam_pool_id": '"ipam-pool-1"'}, "conflicts with ipv6_ipam_pool_id"),
        ({"ipv6_cidr_block_network_border_group": '"us-east-1"'}, "`assign_generated_ipv6_cidr_block,ipv6_cidr_block_network_border_group`"),
    ],
)
def test_terraform_ipv6_argument_rules_are_plan_errors(ws: Workspace, args: dict[str, str], message: str) -> None:
    ws.write(vpc_config(**args))
    res = ws.run("plan", "-no-color")
    assert res.code == 1 and message in res.err and "main.tf:" in res.err and "Traceback" not in res.text


def test_ipam_pools_and_border_groups_are_planned_and_said_on_the_local_cloud(ws: Workspace) -> None:
    ws.write(vpc_config(ipv6_ipam_pool_id='"ipam-pool-0123456789abcdef0"', ipv6_netmask_length="56"))
    res = ws.run("plan", "-no-color")
    assert res.code == 0 and "The local cloud does not implement IPv6 CIDR blocks from IPAM pools: planned, not applied" in res.text
    ws.apply()
    state = ws.state("aws_vpc.main")
    assert state["ipv6_ipam_pool_id"] == "ipam-pool-0123456789abcdef0" and state["ipv6_netmask_length"] == 56
    assert ws.plan().code == 0

    ws.write(vpc_config(assign_generated_ipv6_cidr_block="true", ipv6_cidr_block_network_border_group='"us-east-1"'))
    res = ws.run("plan", "-no-color")
    assert "IPv6 network border groups: planned, not applied" in res.text and "1 to change" in res.out
    ws.apply()
    assert ws.state("aws_vpc.main")["ipv6_cidr_block_network_border_group"] == "us-east-1"
    assert len(ipv6_of(state["id"])) == 1 and ws.plan().code == 0


# -- prefix lists ---------------------------------------------------------------------------

GROUP = """
provider "aws" {}

resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_security_group" "web" {
  name   = "web"
  vpc_id = aws_vpc.main.id

  ingress {
    from_port       = 443
    to_port         = 443
    protocol        = "tcp"
    prefix_list_ids = [%(ingress)s]
  }

  egress {
    from_port       = 443
    to_port         = 443
    protocol        = "tcp"
    prefix_list_ids = [%(egress)s]%(description)s
  }
}
"""


def group(ingress: list[str], egress: list[str], description: str = "") -> str:
    quoted = lambda ids: ", ".join(f'"{i}"' for i in ids)  # noqa: E731
    text = f'\n    description     = "{description}"' if description else ""
    return GROUP % {"ingress": quoted(ingress), "egress": quoted(egress), "description": text}


def prefix_lists(ec2: Any, n: int) -> list[str]:
    return [
        ec2.create_managed_prefix_list(PrefixListName=f"pl{i}", MaxEntries=2, AddressFamily="IPv4",
                                       Entries=[{"Cidr": f"10.{i}.0.0/16"}])["PrefixList"]["PrefixListId"]
        for i in range(n)
    ]  # fmt: skip


def permissions(group_id: str, key: str) -> list[str]:
    sg = Cloud().ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    return sorted(p["PrefixListId"] for perm in sg[key] for p in perm.get("PrefixListIds", []))


def test_prefix_lists_in_rules_are_created_read_back_and_changed_in_place(ws: Workspace) -> None:
    view = Cloud()
    one, two, three = prefix_lists(view.ec2, 3)
    ws.write(group([one, two], [three]))
    ws.apply()
    state = ws.state("aws_security_group.web")
    assert permissions(state["id"], "IpPermissions") == sorted([one, two])
    assert permissions(state["id"], "IpPermissionsEgress") == [three]
    [rule] = state["ingress"]
    assert rule["prefix_list_ids"] == sorted([one, two]) and rule["cidr_blocks"] == []
    assert ws.plan().code == 0
    assert import_state("aws_security_group", state["id"])["ingress"] == state["ingress"]

    ws.write(group([one], [two, three]))
    res = ws.plan()
    assert "0 to add, 1 to change, 0 to destroy" in res.out
    ws.apply()
    assert permissions(state["id"], "IpPermissions") == [one]
    assert permissions(state["id"], "IpPermissionsEgress") == sorted([two, three])
    assert ws.state("aws_security_group.web")["id"] == state["id"] and ws.plan().code == 0

    # a prefix list added outside relight shows and is taken away again
    view.ec2.authorize_security_group_ingress(
        GroupId=state["id"], IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "PrefixListIds": [{"PrefixListId": three}]}]
    )
    res = ws.plan()
    assert res.code == 2 and "Objects have changed outside" in res.out
    ws.apply()
    assert permissions(state["id"], "IpPermissions") == [one] and ws.plan().code == 0


def test_a_described_prefix_list_rule_is_said_and_converges_on_the_local_cloud(ws: Workspace) -> None:
    [one] = prefix_lists(Cloud().ec2, 1)
    ws.write(group([one], [one], description="to the backups"))
    res = ws.run("plan", "-no-color")
    assert "The local cloud does not implement descriptions of prefix-list rules: planned, not applied" in res.text
    ws.apply()
    [egress] = ws.state("aws_security_group.web")["egress"]
    assert egress["description"] == "to the backups" and egress["prefix_list_ids"] == [one]
    assert ws.plan().code == 0


def test_a_rule_with_only_a_prefix_list_names_a_source(ws: Workspace) -> None:
    ws.write(group([], []))
    res = ws.run("plan", "-no-color")
    assert res.code == 1 and "names no source" in res.err and "prefix_list_ids" in res.err
