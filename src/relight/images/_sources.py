"""The ``source "amazon-ebs" "NAME"`` block: the arguments relight builds with, checked and typed.

Each argument Packer's amazon-ebs builder documents is in one of three tables: those relight
implements (with their type), those it accepts because they change nothing here (credentials
and endpoints come from the run's environment, as for the ``aws`` provider), and those it does
not implement, which are errors at their line saying so. Anything else is an unknown argument.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from relight.diagnostics import Diagnostics, SourceRange
from relight.durations import parse_duration
from relight.lang import Block, Body, did_you_mean
from relight.values import UNKNOWN, Value

__all__ = ["AmazonEbs", "BlockDevice", "SourceAmiFilter", "decode_amazon_ebs", "typed"]

# name -> type: "string", "bool", "number", "list", "map", "duration"
_ARGS: Mapping[str, str] = {
    "ami_name": "string",
    "ami_description": "string",
    "instance_type": "string",
    "region": "string",
    "availability_zone": "string",
    "source_ami": "string",
    "subnet_id": "string",
    "vpc_id": "string",
    "security_group_id": "string",
    "security_group_ids": "list",
    "temporary_security_group_source_cidrs": "list",
    "communicator": "string",
    "ssh_username": "string",
    "ssh_port": "number",
    "ssh_timeout": "duration",
    "ssh_interface": "string",
    "ssh_private_key_file": "string",
    "ssh_keypair_name": "string",
    "temporary_key_pair_type": "string",
    "pause_before_connecting": "duration",
    "tags": "map",
    "run_tags": "map",
    "run_volume_tags": "map",
    "snapshot_tags": "map",
    "force_deregister": "bool",
    "force_delete_snapshot": "bool",
    "user_data": "string",
    "user_data_file": "string",
    "iam_instance_profile": "string",
    "associate_public_ip_address": "bool",
    "shutdown_behavior": "string",
    "ebs_optimized": "bool",
    "ena_support": "bool",
    "sriov_support": "bool",
    "skip_create_ami": "bool",
    "ami_virtualization_type": "string",
    "ssm_timeout": "duration",
}
# Accepted, and why they change nothing: settings that come from the run's environment.
_ENVIRONMENT = frozenset({
    "access_key", "secret_key", "token", "profile", "custom_endpoint_ec2", "skip_region_validation",
    "skip_credential_validation", "skip_metadata_api_check", "max_retries", "skip_profile_validation",
})  # fmt: skip
_NOT_IMPLEMENTED = frozenset({
    "ami_regions", "ami_users", "ami_groups", "ami_org_arns", "ami_ou_arns", "snapshot_users",
    "snapshot_groups", "encrypt_boot", "kms_key_id", "region_kms_key_ids", "spot_price",
    "spot_instance_types", "spot_price_auto_product", "spot_tags", "deprecate_at", "imds_support",
    "tpm_support", "boot_mode", "winrm_username", "winrm_password", "ssh_password", "ssh_bastion_host",
    "ssh_agent_auth", "decode_authorization_messages", "assume_role", "vault_aws_engine", "placement",
    "tenancy", "disable_stop_instance", "enable_unlimited_credits", "enable_nitro_enclave", "fleet_tags",
    "license_specifications", "capacity_reservation_preference", "aws_polling", "metadata_options",
    "subnet_filter", "vpc_filter", "security_group_filter", "launch_template_name", "run_volume_tags_block",
})  # fmt: skip
_BLOCKS = frozenset({"source_ami_filter", "launch_block_device_mappings", "ami_block_device_mappings"})
_BLOCK_NOT_IMPLEMENTED = frozenset(
    {
        "aws_polling",
        "metadata_options",
        "subnet_filter",
        "vpc_filter",
        "security_group_filter",
        "assume_role",
        "run_tag",
        "tag",
        "placement",
        "fleet_tag",
    }
)
_COMMUNICATORS = ("ssm", "ssh", "none")
_DEVICE_ARGS = {
    "device_name": "string", "volume_size": "number", "volume_type": "string", "delete_on_termination": "bool",
    "encrypted": "bool", "iops": "number", "throughput": "number", "snapshot_id": "string", "no_device": "bool",
    "virtual_name": "string", "kms_key_id": "string",
}  # fmt: skip


@dataclass(frozen=True)
class SourceAmiFilter:
    filters: Mapping[str, str]
    owners: tuple[str, ...]
    most_recent: bool


@dataclass(frozen=True)
class BlockDevice:
    device_name: str
    volume_size: int | None = None
    volume_type: str | None = None
    delete_on_termination: bool = True
    encrypted: bool | None = None
    iops: int | None = None
    throughput: int | None = None
    snapshot_id: str | None = None
    no_device: bool = False
    virtual_name: str | None = None
    kms_key_id: str | None = None

    def to_aws(self) -> dict[str, Any]:
        """This mapping as EC2's ``BlockDeviceMappings`` item."""
        if self.no_device:
            return {"DeviceName": self.device_name, "NoDevice": ""}
        if self.virtual_name:
            return {"DeviceName": self.device_name, "VirtualName": self.virtual_name}
        ebs: dict[str, Any] = {"DeleteOnTermination": self.delete_on_termination}
        for key, value in (
            ("VolumeSize", self.volume_size), ("VolumeType", self.volume_type), ("Encrypted", self.encrypted),
            ("Iops", self.iops), ("Throughput", self.throughput), ("SnapshotId", self.snapshot_id),
            ("KmsKeyId", self.kms_key_id),
        ):  # fmt: skip
            if value is not None:
                ebs[key] = value
        return {"DeviceName": self.device_name, "Ebs": ebs}


