"""The aws provider's pure decisions, as tables: tags and default tags, the optional-and-computed
blocks of an instance, record ids, prefix-list rules, and which local-cloud gaps a plan asks for.

No cloud here: each function takes plain values and answers with plain values.
"""

from __future__ import annotations

from typing import Any

import pytest

from relight.providers.aws import _instance_parts as blocks
from relight.providers.aws._common import merged_tags, split_tags
from relight.providers.aws.instance import INSTANCE_GAPS
from relight.providers.aws.network import VPC_GAPS
from relight.providers.aws.route53_record import RECORD_GAPS, parse_record_id, record_id
from relight.providers.aws.security_group import restore_prefix_descriptions
from relight.values import UNKNOWN

# -- tags ----------------------------------------------------------------------------------

# (default tags, resource tags, tags_all)
MERGES: list[tuple[Any, Any, Any]] = [
    ({}, None, {}),
    ({"Env": "prod"}, None, {"Env": "prod"}),
    ({"Env": "prod"}, {"Name": "a"}, {"Env": "prod", "Name": "a"}),
    ({"Env": "prod"}, {"Env": "dev"}, {"Env": "dev"}),  # the resource's value wins
    ({"Env": "prod"}, {"Env": "prod"}, {"Env": "prod"}),
    (UNKNOWN, {"Name": "a"}, UNKNOWN),
    ({"Env": "prod"}, UNKNOWN, UNKNOWN),
    ({"Env": "prod"}, {"Name": UNKNOWN}, UNKNOWN),
]


@pytest.mark.parametrize(("defaults", "tags", "expected"), MERGES)
def test_tags_all_merges_default_tags_under_the_resource_tags(defaults: Any, tags: Any, expected: Any) -> None:
    assert merged_tags(defaults, tags) == expected


# (tags AWS holds, default tags, recorded tags) -> tags
SPLITS: list[tuple[dict[str, str], dict[str, str], Any, Any]] = [
    ({}, {}, None, None),
    ({"Name": "a"}, {}, None, {"Name": "a"}),
    ({"Name": "a", "Env": "prod"}, {"Env": "prod"}, {"Name": "a"}, {"Name": "a"}),
    # a default the resource also sets, with the same value, stays the resource's
    ({"Name": "a", "Env": "prod"}, {"Env": "prod"}, {"Name": "a", "Env": "prod"}, {"Name": "a", "Env": "prod"}),
    # a default tag changed outside relight is no longer the default: it shows as the resource's
    ({"Env": "hacked"}, {"Env": "prod"}, None, {"Env": "hacked"}),
    # an import (nothing recorded): the defaults are taken out
    ({"Env": "prod", "Team": "ops"}, {"Env": "prod"}, None, {"Team": "ops"}),
    ({"Env": "prod"}, {"Env": "prod"}, None, None),
]


@pytest.mark.parametrize(("aws", "defaults", "recorded", "tags"), SPLITS)
def test_reading_tags_leaves_out_the_default_tags_the_resource_did_not_set(
    aws: dict[str, str], defaults: dict[str, str], recorded: Any, tags: Any
) -> None:
    assert split_tags(aws, defaults, recorded) == {"tags": tags, "tags_all": aws}


# -- instance blocks -----------------------------------------------------------------------

PRIOR_META = [
    {
        "http_endpoint": "enabled",
        "http_protocol_ipv6": "disabled",
        "http_put_response_hop_limit": 1,
        "http_tokens": "optional",
        "instance_metadata_tags": "disabled",
    }
]

