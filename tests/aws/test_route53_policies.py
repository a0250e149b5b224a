"""aws_route53_record under routing policies (``set_identifier`` with weighted, latency,
failover, geolocation and multivalue-answer routing, a ``health_check_id``) and aws_route53_zone's
``delegation_set_id``, through the CLI on the local cloud: created, read back, changed in place
(a new set identifier or type too), changed outside relight, imported; Terraform's argument
rules at plan time; geoproximity and CIDR routing (which the local cloud drops) planned and said.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relight.localcloud import LocalCloud

from .harness import Workspace, import_state
from .stack import Cloud

RECORDS = """
provider "aws" {}

resource "aws_route53_zone" "main" {
  name = "example.com"
}

# Weighted: from the Terraform AWS provider's documentation (a blue/green split)
resource "aws_route53_record" "www_blue" {
  zone_id        = aws_route53_zone.main.zone_id
  name           = "www"
  type           = "A"
  ttl            = 5
  set_identifier = "%(blue)s"
  records        = ["10.0.0.1"]

  weighted_routing_policy {
    weight = %(weight)s
  }
}

resource "aws_route53_record" "www_green" {
  zone_id        = aws_route53_zone.main.zone_id
  name           = "www"
  type           = "A"
  ttl            = 5
  set_identifier = "green"
  records        = ["10.0.0.2"]

  weighted_routing_policy {
    weight = 90
  }
}

resource "aws_route53_record" "api_us" {
  zone_id        = aws_route53_zone.main.zone_id
  name           = "api"
  type           = "%(api_type)s"
  ttl            = 60
  set_identifier = "us"
  records        = ["%(api_value)s"]

  latency_routing_policy {
    region = "us-east-1"
  }
}

resource "aws_route53_record" "app_primary" {
  zone_id         = aws_route53_zone.main.zone_id
  name            = "app"
  type            = "A"
  ttl             = 60
  set_identifier  = "primary"
  records         = ["10.0.1.1"]
  health_check_id = "%(health)s"

  failover_routing_policy {
    type = "PRIMARY"
  }
}

resource "aws_route53_record" "eu" {
  zone_id        = aws_route53_zone.main.zone_id
  name           = "geo"
  type           = "A"
  ttl            = 60
  set_identifier = "europe"
  records        = ["10.0.2.1"]

  geolocation_routing_policy {
    continent = "EU"
  }
}

