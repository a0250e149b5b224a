"""``aws_vpc`` (with its IPv6 CIDR block) and ``aws_subnet``.

A VPC's IPv6 block is Amazon's (``assign_generated_ipv6_cidr_block``, optionally from a network
border group) or an IPAM pool's (``ipv6_ipam_pool_id`` with ``ipv6_cidr_block`` or
``ipv6_netmask_length``), as in Terraform; either is added or removed in place
(AssociateVpcCidrBlock / DisassociateVpcCidrBlock), never by replacing the VPC. The local cloud
implements Amazon's blocks but not IPAM pools or border groups: those are planned and said (see
_gaps.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from relight.diagnostics import Diagnostics
from relight.providers.aws import _tfshapes
from relight.providers.aws._api import AwsApi, AwsError
from relight.providers.aws._common import AwsResource, all_tags, known, tag_specs, update_ec2_tags
from relight.providers.aws._gaps import Gap, changed, keep_gaps, note_gaps, set_to
from relight.providers.base import (
    Attribute,
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
from relight.values import UNKNOWN, Value

__all__ = ["Subnet", "Vpc", "retry_while_in_use"]

AMAZON_POOL = "Amazon"
_IPAM_MANAGED = "IPAM Managed"
_IPV6 = ("ipv6_cidr_block", "ipv6_association_id")
_IPAM = ("ipv6_ipam_pool_id", "ipv6_cidr_block", "ipv6_netmask_length")
# Terraform's argument rules for the IPv6 block: (argument, conflicts with, also needs)
_IPV6_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("assign_generated_ipv6_cidr_block", ("ipv6_ipam_pool_id",), ()),
    ("ipv6_cidr_block", ("ipv6_netmask_length", "assign_generated_ipv6_cidr_block"), ("ipv6_ipam_pool_id",)),
    ("ipv6_netmask_length", ("ipv6_cidr_block",), ("ipv6_ipam_pool_id",)),
    ("ipv6_cidr_block_network_border_group", (), ("assign_generated_ipv6_cidr_block",)),
)

_holds_ipam = set_to("ipv6_ipam_pool_id")
_holds_border_group = set_to("ipv6_cidr_block_network_border_group")
VPC_GAPS = (
    Gap(
        "IPv6 CIDR blocks from IPAM pools",
        ("ipv6_ipam_pool_id", "ipv6_cidr_block", "ipv6_netmask_length", "ipv6_association_id"),
        changed(_holds_ipam, *_IPAM),
        _holds_ipam,
    ),
    Gap(
        "IPv6 network border groups",
        ("ipv6_cidr_block_network_border_group",),
        changed(_holds_border_group, "ipv6_cidr_block_network_border_group"),
        _holds_border_group,
        missing="accepts a network border group and does not report it",
    ),
)


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
            "assign_generated_ipv6_cidr_block": Attribute("bool", optional=True, default=False),
            "ipv6_cidr_block": Attribute("string", optional=True, computed=True),
            "ipv6_cidr_block_network_border_group": Attribute("string", optional=True, computed=True),
            "ipv6_ipam_pool_id": Attribute("string", optional=True),
            "ipv6_netmask_length": Attribute("number", optional=True),
            "ipv6_association_id": Attribute("string", computed=True),
            "main_route_table_id": Attribute("string", computed=True),
            "default_security_group_id": Attribute("string", computed=True),
            "owner_id": Attribute("string", computed=True),
            "tags": Attribute("map", element="string", optional=True),
            "tags_all": Attribute("map", element="string", computed=True),
        },
    )

    def plan_change(self, req: PlanRequest) -> PlanResponse:
        resp = schema_plan(self.schema, req)
        planned = resp.planned_state
        if planned is None:
            return resp
        _check_ipv6_arguments(req.config or {})
        prior = req.prior_state if not resp.requires_replace else None
        if prior is not None and _ipv6_source(planned) != _ipv6_source(prior):
            # a new block (or none): what AWS assigns is known after apply
            ipv6: Value = UNKNOWN if _wants_ipv6(planned) else None
            planned["ipv6_association_id"] = ipv6
            if not known((req.config or {}).get("ipv6_cidr_block")):
                planned["ipv6_cidr_block"] = ipv6
            if planned.get("assign_generated_ipv6_cidr_block") is not True:
                planned["ipv6_cidr_block_network_border_group"] = None
        elif prior is None and not _wants_ipv6(planned):
            planned.update({"ipv6_cidr_block": None, "ipv6_association_id": None})
            planned["ipv6_cidr_block_network_border_group"] = None
        note_gaps(self, VPC_GAPS, planned, prior, resp.diagnostics)
        return resp

    def create(self, req: CreateRequest) -> CreateResponse:
        p = req.planned_state
        params: dict[str, Any] = {
            "CidrBlock": p["cidr_block"],
            "InstanceTenancy": p.get("instance_tenancy") or "default",
            "TagSpecifications": tag_specs("vpc", p.get("tags_all"), req.token),
        }
        params.update(_ipv6_params(p))
        out = self.api.call("ec2", "CreateVpc", **params)
        vpc_id = out["Vpc"]["VpcId"]
        self.api.wait(f"VPC {vpc_id} to be available", lambda: self._describe(vpc_id), timeout=300)
        self._wait_ipv6(vpc_id)
        self._set_dns(vpc_id, None, p)
        return CreateResponse(self._state(vpc_id, p))

    def read(self, req: ReadRequest) -> ReadResponse:
        vpc_id = str(req.current_state["id"])
        if self._describe(vpc_id) is None:
            return ReadResponse(None)
        return ReadResponse(self._state(vpc_id, req.current_state))

    def update(self, req: UpdateRequest) -> UpdateResponse:
        vpc_id = str(req.prior_state["id"])
        prior, planned = req.prior_state, req.planned_state
        self._set_dns(vpc_id, prior, planned)
        if _ipv6_source(planned) != _ipv6_source(prior):
            self._replace_ipv6(vpc_id, prior, planned)
        update_ec2_tags(self.api, vpc_id, all_tags(prior), planned.get("tags_all"))
        return UpdateResponse(self._state(vpc_id, planned))

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

    def _replace_ipv6(self, vpc_id: str, prior: Mapping[str, Any], planned: Mapping[str, Any]) -> None:
        """Swap the VPC's IPv6 block for the planned one (or none): the old association goes
        first (a VPC holds one Amazon block at a time)."""
        vpc = self._describe(vpc_id) or {}
        current = _ipv6_association(vpc, prior.get("ipv6_association_id"))
        if current is not None:
            association = str(current["AssociationId"])
            self.api.call("ec2", "DisassociateVpcCidrBlock", AssociationId=association)
            self.api.wait(
                f"IPv6 block {association} of {vpc_id} to be disassociated",
                lambda: True if _ipv6_association(self._describe(vpc_id) or {}, association) is None else None,
                timeout=300,
            )
        params = _ipv6_params(planned)
        if params:
            self.api.call("ec2", "AssociateVpcCidrBlock", VpcId=vpc_id, **params)
            self._wait_ipv6(vpc_id)

    def _wait_ipv6(self, vpc_id: str) -> None:
        def settled() -> bool | None:
            sets = (self._describe(vpc_id) or {}).get("Ipv6CidrBlockAssociationSet") or []
            moving = ("associating", "disassociating")
            busy = [a for a in sets if a.get("Ipv6CidrBlockState", {}).get("State") in moving]
            return None if busy else True

        self.api.wait(f"the IPv6 block of {vpc_id} to be associated", settled, timeout=300)

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
        state: dict[str, Any] = {
            "id": vpc_id,
            "arn": f"arn:aws:ec2:{region}:{owner}:vpc/{vpc_id}",
            "cidr_block": vpc.get("CidrBlock"),
            "instance_tenancy": vpc.get("InstanceTenancy", "default"),
            "enable_dns_support": self._attribute(vpc_id, "EnableDnsSupport", "enableDnsSupport"),
            "enable_dns_hostnames": self._attribute(vpc_id, "EnableDnsHostnames", "enableDnsHostnames"),
            **_ipv6_state(_ipv6_association(vpc, base.get("ipv6_association_id")), base),
            "main_route_table_id": tables[0]["RouteTableId"] if tables else None,
            "default_security_group_id": groups[0]["GroupId"] if groups else None,
            "owner_id": owner,
            **self.tag_state(vpc.get("Tags"), base),
        }
        return keep_gaps(self.api, VPC_GAPS, state, base)


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
            "tags_all": Attribute("map", element="string", computed=True),
        },
    )
    # How long a delete keeps retrying while AWS still reports the subnet in use (interfaces of
    # terminated instances take a while to go away).
    in_use_timeout: ClassVar[float] = 300.0

    def create(self, req: CreateRequest) -> CreateResponse:
        p = req.planned_state
        params: dict[str, Any] = {
            "VpcId": str(p["vpc_id"]),
            "CidrBlock": str(p["cidr_block"]),
            "TagSpecifications": tag_specs("subnet", p.get("tags_all"), req.token),
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
        return CreateResponse(self._state(self._describe(subnet_id) or {"SubnetId": subnet_id}, p), diags)

    def read(self, req: ReadRequest) -> ReadResponse:
        subnet = self._describe(str(req.current_state["id"]))
        return ReadResponse(self._state(subnet, req.current_state) if subnet is not None else None)

    def update(self, req: UpdateRequest) -> UpdateResponse:
        subnet_id = str(req.prior_state["id"])
        want = bool(req.planned_state.get("map_public_ip_on_launch"))
        if want != bool(req.prior_state.get("map_public_ip_on_launch")):
            self._set_public_ip(subnet_id, want)
        update_ec2_tags(self.api, subnet_id, all_tags(req.prior_state), req.planned_state.get("tags_all"))
        subnet = self._describe(subnet_id) or {"SubnetId": subnet_id}
        return UpdateResponse(self._state(subnet, req.planned_state))

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
        return ImportResponse(self._state(subnet, {}))

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        found = self.find_by_token("DescribeSubnets", "Subnets", req.token)
        if not found:
            return ReadResponse(None)
        return ReadResponse(self._state(found[0], req.planned_state))

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

    def _state(self, subnet: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
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
            **self.tag_state(subnet.get("Tags"), base),
        }


def _check_ipv6_arguments(config: Mapping[str, Value]) -> None:
    """Terraform's rules for the IPv6 arguments (conflicts and arguments that need another)."""
    given = {name for name, value in config.items() if value not in (None, False)}
    for name, conflicts, needs in _IPV6_RULES:
        if name not in given:
            continue
        for other in conflicts:
            if other in given:
                raise CallError(
                    "Conflicting configuration arguments",
                    f'"{name}": conflicts with {other}',
                    attribute=(name,),
                )
        for other in needs:
            if other not in given:
                raise CallError(
                    "Missing required argument",
                    f'"{name}": all of `{",".join(sorted((name, other)))}` must be specified',
                    attribute=(name,),
                )


