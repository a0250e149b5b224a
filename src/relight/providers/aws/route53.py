"""``aws_route53_zone`` (public or private, with ``vpc`` blocks), and what Route 53's types share.

Route 53 names are case-insensitive and may end in a dot; relight sends them in lower case and
compares them without the trailing dot, and keeps names in state the way the configuration
wrote them (so ``"Example.com."`` in the configuration never shows as a change).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from relight.diagnostics import Diagnostics
from relight.providers.aws import _tfshapes
from relight.providers.aws._api import AwsError
from relight.providers.aws._common import AwsResource, all_tags, known, to_tag_list
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

__all__ = ["Route53Zone"]

_DEFAULT_COMMENT = "Managed by Terraform"
_VPC = Schema(
    attributes={
        "vpc_id": Attribute("string", required=True),
        "vpc_region": Attribute("string", optional=True, computed=True),
    }
)


class Route53Zone(AwsResource):
    """``aws_route53_zone``. ``vpc`` blocks make it a private zone; switching between public and
    private replaces the zone, adding or removing VPCs of a private zone is done in place.
    ``delegation_set_id`` serves a public zone from a reusable delegation set (its name servers);
    a new one replaces the zone, as in Terraform. ``force_destroy`` deletes every record but the
    apex SOA and NS before the zone."""

    name = "aws_route53_zone"
    terraform = _tfshapes.ROUTE53_ZONE
    schema = Schema(
        recoverable=True,
        attributes={
            "id": Attribute("string", computed=True),
            "zone_id": Attribute("string", computed=True),
            "arn": Attribute("string", computed=True),
            "name": Attribute("string", required=True, force_new=True),
            "comment": Attribute("string", optional=True, default=_DEFAULT_COMMENT),
            "delegation_set_id": Attribute("string", optional=True, force_new=True),
            "force_destroy": Attribute("bool", optional=True, default=False),
            "name_servers": Attribute("list", element="string", computed=True),
            "primary_name_server": Attribute("string", computed=True),
            "tags": Attribute("map", element="string", optional=True),
            "tags_all": Attribute("map", element="string", computed=True),
        },
        blocks={"vpc": BlockType(_VPC, nesting="set")},
    )

    def plan_change(self, req: PlanRequest) -> PlanResponse:
        req = _keep_prior_spelling(req, ("name",))
        resp = schema_plan(self.schema, req)
        if resp.planned_state is None:
            return resp
        if (req.config or {}).get("delegation_set_id") is not None and _count((req.config or {}).get("vpc")):
            raise CallError(
                "Conflicting configuration arguments",
                '"delegation_set_id": conflicts with vpc',
                attribute=("delegation_set_id",),
            )
        prior, proposed = req.prior_state, req.proposed_new_state or {}
        if prior is not None and bool(_count(prior.get("vpc"))) != bool(_count(proposed.get("vpc"))):
            # public <-> private cannot change in place: plan a new zone
            fresh = schema_plan(self.schema, PlanRequest(req.type_name, None, proposed, req.config))
            resp = PlanResponse(fresh.planned_state, (*resp.requires_replace, "vpc"), fresh.diagnostics)
        planned = resp.planned_state
        assert planned is not None
        planned["vpc"] = self._normalize_vpcs(planned.get("vpc"))
        tags = planned.get("tags")
        planned["tags"] = None if isinstance(tags, dict) and not tags else tags
        return resp

    def create(self, req: CreateRequest) -> CreateResponse:
        p = req.planned_state
        vpcs = _vpc_list(p.get("vpc"), self.api.region)
        config: dict[str, Any] = {"Comment": str(p.get("comment") if p.get("comment") is not None else "")}
        params: dict[str, Any] = {
            "Name": _api_name(str(p["name"])),
            "CallerReference": req.token or str(uuid.uuid4()),
            "HostedZoneConfig": config,
        }
        if vpcs:
            config["PrivateZone"] = True
            params["VPC"] = {"VPCId": vpcs[0]["vpc_id"], "VPCRegion": vpcs[0]["vpc_region"]}
        if known(p.get("delegation_set_id")):
            params["DelegationSetId"] = str(p["delegation_set_id"])
        out = self.api.call("route53", "CreateHostedZone", **params)
        zone_id = _short_id(out["HostedZone"]["Id"])
        diags = Diagnostics()
        try:
            _wait_insync(self, out.get("ChangeInfo"))
            for vpc in vpcs[1:]:
                self._associate(zone_id, vpc)
            self._update_tags(zone_id, None, p.get("tags_all"))
        except CallError as exc:  # the zone exists but not as planned: recorded tainted
            diags.error(exc.summary, exc.detail)
        return CreateResponse(self._state(zone_id, p), diags)

    def read(self, req: ReadRequest) -> ReadResponse:
        zone_id = str(req.current_state["id"])
        found = self._get(zone_id)
        return ReadResponse(self._state(zone_id, req.current_state, found) if found is not None else None)

    def update(self, req: UpdateRequest) -> UpdateResponse:
        zone_id = str(req.prior_state["id"])
        prior, planned = req.prior_state, req.planned_state
        if planned.get("comment") != prior.get("comment"):
            comment = planned.get("comment")
            self.api.call("route53", "UpdateHostedZoneComment", Id=zone_id, Comment=str(comment or ""))
        before = {v["vpc_id"]: v for v in _vpc_list(prior.get("vpc"), self.api.region)}
        after = {v["vpc_id"]: v for v in _vpc_list(planned.get("vpc"), self.api.region)}
        for vpc_id, vpc in after.items():  # associate first: AWS refuses to remove the last VPC
            if vpc_id not in before:
                self._associate(zone_id, vpc)
        for vpc_id, vpc in before.items():
            if vpc_id not in after:
                self.api.call(
                    "route53",
                    "DisassociateVPCFromHostedZone",
                    HostedZoneId=zone_id,
                    VPC={"VPCId": vpc_id, "VPCRegion": vpc["vpc_region"]},
                )
        self._update_tags(zone_id, all_tags(prior), planned.get("tags_all"))
        return UpdateResponse(self._state(zone_id, planned))

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        zone_id = str(req.prior_state["id"])
        zone = self._get(zone_id)
        if zone is None:
            return DeleteResponse()
        if req.prior_state.get("force_destroy"):
            self._delete_records(zone_id, str(zone["HostedZone"]["Name"]))
        self.api.try_call("route53", "DeleteHostedZone", ("NoSuchHostedZone",), Id=zone_id)
        return DeleteResponse()

    def import_(self, req: ImportRequest) -> ImportResponse:
        zone_id = _short_id(req.id)
        found = self._get(zone_id)
        if found is None:
            raise AwsError("GetHostedZone", "NoSuchHostedZone", f"No hosted zone found with ID: {zone_id}")
        return ImportResponse(self._state(zone_id, {}, found))

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        """The zone whose CallerReference is the create's token."""
        marker: str | None = None
        while True:
            out = self.api.call("route53", "ListHostedZones", **({"Marker": marker} if marker else {}))
            for zone in out.get("HostedZones", []):
                if zone.get("CallerReference") == req.token:
                    return ReadResponse(self._state(_short_id(zone["Id"]), req.planned_state))
            marker = out.get("NextMarker")
            if not out.get("IsTruncated") or not marker:
                return ReadResponse(None)

    # -- helpers ------------------------------------------------------------------------
    def _get(self, zone_id: str) -> dict[str, Any] | None:
        return self.api.try_call("route53", "GetHostedZone", ("NoSuchHostedZone",), Id=zone_id)

    def _normalize_vpcs(self, value: Any) -> Any:
        """Blocks sorted, with ``vpc_region`` defaulting to the provider's region."""
        if value is None:
            return []
        if value is UNKNOWN or not is_wholly_known(value):
            return UNKNOWN
        region = self.api.region if getattr(self.provider, "api", None) is not None else None
        if region is None and any(v.get("vpc_region") is None for v in value):
            return UNKNOWN
        return _vpc_list(value, region)

    def _associate(self, zone_id: str, vpc: Mapping[str, Any]) -> None:
        out = self.api.call(
            "route53",
            "AssociateVPCWithHostedZone",
            HostedZoneId=zone_id,
            VPC={"VPCId": vpc["vpc_id"], "VPCRegion": vpc["vpc_region"]},
        )
        _wait_insync(self, out.get("ChangeInfo"))

    def _update_tags(self, zone_id: str, before: Any, after: Any) -> None:
        old, new = dict(before or {}), dict(after or {})
        params: dict[str, Any] = {}
        gone = sorted(k for k in old if k not in new)
        if gone:
            params["RemoveTagKeys"] = gone
        changed = {k: v for k, v in new.items() if old.get(k) != v}
        if changed:
            params["AddTags"] = to_tag_list(changed)
        if params:
            self.api.call("route53", "ChangeTagsForResource", ResourceType="hostedzone", ResourceId=zone_id, **params)

    def _delete_records(self, zone_id: str, zone_name: str) -> None:
        apex = _norm_name(zone_name)
        doomed: list[dict[str, Any]] = []
        params: dict[str, Any] = {"HostedZoneId": zone_id}
        while True:
            out = self.api.call("route53", "ListResourceRecordSets", **params)
            for rrset in out.get("ResourceRecordSets", []):
                if rrset.get("Type") in ("SOA", "NS") and _norm_name(rrset["Name"]) == apex:
                    continue
                doomed.append(rrset)
            if not out.get("IsTruncated"):
                break
            params = {
                "HostedZoneId": zone_id,
                "StartRecordName": out["NextRecordName"],
                "StartRecordType": out["NextRecordType"],
            }
        for start in range(0, len(doomed), 100):
            changes = [{"Action": "DELETE", "ResourceRecordSet": r} for r in doomed[start : start + 100]]
            out = self.api.call(
                "route53", "ChangeResourceRecordSets", HostedZoneId=zone_id, ChangeBatch={"Changes": changes}
            )
            _wait_insync(self, out.get("ChangeInfo"))

    def _state(self, zone_id: str, base: Mapping[str, Any], found: Mapping[str, Any] | None = None) -> dict[str, Any]:
        out = found if found is not None else self._get(zone_id) or {}
        zone = out.get("HostedZone", {})
        aws_name = str(zone.get("Name", ""))
        name = base.get("name")
        if not (known(name) and _norm_name(str(name)) == _norm_name(aws_name)):
            name = aws_name.removesuffix(".")
        tags = self.api.try_call(
            "route53", "ListTagsForResource", ("NoSuchHostedZone",), ResourceType="hostedzone", ResourceId=zone_id
        )
        vpcs = [{"vpc_id": v.get("VPCId"), "vpc_region": v.get("VPCRegion")} for v in out.get("VPCs") or ()]
        delegation = out.get("DelegationSet") or {}
        servers = [str(n) for n in delegation.get("NameServers") or ()]
        return {
            "id": zone_id,
            "zone_id": zone_id,
            "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
            "name": name,
            "comment": (zone.get("Config") or {}).get("Comment") or "",
            "delegation_set_id": _short_id(str(delegation["Id"])) if delegation.get("Id") else None,
            "force_destroy": base.get("force_destroy") is True,
            "name_servers": sorted(servers),
            "primary_name_server": servers[0] if servers else None,
            **self.tag_state(((tags or {}).get("ResourceTagSet") or {}).get("Tags"), base),
            "vpc": _vpc_list(vpcs, self.api.region),
        }


