"""The pure parts of ``aws_instance``: the nested blocks' schemas, how they are planned, sent and
read, argument checks, and the conversions to and from AWS's launch and describe shapes.

Terraform's provider makes these blocks "optional and computed": a block (or a setting in it)
the configuration leaves out is whatever AWS chose, and planning keeps the recorded value
instead of proposing to remove it. :func:`plan_block` does that for the max-one blocks
(``root_block_device``, ``cpu_options``, ``credit_specification``, ``metadata_options``) and
:func:`plan_ebs_devices` for the ``ebs_block_device`` set (keyed by ``device_name``). Both say
whether a configured value differs from the recorded one; the caller decides what that means
(a replacement, or an in-place change).

All functions here are pure: they work on plain values and AWS's answers, no calls.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from relight.providers.base import Attribute, BlockType, Schema
from relight.providers.framework import CallError
from relight.values import UNKNOWN, Value, is_wholly_known, strip_unknown

__all__ = [
    "CPU",
    "CREDIT",
    "EBS_DEVICE",
    "METADATA",
    "ROOT",
    "burstable",
    "check_choices",
    "cpu_from_aws",
    "cpu_to_aws",
    "ebs_devices_from_aws",
    "ebs_devices_to_aws",
    "metadata_from_aws",
    "metadata_to_aws",
    "plan_block",
    "plan_ebs_devices",
]

ROOT = Schema(
    attributes={
        "volume_size": Attribute("number", optional=True, computed=True),
        "volume_type": Attribute("string", optional=True, computed=True),
        "delete_on_termination": Attribute("bool", optional=True, default=True),
        "encrypted": Attribute("bool", optional=True, computed=True),
        "device_name": Attribute("string", computed=True),
        "volume_id": Attribute("string", computed=True),
    }
)
CPU = Schema(
    attributes={
        "amd_sev_snp": Attribute("string", optional=True, computed=True),
        "core_count": Attribute("number", optional=True, computed=True),
        "threads_per_core": Attribute("number", optional=True, computed=True),
    }
)
CREDIT = Schema(attributes={"cpu_credits": Attribute("string", optional=True, computed=True)})
METADATA = Schema(
    attributes={
        "http_endpoint": Attribute("string", optional=True, computed=True),
        "http_protocol_ipv6": Attribute("string", optional=True, computed=True),
        "http_put_response_hop_limit": Attribute("number", optional=True, computed=True),
        "http_tokens": Attribute("string", optional=True, computed=True),
        "instance_metadata_tags": Attribute("string", optional=True, computed=True),
    }
)
EBS_DEVICE = Schema(
    attributes={
        "device_name": Attribute("string", required=True),
        "delete_on_termination": Attribute("bool", optional=True, default=True),
        "encrypted": Attribute("bool", optional=True, computed=True),
        "iops": Attribute("number", optional=True, computed=True),
        "kms_key_id": Attribute("string", optional=True, computed=True),
        "snapshot_id": Attribute("string", optional=True, computed=True),
        "throughput": Attribute("number", optional=True, computed=True),
        "volume_size": Attribute("number", optional=True, computed=True),
        "volume_type": Attribute("string", optional=True, computed=True),
        "volume_id": Attribute("string", computed=True),
        "tags": Attribute("map", element="string", optional=True),
    }
)
BLOCKS = {
    "root_block_device": BlockType(ROOT, nesting="list", max_items=1),
    "ebs_block_device": BlockType(EBS_DEVICE, nesting="set"),
    "cpu_options": BlockType(CPU, nesting="list", max_items=1),
    "credit_specification": BlockType(CREDIT, nesting="list", max_items=1),
    "metadata_options": BlockType(METADATA, nesting="list", max_items=1),
}

# (block or None for a top-level attribute, attribute) -> the values AWS accepts
_CHOICES: dict[tuple[str | None, str], tuple[str, ...]] = {
    (None, "tenancy"): ("default", "dedicated", "host"),
    ("cpu_options", "amd_sev_snp"): ("enabled", "disabled"),
    ("credit_specification", "cpu_credits"): ("standard", "unlimited"),
    ("metadata_options", "http_endpoint"): ("enabled", "disabled"),
    ("metadata_options", "http_protocol_ipv6"): ("enabled", "disabled"),
    ("metadata_options", "http_tokens"): ("optional", "required"),
    ("metadata_options", "instance_metadata_tags"): ("enabled", "disabled"),
    ("ebs_block_device", "volume_type"): ("gp2", "gp3", "io1", "io2", "sc1", "st1", "standard"),
}
_BURSTABLE = re.compile(r"^t\d[a-z]*\.")  # T2, T3, T3a, T4g: the burstable families


def burstable(instance_type: Value) -> bool:
    """Whether an instance type earns CPU credits (only those take a credit specification)."""
    return isinstance(instance_type, str) and bool(_BURSTABLE.match(instance_type))


def check_choices(config: Mapping[str, Value]) -> tuple[tuple[str | int, ...], str] | None:
    """The first setting with a value AWS does not accept: (attribute path, message)."""
    for (block, name), allowed in _CHOICES.items():
        items = [config] if block is None else config.get(block)
        for index, item in enumerate(items if isinstance(items, list) else []):
            value = item.get(name) if isinstance(item, dict) else None
            if isinstance(value, str) and value not in allowed:
                path: tuple[str | int, ...] = (name,) if block is None else (block, index, name)
                return path, f'expected {name} to be one of [{", ".join(allowed)}], got "{value}".'
    hops = config.get("metadata_options")
    for index, item in enumerate(hops if isinstance(hops, list) else []):
        hop = item.get("http_put_response_hop_limit") if isinstance(item, dict) else None
        if isinstance(hop, int | float) and not 1 <= hop <= 64:
            path = ("metadata_options", index, "http_put_response_hop_limit")
            return path, f"expected http_put_response_hop_limit to be in the range (1 - 64), got {hop}."
    return None


# -- planning ------------------------------------------------------------------------------


def plan_block(schema: Schema, given: Value, prior: Value, creating: bool) -> tuple[Value, bool]:
    """A max-one optional-and-computed block: (planned value, whether a configured setting
    differs from the recorded one).

    Not configured: the recorded block (unchanged), or on a create the AWS-chosen one (unknown
    settings, defaults where the schema has them). Configured: each setting as given, else its
    default, else the recorded value (or unknown on a create)."""
    before = prior[0] if isinstance(prior, list) and prior and isinstance(prior[0], dict) else None
    if given is UNKNOWN:
        return UNKNOWN, not creating
    block = given[0] if isinstance(given, list) and given else None
    if block is None:
        if not creating:
            return (list(prior) if isinstance(prior, list) else []), False
        return [{k: (UNKNOWN if a.computed else a.default) for k, a in schema.attributes.items()}], False
    out: dict[str, Value] = {}
    changed = False
    for key, attr in schema.attributes.items():
        value = _whole(block.get(key))
        if value is None and attr.default is not None:
            value = attr.default
        if value is None:
            value = before.get(key) if before is not None else (UNKNOWN if attr.computed else None)
        elif not creating and (before is None or _whole(before.get(key)) != value):
            changed = True
        out[key] = value
    return [out], changed


def plan_ebs_devices(given: Value, prior: Value, creating: bool) -> tuple[Value, bool]:
    """The ``ebs_block_device`` set: (planned devices sorted by name, whether the configured
    devices differ from the recorded ones, tags aside: a device's tags change in place).

    Not configured: the recorded devices, or none on a create (AWS adds the image's own devices,
    which are read back)."""
    if given is UNKNOWN or not is_wholly_known(given):
        return UNKNOWN, not creating
    devices = [d for d in given if isinstance(d, dict)] if isinstance(given, list) else []
    recorded = {str(d.get("device_name")): d for d in prior if isinstance(d, dict)} if isinstance(prior, list) else {}
    if not devices:
        return ([] if creating else sorted(recorded.values(), key=_device_key)), False
    changed = not creating and sorted(str(d.get("device_name")) for d in devices) != sorted(recorded)
    out = []
    for device in devices:
        before = recorded.get(str(device.get("device_name"))) if not creating else None
        planned: dict[str, Value] = {}
        for key, attr in EBS_DEVICE.attributes.items():
            value = _whole(device.get(key))
            if key == "tags":
                planned[key] = dict(value) if value else None
                continue
            if value is None and attr.default is not None:
                value = attr.default
            if value is None:
                value = (before or {}).get(key) if before is not None else (UNKNOWN if attr.computed else None)
            elif before is not None and _whole(before.get(key)) != value:
                changed = True
            planned[key] = value
        out.append(planned)
    return sorted(out, key=_device_key), changed


# -- to AWS --------------------------------------------------------------------------------


def cpu_to_aws(blocks: Value) -> dict[str, Any] | None:
    """RunInstances ``CpuOptions`` from the planned block (its known settings), or None."""
    block = _first(blocks)
    keys = (("core_count", "CoreCount"), ("threads_per_core", "ThreadsPerCore"), ("amd_sev_snp", "AmdSevSnp"))
    out = {aws: (int(block[k]) if k != "amd_sev_snp" else block[k]) for k, aws in keys if _known(block.get(k))}
    return out or None


def metadata_to_aws(blocks: Value) -> dict[str, Any] | None:
    """``MetadataOptions`` from the planned block: the known settings (as Terraform sends them,
    the others only while the endpoint is enabled)."""
    block = _first(blocks)
    keys = (
        ("http_endpoint", "HttpEndpoint"),
        ("http_protocol_ipv6", "HttpProtocolIpv6"),
        ("http_put_response_hop_limit", "HttpPutResponseHopLimit"),
        ("http_tokens", "HttpTokens"),
        ("instance_metadata_tags", "InstanceMetadataTags"),
    )
    out: dict[str, Any] = {}
    for key, aws in keys:
        value: Any = block.get(key)
        if _known(value):
            out[aws] = int(value) if key == "http_put_response_hop_limit" else str(value)
    if out.get("HttpEndpoint") == "disabled":
        out = {"HttpEndpoint": "disabled"}
    return out or None


def ebs_devices_to_aws(devices: Value) -> list[dict[str, Any]]:
    """BlockDeviceMappings for the planned ``ebs_block_device`` devices."""
    out = []
    for device in devices if isinstance(devices, list) else []:
        ebs: dict[str, Any] = {"DeleteOnTermination": device.get("delete_on_termination") is not False}
        for key, aws in (
            ("snapshot_id", "SnapshotId"),
            ("kms_key_id", "KmsKeyId"),
            ("volume_type", "VolumeType"),
        ):
            if _known(device.get(key)):
                ebs[aws] = str(device[key])
        for key, aws in (("volume_size", "VolumeSize"), ("iops", "Iops"), ("throughput", "Throughput")):
            if _known(device.get(key)) and device[key]:
                ebs[aws] = int(device[key])
        if device.get("encrypted") is True:
            ebs["Encrypted"] = True
        out.append({"DeviceName": str(device["device_name"]), "Ebs": ebs})
    return out


# -- from AWS ------------------------------------------------------------------------------


def cpu_from_aws(options: Mapping[str, Any] | None) -> list[dict[str, Value]]:
    if not options:
        return []
    return [
        {
            "amd_sev_snp": options.get("AmdSevSnp"),
            "core_count": options.get("CoreCount"),
            "threads_per_core": options.get("ThreadsPerCore"),
        }
    ]


def metadata_from_aws(options: Mapping[str, Any] | None) -> list[dict[str, Value]]:
    if not options:
        return []
    return [
        {
            "http_endpoint": options.get("HttpEndpoint"),
            "http_protocol_ipv6": options.get("HttpProtocolIpv6"),
            "http_put_response_hop_limit": options.get("HttpPutResponseHopLimit"),
            "http_tokens": options.get("HttpTokens"),
            "instance_metadata_tags": options.get("InstanceMetadataTags"),
        }
    ]


def ebs_devices_from_aws(
    mappings: Iterable[Mapping[str, Any]],
    root_device: str | None,
    volumes: Mapping[str, Mapping[str, Any]],
    recorded: Value,
    volume_tags_set: bool,
) -> list[dict[str, Value]]:
    """The instance's non-root EBS devices as ``ebs_block_device``: those the recorded object
    names (volumes attached later by ``aws_volume_attachment`` are not this instance's), or all
    of them when nothing is recorded (an import). A device's ``tags`` are its volume's, unless
    the instance manages ``volume_tags`` for all its volumes."""
    names = {str(d.get("device_name")) for d in recorded if isinstance(d, dict)} if isinstance(recorded, list) else None
    out = []
    for mapping in mappings:
        device, ebs = str(mapping.get("DeviceName")), mapping.get("Ebs")
        if not ebs or device == root_device or (names is not None and device not in names):
            continue
        vol = volumes.get(str(ebs.get("VolumeId")), {})
        tags = {str(t["Key"]): str(t.get("Value", "")) for t in vol.get("Tags") or () if not _internal(t["Key"])}
        out.append(
            {
                "device_name": device,
                "delete_on_termination": bool(ebs.get("DeleteOnTermination", True)),
                "encrypted": bool(vol.get("Encrypted", False)),
                "iops": vol.get("Iops"),
                "kms_key_id": vol.get("KmsKeyId"),
                "snapshot_id": vol.get("SnapshotId") or None,
                "throughput": vol.get("Throughput"),
                "volume_size": vol.get("Size"),
                "volume_type": vol.get("VolumeType"),
                "volume_id": ebs.get("VolumeId"),
                "tags": None if volume_tags_set else (tags or None),
            }
        )
    return sorted(out, key=_device_key)


def keep_throughput(state: dict[str, Value], base: Mapping[str, Value]) -> None:
    """Put back each device's recorded ``throughput`` (the local cloud does not report it)."""
    recorded = {str(d.get("device_name")): d for d in base.get("ebs_block_device") or () if isinstance(d, dict)}
    for device in state.get("ebs_block_device") or ():
        before = recorded.get(str(device.get("device_name")))
        if before is not None and _known(before.get("throughput")):
            device["throughput"] = before["throughput"]


def keep_recorded(name: str) -> Any:
    """A gap's ``keep``: the recorded block, with settings known only after apply as null."""

    def keep(state: dict[str, Value], base: Mapping[str, Value]) -> None:
        state[name] = strip_unknown(base.get(name))

    return keep


def check_arguments(planned: Mapping[str, Value], config: Mapping[str, Value]) -> None:
    ip = planned.get("private_ip")
    if isinstance(ip, str):
        try:
            ipaddress.IPv4Address(ip)
        except ValueError:
            raise CallError(
                f"Invalid private_ip {ip!r}",
                "private_ip must be an IPv4 address such as 10.0.1.10.",
                attribute=("private_ip",),
            ) from None
    wrong = check_choices(config)
    if wrong is not None:
        path, message = wrong
        raise CallError(f"Invalid value for {path[-1]}", message, attribute=path)
    devices = config.get("ebs_block_device")
    tagged = isinstance(devices, list) and any(isinstance(d, dict) and d.get("tags") for d in devices)
    if config.get("volume_tags") and tagged:
        raise CallError(
            "Conflicting configuration arguments",
            '"volume_tags": conflicts with ebs_block_device.tags (tag the volumes one way or the other)',
            attribute=("volume_tags",),
        )


def credit_ignored(planned: Mapping[str, Value], config: Mapping[str, Value]) -> bool:
    kind = planned.get("instance_type")
    return bool(config.get("credit_specification")) and isinstance(kind, str) and not burstable(kind)


def credits_to_aws(p: Mapping[str, Value]) -> dict[str, Any] | None:
    block = (p.get("credit_specification") or [None])[0]
    credits = block.get("cpu_credits") if isinstance(block, dict) else None
    if not isinstance(credits, str) or not burstable(p.get("instance_type")):
        return None
    return {"CpuCredits": credits}


def network_params(p: Mapping[str, Value]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    groups = [g for g in p.get("vpc_security_group_ids") or [] if g is not UNKNOWN]
    subnet = p.get("subnet_id")
    if subnet not in (None, UNKNOWN):
        nic: dict[str, Any] = {"DeviceIndex": 0, "SubnetId": subnet, "DeleteOnTermination": True}
        if p.get("private_ip") not in (None, UNKNOWN):
            nic["PrivateIpAddress"] = p["private_ip"]
        if groups:
            nic["Groups"] = groups
        if p.get("associate_public_ip_address") not in (None, UNKNOWN):
            nic["AssociatePublicIpAddress"] = bool(p["associate_public_ip_address"])
        params["NetworkInterfaces"] = [nic]
        return params
    if groups:
        params["SecurityGroupIds"] = groups
    if p.get("availability_zone") not in (None, UNKNOWN):
        params["Placement"] = {"AvailabilityZone": p["availability_zone"]}
    return params


def root_device(inst: Mapping[str, Any]) -> str | None:
    mappings = inst.get("BlockDeviceMappings", [])
    root_name = inst.get("RootDeviceName")
    if any(m.get("DeviceName") == root_name for m in mappings):
        return str(root_name)
    # the emulator mounts every root at /dev/sda1, whatever the image says
    return next((str(m["DeviceName"]) for m in mappings if m.get("DeviceName") in ("/dev/sda1", "/dev/xvda")), None)


def root_state(
    inst: Mapping[str, Any], root_name: str | None, volumes: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Value]]:
    mapping = next((m for m in inst.get("BlockDeviceMappings", []) if m.get("DeviceName") == root_name), None)
    if mapping is None or root_name is None:
        return []
    volume_id = mapping["Ebs"]["VolumeId"]
    vol = volumes.get(volume_id, {})
    return [
        {
            "volume_size": vol.get("Size"),
            "volume_type": vol.get("VolumeType"),
            "delete_on_termination": bool(mapping["Ebs"].get("DeleteOnTermination", True)),
            "encrypted": bool(vol.get("Encrypted", False)),
            "device_name": root_name,
            "volume_id": volume_id,
        }
    ]


def launched_volumes(obj: Mapping[str, Value]) -> list[str]:
    found = [b.get("volume_id") for b in obj.get("root_block_device") or () if isinstance(b, dict)]
    found += [d.get("volume_id") for d in obj.get("ebs_block_device") or () if isinstance(d, dict)]
    return [str(v) for v in found if v]


def profile_name(profile: Mapping[str, Any] | None) -> str | None:
    """``arn:aws:iam::123:instance-profile/path/name`` -> ``name``."""
    arn = str((profile or {}).get("Arn") or "")
    return arn.rsplit("/", 1)[-1] if "instance-profile/" in arn else None


def script_bytes(script: Value) -> bytes:
    """The bytes AWS holds for ``user_data`` (relight sends the script as it is written)."""
    return script.encode("utf-8") if isinstance(script, str) else b""


def _first(blocks: Value) -> dict[str, Any]:
    return blocks[0] if isinstance(blocks, list) and blocks and isinstance(blocks[0], dict) else {}


def _known(value: Value) -> bool:
    return value is not None and value is not UNKNOWN


def _whole(value: Value) -> Value:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _device_key(device: Mapping[str, Value]) -> str:
    return str(device.get("device_name"))


def _internal(key: str) -> bool:
    return key.startswith("relight:")