# (configured, recorded, creating) -> (planned, differs)
BLOCK_PLANS: list[tuple[Any, Any, bool, Any, bool]] = [
    # not configured: AWS's choice on a create, the recorded block afterwards
    ([], None, True, [{k: UNKNOWN for k in PRIOR_META[0]}], False),
    ([], PRIOR_META, False, PRIOR_META, False),
    # configured settings win, the rest comes from the recorded block
    ([{"http_tokens": "required"}], PRIOR_META, False, [{**PRIOR_META[0], "http_tokens": "required"}], True),
    ([{"http_tokens": "optional"}], PRIOR_META, False, PRIOR_META, False),
    ([{"http_put_response_hop_limit": 2.0}], PRIOR_META, False, [{**PRIOR_META[0], "http_put_response_hop_limit": 2}], True),
    ([{"http_tokens": "required"}], None, True, [{**{k: UNKNOWN for k in PRIOR_META[0]}, "http_tokens": "required"}], False),
    # a block configured where none was recorded is a change
    ([{"http_tokens": "required"}], [], False, [{**{k: UNKNOWN for k in PRIOR_META[0]}, "http_tokens": "required"}], True),
    (UNKNOWN, PRIOR_META, False, UNKNOWN, True),
    (UNKNOWN, None, True, UNKNOWN, False),
]


@pytest.mark.parametrize(("given", "prior", "creating", "planned", "differs"), BLOCK_PLANS)
def test_an_optional_and_computed_block_keeps_what_the_configuration_leaves_out(
    given: Any, prior: Any, creating: bool, planned: Any, differs: bool
) -> None:
    assert blocks.plan_block(blocks.METADATA, given, prior, creating) == (planned, differs)


DEVICE = {
    "device_name": "/dev/sdb",
    "delete_on_termination": True,
    "encrypted": False,
    "iops": 3000,
    "kms_key_id": None,
    "snapshot_id": None,
    "throughput": 125,
    "volume_size": 20,
    "volume_type": "gp3",
    "volume_id": "vol-1",
    "tags": None,
}
# (configured devices, recorded devices, creating) -> (planned, differs)
DEVICE_PLANS: list[tuple[Any, Any, bool, Any, bool]] = [
    ([], None, True, [], False),
    ([], [DEVICE], False, [DEVICE], False),
    ([{"device_name": "/dev/sdb", "volume_size": 20}], [DEVICE], False, [DEVICE], False),
    ([{"device_name": "/dev/sdb", "volume_size": 30}], [DEVICE], False, [{**DEVICE, "volume_size": 30}], True),
    # tags change in place (not a difference that replaces)
    ([{"device_name": "/dev/sdb", "tags": {"a": "b"}}], [DEVICE], False, [{**DEVICE, "tags": {"a": "b"}}], False),
    ([{"device_name": "/dev/sdc"}], [DEVICE], False, [{**{k: UNKNOWN for k in DEVICE}, "device_name": "/dev/sdc",
                                                        "delete_on_termination": True, "tags": None}], True),
    (
        [{"device_name": "/dev/sdc", "volume_size": 5}, {"device_name": "/dev/sdb", "volume_size": 8}],
        None,
        True,
        [
            {**{k: UNKNOWN for k in DEVICE}, "device_name": "/dev/sdb", "delete_on_termination": True,
             "volume_size": 8, "tags": None},
            {**{k: UNKNOWN for k in DEVICE}, "device_name": "/dev/sdc", "delete_on_termination": True,
             "volume_size": 5, "tags": None},
        ],
        False,
    ),
]


