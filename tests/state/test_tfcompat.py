"""The per-type conversion rules (relight.providers.tfcompat, aws shapes) and Terraform's type notation.

Cases as data: each row is a Terraform attribute value, what relight reads from it, and what goes
back to Terraform for an object relight made (no kept Terraform values).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relight.ctytypes import conforms, is_type
from relight.providers.aws import AwsProvider
from relight.providers.aws._tfshapes import user_data_hash
from relight.providers.base import AdoptTerraformRequest, Attribute, ExportTerraformRequest, Schema
from relight.providers.builtin import TerraformProvider
from relight.providers.tfcompat import TERRAFORM_KEY, TerraformShape, adopt, export
from relight.values import type_of

SCHEMA = Schema(
    attributes={
        "id": Attribute("string", computed=True),
        "name": Attribute("string", optional=True),
        "count": Attribute("number", optional=True),
        "mode": Attribute("string", optional=True, default="fast"),
        "tags": Attribute("map", element="string", optional=True),
        "input": Attribute("any", optional=True),
    }
)
SHAPE = TerraformShape(
    version=1,
    readable=frozenset({1}),
    zero_is_null=frozenset({"name", "count", "tags"}),
    dynamic=frozenset({"input"}),
    tags_all=True,
    only={"timeouts": None, "extra": ""},
)

# (attribute, Terraform's value, relight's value, Terraform's value written for relight's)
RULES: list[tuple[str, Any, Any, Any]] = [
    ("name", "", None, ""),
    ("name", "web", "web", "web"),
    ("count", 0, None, 0),
    ("count", 3, 3, 3),
    ("tags", {}, None, {}),
    ("tags", {"a": "b"}, {"a": "b"}, {"a": "b"}),
    ("mode", None, "fast", "fast"),
    ("mode", "slow", "slow", "slow"),
    ("input", {"value": "x", "type": "string"}, "x", {"value": "x", "type": "string"}),
    ("input", {"value": [1], "type": ["tuple", ["number"]]}, [1], {"value": [1], "type": ["tuple", ["number"]]}),
    ("input", None, None, None),
]


def tf_object(**attrs: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "x1", "name": "", "count": 0, "mode": "fast", "tags": {}, "input": None}
    base.update(tags_all=dict(base["tags"] or {}), timeouts=None, extra="")
    base.update(attrs)
    return base


@pytest.mark.parametrize(("name", "tf", "relight", "back"), RULES)
def test_a_rule_reads_and_writes(name: str, tf: Any, relight: Any, back: Any) -> None:
    resp = adopt("fake", SCHEMA, SHAPE, AdoptTerraformRequest("fake", "managed", 1, tf_object(**{name: tf})))
    assert resp.attributes is not None and resp.attributes[name] == relight
    made = {**resp.attributes}
    out = export(SCHEMA, SHAPE, ExportTerraformRequest("fake", "managed", made))
    assert out.attributes is not None and out.attributes[name] == back


def test_terraform_only_values_and_a_recorded_type_are_kept_and_written_back() -> None:
    tf = tf_object(extra="kept", input={"value": ["a"], "type": ["list", "string"]}, tags={"k": "v"}, tags_all={"k": "v", "default": "t"})
    resp = adopt("fake", SCHEMA, SHAPE, AdoptTerraformRequest("fake", "managed", 1, tf, b'{"x":1}'))
    assert resp.attributes is not None
    kept = resp.private[TERRAFORM_KEY]
    assert set(kept["attributes"]) == {"extra", "input", "tags_all"}
    out = export(SCHEMA, SHAPE, ExportTerraformRequest("fake", "managed", resp.attributes, resp.private))
    assert out.attributes == tf and out.private == b'{"x":1}' and not out.overrides


def test_a_kept_value_is_not_resurrected_after_relight_changed_the_attribute() -> None:
    tf = tf_object(input={"value": ["a"], "type": ["list", "string"]})
    resp = adopt("fake", SCHEMA, SHAPE, AdoptTerraformRequest("fake", "managed", 1, tf))
    assert resp.attributes is not None
    changed = {**resp.attributes, "input": ["a", "b"]}
    out = export(SCHEMA, SHAPE, ExportTerraformRequest("fake", "managed", changed, resp.private))
    assert out.attributes is not None and out.attributes["input"] == {"value": ["a", "b"], "type": ["tuple", ["string", "string"]]}


def test_values_terraform_cannot_hold_come_back_as_overrides() -> None:
    out = export(SCHEMA, SHAPE, ExportTerraformRequest("fake", "managed", {"id": "1", "name": "", "mode": None}))
    assert out.overrides == {"name": "", "mode": None}
    back = adopt("fake", SCHEMA, SHAPE, AdoptTerraformRequest("fake", "managed", 1, out.attributes or {}, overrides=out.overrides))
    assert back.attributes is not None and back.attributes["name"] == "" and back.attributes["mode"] is None
    assert back.private == {}


def test_an_unknown_schema_version_is_refused_naming_it() -> None:
    resp = adopt("fake_thing", SCHEMA, SHAPE, AdoptTerraformRequest("fake_thing", "managed", 0, tf_object()))
    assert resp.attributes is None
    assert resp.diagnostics.errors[0].summary == "Unsupported schema version 0 of fake_thing"


# -- the aws types: what differs from Terraform's AWS provider ----------------------------

AWS = AwsProvider()


def aws_adopt(type_name: str, version: int, **attrs: Any) -> dict[str, Any]:
    resp = AWS.adopt_terraform(AdoptTerraformRequest(type_name, "managed", version, attrs))
    assert resp.attributes is not None, list(resp.diagnostics)
    return resp.attributes


def aws_export(type_name: str, attrs: dict[str, Any]) -> dict[str, Any]:
    resp = AWS.export_terraform(ExportTerraformRequest(type_name, "managed", attrs))
    assert resp.attributes is not None, list(resp.diagnostics)
    return resp.attributes


@pytest.mark.parametrize(("tf", "relight"), [(False, True), (True, True), (None, True)])
def test_a_volumes_final_snapshot_reads_terraforms_default_as_relights(tf: Any, relight: Any) -> None:
    assert aws_adopt("aws_ebs_volume", 0, id="vol-1", final_snapshot=tf)["final_snapshot"] is relight


def test_relights_final_snapshot_default_goes_back_as_terraforms() -> None:
    out = AWS.export_terraform(ExportTerraformRequest("aws_ebs_volume", "managed", aws_adopt("aws_ebs_volume", 0, id="v")))
    assert out.attributes is not None and out.attributes["final_snapshot"] is False and not out.overrides


HELLO_SHA1 = "9db6f074fca0a903137b91c7c866b21d4e7205a7"  # sha1sum of the script below


@pytest.mark.parametrize("script", ["#!/bin/sh\necho hello\n", "IyEvYmluL3NoCmVjaG8gaGVsbG8K"])
def test_user_data_goes_to_terraform_hashed_as_its_provider_stores_it(script: str) -> None:
    """The provider hashes the script's bytes, decoding base64 first (the second case)."""
    attrs = {**aws_adopt("aws_instance", 1, id="i-1"), "user_data": script}
    assert aws_export("aws_instance", attrs)["user_data"] == HELLO_SHA1