def _wants_ipv6(p: Mapping[str, Value]) -> bool:
    return p.get("assign_generated_ipv6_cidr_block") in (True, UNKNOWN) or known(p.get("ipv6_ipam_pool_id"))


def _ipv6_source(p: Mapping[str, Value]) -> tuple[Value, ...]:
    """What decides the VPC's IPv6 block: a change of any of these is a new block."""
    if p.get("assign_generated_ipv6_cidr_block") in (True, UNKNOWN):
        return (AMAZON_POOL, p.get("assign_generated_ipv6_cidr_block"), p.get("ipv6_cidr_block_network_border_group"))
    if p.get("ipv6_ipam_pool_id") is not None:
        return tuple(p.get(a) for a in _IPAM)
    return ()


def _ipv6_params(p: Mapping[str, Value]) -> dict[str, Any]:
    """CreateVpc / AssociateVpcCidrBlock parameters for the planned IPv6 block."""
    if p.get("assign_generated_ipv6_cidr_block") is True:
        params: dict[str, Any] = {"AmazonProvidedIpv6CidrBlock": True}
        group = p.get("ipv6_cidr_block_network_border_group")
        if known(group):
            params["Ipv6CidrBlockNetworkBorderGroup"] = str(group)
        return params
    if not known(p.get("ipv6_ipam_pool_id")):
        return {}
    params = {"Ipv6IpamPoolId": str(p["ipv6_ipam_pool_id"])}
    if known(p.get("ipv6_cidr_block")):
        params["Ipv6CidrBlock"] = str(p["ipv6_cidr_block"])
    if known(p.get("ipv6_netmask_length")):
        params["Ipv6NetmaskLength"] = int(p["ipv6_netmask_length"])
    return params


