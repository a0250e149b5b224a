"""``aws_security_group`` with inline ``ingress``/``egress`` rules (CIDR blocks, IPv6 blocks,
prefix lists, other groups, itself), and the rule conversions between blocks and AWS.

Rules are compared at the grain AWS stores them (one atom per protocol, port range, target and
description). The local cloud keeps a prefix-list rule but drops its description: there, a
prefix-list atom without a description stands for the recorded one with it (planned and said,
see _gaps.py).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from relight.diagnostics import Diagnostics
from relight.providers.aws import _tfshapes
from relight.providers.aws._api import AwsError
from relight.providers.aws._common import AwsResource, all_tags, known, tag_specs, update_ec2_tags
from relight.providers.aws._gaps import Gap, changed, keep_gaps, note_gaps
from relight.providers.aws.network import retry_while_in_use
from relight.providers.base import (
    Attribute,
    BlockType,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DeleteResponse,
    FindCreatedRequest,
    ImportRequest,
    ImportResponse,
    PlanRequest,
    PlanResponse,
    ReadRequest,
    ReadResponse,
    Schema,
    UpdateRequest,
    UpdateResponse,
    schema_plan,
)
from relight.providers.framework import CallError
from relight.values import UNKNOWN, Value, is_wholly_known

__all__ = [
    "SecurityGroup",
    "aws_atoms",
    "ip_permissions",
    "normalize_rule",
    "normalize_rules",
    "restore_prefix_descriptions",
    "rule_atoms",
    "rules_from_aws",
    "unique_name",
]

_RULE = Schema(
    attributes={
        "from_port": Attribute("number", required=True),
        "to_port": Attribute("number", required=True),
        "protocol": Attribute("string", required=True),
        "cidr_blocks": Attribute("list", element="string", optional=True),
        "ipv6_cidr_blocks": Attribute("list", element="string", optional=True),
        "prefix_list_ids": Attribute("list", element="string", optional=True),
        "security_groups": Attribute("set", element="string", optional=True),
        "self": Attribute("bool", optional=True, default=False),
        "description": Attribute("string", optional=True),
    }
)

_PROTOCOL_NAMES = {"all": "-1", "-1": "-1", "1": "icmp", "6": "tcp", "17": "udp", "58": "icmpv6"}
_DEFAULT_DESCRIPTION = "Managed by Terraform"

# One permission of one rule: (protocol, from_port, to_port, kind, target, description), kind being
# "cidr", "ipv6", "prefix" or "group". AWS stores rules at this grain; blocks are groupings of these.
Atom = tuple[str, int, int, str, str, str]

_DIRECTIONS = (
    ("ingress", "IpPermissions", "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"),
    ("egress", "IpPermissionsEgress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupEgress"),
)

_BLOCK_KEYS = {
    "cidr": "cidr_blocks",
    "ipv6": "ipv6_cidr_blocks",
    "prefix": "prefix_list_ids",
    "group": "security_groups",
}
_name_counter = itertools.count(1)


def _describes_prefix_list(group: Mapping[str, Value]) -> bool:
    rules = [r for key in ("ingress", "egress") if isinstance(group.get(key), list) for r in group[key]]
    return any(
        isinstance(r, dict) and is_wholly_known(r) and r.get("prefix_list_ids") and r.get("description") for r in rules
    )


def _keep_prefix_descriptions(state: dict[str, Value], base: Mapping[str, Value]) -> None:
    group_id = str(state["id"])
    for key in ("ingress", "egress"):
        recorded, read = base.get(key), state.get(key)
        if not isinstance(recorded, list) or not isinstance(read, list):
            continue
        restored = restore_prefix_descriptions(rule_atoms(read, group_id), rule_atoms(recorded, group_id))
        state[key] = rules_from_aws(restored, recorded, group_id)


GROUP_GAPS = (
    Gap(
        "descriptions of prefix-list rules",
        ("ingress", "egress"),
        changed(_describes_prefix_list, "ingress", "egress"),
        _describes_prefix_list,
        missing="keeps a rule's prefix lists but drops their description",
        keep=_keep_prefix_descriptions,
    ),
)


class SecurityGroup(AwsResource):
    """``aws_security_group`` with inline ``ingress``/``egress`` rule blocks.

    The rules in state are exactly what AWS reports (DescribeSecurityGroups, converted to blocks;
    blocks that match the previous state or plan keep their grouping, anything else is shown one
    block per protocol, port range and description). Create and update compare the rules AWS has
    now with the planned blocks, revoking what is extra and authorizing what is missing.

    Egress: AWS gives every new VPC group an allow-all egress rule. Like every other rule it is
    kept only if the configuration lists it: a configuration without ``egress`` blocks gets a
    group with no egress rules (write ``egress { from_port = 0, to_port = 0, protocol = "-1",
    cidr_blocks = ["0.0.0.0/0"] }`` to keep outbound traffic open).

    Delete refuses, with AWS's ``DependencyViolation``, while a network interface still uses the
    group or another group's rules reference it (the local cloud would delete it anyway);
    interfaces of terminated instances do not count, they are on their way out.
    """

    name = "aws_security_group"
    terraform = _tfshapes.SECURITY_GROUP
    schema = Schema(
        recoverable=True,
        attributes={
            "id": Attribute("string", computed=True),
            "arn": Attribute("string", computed=True),
            "name": Attribute("string", optional=True, computed=True, force_new=True),
            "name_prefix": Attribute("string", optional=True, force_new=True),
            "description": Attribute("string", optional=True, force_new=True, default=_DEFAULT_DESCRIPTION),
            "vpc_id": Attribute("string", optional=True, computed=True, force_new=True),
            "revoke_rules_on_delete": Attribute("bool", optional=True, default=False),
            "owner_id": Attribute("string", computed=True),
            "tags": Attribute("map", element="string", optional=True),
            "tags_all": Attribute("map", element="string", computed=True),
        },
        blocks={
            "ingress": BlockType(_RULE, nesting="set"),
            "egress": BlockType(_RULE, nesting="set"),
        },
    )
    in_use_timeout: ClassVar[float] = 300.0

    def plan_change(self, req: PlanRequest) -> PlanResponse:
        resp = schema_plan(self.schema, req)
        planned = resp.planned_state
        if planned is not None:
            for key in ("ingress", "egress"):
                planned[key] = normalize_rules(planned.get(key), key)
            prior = req.prior_state if not resp.requires_replace else None
            note_gaps(self, GROUP_GAPS, planned, prior, resp.diagnostics)
        return resp

    def create(self, req: CreateRequest) -> CreateResponse:
        p = req.planned_state
        group_name = str(p["name"]) if known(p.get("name")) else unique_name(_prefix(p.get("name_prefix")))
        params: dict[str, Any] = {
            "GroupName": group_name,
            "Description": str(p.get("description") or _DEFAULT_DESCRIPTION),
            "TagSpecifications": tag_specs("security-group", p.get("tags_all"), req.token),
        }
        if known(p.get("vpc_id")):
            params["VpcId"] = str(p["vpc_id"])
        group_id = str(self.api.call("ec2", "CreateSecurityGroup", **params)["GroupId"])
        group = self.api.wait(f"security group {group_id}", lambda: self._describe(group_id), timeout=120)
        diags = Diagnostics()
        try:
            group = self._sync_rules(group, p)
        except CallError as exc:  # the group exists without all its rules: recorded tainted
            diags.error(exc.summary, exc.detail)
            group = self._describe(group_id) or group
        return CreateResponse(self._state(group, p), diags)

    def read(self, req: ReadRequest) -> ReadResponse:
        group = self._describe(str(req.current_state["id"]))
        if group is None:
            return ReadResponse(None)
        return ReadResponse(self._state(group, req.current_state))

    def update(self, req: UpdateRequest) -> UpdateResponse:
        group_id = str(req.prior_state["id"])
        update_ec2_tags(self.api, group_id, all_tags(req.prior_state), req.planned_state.get("tags_all"))
        group = self._describe(group_id)
        if group is None:
            raise AwsError(
                "DescribeSecurityGroups", "InvalidGroup.NotFound", f"The security group '{group_id}' does not exist"
            )
        group = self._sync_rules(group, req.planned_state)
        return UpdateResponse(self._state(group, req.planned_state))

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        group_id = str(req.prior_state["id"])
        group = self._describe(group_id)
        if group is None:
            return DeleteResponse()
        self._refuse_if_in_use(group)
        if req.prior_state.get("revoke_rules_on_delete"):
            self._sync_rules(group, {"ingress": [], "egress": []})
        retry_while_in_use(
            self.api,
            f"security group {group_id} to be released",
            lambda: self.api.try_call("ec2", "DeleteSecurityGroup", ("InvalidGroup.NotFound",), GroupId=group_id),
            self.in_use_timeout,
        )
        return DeleteResponse()

    def import_(self, req: ImportRequest) -> ImportResponse:
        group = self._describe(req.id)
        if group is None:
            raise AwsError(
                "DescribeSecurityGroups", "InvalidGroup.NotFound", f"The security group '{req.id}' does not exist"
            )
        return ImportResponse(self._state(group, {}))

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        found = self.find_by_token("DescribeSecurityGroups", "SecurityGroups", req.token)
        if not found:
            return ReadResponse(None)
        return ReadResponse(self._state(found[0], req.planned_state))

    # -- helpers ------------------------------------------------------------------------
    def _describe(self, group_id: str) -> dict[str, Any] | None:
        out = self.api.try_call(
            "ec2",
            "DescribeSecurityGroups",
            ("InvalidGroup.NotFound", "InvalidGroupId.Malformed", "InvalidGroupId.NotFound"),
            GroupIds=[group_id],
        )
        groups: list[dict[str, Any]] = (out or {}).get("SecurityGroups", [])
        return groups[0] if groups else None

    def _sync_rules(self, group: Mapping[str, Any], planned: Mapping[str, Any]) -> dict[str, Any]:
        """Make the group's rules equal the planned blocks; returns the group as described after."""
        group_id = str(group["GroupId"])
        changed = False
        for key, aws_key, authorize, revoke in _DIRECTIONS:
            rules = planned.get(key)
            want = rule_atoms(rules if isinstance(rules, list) else [], group_id)
            have = aws_atoms(group.get(aws_key))
            if self.api.emulator() is not None:
                have = restore_prefix_descriptions(have, want)
            if have - want:
                self.api.call("ec2", revoke, GroupId=group_id, IpPermissions=ip_permissions(have - want))
                changed = True
            if want - have:
                self.api.call("ec2", authorize, GroupId=group_id, IpPermissions=ip_permissions(want - have))
                changed = True
        if not changed:
            return dict(group)
        return self._describe(group_id) or dict(group)

    def _refuse_if_in_use(self, group: Mapping[str, Any]) -> None:
        group_id = str(group["GroupId"])
        users = self._interfaces_using(group_id)
        for filter_name in ("ip-permission.group-id", "egress.ip-permission.group-id"):
            out = self.api.call("ec2", "DescribeSecurityGroups", Filters=[{"Name": filter_name, "Values": [group_id]}])
            for other in out.get("SecurityGroups", []):
                if other["GroupId"] != group_id:
                    users.append(f"rules of security group {other['GroupId']} ({other.get('GroupName', '')})")
        if users:
            raise AwsError(
                "DeleteSecurityGroup",
                "DependencyViolation",
                f"resource {group_id} has a dependent object: it is still used by "
                f"{', '.join(sorted(set(users)))}. Delete or detach those first (or move them to "
                "another security group), then run apply again.",
            )

    def _interfaces_using(self, group_id: str) -> list[str]:
        out = self.api.call("ec2", "DescribeNetworkInterfaces", Filters=[{"Name": "group-id", "Values": [group_id]}])
        interfaces: list[dict[str, Any]] = out.get("NetworkInterfaces", [])
        instance_ids = sorted({str(i["Attachment"]["InstanceId"]) for i in interfaces if _attached_instance(i)})
        leaving: set[str] = set()
        if instance_ids:
            found = self.api.call(
                "ec2",
                "DescribeInstances",
                Filters=[
                    {"Name": "instance-id", "Values": instance_ids},
                    {"Name": "instance-state-name", "Values": ["shutting-down", "terminated"]},
                ],
            )
            leaving = {i["InstanceId"] for r in found.get("Reservations", []) for i in r.get("Instances", [])}
        users = []
        for eni in interfaces:
            instance = _attached_instance(eni)
            if instance in leaving:
                continue
            what = f"network interface {eni['NetworkInterfaceId']}"
            if instance:
                what += f" (attached to {instance})"
            elif eni.get("Description"):
                what += f" ({eni['Description']})"
            users.append(what)
        return users

    def _state(self, group: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
        group_id = str(group["GroupId"])
        owner = str(group.get("OwnerId", ""))
        arn = group.get("SecurityGroupArn") or f"arn:aws:ec2:{self.api.region}:{owner}:security-group/{group_id}"
        prefix = base.get("name_prefix")
        state: dict[str, Any] = {
            "id": group_id,
            "arn": arn,
            "name": group.get("GroupName"),
            "name_prefix": prefix if known(prefix) else None,
            "description": group.get("Description"),
            "vpc_id": group.get("VpcId"),
            "revoke_rules_on_delete": base.get("revoke_rules_on_delete") is True,
            "owner_id": owner,
            **self.tag_state(group.get("Tags"), base),
        }
        for key, aws_key, _authorize, _revoke in _DIRECTIONS:
            state[key] = rules_from_aws(aws_atoms(group.get(aws_key)), base.get(key), group_id)
        return keep_gaps(self.api, GROUP_GAPS, state, base)


# -- rule conversions (module level so they can be tested on their own) -------------------


def normalize_rules(value: Any, where: str = "rule") -> Any:
    """Planned blocks in the canonical form read returns: every key, sorted, deduplicated.

    Blocks holding values known only after apply make the whole set unknown (their order, and
    so each block's position, cannot be known yet).
    """
    if value is None:
        return []
    if value is UNKNOWN or not is_wholly_known(value):
        return UNKNOWN
    rules = [normalize_rule(r) for r in value]
    for rule in rules:
        if not any(rule[k] for k in (*_BLOCK_KEYS.values(), "self")):
            raise CallError(
                f"Invalid {where} block",
                f"The {where} rule for protocol {rule['protocol']} ports {rule['from_port']}-{rule['to_port']} "
                "names no source: set at least one of cidr_blocks, ipv6_cidr_blocks, prefix_list_ids, "
                "security_groups or self.",
            )
    return _sorted_rules(rules)


def normalize_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "cidr_blocks": _str_set(rule.get("cidr_blocks")),
        "description": str(rule.get("description") or ""),
        "from_port": _port(rule.get("from_port")),
        "ipv6_cidr_blocks": _str_set(rule.get("ipv6_cidr_blocks")),
        "prefix_list_ids": _str_set(rule.get("prefix_list_ids")),
        "protocol": normalize_protocol(rule.get("protocol")),
        "security_groups": _str_set(rule.get("security_groups")),
        "self": rule.get("self") is True,
        "to_port": _port(rule.get("to_port")),
    }


