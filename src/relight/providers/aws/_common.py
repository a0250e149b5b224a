"""Shared pieces of the AWS resource types: the API handle, tags, filters and small converters.

Tags, as Terraform's AWS provider has them: ``tags`` is the resource's own map; ``tags_all``
(computed) is the provider's ``default_tags { tags = {...} }`` merged with it (the resource's
values win), and is what AWS holds: creates and updates send ``tags_all``. Reading splits what
AWS holds back: ``tags_all`` is all of it, ``tags`` leaves out the default tags the resource did
not set itself (a key the resource sets with the default's value stays in ``tags``, so it never
shows as a change). Changing ``default_tags`` is an in-place update of ``tags_all`` on every
tagged object.

Objects relight creates also carry ``relight:create-token`` (the engine's idempotency token, so
a create cut short by a crash can be found and adopted); tags under the ``relight:`` prefix are
never shown in ``tags`` or ``tags_all`` and never removed by updates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from relight.providers.aws._api import AwsApi
from relight.providers.base import (
    Attribute,
    BlockType,
    FindCreatedRequest,
    PlanRequest,
    PlanResponse,
    ReadResponse,
    Schema,
    schema_plan,
)
from relight.providers.framework import CallError, DataSource, ResourceType
from relight.values import UNKNOWN, Value, is_wholly_known

__all__ = [
    "FILTER_BLOCK",
    "GONE_STATES",
    "TOKEN_TAG",
    "AwsDataSource",
    "AwsResource",
    "all_tags",
    "api_of",
    "describe_instance",
    "ec2_filters",
    "from_tag_list",
    "instance_alive",
    "merged_tags",
    "most_recent",
    "split_tags",
    "tag_specs",
    "to_tag_list",
    "update_ec2_tags",
]

TOKEN_TAG = "relight:create-token"
_INTERNAL = "relight:"


def api_of(provider: object) -> AwsApi:
    api = getattr(provider, "api", None)
    if not isinstance(api, AwsApi):
        raise CallError("The aws provider is not configured", "This is a bug: configure was not called.")
    return api


class AwsResource(ResourceType):
    """Base of every aws_* resource: ``self.api`` and a tag-based ``find_created``.

    Subclasses that tag on create set ``ec2_find`` to ``(describe operation, result key)`` and
    implement ``describe_one``; everything else keeps the framework's "cannot look" default.
    """

    @property
    def api(self) -> AwsApi:
        return api_of(self.provider)

    def plan(self, req: PlanRequest) -> PlanResponse:
        resp = self.plan_change(without_empty_strings(self.schema, req))
        if resp.planned_state is not None and "tags_all" in self.schema.attributes:
            resp.planned_state["tags_all"] = merged_tags(self.default_tags, resp.planned_state.get("tags"))
        return resp

    @property
    def default_tags(self) -> Value:
        """The provider's ``default_tags`` (a map, or UNKNOWN until apply)."""
        found: Value = getattr(self.provider, "default_tags", None) or {}
        return found

    def tag_state(self, aws_tags: Iterable[Mapping[str, Any]] | None, base: Mapping[str, Value]) -> dict[str, Value]:
        """``tags`` and ``tags_all`` of an object whose AWS tags are ``aws_tags``; ``base`` is the
        recorded object (its ``tags`` say which default tags the resource set itself)."""
        return split_tags(from_tag_list(aws_tags) or {}, self.default_tags, base.get("tags"))

    def plan_change(self, req: PlanRequest) -> PlanResponse:
        """Plan with ``""`` already turned into null; override this, not ``plan``."""
        return schema_plan(self.schema, req)

    def find_by_token(self, operation: str, key: str, token: str) -> list[dict[str, Any]]:
        """EC2 objects carrying our create token (any state; the caller filters the dead)."""
        out = self.api.call("ec2", operation, Filters=[{"Name": f"tag:{TOKEN_TAG}", "Values": [token]}])
        if key == "Reservations":
            return [i for r in out.get("Reservations", []) for i in r.get("Instances", [])]
        items: list[dict[str, Any]] = out.get(key, [])
        return items

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        return ReadResponse(None)


class AwsDataSource(DataSource):
    @property
    def api(self) -> AwsApi:
        return api_of(self.provider)


def to_tag_list(tags: Mapping[str, Value] | None) -> list[dict[str, str]]:
    return [{"Key": str(k), "Value": "" if v is None else str(v)} for k, v in sorted((tags or {}).items())]


def from_tag_list(items: Iterable[Mapping[str, Any]] | None) -> dict[str, str] | None:
    """AWS tag list -> the user's ``tags`` map (None when empty, as Terraform shows it)."""
    out = {str(t["Key"]): str(t.get("Value", "")) for t in items or () if not str(t["Key"]).startswith(_INTERNAL)}
    return out or None


