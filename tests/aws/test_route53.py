"""aws_route53_zone and aws_route53_record through the engine, on the local cloud."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from relight.localcloud import LocalCloud

from .harness import Workspace, create_with_token, find_created, import_state, read_state


@pytest.fixture
def ws(cloud: LocalCloud, tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def r53() -> Any:
    return boto3.client("route53")


def zones() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = r53().list_hosted_zones()["HostedZones"]
    return found


def records(zone_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    out = r53().list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return {(r["Name"], r["Type"]): r for r in out}


def change(zone_id: str, action: str, name: str, rtype: str, ttl: int, values: list[str]) -> None:
    r53().change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": action,
                    "ResourceRecordSet": {
                        "Name": name,
                        "Type": rtype,
                        "TTL": ttl,
                        "ResourceRecords": [{"Value": v} for v in values],
                    },
                }
            ]
        },
    )


# -- aws_route53_zone ---------------------------------------------------------------------

ZONE = """
resource "aws_route53_zone" "main" {
  name          = "Example.com."
  comment       = "%(comment)s"
  force_destroy = %(force)s
  tags = {
    Env = "%(env)s"
  }
}
"""


def zone_config(comment: str = "public zone", force: str = "false", env: str = "prod") -> str:
    return ZONE % {"comment": comment, "force": force, "env": env}


def test_zone_create_update_drift_and_destroy(ws: Workspace) -> None:
    ws.write(zone_config())
    ws.apply()
    state = ws.state("aws_route53_zone.main")
    zid = state["id"]
    [zone] = zones()
    assert zone["Id"] == f"/hostedzone/{zid}" and zone["Name"] == "example.com."
    assert zone["Config"] == {"Comment": "public zone", "PrivateZone": False}
    assert state["name"] == "Example.com." and state["zone_id"] == zid and state["arn"].endswith(f"hostedzone/{zid}")
    assert len(state["name_servers"]) == 4 and state["name_servers"] == sorted(state["name_servers"])
    assert state["vpc"] == [] and state["tags"] == {"Env": "prod"}
    assert ws.plan().code == 0  # the name as written (case, trailing dot) is no change

    ws.write(zone_config().replace('"Example.com."', '"example.COM"'))
    assert ws.plan().code == 0  # the same name spelled differently is no change

    ws.write(zone_config(comment="still public", env="test"))
    res = ws.plan()
    assert res.code == 2 and "0 to add, 1 to change, 0 to destroy" in res.out
    ws.apply()
    assert r53().get_hosted_zone(Id=zid)["HostedZone"]["Config"]["Comment"] == "still public"
    tags = r53().list_tags_for_resource(ResourceType="hostedzone", ResourceId=zid)["ResourceTagSet"]["Tags"]
    assert tags == [{"Key": "Env", "Value": "test"}]
    assert ws.plan().code == 0

    # a comment changed behind relight's back is put back
    r53().update_hosted_zone_comment(Id=zid, Comment="hand edit")
    res = ws.plan()
    assert res.code == 2 and "1 to change" in res.out
    ws.apply()
    assert r53().get_hosted_zone(Id=zid)["HostedZone"]["Config"]["Comment"] == "still public"

    # deleted behind relight's back: re-created
    r53().delete_hosted_zone(Id=zid)
    res = ws.plan()
    assert res.code == 2 and "deleted outside relight" in res.out
    ws.apply()
    assert ws.state("aws_route53_zone.main")["id"] != zid and len(zones()) == 1
    assert ws.plan().code == 0

    ws.destroy()
    assert zones() == []


def test_zone_with_records_is_not_deleted_unless_force_destroy(ws: Workspace) -> None:
    ws.write(zone_config())
    ws.apply()
    zid = ws.state("aws_route53_zone.main")["id"]
    change(zid, "CREATE", "stray.example.com", "A", 60, ["192.0.2.1"])

    res = ws.run("destroy", "-auto-approve", "-no-color")
    assert res.code == 1 and "Traceback" not in res.text
    assert "DeleteHostedZone failed: HostedZoneNotEmpty" in res.err and "aws_route53_zone.main" in res.err
    assert len(zones()) == 1

    ws.write(zone_config(force="true"))
    ws.apply()
    ws.destroy()
    assert zones() == []


def test_private_zone_vpcs_in_place_and_switch_to_public_replaces(ws: Workspace) -> None:
    text = """
