"""``aws_route53_record``: simple records (``ttl`` and ``records``) and records under a routing
policy (``set_identifier`` with one of the weighted, latency, failover, geolocation,
geoproximity, CIDR or multivalue-answer policies, optionally with a ``health_check_id``).

The id is Terraform's ``<ZONEID>_<NAME>_<TYPE>`` (``_<SET_IDENTIFIER>`` appended when there is
one; the full name, lower case, no trailing dot), which is also what ``import`` takes. A name
that does not end in the zone's name is taken as relative to it (``www`` in ``example.com`` is
``www.example.com``). Without ``allow_overwrite`` a create refuses to take over an existing
record with AWS's ``InvalidChangeBatch`` (checked first: the local cloud would add a duplicate).
TXT and SPF values are quoted for AWS and shown unquoted, as in Terraform.

Changes are made in place, as Terraform makes them: an UPSERT, or (when ``type`` or
``set_identifier`` changes, which name another record set) one change batch that deletes the
old record set and creates the new one, so the name is never left without an answer. The local
cloud drops geoproximity and CIDR routing: those are planned and said (see _gaps.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from relight.providers.aws import _tfshapes
from relight.providers.aws._api import AwsError
from relight.providers.aws._common import AwsResource, known
from relight.providers.aws._gaps import Gap, changed, keep_gaps, note_gaps, set_to
from relight.providers.aws.route53 import _expand_name, _keep_prior_spelling, _norm_name, _short_id, _wait_insync
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

__all__ = ["RECORD_TYPES", "Route53Record", "parse_record_id", "record_id"]

RECORD_TYPES = (
    *("A", "AAAA", "CAA", "CNAME", "DS", "HTTPS", "MX", "NAPTR", "NS"),
    *("PTR", "SOA", "SPF", "SRV", "SSHFP", "SVCB", "TLSA", "TXT"),
)
_FAILOVER = ("PRIMARY", "SECONDARY")


def _block(**attributes: Attribute) -> BlockType:
    return BlockType(Schema(attributes=attributes), nesting="list", max_items=1)


_COORDINATES = Schema(
    attributes={"latitude": Attribute("string", required=True), "longitude": Attribute("string", required=True)}
)
_POLICIES: dict[str, BlockType] = {
    "weighted_routing_policy": _block(weight=Attribute("number", required=True)),
    "latency_routing_policy": _block(region=Attribute("string", required=True)),
    "failover_routing_policy": _block(type=Attribute("string", required=True)),
    "geolocation_routing_policy": _block(
        continent=Attribute("string", optional=True),
        country=Attribute("string", optional=True),
        subdivision=Attribute("string", optional=True),
    ),
    "geoproximity_routing_policy": BlockType(
        Schema(
            attributes={
                "aws_region": Attribute("string", optional=True),
                "bias": Attribute("number", optional=True, default=0),
                "local_zone_group": Attribute("string", optional=True),
            },
            blocks={"coordinates": BlockType(_COORDINATES, nesting="set")},
        ),
        nesting="list",
        max_items=1,
    ),
    "cidr_routing_policy": _block(
        collection_id=Attribute("string", required=True), location_name=Attribute("string", required=True)
    ),
}
_MULTIVALUE = "multivalue_answer_routing_policy"

_holds_geoproximity = set_to("geoproximity_routing_policy")
_holds_cidr = set_to("cidr_routing_policy")
RECORD_GAPS = (
    Gap(
        "geoproximity routing",
        ("geoproximity_routing_policy",),
        changed(_holds_geoproximity, "geoproximity_routing_policy"),
        _holds_geoproximity,
        missing="accepts a record's GeoProximityLocation and drops it",
    ),
    Gap(
        "CIDR routing",
        ("cidr_routing_policy",),
        changed(_holds_cidr, "cidr_routing_policy"),
        _holds_cidr,
        missing="accepts a record's CidrRoutingConfig and drops it",
    ),
)


class Route53Record(AwsResource):
    """``aws_route53_record`` (see the module docstring)."""

    name = "aws_route53_record"
    terraform = _tfshapes.ROUTE53_RECORD
    schema = Schema(
        recoverable=True,
        attributes={
            "id": Attribute("string", computed=True),
            "zone_id": Attribute("string", required=True, force_new=True),
            "name": Attribute("string", required=True, force_new=True),
            "type": Attribute("string", required=True),
            "ttl": Attribute("number", optional=True),
            "records": Attribute("set", element="string", optional=True),
            "set_identifier": Attribute("string", optional=True),
            "health_check_id": Attribute("string", optional=True),
            _MULTIVALUE: Attribute("bool", optional=True, default=False),
            "fqdn": Attribute("string", computed=True),
            "allow_overwrite": Attribute("bool", optional=True, default=False),
        },
        blocks=_POLICIES,
    )

    def plan_change(self, req: PlanRequest) -> PlanResponse:
        req = _keep_prior_spelling(req, ("name", "type"))
        resp = schema_plan(self.schema, req)
        planned = resp.planned_state
        if planned is None:
            return resp
        _check_policies(req.config or {})
        if known(planned.get("type")) and planned["type"] not in RECORD_TYPES:
            raise CallError(
                "Invalid value for type",
                f'expected type to be one of [{", ".join(RECORD_TYPES)}], got "{planned["type"]}".',
                attribute=("type",),
            )
        records = planned.get("records")
        if records is None:
            planned["records"] = []
        elif records is UNKNOWN or not is_wholly_known(records) or not known(planned.get("type")):
            planned["records"] = UNKNOWN
        else:
            rtype = str(planned["type"])
            planned["records"] = sorted({_value_from_aws(str(v), rtype) for v in records})
        planned["ttl"] = _whole(planned.get("ttl"))
        for name in _POLICIES:
            planned[name] = _normalize_policy(name, planned.get(name))
        if known(planned.get("zone_id")) and req.prior_state is not None and not resp.requires_replace:
            planned["id"] = _planned_id(req.prior_state, planned)
        prior = req.prior_state if not resp.requires_replace else None
        note_gaps(self, RECORD_GAPS, planned, prior, resp.diagnostics)
        return resp

    def create(self, req: CreateRequest) -> CreateResponse:
        p = req.planned_state
        zone_id = _short_id(str(p["zone_id"]))
        fqdn = self._fqdn(zone_id, str(p["name"]))
        rtype = str(p["type"]).upper()
        set_id = _set_id(p)
        if p.get("allow_overwrite") is True:
            action = "UPSERT"
        else:
            action = "CREATE"
            if self._find(zone_id, fqdn, rtype, set_id) is not None:
                raise AwsError(
                    "ChangeResourceRecordSets",
                    "InvalidChangeBatch",
                    f"[Tried to create resource record set [name='{fqdn}.', type='{rtype}'"
                    f"{_set_words(set_id)}] but it already exists]. Set allow_overwrite = true to take it over, "
                    "or import it.",
                )
        self._change(zone_id, [(action, _rrset(fqdn, rtype, p))])
        return CreateResponse(self._state(zone_id, fqdn, p))

    def read(self, req: ReadRequest) -> ReadResponse:
        s = req.current_state
        where = self._locate(s)
        found = self._find(*where, str(s["type"]), _set_id(s)) if where is not None else None
        if where is None or found is None:
            return ReadResponse(None)
        return ReadResponse(self._state(*where, s, found))

    def update(self, req: UpdateRequest) -> UpdateResponse:
        prior, p = req.prior_state, req.planned_state
        zone_id = _short_id(str(prior["zone_id"]))
        fqdn = str(prior.get("fqdn") or "") or self._fqdn(zone_id, str(p["name"]))
        rtype = str(p["type"]).upper()
        new = _rrset(fqdn, rtype, p)
        old_type, old_set = str(prior["type"]).upper(), _set_id(prior)
        if (old_type, old_set) == (rtype, _set_id(p)):
            self._change(zone_id, [("UPSERT", new)])
        else:  # another record set: replace the old one in the same batch
            old = self._find(zone_id, fqdn, old_type, old_set)
            changes = [("DELETE", old)] if old is not None else []
            self._change(zone_id, [*changes, ("UPSERT" if p.get("allow_overwrite") is True else "CREATE", new)])
        return UpdateResponse(self._state(zone_id, fqdn, p))

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        s = req.prior_state
        where = self._locate(s)
        found = self._find(*where, str(s["type"]), _set_id(s)) if where is not None else None
        if where is None or found is None:
            return DeleteResponse()
        zone_id = where[0]
        try:
            self._change(zone_id, [("DELETE", found)])  # exactly as AWS has it, as DELETE requires
        except AwsError as exc:
            if not (exc.code == "InvalidChangeBatch" and "not found" in exc.detail):
                raise
        return DeleteResponse()

    def import_(self, req: ImportRequest) -> ImportResponse:
        zone_id, name, rtype, set_id = parse_record_id(req.id)
        zone_id = _short_id(zone_id)
        fqdn = self._fqdn(zone_id, name)
        found = self._find(zone_id, fqdn, rtype, set_id)
        if found is None:
            raise AwsError(
                "ListResourceRecordSets",
                "NoSuchResourceRecordSet",
                f"No {rtype} record named {fqdn}{_set_words(set_id)} in hosted zone {zone_id}",
            )
        base = {"zone_id": zone_id, "name": name.removesuffix("."), "type": rtype}
        return ImportResponse(self._state(zone_id, fqdn, base, found))

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        """Records carry no token: the record at the planned zone, name, type and set identifier
        is taken as the one an interrupted create made only if it holds exactly the planned TTL
        and values."""
        p = req.planned_state
        if not all(known(p.get(k)) for k in ("zone_id", "name", "type")):
            return ReadResponse(None)
        where = self._locate({"zone_id": p["zone_id"], "name": p["name"]})
        found = self._find(*where, str(p["type"]), _set_id(p)) if where is not None else None
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

    def _find(self, zone_id: str, fqdn: str, rtype: str, set_id: str | None) -> dict[str, Any] | None:
        """The record set with this name, type and set identifier (None: there is none)."""
        for rrset in self._same_name_and_type(zone_id, fqdn, rtype):
            if (rrset.get("SetIdentifier") or None) == set_id:
                return rrset
        return None

    def _same_name_and_type(self, zone_id: str, fqdn: str, rtype: str) -> Iterator[dict[str, Any]]:
        """The record sets of one name and type (several under a routing policy), page by page."""
        params: dict[str, Any] = {
            "HostedZoneId": zone_id,
            "StartRecordName": _norm_name(fqdn),
            "StartRecordType": rtype.upper(),
            "MaxItems": "100",
        }
        while True:
            out = self.api.try_call("route53", "ListResourceRecordSets", ("NoSuchHostedZone",), **params)
            for rrset in (out or {}).get("ResourceRecordSets", []):
                if _norm_name(str(rrset["Name"])) != _norm_name(fqdn) or str(rrset["Type"]).upper() != rtype.upper():
                    return
                yield rrset
            if not out or not out.get("IsTruncated"):
                return
            params["StartRecordName"], params["StartRecordType"] = out["NextRecordName"], out["NextRecordType"]
            if out.get("NextRecordIdentifier"):
                params["StartRecordIdentifier"] = out["NextRecordIdentifier"]

    def _change(self, zone_id: str, changes: list[tuple[str, Mapping[str, Any]]]) -> None:
        out = self.api.call(
            "route53",
            "ChangeResourceRecordSets",
            HostedZoneId=zone_id,
            ChangeBatch={
                "Comment": "Managed by relight",
                "Changes": [{"Action": action, "ResourceRecordSet": rrset} for action, rrset in changes],
            },
        )
        _wait_insync(self, out.get("ChangeInfo"))

    def _state(
        self, zone_id: str, fqdn: str, base: Mapping[str, Any], found: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        rtype = str(base["type"]).upper()
        if found is None:
            found = self._find(zone_id, fqdn, rtype, _set_id(base)) or {}
        name = _norm_name(fqdn)
        set_id = found.get("SetIdentifier") or None
        state: dict[str, Any] = {
            "id": record_id(zone_id, name, rtype, set_id),
            "zone_id": base.get("zone_id"),
            "name": base.get("name"),
            "type": base["type"],
            "ttl": found.get("TTL"),
            "records": sorted({_value_from_aws(str(r["Value"]), rtype) for r in found.get("ResourceRecords") or ()}),
            "set_identifier": set_id,
            "health_check_id": found.get("HealthCheckId") or None,
            _MULTIVALUE: found.get("MultiValueAnswer") is True,
            "fqdn": name,
            "allow_overwrite": base.get("allow_overwrite") is True,
            **policies_from_aws(found),
        }
        return keep_gaps(self.api, RECORD_GAPS, state, base)


# -- ids -----------------------------------------------------------------------------------


def record_id(zone_id: str, name: str, rtype: str, set_id: str | None) -> str:
    """Terraform's id of a record: ``ZONE_NAME_TYPE``, then ``_SETIDENTIFIER`` if it has one."""
    base = f"{zone_id}_{_norm_name(name)}_{rtype.upper()}"
    return f"{base}_{set_id}" if set_id else base


