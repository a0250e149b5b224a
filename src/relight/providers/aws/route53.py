"""``aws_route53_zone`` (public or private, with ``vpc`` blocks) and ``aws_route53_record``.

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
from relight.providers.aws._common import AwsResource, from_tag_list, known, to_tag_list
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

__all__ = ["Route53Record", "Route53Zone"]

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
    ``force_destroy`` deletes every record but the apex SOA and NS before the zone."""

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
            "force_destroy": Attribute("bool", optional=True, default=False),
            "name_servers": Attribute("list", element="string", computed=True),
            "tags": Attribute("map", element="string", optional=True),
        },
        blocks={"vpc": BlockType(_VPC, nesting="set")},
    )

    def plan_change(self, req: PlanRequest) -> PlanResponse:
        req = _keep_prior_spelling(req, ("name",))
        resp = schema_plan(self.schema, req)
        if resp.planned_state is None:
            return resp
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
        out = self.api.call("route53", "CreateHostedZone", **params)
        zone_id = _short_id(out["HostedZone"]["Id"])
        diags = Diagnostics()
        try:
            _wait_insync(self, out.get("ChangeInfo"))
            for vpc in vpcs[1:]:
                self._associate(zone_id, vpc)
            self._update_tags(zone_id, None, p.get("tags"))
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
        self._update_tags(zone_id, prior.get("tags"), planned.get("tags"))
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
        return {
            "id": zone_id,
            "zone_id": zone_id,
            "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
            "name": name,
            "comment": (zone.get("Config") or {}).get("Comment") or "",
            "force_destroy": base.get("force_destroy") is True,
            "name_servers": sorted(str(n) for n in (out.get("DelegationSet") or {}).get("NameServers") or ()),
            "tags": from_tag_list(((tags or {}).get("ResourceTagSet") or {}).get("Tags")),
            "vpc": _vpc_list(vpcs, self.api.region),
        }