def test_an_adopted_instance_plans_its_script_as_unchanged() -> None:
    from relight.providers.base import PlanRequest

    script = "#!/bin/sh\necho hello\n"
    prior = aws_adopt("aws_instance", 1, id="i-1", ami="ami-1", instance_type="t3.micro", user_data=user_data_hash(script))
    proposed = {k: None for k in prior} | {"ami": "ami-1", "instance_type": "t3.micro", "user_data": script}
    resp = AWS.plan_change(PlanRequest("aws_instance", prior, proposed, proposed))
    assert resp.planned_state is not None and not resp.requires_replace
    assert resp.planned_state["user_data"] == prior["user_data"]


# (type, schema version, attributes as Terraform's provider v5 stores them, relight's reading of
# them): what relight now models beyond the first types; each must read as shown and be written
# back exactly as Terraform wrote it, for an object relight made too (no kept Terraform values).
MODELED: list[tuple[str, int, dict[str, Any], dict[str, Any]]] = [
    ("aws_instance", 1,
     {"iam_instance_profile": "", "public_dns": "", "monitoring": False, "tenancy": "default", "volume_tags": None,
      "cpu_options": [{"amd_sev_snp": "", "core_count": 2, "threads_per_core": 2}],
      "credit_specification": [{"cpu_credits": "unlimited"}],
      "metadata_options": [{"http_endpoint": "enabled", "http_protocol_ipv6": "disabled", "http_put_response_hop_limit": 2,
                            "http_tokens": "required", "instance_metadata_tags": "disabled"}],
      "ebs_block_device": [{"delete_on_termination": True, "device_name": "/dev/sdb", "encrypted": False, "iops": 0,
                            "kms_key_id": "", "snapshot_id": "", "tags": {}, "tags_all": {}, "throughput": 0,
                            "volume_id": "vol-1", "volume_size": 8, "volume_type": "gp2"}],
      "tags": {"Name": "a"}, "tags_all": {"Name": "a", "Env": "prod"}},
     {"iam_instance_profile": None, "public_dns": None, "monitoring": False, "tenancy": "default", "volume_tags": None,
      "cpu_options": [{"amd_sev_snp": None, "core_count": 2, "threads_per_core": 2}],
      "ebs_block_device": [{"delete_on_termination": True, "device_name": "/dev/sdb", "encrypted": False, "iops": None,
                            "kms_key_id": None, "snapshot_id": None, "tags": None, "throughput": None,
                            "volume_id": "vol-1", "volume_size": 8, "volume_type": "gp2"}],
      "tags": {"Name": "a"}, "tags_all": {"Name": "a", "Env": "prod"}}),
    ("aws_vpc", 1,
     {"assign_generated_ipv6_cidr_block": False, "ipv6_cidr_block": "", "ipv6_association_id": "",
      "ipv6_cidr_block_network_border_group": "", "ipv6_ipam_pool_id": "", "ipv6_netmask_length": 0, "tags_all": {}},
     {"assign_generated_ipv6_cidr_block": False, "ipv6_cidr_block": None, "ipv6_association_id": None,
      "ipv6_cidr_block_network_border_group": None, "ipv6_ipam_pool_id": None, "ipv6_netmask_length": None, "tags_all": {}}),
    ("aws_vpc", 1,
     {"assign_generated_ipv6_cidr_block": True, "ipv6_cidr_block": "2600:1f18::/56", "ipv6_association_id": "vpc-cidr-assoc-1",
      "ipv6_cidr_block_network_border_group": "us-east-1"},
     {"assign_generated_ipv6_cidr_block": True, "ipv6_cidr_block": "2600:1f18::/56", "ipv6_association_id": "vpc-cidr-assoc-1",
      "ipv6_cidr_block_network_border_group": "us-east-1"}),
    ("aws_security_group", 1,
     {"ingress": [{"cidr_blocks": [], "description": "", "from_port": 443, "ipv6_cidr_blocks": [], "prefix_list_ids": ["pl-1"],
                   "protocol": "tcp", "security_groups": [], "self": False, "to_port": 443}]},
     {"ingress": [{"cidr_blocks": [], "description": "", "from_port": 443, "ipv6_cidr_blocks": [], "prefix_list_ids": ["pl-1"],
                   "protocol": "tcp", "security_groups": [], "self": False, "to_port": 443}]}),
    ("aws_cloudwatch_metric_alarm", 1,
     {"threshold_metric_id": "", "evaluate_low_sample_count_percentiles": "",
      "metric_query": [{"account_id": "", "expression": "m1*2", "id": "e1", "label": "", "metric": [], "period": 0,
                        "return_data": True},
                       {"account_id": "", "expression": "", "id": "m1", "label": "", "period": 0, "return_data": False,
                        "metric": [{"dimensions": {}, "metric_name": "CPUUtilization", "namespace": "", "period": 60,
                                    "stat": "Average", "unit": ""}]}]},
     {"threshold_metric_id": None, "evaluate_low_sample_count_percentiles": None,
      "metric_query": [{"account_id": None, "expression": "m1*2", "id": "e1", "label": None, "metric": [], "period": None,
                        "return_data": True},
                       {"account_id": None, "expression": None, "id": "m1", "label": None, "period": None, "return_data": False,
                        "metric": [{"dimensions": None, "metric_name": "CPUUtilization", "namespace": None, "period": 60,
                                    "stat": "Average", "unit": None}]}]}),
    ("aws_route53_zone", 0,
     {"delegation_set_id": "", "primary_name_server": "ns-1.awsdns-1.com", "tags_all": {"Env": "prod"}},
     {"delegation_set_id": None, "primary_name_server": "ns-1.awsdns-1.com", "tags_all": {"Env": "prod"}}),
    ("aws_route53_record", 2,
     {"set_identifier": "eu", "health_check_id": "", "multivalue_answer_routing_policy": False,
      "geolocation_routing_policy": [{"continent": "EU", "country": "", "subdivision": ""}],
      "geoproximity_routing_policy": [], "weighted_routing_policy": []},
     {"set_identifier": "eu", "health_check_id": None, "multivalue_answer_routing_policy": False,
      "geolocation_routing_policy": [{"continent": "EU", "country": None, "subdivision": None}],
      "geoproximity_routing_policy": [], "weighted_routing_policy": []}),
    ("aws_route53_record", 2,
     {"set_identifier": "", "geoproximity_routing_policy": [{"aws_region": "", "bias": 5, "local_zone_group": "",
                                                             "coordinates": [{"latitude": "49.22", "longitude": "-74.01"}]}]},
     {"set_identifier": None, "geoproximity_routing_policy": [{"aws_region": None, "bias": 5, "local_zone_group": None,
                                                               "coordinates": [{"latitude": "49.22", "longitude": "-74.01"}]}]}),
]  # fmt: skip