def parse_record_id(text: str) -> tuple[str, str, str, str | None]:
    """(zone id, name, type, set identifier) from an import id; the type is the first part after
    the zone that is a record type (names may hold underscores, as ``_dmarc.example.com``)."""
    parts = text.split("_")
    for index in range(2, len(parts)):
        name = "_".join(parts[1:index]).removesuffix(".")
        if parts[index].upper() in RECORD_TYPES and parts[0] and name:
            return parts[0], name, parts[index].upper(), "_".join(parts[index + 1 :]) or None
    raise CallError(
        "Invalid aws_route53_record import id",
        'Expected "ZONEID_NAME_TYPE" or "ZONEID_NAME_TYPE_SETIDENTIFIER", e.g. "Z123456ABCDEFG_www.example.com_A"; '
        f'got "{text}".',
    )


def _planned_id(prior: Mapping[str, Any], planned: Mapping[str, Any]) -> Value:
    """The id after an in-place update (a new type or set identifier is another record set)."""
    fqdn = prior.get("fqdn")
    if not (known(planned.get("type")) and planned.get("set_identifier") is not UNKNOWN and fqdn):
        return UNKNOWN
    return record_id(_short_id(str(prior["zone_id"])), fqdn, str(planned["type"]), _set_id(planned))


def _set_id(obj: Mapping[str, Any]) -> str | None:
    value = obj.get("set_identifier")
    return str(value) if known(value) and value != "" else None