# -- names, ids and values -----------------------------------------------------------------


def _short_id(zone_id: str) -> str:
    """``/hostedzone/Z123`` -> ``Z123``."""
    return zone_id.rsplit("/", 1)[-1]


def _norm_name(name: str) -> str:
    """Compare form of a DNS name: lower case, no trailing dot, ``\\052`` as ``*``."""
    return name.replace("\\052", "*").removesuffix(".").lower()


def _keep_prior_spelling(req: PlanRequest, attrs: tuple[str, ...]) -> PlanRequest:
    """A name differing from the prior one only in case or a trailing dot is the same name:
    plan it as the prior spelling, so it neither replaces the object nor shows as a change."""
    prior, proposed = req.prior_state, req.proposed_new_state
    if prior is None or proposed is None:
        return req
    same = {
        attr: prior[attr]
        for attr in attrs
        if isinstance(prior.get(attr), str)
        and isinstance(proposed.get(attr), str)
        and prior[attr] != proposed[attr]
        and _norm_name(str(prior[attr])) == _norm_name(str(proposed[attr]))
    }
    if not same:
        return req
    cleaned = {**proposed, **same}
    return replace(req, proposed_new_state=cleaned, config=cleaned)


def _api_name(name: str) -> str:
    return name.lower()


def _expand_name(name: str, zone_name: str) -> str:
    """Terraform's rule: a record name not ending in the zone's name is relative to the zone."""
    record, zone = _norm_name(name), _norm_name(zone_name)
    if not record:
        return zone
    if record == zone or record.endswith("." + zone):
        return record
    return f"{record}.{zone}"


def _count(blocks: Any) -> int:
    return len(blocks) if isinstance(blocks, list) else 0


def _vpc_list(value: Any, region: str | None) -> list[dict[str, Any]]:
    items = {
        (str(v["vpc_id"]), str(v.get("vpc_region") or region or "")): None
        for v in (value if isinstance(value, list) else [])
        if isinstance(v, Mapping) and v.get("vpc_id")
    }
    return [{"vpc_id": vpc_id, "vpc_region": reg} for vpc_id, reg in sorted(items)]


def _wait_insync(resource: AwsResource, change: Mapping[str, Any] | None) -> None:
    """Wait until Route 53 reports the change propagated (INSYNC)."""
    if not change or change.get("Status") == "INSYNC":
        return
    change_id = _short_id(str(change["Id"]))

    def probe() -> bool | None:
        out = resource.api.call("route53", "GetChange", Id=change_id)
        return True if out.get("ChangeInfo", {}).get("Status") == "INSYNC" else None

    resource.api.wait(f"Route 53 change {change_id} to be in sync", probe, timeout=600)