resource "aws_vpc" "a" {
  cidr_block = "10.0.0.0/16"
}
resource "aws_vpc" "b" {
  cidr_block = "10.1.0.0/16"
}
resource "aws_route53_zone" "internal" {
  name = "internal.example"
%s
}
"""
    vpc_a = "  vpc {\n    vpc_id = aws_vpc.a.id\n  }\n"
    vpc_b = '  vpc {\n    vpc_id = aws_vpc.b.id\n    vpc_region = "us-east-1"\n  }\n'
    ws.write(text % vpc_a)
    ws.apply()
    state = ws.state("aws_route53_zone.internal")
    a, b = ws.state("aws_vpc.a")["id"], ws.state("aws_vpc.b")["id"]
    assert state["vpc"] == [{"vpc_id": a, "vpc_region": "us-east-1"}] and state["name_servers"] == []
    assert state["comment"] == "Managed by Terraform"
    assert r53().get_hosted_zone(Id=state["id"])["HostedZone"]["Config"]["PrivateZone"] is True
    assert ws.plan().code == 0

    ws.write(text % (vpc_b + vpc_a))
    res = ws.plan()
    assert res.code == 2 and "0 to add, 1 to change, 0 to destroy" in res.out
    ws.apply()
    vpcs = r53().get_hosted_zone(Id=state["id"])["VPCs"]
    assert sorted(v["VPCId"] for v in vpcs) == sorted([a, b])
    assert ws.plan().code == 0
    ws.write(text % vpc_b)
    ws.apply()
    assert [v["VPCId"] for v in r53().get_hosted_zone(Id=state["id"])["VPCs"]] == [b]
    assert ws.state("aws_route53_zone.internal")["id"] == state["id"]

    ws.write(text % "")
    res = ws.plan()
    assert res.code == 2 and "1 to add, 0 to change, 1 to destroy" in res.out
    ws.apply()
    zone_id = ws.state("aws_route53_zone.internal")["id"]
    assert zone_id != state["id"]
    assert r53().get_hosted_zone(Id=zone_id)["HostedZone"]["Config"]["PrivateZone"] is False


def test_zone_import_and_find_created(ws: Workspace) -> None:
    ws.write(zone_config())
    ws.apply()
    state = ws.state("aws_route53_zone.main")
    imported = import_state("aws_route53_zone", f"/hostedzone/{state['id']}")
    assert imported == {**state, "name": "example.com"}
    assert read_state("aws_route53_zone", {**state, "id": "ZNOSUCHZONE"}) is None

    made = create_with_token("aws_route53_zone", {"name": "made.example"}, "tok-zone-1")
    found = r53().get_hosted_zone(Id=made["id"])["HostedZone"]
    assert found["CallerReference"] == "tok-zone-1"
    assert find_created("aws_route53_zone", "tok-zone-1", {"name": "made.example"}) == made
    assert find_created("aws_route53_zone", "tok-zone-never") is None


# -- aws_route53_record -------------------------------------------------------------------

RECORD = """
resource "aws_route53_zone" "main" {
  name          = "example.com"
  force_destroy = true
}
resource "aws_route53_record" "www" {
  zone_id = aws_route53_zone.main.zone_id
  name    = "www"
  type    = "A"
  ttl     = %(ttl)s
  records = [%(records)s]
}
resource "aws_route53_record" "txt" {
  zone_id = aws_route53_zone.main.zone_id
  name    = "Example.com."
  type    = "TXT"
  ttl     = 300
  records = ["v=spf1 -all", "say \\"hi\\""]
}
"""


def record_config(ttl: int = 300, values: tuple[str, ...] = ("192.0.2.2", "192.0.2.1")) -> str:
    return RECORD % {"ttl": ttl, "records": ", ".join(f'"{v}"' for v in values)}


def test_record_create_update_drift_and_destroy(ws: Workspace) -> None:
    ws.write(record_config())
    ws.apply()
    zid = ws.state("aws_route53_zone.main")["id"]
    www = ws.state("aws_route53_record.www")
    assert www["id"] == f"{zid}_www.example.com_A" and www["fqdn"] == "www.example.com" and www["name"] == "www"
    assert www["records"] == ["192.0.2.1", "192.0.2.2"] and www["ttl"] == 300
    found = records(zid)
    assert found[("www.example.com.", "A")]["TTL"] == 300
    assert sorted(v["Value"] for v in found[("www.example.com.", "A")]["ResourceRecords"]) == ["192.0.2.1", "192.0.2.2"]
    assert sorted(v["Value"] for v in found[("example.com.", "TXT")]["ResourceRecords"]) == [
        '"say \\"hi\\""',
        '"v=spf1 -all"',
    ]
    assert ws.state("aws_route53_record.txt")["records"] == ['say "hi"', "v=spf1 -all"]
    assert ws.plan().code == 0

    ws.write(record_config(ttl=60, values=("192.0.2.9",)))
    res = ws.plan()
    assert res.code == 2 and "0 to add, 1 to change, 0 to destroy" in res.out
    ws.apply()
    found = records(zid)
    assert found[("www.example.com.", "A")]["TTL"] == 60
    assert [v["Value"] for v in found[("www.example.com.", "A")]["ResourceRecords"]] == ["192.0.2.9"]
    assert ws.state("aws_route53_record.www")["id"] == www["id"]
    assert ws.plan().code == 0

    # changed behind relight's back
    change(zid, "UPSERT", "www.example.com", "A", 60, ["198.51.100.1"])
    res = ws.plan()
    assert res.code == 2 and "1 to change" in res.out
    ws.apply()
    assert [v["Value"] for v in records(zid)[("www.example.com.", "A")]["ResourceRecords"]] == ["192.0.2.9"]

    # deleted behind relight's back
    change(zid, "DELETE", "www.example.com", "A", 60, ["192.0.2.9"])
    res = ws.plan()
    assert res.code == 2 and "deleted outside relight" in res.out
    ws.apply()
    assert ("www.example.com.", "A") in records(zid)
    assert ws.plan().code == 0

    ws.destroy()
    assert zones() == []


RECORD_IN = """
resource "aws_route53_record" "www" {
  zone_id = "%s"
  name    = "www.example.com"
  type    = "A"
  ttl     = 300
  records = ["192.0.2.1"]
%s}
"""


def test_record_existing_is_refused_without_allow_overwrite(ws: Workspace) -> None:
    zid = r53().create_hosted_zone(Name="example.com", CallerReference="outside")["HostedZone"]["Id"].split("/")[-1]
    change(zid, "CREATE", "www.example.com", "A", 900, ["203.0.113.5"])

    # Every step in one directory: each runs after the one before it failed a create.
    ws.write(RECORD_IN % (zid, ""))
    res = ws.apply_fails()
    assert "ChangeResourceRecordSets failed: InvalidChangeBatch" in res.err and "already exists" in res.err
    assert "aws_route53_record.www" in res.err
    assert records(zid)[("www.example.com.", "A")]["ResourceRecords"] == [{"Value": "203.0.113.5"}]

    # a zone that does not exist: refused by the cloud itself
    ws.write(RECORD_IN % ("ZNOSUCHZONE", ""))
    res = ws.apply_fails()
    assert "GetHostedZone failed: NoSuchHostedZone" in res.err and "ZNOSUCHZONE" in res.err

    ws.write(RECORD_IN % (zid, "  allow_overwrite = true\n"))
    ws.apply()
    assert records(zid)[("www.example.com.", "A")]["ResourceRecords"] == [{"Value": "192.0.2.1"}]
    assert ws.plan().code == 0


def test_record_import_and_read(ws: Workspace) -> None:
    ws.write(record_config())
    ws.apply()
    zid = ws.state("aws_route53_zone.main")["id"]
    www = ws.state("aws_route53_record.www")
    imported = import_state("aws_route53_record", f"{zid}_www.example.com_A")
    assert imported == {**www, "name": "www.example.com"}
    txt = import_state("aws_route53_record", f"{zid}_example.com_TXT")
    assert txt["records"] == ['say "hi"', "v=spf1 -all"]
    assert read_state("aws_route53_record", {**www, "fqdn": "nope.example.com", "name": "nope"}) is None
    assert read_state("aws_route53_record", {**www, "zone_id": "ZNOSUCHZONE"}) is None
    made = create_with_token(
        "aws_route53_record",
        {"zone_id": zid, "name": "made", "type": "CNAME", "ttl": 60, "records": ["www.example.com"]},
        "tok-record",
    )
    assert made["fqdn"] == "made.example.com" and made["records"] == ["www.example.com"]
    planned = {"zone_id": zid, "name": "made", "type": "CNAME", "ttl": 60, "records": ["www.example.com"]}
    assert find_created("aws_route53_record", "tok-record", planned) == made
    # a record with other values is not ours to adopt
    assert find_created("aws_route53_record", "tok-record", {**planned, "records": ["other.example.com"]}) is None
    assert find_created("aws_route53_record", "tok-record", {**planned, "name": "absent"}) is None