def _set_words(set_id: str | None) -> str:
    return f", set identifier='{set_id}'" if set_id else ""


# -- routing policies ----------------------------------------------------------------------


def _check_policies(config: Mapping[str, Value]) -> None:
    """Terraform's rules: at most one routing policy, and each needs a ``set_identifier``."""
    given = [n for n in (*_POLICIES, _MULTIVALUE) if config.get(n) not in (None, [], False)]
    if len(given) > 1:
        raise CallError(
            "Conflicting configuration arguments",
            f'"{given[1]}": conflicts with {given[0]}',
            attribute=(given[1],),
        )
    if given and config.get("set_identifier") in (None, ""):
        raise CallError(
            "Missing required argument",
            f'"{given[0]}": all of `{given[0]},set_identifier` must be specified',
            attribute=(given[0],),
        )
    failover = config.get("failover_routing_policy")
    for block in failover if isinstance(failover, list) else ():
        kind = block.get("type") if isinstance(block, dict) else None
        if known(kind) and kind not in _FAILOVER:
            raise CallError(
                "Invalid value for failover_routing_policy",
                f'expected type to be one of [{", ".join(_FAILOVER)}], got "{kind}".',
                attribute=("failover_routing_policy",),
            )


def _normalize_policy(name: str, value: Value) -> Value:
    """A policy block in the form read returns (every key, whole numbers, nulls for unset)."""
    if value is None:
        return []
    if value is UNKNOWN or not is_wholly_known(value) or not isinstance(value, list):
        return value
    return [_policy_block(name, b) for b in value[:1] if isinstance(b, dict)]