def normalize_protocol(value: Any) -> str:
    text = str(value if value is not None else "-1").strip().lower()
    return _PROTOCOL_NAMES.get(text, text)


def rule_atoms(rules: Iterable[Mapping[str, Any]], group_id: str) -> set[Atom]:
    atoms: set[Atom] = set()
    for raw in rules:
        rule = normalize_rule(raw)
        protocol, low, high = _ports(rule["protocol"], rule["from_port"], rule["to_port"])
        desc = rule["description"]
        atoms.update((protocol, low, high, "cidr", c, desc) for c in rule["cidr_blocks"])
        atoms.update((protocol, low, high, "ipv6", c, desc) for c in rule["ipv6_cidr_blocks"])
        atoms.update((protocol, low, high, "prefix", p, desc) for p in rule["prefix_list_ids"])
        atoms.update((protocol, low, high, "group", g, desc) for g in rule["security_groups"])
        if rule["self"]:
            atoms.add((protocol, low, high, "group", group_id, desc))
    return atoms


def aws_atoms(permissions: Iterable[Mapping[str, Any]] | None) -> set[Atom]:
    atoms: set[Atom] = set()
    for perm in permissions or ():
        protocol, low, high = _ports(
            normalize_protocol(perm.get("IpProtocol")), _port(perm.get("FromPort")), _port(perm.get("ToPort"))
        )
        for r in perm.get("IpRanges") or ():
            atoms.add((protocol, low, high, "cidr", str(r["CidrIp"]), str(r.get("Description") or "")))
        for r in perm.get("Ipv6Ranges") or ():
            atoms.add((protocol, low, high, "ipv6", str(r["CidrIpv6"]), str(r.get("Description") or "")))
        for r in perm.get("PrefixListIds") or ():
            atoms.add((protocol, low, high, "prefix", str(r["PrefixListId"]), str(r.get("Description") or "")))
        for pair in perm.get("UserIdGroupPairs") or ():
            target = str(pair.get("GroupId") or pair.get("GroupName") or "")
            atoms.add((protocol, low, high, "group", target, str(pair.get("Description") or "")))
    return atoms