@pytest.mark.parametrize(("given", "prior", "creating", "planned", "differs"), DEVICE_PLANS)
def test_ebs_devices_are_planned_by_device_name(given: Any, prior: Any, creating: bool, planned: Any, differs: bool) -> None:
    assert blocks.plan_ebs_devices(given, prior, creating) == (planned, differs)


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"tenancy": "dedicated"}, None),
        ({"tenancy": "shared"}, ("tenancy",)),
        ({"metadata_options": [{"http_tokens": "required", "http_endpoint": "enabled"}]}, None),
        ({"metadata_options": [{"http_tokens": "always"}]}, ("metadata_options", 0, "http_tokens")),
        ({"metadata_options": [{"http_put_response_hop_limit": 65}]}, ("metadata_options", 0, "http_put_response_hop_limit")),
        ({"credit_specification": [{"cpu_credits": "unlimited"}]}, None),
        ({"credit_specification": [{"cpu_credits": "infinite"}]}, ("credit_specification", 0, "cpu_credits")),
        ({"cpu_options": [{"amd_sev_snp": "on"}]}, ("cpu_options", 0, "amd_sev_snp")),
        ({"ebs_block_device": [{"volume_type": "gp3"}, {"volume_type": "gp9"}]}, ("ebs_block_device", 1, "volume_type")),
        ({"tenancy": UNKNOWN}, None),
    ],
)
def test_instance_settings_aws_refuses_are_found_at_plan_time(config: dict[str, Any], problem: Any) -> None:
    found = blocks.check_choices(config)
    assert (found[0] if found else None) == problem


@pytest.mark.parametrize(
    ("instance_type", "burstable"),
    [("t2.micro", True), ("t3.small", True), ("t3a.large", True), ("t4g.nano", True), ("m5.large", False),
     ("c7g.xlarge", False), ("trn1.2xlarge", False), (None, False)],
)  # fmt: skip
def test_only_t_instances_take_a_credit_specification(instance_type: Any, burstable: bool) -> None:
    assert blocks.burstable(instance_type) is burstable


# -- records -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Z1_www.example.com_A", ("Z1", "www.example.com", "A", None)),
        ("Z1_www.example.com_A_blue", ("Z1", "www.example.com", "A", "blue")),
        ("Z1_www.example.com_A_blue_green", ("Z1", "www.example.com", "A", "blue_green")),
        ("Z1__dmarc.example.com_TXT", ("Z1", "_dmarc.example.com", "TXT", None)),
        ("Z1_example.com._mx", ("Z1", "example.com", "MX", None)),
    ],
)
def test_record_import_ids_name_zone_name_type_and_set_identifier(text: str, parts: tuple[Any, ...]) -> None:
    assert parse_record_id(text) == parts
    zone, name, rtype, set_id = parts
    assert record_id(zone, name, rtype, set_id).lower() == text.lower().replace("com._", "com_")


@pytest.mark.parametrize("text", ["Z1", "Z1_www.example.com", "Z1_www.example.com_BOGUS", "_www_A"])
def test_a_record_import_id_without_a_type_is_refused(text: str) -> None:
    from relight.providers.framework import CallError

    with pytest.raises(CallError, match="ZONEID_NAME_TYPE"):
        parse_record_id(text)


# -- security group rules on the local cloud -----------------------------------------------


def test_a_prefix_list_rule_that_lost_its_description_stands_for_the_described_one() -> None:
    wanted = {("tcp", 443, 443, "prefix", "pl-1", "s3"), ("tcp", 443, 443, "cidr", "10.0.0.0/8", "vpc")}
    live = {("tcp", 443, 443, "prefix", "pl-1", ""), ("tcp", 443, 443, "cidr", "10.0.0.0/8", "vpc")}
    assert restore_prefix_descriptions(live, wanted) == wanted
    # only prefix-list atoms, and only an exact match apart from the description
    other = {("tcp", 80, 80, "prefix", "pl-1", ""), ("tcp", 443, 443, "cidr", "10.0.0.0/8", "")}
    assert restore_prefix_descriptions(other, wanted) == other


# -- which gaps a plan asks the local cloud for --------------------------------------------

GAPS = {g.what: g for g in (*INSTANCE_GAPS, *VPC_GAPS, *RECORD_GAPS)}