class Route53Record(AwsResource):
    """``aws_route53_record`` (simple records: ``ttl`` and ``records``; no alias or routing policies).

    The id is Terraform's ``<ZONEID>_<NAME>_<TYPE>`` (the full name, lower case, no trailing
    dot), which is also what ``import`` takes. A name that does not end in the zone's name is
    taken as relative to it (``www`` in ``example.com`` is ``www.example.com``). Without
    ``allow_overwrite`` a create refuses to take over an existing record with AWS's
    ``InvalidChangeBatch`` (checked first: the local cloud would add a duplicate).
    TXT and SPF values are quoted for AWS and shown unquoted, as in Terraform.
    """

    name = "aws_route53_record"
    terraform = _tfshapes.ROUTE53_RECORD
    schema = Schema(
        recoverable=True,
        attributes={
            "id": Attribute("string", computed=True),
            "zone_id": Attribute("string", required=True, force_new=True),
            "name": Attribute("string", required=True, force_new=True),
            "type": Attribute("string", required=True, force_new=True),
            "ttl": Attribute("number", optional=True),
            "records": Attribute("set", element="string", optional=True),
            "fqdn": Attribute("string", computed=True),
            "allow_overwrite": Attribute("bool", optional=True, default=False),
        },
    )

    def plan_change(self, req: PlanRequest) -> PlanResponse:
        req = _keep_prior_spelling(req, ("name", "type"))
        resp = schema_plan(self.schema, req)
        planned = resp.planned_state
        if planned is None:
            return resp
        records = planned.get("records")
        if records is None:
            planned["records"] = []
        elif records is UNKNOWN or not is_wholly_known(records) or not known(planned.get("type")):
            planned["records"] = UNKNOWN
        else:
            rtype = str(planned["type"])
            planned["records"] = sorted({_value_from_aws(str(v), rtype) for v in records})
        ttl = planned.get("ttl")
        if isinstance(ttl, float) and ttl.is_integer():
            planned["ttl"] = int(ttl)
        return resp

    def create(self, req: CreateRequest) -> CreateResponse:
        p = req.planned_state
        zone_id = _short_id(str(p["zone_id"]))
        fqdn = self._fqdn(zone_id, str(p["name"]))
        rtype = str(p["type"]).upper()
        if p.get("allow_overwrite") is True:
            action = "UPSERT"
        else:
            action = "CREATE"
            if self._find(zone_id, fqdn, rtype) is not None:
                raise AwsError(
                    "ChangeResourceRecordSets",
                    "InvalidChangeBatch",
                    f"[Tried to create resource record set [name='{fqdn}.', type='{rtype}'] but it already "
                    "exists]. Set allow_overwrite = true to take it over, or import it.",
                )
        self._change(zone_id, action, self._rrset(fqdn, rtype, p))
        return CreateResponse(self._state(zone_id, fqdn, p))

    def read(self, req: ReadRequest) -> ReadResponse:
        s = req.current_state
        where = self._locate(s)
        found = self._find(*where, str(s["type"])) if where is not None else None
        if where is None or found is None:
            return ReadResponse(None)
        return ReadResponse(self._state(*where, s, found))

    def update(self, req: UpdateRequest) -> UpdateResponse:
        p = req.planned_state
        zone_id = _short_id(str(req.prior_state["zone_id"]))
        fqdn = str(req.prior_state.get("fqdn") or "") or self._fqdn(zone_id, str(p["name"]))
        self._change(zone_id, "UPSERT", self._rrset(fqdn, str(p["type"]).upper(), p))
        return UpdateResponse(self._state(zone_id, fqdn, p))

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        s = req.prior_state
        where = self._locate(s)
        found = self._find(*where, str(s["type"])) if where is not None else None
        if where is None or found is None:
            return DeleteResponse()
        zone_id = where[0]
        try:
            self._change(zone_id, "DELETE", found)  # exactly as AWS has it, as DELETE requires
        except AwsError as exc:
            if not (exc.code == "InvalidChangeBatch" and "not found" in exc.detail):
                raise
        return DeleteResponse()

    def import_(self, req: ImportRequest) -> ImportResponse:
        zone_id, sep, rest = req.id.partition("_")
        name, sep2, rtype = rest.rpartition("_")
        if not (sep and sep2 and zone_id and name and rtype):
            raise CallError(
                "Invalid aws_route53_record import id",
                f'Expected "ZONEID_NAME_TYPE", e.g. "Z123456ABCDEFG_www.example.com_A"; got "{req.id}".',
            )
        zone_id = _short_id(zone_id)
        fqdn = self._fqdn(zone_id, name)
        found = self._find(zone_id, fqdn, rtype)
        if found is None:
            raise AwsError(
                "ListResourceRecordSets",
                "NoSuchResourceRecordSet",
                f"No {rtype.upper()} record named {fqdn} in hosted zone {zone_id}",
            )
        base = {"zone_id": zone_id, "name": name.removesuffix("."), "type": rtype.upper()}
        return ImportResponse(self._state(zone_id, fqdn, base, found))

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        """Records carry no token: the record at the planned zone, name and type is taken as the
        one an interrupted create made only if it holds exactly the planned TTL and values."""
        p = req.planned_state
        if not all(known(p.get(k)) for k in ("zone_id", "name", "type")):
            return ReadResponse(None)
        where = self._locate({"zone_id": p["zone_id"], "name": p["name"]})
        found = self._find(*where, str(p["type"])) if where is not None else None
        if where is None or found is None:
            return ReadResponse(None)
        state = self._state(*where, {**p, "zone_id": p["zone_id"]}, found)
        rtype = str(p["type"])
        want = sorted({_value_from_aws(str(v), rtype) for v in p.get("records") or ()})
        ttl = p.get("ttl")
        if state["records"] != want or (ttl is not None and state["ttl"] != int(ttl)):
            return ReadResponse(None)
        return ReadResponse(state)

    # -- helpers ------------------------------------------------------------------------
    def _locate(self, state: Mapping[str, Any]) -> tuple[str, str] | None:
        """(zone id, full name) of the record in ``state``; None when its zone is gone."""
        zone_id = _short_id(str(state["zone_id"]))
        fqdn = str(state.get("fqdn") or "")
        if not fqdn:
            zone = self.api.try_call("route53", "GetHostedZone", ("NoSuchHostedZone",), Id=zone_id)
            if zone is None:
                return None
            fqdn = _expand_name(str(state["name"]), str(zone["HostedZone"]["Name"]))
        return zone_id, fqdn

    def _fqdn(self, zone_id: str, name: str) -> str:
        zone = self.api.call("route53", "GetHostedZone", Id=zone_id)
        return _expand_name(name, str(zone["HostedZone"]["Name"]))

    def _find(self, zone_id: str, fqdn: str, rtype: str) -> dict[str, Any] | None:
        out = self.api.try_call(
            "route53",
            "ListResourceRecordSets",
            ("NoSuchHostedZone",),
            HostedZoneId=zone_id,
            StartRecordName=_norm_name(fqdn),
            StartRecordType=rtype.upper(),
            MaxItems="1",
        )
        for rrset in (out or {}).get("ResourceRecordSets", []):
            if _norm_name(str(rrset["Name"])) == _norm_name(fqdn) and str(rrset["Type"]).upper() == rtype.upper():
                found: dict[str, Any] = rrset
                return found
        return None

    def _rrset(self, fqdn: str, rtype: str, p: Mapping[str, Any]) -> dict[str, Any]:
        rrset: dict[str, Any] = {
            "Name": fqdn,
            "Type": rtype,
            "ResourceRecords": [{"Value": _value_to_aws(str(v), rtype)} for v in p.get("records") or ()],
        }
        if p.get("ttl") is not None:
            rrset["TTL"] = int(p["ttl"])
        return rrset

    def _change(self, zone_id: str, action: str, rrset: Mapping[str, Any]) -> None:
        out = self.api.call(
            "route53",
            "ChangeResourceRecordSets",
            HostedZoneId=zone_id,
            ChangeBatch={"Comment": "Managed by relight", "Changes": [{"Action": action, "ResourceRecordSet": rrset}]},
        )
        _wait_insync(self, out.get("ChangeInfo"))

    def _state(
        self, zone_id: str, fqdn: str, base: Mapping[str, Any], found: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        if found is None:
            found = self._find(zone_id, fqdn, str(base["type"])) or {}
        rtype = str(base["type"])
        name = _norm_name(fqdn)
        return {
            "id": f"{zone_id}_{name}_{rtype.upper()}",
            "zone_id": base.get("zone_id"),
            "name": base.get("name"),
            "type": rtype,
            "ttl": found.get("TTL"),
            "records": sorted({_value_from_aws(str(r["Value"]), rtype) for r in found.get("ResourceRecords") or ()}),
            "fqdn": name,
            "allow_overwrite": base.get("allow_overwrite") is True,
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


def _quoted(value: str) -> bool:
    return len(value) >= 2 and value.startswith('"') and value.endswith('"')


def _value_to_aws(value: str, rtype: str) -> str:
    """TXT and SPF values go to AWS as one quoted string (inner quotes and backslashes escaped)."""
    if rtype.upper() in ("TXT", "SPF") and not _quoted(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _value_from_aws(value: str, rtype: str) -> str:
    """The inverse of :func:`_value_to_aws`: a quoted TXT/SPF value shown without its quotes."""
    if not (rtype.upper() in ("TXT", "SPF") and _quoted(value)):
        return value
    out: list[str] = []
    chars = iter(value[1:-1])
    for char in chars:
        out.append(next(chars, "\\") if char == "\\" else char)
    return "".join(out)


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