def ip_permissions(atoms: Iterable[Atom]) -> list[dict[str, Any]]:
    """EC2 ``IpPermissions`` for these atoms, one permission per protocol and port range."""
    perms: dict[tuple[str, int, int], dict[str, Any]] = {}
    for protocol, low, high, kind, target, desc in sorted(atoms):
        perm = perms.setdefault(
            (protocol, low, high),
            {
                "IpProtocol": protocol,
                "FromPort": low,
                "ToPort": high,
                "IpRanges": [],
                "Ipv6Ranges": [],
                "PrefixListIds": [],
                "UserIdGroupPairs": [],
            },
        )
        extra = {"Description": desc} if desc else {}
        if kind == "cidr":
            perm["IpRanges"].append({"CidrIp": target, **extra})
        elif kind == "ipv6":
            perm["Ipv6Ranges"].append({"CidrIpv6": target, **extra})
        elif kind == "prefix":
            perm["PrefixListIds"].append({"PrefixListId": target, **extra})
        else:
            perm["UserIdGroupPairs"].append({"GroupId": target, **extra})
    return [{k: v for k, v in p.items() if v != []} for p in perms.values()]


def rules_from_aws(live: set[Atom], base: Any, group_id: str) -> list[dict[str, Any]]:
    """Blocks for the rules AWS reports. A block of ``base`` (prior state or plan) whose rules all
    exist keeps its shape, so a configuration that splits or merges rules differently from AWS
    does not show a change; the other rules are grouped by protocol, ports and description."""
    kept: list[dict[str, Any]] = []
    covered: set[Atom] = set()
    if isinstance(base, list) and is_wholly_known(base):
        for raw in base:
            rule = normalize_rule(raw)
            atoms = rule_atoms([rule], group_id)
            if atoms and atoms <= live:
                kept.append(rule)
                covered |= atoms
    grouped: dict[tuple[str, int, int, str], dict[str, Any]] = {}
    for protocol, low, high, kind, target, desc in sorted(live - covered):
        rule = grouped.setdefault(
            (protocol, low, high, desc),
            normalize_rule({"protocol": protocol, "from_port": low, "to_port": high, "description": desc}),
        )
        if kind == "group" and target == group_id:
            rule["self"] = True
        else:
            rule[_BLOCK_KEYS[kind]].append(target)
    return _sorted_rules([normalize_rule(r) for r in grouped.values()] + kept)