@dataclass(frozen=True)
class AmazonEbs:
    """One evaluated ``amazon-ebs`` source. ``communicator`` is ``ssm`` (SSM Run Command, the
    default), ``ssh`` or ``none`` (no provisioners allowed)."""

    name: str
    ami_name: str
    instance_type: str
    range: SourceRange
    type: str = "amazon-ebs"
    region: str | None = None
    availability_zone: str | None = None
    ami_description: str | None = None
    source_ami: str | None = None
    source_ami_filter: SourceAmiFilter | None = None
    subnet_id: str | None = None
    vpc_id: str | None = None
    security_group_ids: tuple[str, ...] = ()
    temporary_security_group_source_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    communicator: str = "ssm"
    ssh_username: str | None = None
    ssh_port: int = 22
    ssh_timeout: float = 300.0
    ssh_private_key_file: str | None = None
    ssh_keypair_name: str | None = None
    temporary_key_pair_type: str = "rsa"
    pause_before_connecting: float = 0.0
    ssm_timeout: float = 300.0
    tags: Mapping[str, str] = field(default_factory=dict)
    run_tags: Mapping[str, str] = field(default_factory=dict)
    run_volume_tags: Mapping[str, str] = field(default_factory=dict)
    snapshot_tags: Mapping[str, str] = field(default_factory=dict)
    force_deregister: bool = False
    force_delete_snapshot: bool = False
    user_data: str | None = None
    iam_instance_profile: str | None = None
    associate_public_ip_address: bool | None = None
    shutdown_behavior: str = "stop"
    ebs_optimized: bool = False
    ena_support: bool | None = None
    sriov_support: bool = False
    skip_create_ami: bool = False
    ami_virtualization_type: str | None = None
    launch_block_device_mappings: tuple[BlockDevice, ...] = ()
    ami_block_device_mappings: tuple[BlockDevice, ...] = ()

    def content_key(self) -> str:
        """The arguments that decide what is in the image (not its name, tags or instance type)."""
        keep = {
            "source_ami": self.source_ami,
            "source_ami_filter": None if self.source_ami_filter is None else asdict(self.source_ami_filter),
            "user_data": self.user_data,
            "launch_block_device_mappings": [asdict(d) for d in self.launch_block_device_mappings],
            "ami_block_device_mappings": [asdict(d) for d in self.ami_block_device_mappings],
        }
        return json.dumps(keep, sort_keys=True, default=str)