def merged_tags(defaults: Value, tags: Value) -> Value:
    """``tags_all``: the provider's default tags, then the resource's (UNKNOWN if either is)."""
    if not (is_wholly_known(defaults) and is_wholly_known(tags)):
        return UNKNOWN
    merged = dict(defaults) if isinstance(defaults, dict) else {}
    if isinstance(tags, dict):
        merged.update(tags)
    return merged


def split_tags(aws: Mapping[str, str], defaults: Value, recorded: Value) -> dict[str, Value]:
    """What AWS holds, as ``tags`` and ``tags_all`` (see the module docstring)."""
    own = set(recorded) if isinstance(recorded, dict) else set()
    default = dict(defaults) if isinstance(defaults, dict) else {}
    tags = {k: v for k, v in aws.items() if k in own or k not in default or default[k] != v}
    return {"tags": tags or None, "tags_all": dict(aws)}


def all_tags(obj: Mapping[str, Value]) -> Value:
    """The tags an object holds on AWS: ``tags_all``, or ``tags`` for objects recorded before
    relight knew ``tags_all``."""
    found = obj.get("tags_all")
    return found if found is not None else obj.get("tags")


def tag_specs(resource_type: str, tags: Mapping[str, Value] | None, token: str = "") -> list[dict[str, Any]]:
    items = to_tag_list(tags)
    if token:
        items.append({"Key": TOKEN_TAG, "Value": token})
    return [{"ResourceType": resource_type, "Tags": items}] if items else []


def update_ec2_tags(
    api: AwsApi, resource_id: str, before: Mapping[str, Value] | None, after: Mapping[str, Value] | None
) -> None:
    """Make the user's tags on ``resource_id`` equal ``after`` (internal tags untouched)."""
    old, new = dict(before or {}), dict(after or {})
    gone = [{"Key": k} for k in old if k not in new]
    if gone:
        api.call("ec2", "DeleteTags", Resources=[resource_id], Tags=gone)
    changed = {k: v for k, v in new.items() if old.get(k) != v}
    if changed:
        api.call("ec2", "CreateTags", Resources=[resource_id], Tags=to_tag_list(changed))


FILTER_BLOCK = BlockType(
    Schema(
        attributes={
            "name": Attribute("string", required=True),
            "values": Attribute("list", element="string", required=True),
        }
    ),
    nesting="set",
)
"""The ``filter { name, values }`` block of the EC2 data sources (see :func:`ec2_filters`)."""


def most_recent(found: list[dict[str, Any]], config: Mapping[str, Value], what: str,
                key: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """The one match of a data source's query (the newest by ``key`` when ``most_recent`` is set);
    a CallError with Terraform's words when there is none, or several without ``most_recent``.
    ``what`` says what was asked, for the detail of the empty case."""
    if not found:
        raise CallError("Your query returned no results. Please change your search criteria and try again.", what)
    if len(found) > 1 and not config.get("most_recent"):
        raise CallError(
            "Your query returned more than one result. Please try a more specific search criteria, "
            "or set `most_recent` attribute to true."
        )
    return max(found, key=key)


def ec2_filters(blocks: Iterable[Mapping[str, Value]] | None) -> list[dict[str, Any]]:
    """Terraform's ``filter { name, values }`` blocks -> EC2 ``Filters``."""
    return [{"Name": str(b["name"]), "Values": [str(v) for v in b.get("values") or []]} for b in blocks or []]


def known(value: Value) -> bool:
    return value is not None and value is not UNKNOWN


def without_empty_strings(schema: Schema, req: PlanRequest) -> PlanRequest:
    """Old configs write ``""`` for "not set" (``private_ip = ""``, ``snapshot_id = ""``), and
    Terraform's AWS provider read it that way; so do we, for optional string attributes. An
    empty ``tags`` map is null too, the way read reports an object without tags."""
    proposed = req.proposed_new_state
    if proposed is None:
        return req
    cleaned = {k: (None if _unset(schema, k, v) else v) for k, v in proposed.items()}
    return replace(req, proposed_new_state=cleaned, config=cleaned)


def _unset(schema: Schema, name: str, value: Value) -> bool:
    attr = schema.attributes.get(name)
    if attr is None or attr.required:
        return False
    if name == "tags" and isinstance(value, dict) and not value:
        return True
    return value == "" and attr.type == "string"


# An instance in one of these states is gone: it never comes back, and reads report it deleted.
GONE_STATES = ("shutting-down", "terminated")


def describe_instance(api: AwsApi, instance_id: str) -> dict[str, Any] | None:
    """The instance as DescribeInstances reports it (any state), or None if AWS knows no such id."""
    out = api.try_call(
        "ec2",
        "DescribeInstances",
        ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"),
        InstanceIds=[instance_id],
    )
    for reservation in (out or {}).get("Reservations", []):
        for inst in reservation.get("Instances", []):
            return dict(inst)
    return None


def instance_alive(api: AwsApi, instance_id: str) -> bool:
    found = describe_instance(api, instance_id)
    return found is not None and found["State"]["Name"] not in GONE_STATES