# (gap, planned, prior) -> asks
ASKS: list[tuple[str, dict[str, Any], Any, bool]] = [
    ("CPU options", {"cpu_options": [{"core_count": 2, "threads_per_core": UNKNOWN, "amd_sev_snp": UNKNOWN}]}, None, True),
    ("CPU options", {"cpu_options": UNKNOWN}, None, False),
    ("CPU options", {"cpu_options": [{"core_count": 2}]}, {"cpu_options": [{"core_count": 2}]}, False),
    ("dedicated tenancy", {"tenancy": "dedicated"}, None, True),
    ("dedicated tenancy", {"tenancy": "default"}, None, False),
    ("dedicated tenancy", {"tenancy": UNKNOWN}, None, False),
    ("changing monitoring in place", {"monitoring": True}, None, False),  # a launch sets it
    ("changing monitoring in place", {"monitoring": True}, {"monitoring": False}, True),
    ("changing monitoring in place", {"monitoring": True}, {"monitoring": True}, False),
    ("credit specifications", {"credit_specification": [{"cpu_credits": "unlimited"}]}, None, True),
    ("credit specifications", {"credit_specification": []}, None, False),
    ("EBS throughput", {"ebs_block_device": [{"device_name": "/dev/sdb", "throughput": 250}]}, None, True),
    ("EBS throughput", {"ebs_block_device": [{"device_name": "/dev/sdb", "throughput": UNKNOWN}]}, None, False),
    ("IPv6 CIDR blocks from IPAM pools", {"ipv6_ipam_pool_id": "ipam-pool-1"}, None, True),
    ("IPv6 CIDR blocks from IPAM pools", {"ipv6_ipam_pool_id": None}, None, False),
    ("IPv6 network border groups", {"ipv6_cidr_block_network_border_group": "us-east-1"}, None, True),
    ("geoproximity routing", {"geoproximity_routing_policy": [{"aws_region": "us-east-1"}]}, None, True),
    ("CIDR routing", {"cidr_routing_policy": []}, None, False),
]


@pytest.mark.parametrize(("gap", "planned", "prior", "asks"), ASKS)
def test_a_plan_asks_the_local_cloud_for_a_gap_only_when_it_uses_or_changes_it(
    gap: str, planned: dict[str, Any], prior: Any, asks: bool
) -> None:
    assert GAPS[gap].asks(planned, prior) is asks


@pytest.mark.parametrize("emulator", [None, "moto 5.2.5"])
def test_gaps_are_said_and_kept_only_on_the_local_cloud(monkeypatch: pytest.MonkeyPatch, emulator: Any) -> None:
    """On AWS (no local cloud mark) nothing is said and what AWS reports is the truth."""
    from relight.providers.aws import AwsProvider
    from relight.providers.aws._api import AwsApi
    from relight.providers.aws._gaps import keep_gaps
    from relight.providers.base import ConfigureRequest, PlanRequest, ProviderContext

    monkeypatch.setattr(AwsApi, "emulator", lambda self: emulator)
    env = {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    provider = AwsProvider(ProviderContext(env))
    assert not provider.configure(ConfigureRequest({})).diagnostics.has_errors
    schema = provider.schema().resources["aws_instance"]
    config: dict[str, Any] = {name: None for name in schema.attributes} | {name: [] for name in schema.blocks}
    config |= {"ami": "ami-1", "instance_type": "t3.micro", "tenancy": "dedicated",
               "cpu_options": [{"core_count": 1, "threads_per_core": 1, "amd_sev_snp": None}]}  # fmt: skip
    resp = provider.plan_change(PlanRequest("aws_instance", None, config, config))
    said = sorted(d.summary for d in resp.diagnostics)
    expected = [] if emulator is None else [
        "The local cloud does not implement CPU options: planned, not applied",
        "The local cloud does not implement dedicated tenancy: planned, not applied",
    ]  # fmt: skip
    assert said == expected
    recorded = {"tenancy": "dedicated", "cpu_options": [{"core_count": 1, "threads_per_core": 1, "amd_sev_snp": None}]}
    read = {"tenancy": "default", "cpu_options": []}
    api = provider.api
    assert api is not None
    kept = keep_gaps(api, INSTANCE_GAPS, dict(read), recorded)
    assert kept == (read if emulator is None else recorded)
