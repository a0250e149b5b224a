"""Our AWS types as Terraform's AWS provider (v5) stores them in its state.

relight's ``aws_*`` types use the attribute names of Terraform's AWS provider but model fewer
attributes. Each :class:`TerraformShape` below lists, for one type, how the provider's state
differs from ours; :mod:`relight.providers.tfcompat` does the conversion and keeps whatever it
cannot rebuild, so a stack adopted from Terraform goes back with Terraform's values. The
differences, and how they are mapped:

* **Schema versions.** The provider versions its schemas (``aws_instance`` 1, ``aws_vpc`` 1,
  ``aws_route53_record`` 2, ...). relight reads the versions that v3 to v5 of the provider
  write (and v6's for ``aws_instance``, which moved to 2); an older version is refused, naming it.
* **Attributes relight does not model** (``timeouts``, ``capacity_reservation_specification``,
  ``enclave_options``, ``alias`` of a record, ...) are listed in ``only``
  with the value the provider stores when they are unset. Real values are kept beside the
  object and handed back; for objects relight creates, these unset values are written, and
  Terraform's next refresh fills in what AWS reports.
* **"Not set".** The provider's plugin SDK stores an unset optional string as ``""`` and a
  number as ``0`` (``key_name = ""``, ``datapoints_to_alarm = 0``), where relight stores null;
  ``zero_is_null`` maps those both ways. Empty ``tags`` are ``{}`` there and null here.
* **``tags_all``** is ``tags`` merged with the provider's ``default_tags``, in both (relight
  models it on every tagged type); nested ``tags_all`` of block devices is Terraform-only.
* **Nested "not set"** is the same story one level down (``nested_zero_is_null``): an unset
  ``amd_sev_snp`` of ``cpu_options`` is ``""`` there, an unset ``bias`` of a geoproximity
  policy ``0``.
* **``aws_ebs_volume.final_snapshot``** defaults to false in Terraform and to true in relight
  (snapshot before destroy). Terraform's ``false`` reads as "not set", so an adopted volume gets
  relight's default and the adoption plans nothing; relight's default goes back as Terraform's
  ``false``. An explicit ``true`` is kept either way.
* **``aws_instance.user_data``** is stored by the provider as the SHA-1 of the script (of its
  base64-decoded bytes when it is base64). An adopted instance keeps the hash; relight's plan
  treats a script whose hash matches it as unchanged, and writes scripts back hashed.
* **Private data.** The provider keeps its default timeouts and schema version in an object's
  private data; relight writes the same for objects it created.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from relight.providers.tfcompat import TerraformShape, timeouts_private
from relight.values import Value

__all__ = [
    "AMI_DATA",
    "EBS_SNAPSHOT",
    "EBS_SNAPSHOT_DATA",
    "EBS_VOLUME",
    "INSTANCE",
    "METRIC_ALARM",
    "ROUTE53_RECORD",
    "ROUTE53_ZONE",
    "SECURITY_GROUP",
    "SUBNET",
    "VOLUME_ATTACHMENT",
    "VPC",
    "is_user_data_hash",
    "user_data_hash",
]

_V5 = "as Terraform's AWS provider v3 to v6 writes them"
_HASH = re.compile(r"^[0-9a-f]{40}$")


def user_data_hash(script: str) -> str:
    """What the provider stores for ``user_data``: the hex SHA-1 of the script's bytes (decoded
    first when the script is base64, as the provider does)."""
    try:
        raw = base64.b64decode(script, validate=True)
    except (binascii.Error, ValueError):
        raw = script.encode("utf-8")
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()


def is_user_data_hash(value: Value) -> bool:
    return isinstance(value, str) and bool(_HASH.match(value))


def _user_data_out(tf: dict[str, Value], attrs: Mapping[str, Value]) -> None:
    script = attrs.get("user_data")
    if isinstance(script, str) and not is_user_data_hash(script):
        tf["user_data"] = user_data_hash(script)


def _final_snapshot_in(attrs: dict[str, Value], tf: Mapping[str, Value]) -> None:
    # Terraform's default (false) reads as "not set": relight's default applies.
    attrs["final_snapshot"] = True


def _final_snapshot_out(tf: dict[str, Value], attrs: Mapping[str, Value]) -> None:
    # relight's default goes back as Terraform's; the explicit true a Terraform state held is
    # restored from what adoption kept.
    tf["final_snapshot"] = False


VPC = TerraformShape(
    version=1,
    readable=frozenset({1}),
    source=_V5,
    zero_is_null=frozenset(
        {"tags", "ipv6_association_id", "ipv6_cidr_block", "ipv6_cidr_block_network_border_group"}
        | {"ipv6_ipam_pool_id", "ipv6_netmask_length"}
    ),
    private=timeouts_private(1),
    only={
        "default_network_acl_id": "",
        "default_route_table_id": "",
        "dhcp_options_id": "",
        "enable_network_address_usage_metrics": False,
        "ipv4_ipam_pool_id": None,
        "ipv4_netmask_length": None,
    },
)

SUBNET = TerraformShape(
    version=1,
    readable=frozenset({1}),
    source=_V5,
    zero_is_null=frozenset({"tags"}),
    private=timeouts_private(1, create=10, delete=20),
    only={
        "assign_ipv6_address_on_creation": False,
        "availability_zone_id": "",
        "customer_owned_ipv4_pool": "",
        "enable_dns64": False,
        "enable_lni_at_device_index": 0,
        "enable_resource_name_dns_a_record_on_launch": False,
        "enable_resource_name_dns_aaaa_record_on_launch": False,
        "ipv6_cidr_block": "",
        "ipv6_cidr_block_association_id": "",
        "ipv6_native": False,
        "map_customer_owned_ip_on_launch": False,
        "outpost_arn": "",
        "private_dns_hostname_type_on_launch": "ip-name",
        "timeouts": None,
    },
)

SECURITY_GROUP = TerraformShape(
    version=1,
    readable=frozenset({1}),
    source=_V5,
    zero_is_null=frozenset({"tags", "name_prefix"}),
    private=timeouts_private(1, create=10, delete=15),
    only={"timeouts": None},
)

_INSTANCE_ONLY: dict[str, Value] = {
    "capacity_reservation_specification": [],
    "cpu_core_count": 0,
    "cpu_threads_per_core": 0,
    "disable_api_stop": False,
    "disable_api_termination": False,
    "enable_primary_ipv6": None,
    "enclave_options": [],
    "ephemeral_block_device": [],
    "get_password_data": False,
    "hibernation": False,
    "host_id": "",
    "host_resource_group_arn": None,
    "instance_initiated_shutdown_behavior": "stop",
    "instance_lifecycle": "",
    "instance_market_options": [],
    "ipv6_address_count": 0,
    "ipv6_addresses": [],
    "launch_template": [],
    "maintenance_options": [],
    "network_interface": [],
    "outpost_arn": "",
    "password_data": "",
    "placement_group": "",
    "placement_partition_number": 0,
    "private_dns_name_options": [],
    "secondary_private_ips": [],
    "security_groups": [],
    "spot_instance_request_id": "",
    "timeouts": None,
    "user_data_base64": None,
}

INSTANCE = TerraformShape(
    version=1,
    readable=frozenset({1, 2}),
    source=_V5,
    zero_is_null=frozenset({"tags", "key_name", "public_ip", "public_dns", "iam_instance_profile"}),
    private=timeouts_private(1, create=10, update=10, delete=20, read=15),
    nested_only={
        "root_block_device": {"iops": 0, "kms_key_id": "", "tags": {}, "tags_all": {}, "throughput": 0},
        "ebs_block_device": {"tags_all": {}},
    },
    nested_zero_is_null={
        "cpu_options": frozenset({"amd_sev_snp"}),
        "ebs_block_device": frozenset({"iops", "kms_key_id", "snapshot_id", "tags", "throughput"}),
    },
    only=_INSTANCE_ONLY,
    hook_out=_user_data_out,
)

EBS_VOLUME = TerraformShape(
    source=_V5,
    zero_is_null=frozenset({"tags", "kms_key_id", "snapshot_id", "throughput", "iops"}),
    private=timeouts_private(0, create=5, update=5, delete=10),
    only={"multi_attach_enabled": False, "outpost_arn": "", "timeouts": None},
    hook_in=_final_snapshot_in,
    hook_out=_final_snapshot_out,
)

VOLUME_ATTACHMENT = TerraformShape(
    source=_V5,
    private=timeouts_private(0, create=5, delete=5),
    only={"timeouts": None},
)

EBS_SNAPSHOT = TerraformShape(
    source=_V5,
    zero_is_null=frozenset({"tags", "description", "kms_key_id"}),
    private=timeouts_private(0, create=10, delete=10),
    only={
        "data_encryption_key_id": "",
        "outpost_arn": "",
        "owner_alias": "",
        "permanent_restore": None,
        "storage_tier": "standard",
        "temporary_restore_days": None,
        "timeouts": None,
    },
)

METRIC_ALARM = TerraformShape(
    version=1,
    readable=frozenset({1}),
    source=_V5,
    zero_is_null=frozenset(
        {"tags", "alarm_description", "datapoints_to_alarm", "extended_statistic", "metric_name", "namespace"}
        | {"statistic", "unit", "evaluate_low_sample_count_percentiles", "threshold_metric_id"}
    ),
    private=timeouts_private(1),
    nested_zero_is_null={
        "metric_query": frozenset({"account_id", "expression", "label", "period"}),
        "metric_query.metric": frozenset({"dimensions", "namespace", "unit"}),
    },
)

ROUTE53_ZONE = TerraformShape(
    source=_V5,
    zero_is_null=frozenset({"tags", "delegation_set_id", "primary_name_server"}),
)

ROUTE53_RECORD = TerraformShape(
    version=2,
    readable=frozenset({2}),
    source=_V5,
    zero_is_null=frozenset({"ttl", "set_identifier", "health_check_id"}),
    private=timeouts_private(2, create=30, update=30, delete=30),
    nested_zero_is_null={
        "geolocation_routing_policy": frozenset({"continent", "country", "subdivision"}),
        "geoproximity_routing_policy": frozenset({"aws_region", "local_zone_group"}),
    },
    only={"alias": [], "timeouts": None},
)

_IMAGE_ONLY: dict[str, Any] = {
    "block_device_mappings": [],
    "boot_mode": "",
    "deprecation_time": "",
    "ena_support": False,
    "hypervisor": "",
    "image_location": "",
    "image_owner_alias": "",
    "image_type": "machine",
    "imds_support": "",
    "include_deprecated": False,
    "kernel_id": "",
    "platform": "",
    "platform_details": "",
    "product_codes": [],
    "public": False,
    "ramdisk_id": "",
    "root_snapshot_id": "",
    "sriov_net_support": "",
    "state_reason": {},
    "timeouts": None,
    "tpm_support": "",
    "uefi_data": None,
    "usage_operation": "",
}

AMI_DATA = TerraformShape(source=_V5, only=_IMAGE_ONLY)

EBS_SNAPSHOT_DATA = TerraformShape(
    source=_V5,
    zero_is_null=frozenset({"description", "kms_key_id"}),
    only={
        "data_encryption_key_id": "",
        "outpost_arn": "",
        "owner_alias": "",
        "storage_tier": "standard",
        "timeouts": None,
    },
)