@pytest.mark.parametrize(("type_name", "version", "tf", "relight"), MODELED)
def test_newly_modelled_aws_attributes_read_and_go_back_as_terraform_wrote_them(
    type_name: str, version: int, tf: dict[str, Any], relight: dict[str, Any]
) -> None:
    resp = AWS.adopt_terraform(AdoptTerraformRequest(type_name, "managed", version, {"id": "x1", **tf}))
    assert resp.attributes is not None, list(resp.diagnostics)
    assert {k: resp.attributes[k] for k in relight} == relight
    for kept in (resp.private, {}):  # as adopted, and as if relight had made it
        out = AWS.export_terraform(ExportTerraformRequest(type_name, "managed", resp.attributes, kept))
        assert out.attributes is not None and {k: out.attributes[k] for k in tf} == tf, kept


@pytest.mark.parametrize(
    ("type_name", "version"),
    [("aws_instance", 0), ("aws_vpc", 0), ("aws_route53_record", 1), ("aws_cloudwatch_metric_alarm", 0)],
)
def test_old_aws_schema_versions_are_refused(type_name: str, version: int) -> None:
    resp = AWS.adopt_terraform(AdoptTerraformRequest(type_name, "managed", version, {"id": "x"}))
    assert resp.attributes is None and f"schema version {version} of {type_name}" in resp.diagnostics.errors[0].summary