resource "aws_route53_record" "many" {
  zone_id                          = aws_route53_zone.main.zone_id
  name                             = "many"
  type                             = "A"
  ttl                              = 60
  set_identifier                   = "one"
  records                          = ["10.0.3.1"]
  multivalue_answer_routing_policy = true
}
"""


def config(blue: str = "blue", weight: int = 10, api_type: str = "A", api_value: str = "10.0.5.1", health: str = "") -> str:
    return RECORDS % {"blue": blue, "weight": weight, "api_type": api_type, "api_value": api_value, "health": health}


def record_sets(name: str) -> dict[str, dict[str, Any]]:
    view = Cloud()
    [zone] = view.route53.list_hosted_zones()["HostedZones"]
    sets = view.route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    return {s["SetIdentifier"]: s for s in sets if s["Name"] == f"{name}.example.com." and "SetIdentifier" in s}


@pytest.fixture
def ws(cloud: LocalCloud, tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


@pytest.fixture
def health_check(cloud: LocalCloud) -> str:
    found: str = Cloud().route53.create_health_check(
        CallerReference="hc-1",
        HealthCheckConfig={"Type": "HTTP", "IPAddress": "10.0.1.1", "Port": 80, "ResourcePath": "/"},
    )["HealthCheck"]["Id"]
    return found


def test_routing_policies_are_created_read_back_and_changed_in_place(ws: Workspace, health_check: str) -> None:
    ws.write(config(health=health_check))
    ws.apply()
    www = record_sets("www")
    assert www["blue"]["Weight"] == 10 and www["green"]["Weight"] == 90
    assert record_sets("api")["us"]["Region"] == "us-east-1"
    primary = record_sets("app")["primary"]
    assert primary["Failover"] == "PRIMARY" and primary["HealthCheckId"] == health_check
    assert record_sets("geo")["europe"]["GeoLocation"] == {"ContinentCode": "EU"}
    assert record_sets("many")["one"]["MultiValueAnswer"] is True
    blue = ws.state("aws_route53_record.www_blue")
    zone_id = ws.state("aws_route53_zone.main")["zone_id"]
    assert blue["id"] == f"{zone_id}_www.example.com_A_blue" and blue["set_identifier"] == "blue"
    assert blue["weighted_routing_policy"] == [{"weight": 10}] and blue["latency_routing_policy"] == []
    assert ws.state("aws_route53_record.eu")["geolocation_routing_policy"] == [
        {"continent": "EU", "country": None, "subdivision": None}
    ]
    assert ws.state("aws_route53_record.many")["multivalue_answer_routing_policy"] is True
    assert ws.state("aws_route53_record.app_primary")["health_check_id"] == health_check
    assert ws.plan().code == 0
    assert import_state("aws_route53_record", blue["id"]) == {**blue, "name": "www.example.com", "allow_overwrite": False}

    # a new weight, a new set identifier and a new type: all in place, as in Terraform
    ws.write(config(blue="blue2", weight=30, api_type="CNAME", api_value="api.example.net", health=health_check))
    res = ws.plan()
    assert res.code == 2 and "0 to add, 2 to change, 0 to destroy" in res.out, res.out
    ws.apply()
    www = record_sets("www")
    assert sorted(www) == ["blue2", "green"] and www["blue2"]["Weight"] == 30
    assert record_sets("api")["us"]["Type"] == "CNAME"
    assert ws.state("aws_route53_record.www_blue")["id"] == f"{zone_id}_www.example.com_A_blue2"
    assert ws.plan().code == 0

    # changed behind relight's back: seen and put back
    view = Cloud()
    changed = {**www["green"], "Weight": 1}
    view.route53.change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": changed}]}
    )
    res = ws.plan()
    assert res.code == 2 and "Objects have changed outside" in res.out
    ws.apply()
    assert record_sets("www")["green"]["Weight"] == 90 and ws.plan().code == 0

    ws.destroy()
    assert Cloud().route53.list_hosted_zones()["HostedZones"] == []


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('  multivalue_answer_routing_policy = true', '  multivalue_answer_routing_policy = true\n  weighted_routing_policy {\n    weight = 1\n  }',
         '"multivalue_answer_routing_policy": conflicts with weighted_routing_policy'),
        ('  set_identifier = "europe"\n', "", "all of `geolocation_routing_policy,set_identifier` must be specified"),
        ('type = "PRIMARY"', 'type = "TERTIARY"', 'got "TERTIARY"'),
        ('name           = "geo"\n  type           = "A"', 'name           = "geo"\n  type           = "AA"', 'expected type to be one of'),
    ],
)  # fmt: skip
def test_terraform_record_argument_rules_are_plan_errors(ws: Workspace, old: str, new: str, message: str) -> None:
    text = config().replace(old, new)
    assert text != config()
    ws.write(text)
    res = ws.run("plan", "-no-color")
    assert res.code == 1 and message in res.err and "main.tf:" in res.err and "Traceback" not in res.text, res.text


def test_geoproximity_and_cidr_routing_are_planned_and_said_on_the_local_cloud(ws: Workspace) -> None:
    ws.write(
        'provider "aws" {}\nresource "aws_route53_zone" "main" {\n  name = "example.com"\n}\n'
        'resource "aws_route53_record" "near" {\n  zone_id = aws_route53_zone.main.zone_id\n  name = "near"\n'
        '  type = "A"\n  ttl = 60\n  set_identifier = "east"\n  records = ["10.0.0.1"]\n'
        '  geoproximity_routing_policy {\n    aws_region = "us-east-1"\n    bias = 10\n  }\n}\n'
        'resource "aws_route53_record" "cidr" {\n  zone_id = aws_route53_zone.main.zone_id\n  name = "cidr"\n'
        '  type = "A"\n  ttl = 60\n  set_identifier = "office"\n  records = ["10.0.0.2"]\n'
        '  cidr_routing_policy {\n    collection_id = "9ac9a36a-4b84-4e5f-9cd0-0c6d5b8a1c1e"\n    location_name = "office"\n  }\n}\n'
    )
    res = ws.run("plan", "-no-color")
    assert res.code == 0, res.text
    assert "The local cloud does not implement geoproximity routing: planned, not applied" in res.text
    assert "The local cloud does not implement CIDR routing: planned, not applied" in res.text
    ws.apply()
    assert ws.state("aws_route53_record.near")["geoproximity_routing_policy"] == [
        {"aws_region": "us-east-1", "bias": 10, "local_zone_group": None, "coordinates": []}
    ]
    assert ws.state("aws_route53_record.cidr")["cidr_routing_policy"][0]["location_name"] == "office"
    assert ws.plan().code == 0


def test_a_zone_served_by_a_reusable_delegation_set(ws: Workspace) -> None:
    view = Cloud()
    first = view.route53.create_reusable_delegation_set(CallerReference="ds-1")["DelegationSet"]
    second = view.route53.create_reusable_delegation_set(CallerReference="ds-2")["DelegationSet"]
    zone = 'provider "aws" {}\nresource "aws_route53_zone" "main" {\n  name = "example.org"\n  delegation_set_id = "%s"\n}\n'
    ws.write(zone % first["Id"])
    ws.apply()
    state = ws.state("aws_route53_zone.main")
    assert state["delegation_set_id"] == first["Id"]
    assert state["name_servers"] == sorted(first["NameServers"]) and state["primary_name_server"] in first["NameServers"]
    assert view.route53.get_hosted_zone(Id=state["id"])["DelegationSet"]["Id"] == first["Id"]
    assert ws.plan().code == 0
    assert import_state("aws_route53_zone", state["id"])["delegation_set_id"] == first["Id"]

    ws.write(zone % second["Id"])
    res = ws.run("plan", "-no-color")
    assert "must be replaced" in res.out and "# forces replacement" in res.out
    ws.apply()
    assert ws.state("aws_route53_zone.main")["delegation_set_id"] == second["Id"] and ws.plan().code == 0

    ws.write(
        'provider "aws" {}\nresource "aws_vpc" "v" {\n  cidr_block = "10.0.0.0/16"\n}\n'
        'resource "aws_route53_zone" "main" {\n  name = "example.org"\n  delegation_set_id = "X1"\n'
        "  vpc {\n    vpc_id = aws_vpc.v.id\n  }\n}\n"
    )
    res = ws.run("plan", "-no-color")
    assert res.code == 1 and '"delegation_set_id": conflicts with vpc' in res.err


def test_a_zone_without_a_delegation_set_records_none(ws: Workspace) -> None:
    ws.write('provider "aws" {}\nresource "aws_route53_zone" "main" {\n  name = "example.net"\n}\n')
    ws.apply()
    state = ws.state("aws_route53_zone.main")
    assert state["delegation_set_id"] is None and state["primary_name_server"] in state["name_servers"]
    assert ws.plan().code == 0