def _ipv6_association(vpc: Mapping[str, Any], preferred: Value) -> dict[str, Any] | None:
    """The VPC's live IPv6 association: the recorded one if still there, else the first."""
    live = [
        a
        for a in vpc.get("Ipv6CidrBlockAssociationSet") or ()
        if a.get("Ipv6CidrBlockState", {}).get("State") in ("associating", "associated")
    ]
    for association in live:
        if association.get("AssociationId") == preferred:
            return dict(association)
    return dict(live[0]) if live else None


def _ipv6_state(association: Mapping[str, Any] | None, base: Mapping[str, Any]) -> dict[str, Value]:
    if association is None:
        return {
            "assign_generated_ipv6_cidr_block": False,
            "ipv6_cidr_block": None,
            "ipv6_cidr_block_network_border_group": None,
            "ipv6_ipam_pool_id": None,
            "ipv6_netmask_length": None,
            "ipv6_association_id": None,
        }
    pool = str(association.get("Ipv6Pool") or "")
    amazon = pool in ("", AMAZON_POOL)
    recorded_pool = base.get("ipv6_ipam_pool_id")
    return {
        "assign_generated_ipv6_cidr_block": amazon,
        "ipv6_cidr_block": str(association.get("Ipv6CidrBlock") or "") or None,
        "ipv6_cidr_block_network_border_group": association.get("NetworkBorderGroup") or None,
        # AWS names an IPAM allocation's pool "IPAM Managed": the configured pool id stands
        "ipv6_ipam_pool_id": None if amazon else (recorded_pool if pool == _IPAM_MANAGED else pool),
        "ipv6_netmask_length": None if amazon else base.get("ipv6_netmask_length"),
        "ipv6_association_id": association.get("AssociationId"),
    }


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