def decode_amazon_ebs(name: str, block: Block, scope: Any, diags: Diagnostics) -> AmazonEbs | None:
    """The source in ``block`` evaluated in ``scope`` (a PackerScope); None with errors."""
    body = block.body
    before = len(diags)
    _check_names(body, diags)
    values, d = body.evaluate(scope.scope())
    diags.extend(d)
    args: dict[str, Any] = {}
    for key, kind in _ARGS.items():
        if key in body.attributes:
            args[key] = typed(values.get(key), kind, key, body.attributes[key].range, diags)
    filt = _ami_filter(body, values, diags)
    devices = {
        k: _devices(body, values, k, diags) for k in ("launch_block_device_mappings", "ami_block_device_mappings")
    }
    for required in ("ami_name", "instance_type"):
        if not args.get(required):
            diags.error("Missing required argument", f'The amazon-ebs source "{name}" needs "{required}".', block.range)
    if not args.get("source_ami") and filt is None:
        diags.error(
            "Missing source image",
            f'The amazon-ebs source "{name}" needs source_ami or a source_ami_filter block.',
            block.range,
        )
    _communicator(body, args, diags)
    if "user_data_file" in args:
        args["user_data"] = _user_data_file(args.pop("user_data_file"), scope, body, diags)
    if "security_group_id" in args:
        args["security_group_ids"] = (args.pop("security_group_id"),)
    if len(diags) > before and diags.has_errors:
        return None
    return AmazonEbs(
        name=name,
        range=block.range,
        source_ami_filter=filt,
        launch_block_device_mappings=devices["launch_block_device_mappings"],
        ami_block_device_mappings=devices["ami_block_device_mappings"],
        **{k: tuple(v) if isinstance(v, list) else v for k, v in args.items() if v is not None},  # type: ignore[arg-type]
    )


# Accepted (real templates set them), not applied by relight's builder: a warning says so.
_NOT_APPLIED = {
    "associate_public_ip_address": "the instance gets the subnet's default",
    "ena_support": "the image keeps the source image's attribute",
    "sriov_support": "the image keeps the source image's attribute",
    "ami_virtualization_type": "the image keeps the source image's virtualization type",
}


def _check_names(body: Body, diags: Diagnostics) -> None:
    for attr in body.attributes.values():
        if attr.name in _NOT_APPLIED:
            diags.warning(
                "Argument not used",
                f'relight\'s amazon-ebs builder does not apply "{attr.name}" ({_NOT_APPLIED[attr.name]}). '
                "Remove it, or build with --with-packer.",
                attr.range,
            )
            continue
        if attr.name in _ARGS:
            continue
        if attr.name in _ENVIRONMENT:
            diags.warning(
                "Argument not used",
                f'relight takes credentials, retries and endpoints from the environment (AWS_PROFILE, '
                f'AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL...), as the aws provider does: "{attr.name}" here is not '
                "used. Remove it, or build with --with-packer.",
                attr.range,
            )
            continue
        if attr.name in _NOT_IMPLEMENTED:
            diags.error(
                "Not supported by relight",
                f'relight\'s amazon-ebs builder does not implement "{attr.name}"; remove it, or build '
                "with --with-packer.",
                attr.range,
            )
            continue
        hint = did_you_mean(attr.name, [*_ARGS, *_ENVIRONMENT])
        diags.error(
            "Unsupported argument",
            f'An argument named "{attr.name}" is not expected in an amazon-ebs source.{hint}',
            attr.range,
        )
    for nested in body.blocks:
        if nested.type in _BLOCKS:
            continue
        if nested.type in _BLOCK_NOT_IMPLEMENTED:
            diags.error(
                "Not supported by relight",
                f'relight\'s amazon-ebs builder does not implement "{nested.type}" blocks.',
                nested.range,
            )
            continue
        hint = did_you_mean(nested.type, _BLOCKS)
        diags.error(
            "Unsupported block type",
            f'Blocks of type "{nested.type}" are not expected in an amazon-ebs source.{hint}',
            nested.range,
        )


def typed(value: Value, kind: str, name: str, where: SourceRange, diags: Diagnostics) -> Any:
    """``value`` as ``kind`` (see ``_ARGS``); a mismatch is an error at ``where``."""
    if value is None or value is UNKNOWN:
        return None
    ok: Any = None
    if kind == "string" and isinstance(value, str | int | float) and not isinstance(value, bool):
        ok = str(value)
    elif kind == "bool" and isinstance(value, bool):
        ok = value
    elif kind == "bool" and value in ("true", "false"):
        ok = value == "true"
    elif (kind == "number" and isinstance(value, int | float) and not isinstance(value, bool)) or (
        kind == "number" and isinstance(value, str) and value.isdigit()
    ):
        ok = int(value)
    elif kind == "list" and isinstance(value, list):
        ok = [str(v) for v in value]
    elif kind == "map" and isinstance(value, dict):
        ok = {str(k): "" if v is None else str(v) for k, v in value.items()}
    elif kind == "duration" and isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            ok = parse_duration(str(value))
        except ValueError as exc:
            diags.error("Invalid duration", f'"{name}": {exc}.', where)
            return None
    if ok is None:
        diags.error("Invalid value", f'"{name}" must be a {kind}.', where)
    return ok