def _policy_block(name: str, block: Mapping[str, Any]) -> dict[str, Value]:
    schema = _POLICIES[name].schema
    out: dict[str, Value] = {}
    for key, attr in schema.attributes.items():
        value = _whole(block.get(key)) if attr.type == "number" else block.get(key) or None
        out[key] = attr.default if value is None else value
    if "coordinates" in schema.blocks:
        points = block.get("coordinates") or []
        out["coordinates"] = sorted(
            ({"latitude": str(c["latitude"]), "longitude": str(c["longitude"])} for c in points),
            key=lambda c: (c["latitude"], c["longitude"]),
        )
    return out


def policies_from_aws(rrset: Mapping[str, Any]) -> dict[str, Value]:
    """The routing policy blocks of a record set as Route 53 reports it."""
    found: dict[str, dict[str, Any]] = {}
    if rrset.get("Weight") is not None:
        found["weighted_routing_policy"] = {"weight": rrset["Weight"]}
    if rrset.get("Region"):
        found["latency_routing_policy"] = {"region": rrset["Region"]}
    if rrset.get("Failover"):
        found["failover_routing_policy"] = {"type": rrset["Failover"]}
    if rrset.get("GeoLocation"):
        geo = rrset["GeoLocation"]
        found["geolocation_routing_policy"] = {
            "continent": geo.get("ContinentCode"),
            "country": geo.get("CountryCode"),
            "subdivision": geo.get("SubdivisionCode"),
        }
    if rrset.get("GeoProximityLocation"):
        geo = rrset["GeoProximityLocation"]
        coordinates = geo.get("Coordinates")
        found["geoproximity_routing_policy"] = {
            "aws_region": geo.get("AWSRegion"),
            "bias": geo.get("Bias"),
            "local_zone_group": geo.get("LocalZoneGroup"),
            "coordinates": [{"latitude": coordinates["Latitude"], "longitude": coordinates["Longitude"]}]
            if coordinates
            else [],
        }
    if rrset.get("CidrRoutingConfig"):
        cidr = rrset["CidrRoutingConfig"]
        found["cidr_routing_policy"] = {
            "collection_id": cidr.get("CollectionId"),
            "location_name": cidr.get("LocationName"),
        }
    return {name: [_policy_block(name, found[name])] if name in found else [] for name in _POLICIES}