def restore_prefix_descriptions(live: set[Atom], wanted: set[Atom]) -> set[Atom]:
    """``live`` with each prefix-list atom that lost its description (as the local cloud drops
    it) taken as the ``wanted`` one that has it."""
    described = {a[:5]: a for a in wanted if a[3] == "prefix" and a[5]}
    return {described.get(a[:5], a) if a[3] == "prefix" and not a[5] else a for a in live}


def unique_name(prefix: str = "terraform-") -> str:
    """Terraform's unique names: prefix, UTC timestamp to 1/10000 s, and a counter."""
    now = datetime.now(UTC)
    return f"{prefix}{now:%Y%m%d%H%M%S}{now.microsecond // 100:04d}{next(_name_counter):08d}"


def _prefix(value: Any) -> str:
    return str(value) if known(value) and value != "" else "terraform-"


def _attached_instance(interface: Mapping[str, Any]) -> str:
    return str((interface.get("Attachment") or {}).get("InstanceId") or "")


def _ports(protocol: str, low: int, high: int) -> tuple[str, int, int]:
    return (protocol, 0, 0) if protocol == "-1" else (protocol, low, high)


def _port(value: Any) -> int:
    if value is None or value == "":
        return 0
    return int(float(value))


def _str_set(value: Any) -> list[str]:
    return sorted({str(v) for v in value or ()})


def _sorted_rules(rules: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deduplicated, ordered by ports, then protocol, then content."""
    unique = {json.dumps(r, sort_keys=True): r for r in rules}
    return [
        r
        for _, r in sorted(
            unique.items(), key=lambda kv: (kv[1]["from_port"], kv[1]["to_port"], kv[1]["protocol"], kv[0])
        )
    ]