def _is_number(value: Value) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or (isinstance(value, str) and value.isdigit())


def _ami_filter(body: Body, values: Mapping[str, Value], diags: Diagnostics) -> SourceAmiFilter | None:
    blocks = body.blocks_of("source_ami_filter")
    if not blocks:
        return None
    block = blocks[0]
    if len(blocks) > 1:
        diags.error("Duplicate block", "Only one source_ami_filter block is allowed.", blocks[1].range)
    for attr in block.body.attributes.values():
        if attr.name not in ("filters", "owners", "most_recent"):
            diags.error(
                "Unsupported argument",
                f'An argument named "{attr.name}" is not expected in source_ami_filter.',
                attr.range,
            )
    for nested in block.body.blocks:
        diags.error(
            "Not supported by relight",
            f'"{nested.type}" blocks in source_ami_filter are not implemented; use filters = {{...}}.',
            nested.range,
        )
    raw = values.get("source_ami_filter")
    item = raw[0] if isinstance(raw, list) and raw and isinstance(raw[0], dict) else {}
    attrs = block.body.attributes
    filters = typed(item.get("filters"), "map", "filters", attrs["filters"].range, diags) if "filters" in attrs else {}
    owners = typed(item.get("owners"), "list", "owners", attrs["owners"].range, diags) if "owners" in attrs else []
    recent = (
        typed(item.get("most_recent"), "bool", "most_recent", attrs["most_recent"].range, diags)
        if "most_recent" in attrs
        else False
    )
    if not owners:
        diags.error(
            "Missing owners", 'source_ami_filter needs owners = [...] (an account id, "self" or "amazon").', block.range
        )
    return SourceAmiFilter(filters or {}, tuple(owners or ()), bool(recent))


def _devices(body: Body, values: Mapping[str, Value], key: str, diags: Diagnostics) -> tuple[BlockDevice, ...]:
    blocks = body.blocks_of(key)
    raw = values.get(key)
    items = raw if isinstance(raw, list) else []
    out: list[BlockDevice] = []
    for block, item in zip(blocks, items, strict=False):
        for attr in block.body.attributes.values():
            if attr.name not in _DEVICE_ARGS:
                diags.error(
                    "Unsupported argument", f'An argument named "{attr.name}" is not expected in {key}.', attr.range
                )
        args = {
            k: typed(item.get(k), kind, k, block.body.attributes[k].range, diags)
            for k, kind in _DEVICE_ARGS.items()
            if k in block.body.attributes and isinstance(item, dict)
        }
        if not args.get("device_name"):
            diags.error("Missing device_name", f"Each {key} block needs device_name.", block.range)
            continue
        out.append(BlockDevice(**{k: v for k, v in args.items() if v is not None}))
    return tuple(out)


def _communicator(body: Body, args: dict[str, Any], diags: Diagnostics) -> None:
    """SSM Run Command unless the template says ``communicator = "ssh"`` (or ``none``); Packer's
    ``ssh_interface = "session_manager"`` also means SSM."""
    chosen = args.get("communicator") or "ssm"
    interface = args.pop("ssh_interface", None)
    if interface == "session_manager":
        chosen = "ssm"
    elif interface is not None and "ssh_interface" in body.attributes:
        diags.warning(
            "Argument not used",
            f'ssh_interface = "{interface}" is not used: relight connects over SSH to the public IP when the '
            'instance has one, else the private IP ("session_manager" means SSM).',
            body.attributes["ssh_interface"].range,
        )
    if chosen not in _COMMUNICATORS:
        diags.error(
            "Unsupported communicator",
            f'communicator "{chosen}" is not available: use "ssm" (SSM Run Command, the default), "ssh" or "none".',
            body.attributes["communicator"].range,
        )
    if chosen == "ssh" and not args.get("ssh_username"):
        diags.error(
            "Missing ssh_username", 'communicator = "ssh" needs ssh_username.', body.attributes["communicator"].range
        )
    args["communicator"] = chosen


def _user_data_file(path: str, scope: Any, body: Body, diags: Diagnostics) -> str | None:
    import os

    full = path if os.path.isabs(path) else os.path.join(scope.root, path)
    try:
        return str(scope.files.read_bytes(full, scope.root).decode("utf-8"))
    except Exception as exc:  # the file policy's refusal or an OSError: the user's to fix
        diags.error("Cannot read user_data_file", f"{path}: {exc}.", body.attributes["user_data_file"].range)
        return None