def test_an_aws_type_relight_lacks_is_refused_naming_the_types_it_has() -> None:
    resp = AWS.adopt_terraform(AdoptTerraformRequest("aws_lambda_function", "managed", 0, {"id": "x"}))
    assert resp.attributes is None
    diag = resp.diagnostics.errors[0]
    assert diag.summary == "Unsupported resource type aws_lambda_function" and "aws_instance" in diag.detail


def test_terraform_data_has_no_data_sources() -> None:
    resp = TerraformProvider().adopt_terraform(AdoptTerraformRequest("terraform_data", "data", 0, {}))
    assert resp.attributes is None and resp.diagnostics.errors[0].summary == "Unsupported data source terraform_data"


# -- Terraform's type notation --------------------------------------------------------------

TYPES: list[tuple[Any, Any, bool]] = [
    ("a", "string", True),
    (1, "number", True),
    (1.5, "number", True),
    (True, "bool", True),
    (True, "number", False),
    (None, "string", True),
    (["a", "b"], ["list", "string"], True),
    (["a", 1], ["list", "string"], False),
    (["a", 1], ["tuple", ["string", "number"]], True),
    ({"a": 1}, ["map", "number"], True),
    ({"a": 1}, ["object", {"a": "number"}], True),
    ({"a": 1}, ["object", {"b": "number"}], False),
    ([["x"]], ["set", ["list", "string"]], True),
    ("x", "dynamic", True),
]


@pytest.mark.parametrize(("value", "ty", "ok"), TYPES)
def test_conformance(value: Any, ty: Any, ok: bool) -> None:
    assert is_type(ty)
    assert conforms(value, ty) is ok


@pytest.mark.parametrize("bad", ["str", ["list"], ["tuple", "string"], ["object", {"a": "nope"}], 3, None])
def test_malformed_types_are_not_types(bad: Any) -> None:
    assert not is_type(bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@given(json_values)
def test_every_value_conforms_to_its_literal_type(value: Any) -> None:
    assert is_type(type_of(value)) and conforms(value, type_of(value))