def _policies_to_aws(p: Mapping[str, Any]) -> dict[str, Any]:
    """ResourceRecordSet fields for the planned routing policy."""
    out: dict[str, Any] = {}
    first = {name: (p.get(name) or [None])[0] for name in _POLICIES}
    if first["weighted_routing_policy"]:
        out["Weight"] = int(first["weighted_routing_policy"]["weight"])
    if first["latency_routing_policy"]:
        out["Region"] = str(first["latency_routing_policy"]["region"])
    if first["failover_routing_policy"]:
        out["Failover"] = str(first["failover_routing_policy"]["type"])
    geo = first["geolocation_routing_policy"]
    if geo:
        keys = (("continent", "ContinentCode"), ("country", "CountryCode"), ("subdivision", "SubdivisionCode"))
        out["GeoLocation"] = {aws: str(geo[k]) for k, aws in keys if geo.get(k)}
    near = first["geoproximity_routing_policy"]
    if near:
        location: dict[str, Any] = {"Bias": int(near.get("bias") or 0)}
        if near.get("aws_region"):
            location["AWSRegion"] = str(near["aws_region"])
        if near.get("local_zone_group"):
            location["LocalZoneGroup"] = str(near["local_zone_group"])
        for point in (near.get("coordinates") or [])[:1]:
            location["Coordinates"] = {"Latitude": str(point["latitude"]), "Longitude": str(point["longitude"])}
        out["GeoProximityLocation"] = location
    cidr = first["cidr_routing_policy"]
    if cidr:
        out["CidrRoutingConfig"] = {
            "CollectionId": str(cidr["collection_id"]),
            "LocationName": str(cidr["location_name"]),
        }
    if p.get(_MULTIVALUE) is True:
        out["MultiValueAnswer"] = True
    return out


def _rrset(fqdn: str, rtype: str, p: Mapping[str, Any]) -> dict[str, Any]:
    rrset: dict[str, Any] = {
        "Name": fqdn,
        "Type": rtype,
        "ResourceRecords": [{"Value": _value_to_aws(str(v), rtype)} for v in p.get("records") or ()],
        **_policies_to_aws(p),
    }
    if p.get("ttl") is not None:
        rrset["TTL"] = int(p["ttl"])
    if _set_id(p):
        rrset["SetIdentifier"] = _set_id(p)
    if known(p.get("health_check_id")):
        rrset["HealthCheckId"] = str(p["health_check_id"])
    return rrset


# -- values --------------------------------------------------------------------------------


def _whole(value: Value) -> Value:
    return int(value) if isinstance(value, float) and value.is_integer() else value


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
