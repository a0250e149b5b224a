"""``aws_vpc``, ``aws_subnet`` and ``aws_security_group`` (with inline ingress/egress rules)."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from relight.diagnostics import Diagnostics
from relight.providers.aws import _tfshapes
from relight.providers.aws._api import AwsApi, AwsError
from relight.providers.aws._common import (
    AwsResource,
    from_tag_list,
    known,
    tag_specs,
    update_ec2_tags,
)
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
from relight.values import UNKNOWN, is_wholly_known

__all__ = ["SecurityGroup", "Subnet", "Vpc"]


class Vpc(AwsResource):
    name = "aws_vpc"
    terraform = _tfshapes.VPC
    schema = Schema(
        recoverable=True,
        attributes={
            "id": Attribute("string", computed=True),
            "arn": Attribute("string", computed=True),
            "cidr_block": Attribute("string", required=True, force_new=True),
            "instance_tenancy": Attribute("string", optional=True, force_new=True, default="default"),
            "enable_dns_support": Attribute("bool", optional=True, default=True),
            "enable_dns_hostnames": Attribute("bool", optional=True, default=False),
            "main_route_table_id": Attribute("string", computed=True),
            "default_security_group_id": Attribute("string", computed=True),
            "owner_id": Attribute("string", computed=True),
            "tags": Attribute("map", element="string", optional=True),
        }
    )

    def create(self, req: CreateRequest) -> CreateResponse:
        p = req.planned_state
        out = self.api.call(
            "ec2",
            "CreateVpc",
            CidrBlock=p["cidr_block"],
            InstanceTenancy=p.get("instance_tenancy") or "default",
            TagSpecifications=tag_specs("vpc", p.get("tags"), req.token),
        )
        vpc_id = out["Vpc"]["VpcId"]
        self.api.wait(f"VPC {vpc_id} to be available", lambda: self._describe(vpc_id), timeout=300)
        self._set_dns(vpc_id, None, p)
        return CreateResponse(self._state(vpc_id, p))

    def read(self, req: ReadRequest) -> ReadResponse:
        vpc_id = str(req.current_state["id"])
        if self._describe(vpc_id) is None:
            return ReadResponse(None)
        return ReadResponse(self._state(vpc_id, req.current_state))

    def update(self, req: UpdateRequest) -> UpdateResponse:
        vpc_id = str(req.prior_state["id"])
        self._set_dns(vpc_id, req.prior_state, req.planned_state)
        update_ec2_tags(self.api, vpc_id, req.prior_state.get("tags"), req.planned_state.get("tags"))
        return UpdateResponse(self._state(vpc_id, req.planned_state))

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        self.api.try_call("ec2", "DeleteVpc", ("InvalidVpcID.NotFound",), VpcId=str(req.prior_state["id"]))
        return DeleteResponse()

    def import_(self, req: ImportRequest) -> ImportResponse:
        if self._describe(req.id) is None:
            raise AwsError("DescribeVpcs", "InvalidVpcID.NotFound", f"The vpc ID '{req.id}' does not exist")
        return ImportResponse(self._state(req.id, {}))

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        found = self.find_by_token("DescribeVpcs", "Vpcs", req.token)
        if not found:
            return ReadResponse(None)
        return ReadResponse(self._state(found[0]["VpcId"], req.planned_state))

    # -- helpers ------------------------------------------------------------------------
    def _describe(self, vpc_id: str) -> dict[str, Any] | None:
        out = self.api.try_call("ec2", "DescribeVpcs", ("InvalidVpcID.NotFound",), VpcIds=[vpc_id])
        vpcs = (out or {}).get("Vpcs", [])
        return vpcs[0] if vpcs else None

    def _set_dns(self, vpc_id: str, prior: Any, planned: Any) -> None:
        for attr, key in (("enable_dns_support", "EnableDnsSupport"), ("enable_dns_hostnames", "EnableDnsHostnames")):
            want = planned.get(attr)
            if want is None or (prior is not None and prior.get(attr) == want):
                continue
            if prior is None and want == self.schema.attributes[attr].default:
                continue
            self.api.call("ec2", "ModifyVpcAttribute", VpcId=vpc_id, **{key: {"Value": bool(want)}})

    def _attribute(self, vpc_id: str, key: str, name: str) -> bool:
        out = self.api.call("ec2", "DescribeVpcAttribute", VpcId=vpc_id, Attribute=name)
        return bool(out.get(key, {}).get("Value"))

    def _state(self, vpc_id: str, base: Any) -> dict[str, Any]:
        vpc = self._describe(vpc_id) or {}
        region = self.api.region
        owner = str(vpc.get("OwnerId", ""))
        tables = self.api.call(
            "ec2",
            "DescribeRouteTables",
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}],
        ).get("RouteTables", [])
        groups = self.api.call(
            "ec2",
            "DescribeSecurityGroups",
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}],
        ).get("SecurityGroups", [])
        return {
            "id": vpc_id,
            "arn": f"arn:aws:ec2:{region}:{owner}:vpc/{vpc_id}",
            "cidr_block": vpc.get("CidrBlock"),
            "instance_tenancy": vpc.get("InstanceTenancy", "default"),
            "enable_dns_support": self._attribute(vpc_id, "EnableDnsSupport", "enableDnsSupport"),
            "enable_dns_hostnames": self._attribute(vpc_id, "EnableDnsHostnames", "enableDnsHostnames"),
            "main_route_table_id": tables[0]["RouteTableId"] if tables else None,
            "default_security_group_id": groups[0]["GroupId"] if groups else None,
            "owner_id": owner,
            "tags": from_tag_list(vpc.get("Tags")),
        }


class Subnet(AwsResource):
    """``aws_subnet``. A given ``availability_zone`` is checked against the region's zones before
    the create (the local cloud accepts zones of other regions)."""

    name = "aws_subnet"
    terraform = _tfshapes.SUBNET
    schema = Schema(
        recoverable=True,
        attributes={
            "id": Attribute("string", computed=True),
            "arn": Attribute("string", computed=True),
            "vpc_id": Attribute("string", required=True, force_new=True),
            "cidr_block": Attribute("string", required=True, force_new=True),
            "availability_zone": Attribute("string", optional=True, computed=True, force_new=True),
            "map_public_ip_on_launch": Attribute("bool", optional=True, default=False),
            "owner_id": Attribute("string", computed=True),
            "tags": Attribute("map", element="string", optional=True),
        }
    )
    # How long a delete keeps retrying while AWS still reports the subnet in use (interfaces of
    # terminated instances take a while to go away).
    in_use_timeout: ClassVar[float] = 300.0

    def create(self, req: CreateRequest) -> CreateResponse:
        p = req.planned_state
        params: dict[str, Any] = {
            "VpcId": str(p["vpc_id"]),
            "CidrBlock": str(p["cidr_block"]),
            "TagSpecifications": tag_specs("subnet", p.get("tags"), req.token),
        }
        zone = p.get("availability_zone")
        if known(zone):
            self._check_zone(str(zone))
            params["AvailabilityZone"] = str(zone)
        subnet_id = str(self.api.call("ec2", "CreateSubnet", **params)["Subnet"]["SubnetId"])
        self.api.wait(f"subnet {subnet_id} to be available", lambda: self._available(subnet_id), timeout=300)
        diags = Diagnostics()
        if p.get("map_public_ip_on_launch"):
            try:
                self._set_public_ip(subnet_id, True)
            except CallError as exc:  # created but not as planned: recorded tainted, replaced next time
                diags.error(exc.summary, exc.detail)
        return CreateResponse(self._state(self._describe(subnet_id) or {"SubnetId": subnet_id}), diags)

    def read(self, req: ReadRequest) -> ReadResponse:
        subnet = self._describe(str(req.current_state["id"]))
        return ReadResponse(self._state(subnet) if subnet is not None else None)

    def update(self, req: UpdateRequest) -> UpdateResponse:
        subnet_id = str(req.prior_state["id"])
        want = bool(req.planned_state.get("map_public_ip_on_launch"))
        if want != bool(req.prior_state.get("map_public_ip_on_launch")):
            self._set_public_ip(subnet_id, want)
        update_ec2_tags(self.api, subnet_id, req.prior_state.get("tags"), req.planned_state.get("tags"))
        return UpdateResponse(self._state(self._describe(subnet_id) or {"SubnetId": subnet_id}))

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        subnet_id = str(req.prior_state["id"])
        retry_while_in_use(
            self.api,
            f"subnet {subnet_id} to be released",
            lambda: self.api.try_call("ec2", "DeleteSubnet", ("InvalidSubnetID.NotFound",), SubnetId=subnet_id),
            self.in_use_timeout,
        )
        return DeleteResponse()

    def import_(self, req: ImportRequest) -> ImportResponse:
        subnet = self._describe(req.id)
        if subnet is None:
            raise AwsError("DescribeSubnets", "InvalidSubnetID.NotFound", f"The subnet ID '{req.id}' does not exist")
        return ImportResponse(self._state(subnet))

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        found = self.find_by_token("DescribeSubnets", "Subnets", req.token)
        if not found:
            return ReadResponse(None)
        return ReadResponse(self._state(found[0]))

    # -- helpers ------------------------------------------------------------------------
    def _describe(self, subnet_id: str) -> dict[str, Any] | None:
        out = self.api.try_call(
            "ec2", "DescribeSubnets", ("InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed"), SubnetIds=[subnet_id]
        )
        subnets: list[dict[str, Any]] = (out or {}).get("Subnets", [])
        return subnets[0] if subnets else None

    def _available(self, subnet_id: str) -> dict[str, Any] | None:
        subnet = self._describe(subnet_id)
        return subnet if subnet is not None and subnet.get("State", "available") == "available" else None

    def _check_zone(self, zone: str) -> None:
        zones = self.api.call("ec2", "DescribeAvailabilityZones").get("AvailabilityZones", [])
        names = sorted(
            str(z["ZoneName"]) for z in zones if z.get("ZoneType", "availability-zone") == "availability-zone"
        )
        if zone not in names:
            raise AwsError(
                "CreateSubnet",
                "InvalidParameterValue",
                f"Value ({zone}) for parameter availabilityZone is invalid. Subnets can currently only be "
                f"created in the following availability zones of {self.api.region}: {', '.join(names)}.",
            )

    def _set_public_ip(self, subnet_id: str, value: bool) -> None:
        self.api.call("ec2", "ModifySubnetAttribute", SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": value})

    def _state(self, subnet: Mapping[str, Any]) -> dict[str, Any]:
        subnet_id = str(subnet["SubnetId"])
        owner = str(subnet.get("OwnerId", ""))
        arn = subnet.get("SubnetArn") or f"arn:aws:ec2:{self.api.region}:{owner}:subnet/{subnet_id}"
        return {
            "id": subnet_id,
            "arn": arn,
            "vpc_id": subnet.get("VpcId"),
            "cidr_block": subnet.get("CidrBlock"),
            "availability_zone": subnet.get("AvailabilityZone"),
            "map_public_ip_on_launch": bool(subnet.get("MapPublicIpOnLaunch", False)),
            "owner_id": owner,
            "tags": from_tag_list(subnet.get("Tags")),
        }


# -- security groups ----------------------------------------------------------------------

_RULE = Schema(
    attributes={
        "from_port": Attribute("number", required=True),
        "to_port": Attribute("number", required=True),
        "protocol": Attribute("string", required=True),
        "cidr_blocks": Attribute("list", element="string", optional=True),
        "ipv6_cidr_blocks": Attribute("list", element="string", optional=True),
        "security_groups": Attribute("set", element="string", optional=True),
        "self": Attribute("bool", optional=True, default=False),
        "description": Attribute("string", optional=True),
    }
)

_PROTOCOL_NAMES = {"all": "-1", "-1": "-1", "1": "icmp", "6": "tcp", "17": "udp", "58": "icmpv6"}
_DEFAULT_DESCRIPTION = "Managed by Terraform"

# One permission of one rule: (protocol, from_port, to_port, kind, target, description), kind being
# "cidr", "ipv6" or "group". AWS stores rules at this grain; blocks are groupings of these.
Atom = tuple[str, int, int, str, str, str]

_DIRECTIONS = (
    ("ingress", "IpPermissions", "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"),
    ("egress", "IpPermissionsEgress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupEgress"),
)

_name_counter = itertools.count(1)


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
        return resp

    def create(self, req: CreateRequest) -> CreateResponse:
        p = req.planned_state
        group_name = str(p["name"]) if known(p.get("name")) else unique_name(_prefix(p.get("name_prefix")))
        params: dict[str, Any] = {
            "GroupName": group_name,
            "Description": str(p.get("description") or _DEFAULT_DESCRIPTION),
            "TagSpecifications": tag_specs("security-group", p.get("tags"), req.token),
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
        update_ec2_tags(self.api, group_id, req.prior_state.get("tags"), req.planned_state.get("tags"))
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
            "tags": from_tag_list(group.get("Tags")),
        }
        for key, aws_key, _authorize, _revoke in _DIRECTIONS:
            state[key] = rules_from_aws(aws_atoms(group.get(aws_key)), base.get(key), group_id)
        return state


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
        if not (rule["cidr_blocks"] or rule["ipv6_cidr_blocks"] or rule["security_groups"] or rule["self"]):
            raise CallError(
                f"Invalid {where} block",
                f"The {where} rule for protocol {rule['protocol']} ports {rule['from_port']}-{rule['to_port']} "
                "names no source: set at least one of cidr_blocks, ipv6_cidr_blocks, security_groups or self.",
            )
    return _sorted_rules(rules)


def normalize_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "cidr_blocks": _str_set(rule.get("cidr_blocks")),
        "description": str(rule.get("description") or ""),
        "from_port": _port(rule.get("from_port")),
        "ipv6_cidr_blocks": _str_set(rule.get("ipv6_cidr_blocks")),
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
                "UserIdGroupPairs": [],
            },
        )
        extra = {"Description": desc} if desc else {}
        if kind == "cidr":
            perm["IpRanges"].append({"CidrIp": target, **extra})
        elif kind == "ipv6":
            perm["Ipv6Ranges"].append({"CidrIpv6": target, **extra})
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
            rule[{"cidr": "cidr_blocks", "ipv6": "ipv6_cidr_blocks", "group": "security_groups"}[kind]].append(target)
    return _sorted_rules([normalize_rule(r) for r in grouped.values()] + kept)


def unique_name(prefix: str = "terraform-") -> str:
    """Terraform's unique names: prefix, UTC timestamp to 1/10000 s, and a counter."""
    now = datetime.now(UTC)
    return f"{prefix}{now:%Y%m%d%H%M%S}{now.microsecond // 100:04d}{next(_name_counter):08d}"


def retry_while_in_use(api: AwsApi, what: str, attempt: Callable[[], object], timeout: float) -> None:
    """Run ``attempt`` until AWS stops answering ``DependencyViolation`` (then raise it)."""
    deadline = time.monotonic() + timeout

    def probe() -> bool | None:
        try:
            attempt()
        except AwsError as exc:
            if exc.code == "DependencyViolation" and time.monotonic() < deadline:
                return None
            raise
        return True

    api.wait(what, probe, timeout + 60)


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
