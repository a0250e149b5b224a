"""How one resource type's objects look in Terraform's state, and the conversion both ways.

relight's resource types use the attribute names of Terraform's providers, but not all of their
attributes, and Terraform's providers built on its plugin SDK store "not set" as a zero value
(``""``, ``0``) where relight stores null. A :class:`TerraformShape` lists those differences for
one type; :func:`adopt` and :func:`export` convert with it. The rules, in order:

1. A Terraform schema version the type does not list in ``readable`` is refused, naming it.
2. Shared attributes are copied; those in ``zero_is_null`` read a zero as null (and write null
   as the zero); attributes of type "any" (``dynamic``) are stored by Terraform with their type
   (``{"value": ..., "type": ...}``) and unwrapped; a null with a schema default reads as the
   default. Nested blocks (at any depth) keep relight's keys; ``nested_zero_is_null`` names, per
   block path (``metric_query.metric``), the attributes whose zero reads as null there.
3. Terraform-only attributes (``only``, and ``nested_only`` per block path) are written with
   the value Terraform stores when they are unset; for a type that does not model ``tags_all``
   itself, ``tags_all`` (with ``tags_all=True``) is the tags.

What makes both directions lossless: whatever Terraform stored that rule 2 and 3 would not
rebuild (a Terraform-only attribute with a real value, a zero relight read as null, a recorded
type, Terraform's private data) is kept in the object's private data under ``"terraform"``, and
written back as it was, as long as relight's attribute still reads as the same value (after
relight changed an attribute, the stale Terraform value is not resurrected). The other way
round, relight values that Terraform's form cannot hold come back as ``overrides``.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from relight.diagnostics import Diagnostics
from relight.providers.base import (
    AdoptTerraformRequest,
    AdoptTerraformResponse,
    Attribute,
    ExportTerraformRequest,
    ExportTerraformResponse,
    Schema,
)
from relight.values import Value, type_of

__all__ = ["TERRAFORM_KEY", "TerraformShape", "adopt", "export", "timeouts_private"]

TERRAFORM_KEY = "terraform"
# Terraform's plugin SDK keeps operation timeouts in private data under this key (nanoseconds).
_TIMEOUTS_KEY = "e2bfb730-ecaa-11e6-8f88-34363bc7c4c0"
_MISSING = object()

Hook = Callable[[dict[str, Value], Mapping[str, Value]], None]


@dataclass(frozen=True)
class TerraformShape:
    """The differences between Terraform's provider and relight's for one type (see module doc).

    ``hook_in(relight_attrs, terraform_attrs)`` and ``hook_out(terraform_attrs, relight_attrs)``
    adjust what the rules cannot say (a default that differs, a value Terraform stores hashed).
    ``source`` says which Terraform provider releases write ``version``, for messages.
    """

    version: int = 0
    readable: frozenset[int] = frozenset({0})
    only: Mapping[str, Value] = field(default_factory=dict)
    zero_is_null: frozenset[str] = frozenset()
    nested_only: Mapping[str, Mapping[str, Value]] = field(default_factory=dict)
    nested_zero_is_null: Mapping[str, frozenset[str]] = field(default_factory=dict)
    dynamic: frozenset[str] = frozenset()
    tags_all: bool = False
    private: Mapping[str, Any] | None = None
    source: str = ""
    hook_in: Hook | None = None
    hook_out: Hook | None = None


def timeouts_private(schema_version: int = 0, **minutes: int) -> dict[str, Any]:
    """The private data Terraform's plugin SDK writes: default timeouts and the schema version."""
    out: dict[str, Any] = {}
    if minutes:
        out[_TIMEOUTS_KEY] = {op: m * 60 * 1_000_000_000 for op, m in sorted(minutes.items())}
    if schema_version:
        out["schema_version"] = str(schema_version)
    return out


def adopt(type_name: str, schema: Schema, shape: TerraformShape, req: AdoptTerraformRequest) -> AdoptTerraformResponse:
    """``req``'s object in relight's terms, keeping what relight cannot rebuild (see module doc)."""
    if req.schema_version not in shape.readable:
        diags = Diagnostics()
        readable = " or ".join(str(v) for v in sorted(shape.readable))
        diags.error(
            f"Unsupported schema version {req.schema_version} of {type_name}",
            f"relight reads {type_name} objects at Terraform schema version {readable}"
            f"{' (' + shape.source + ')' if shape.source else ''}. Let Terraform rewrite the state with "
            "such a provider version (terraform apply -refresh-only), then push it again. Nothing was written.",
        )
        return AdoptTerraformResponse(None, diagnostics=diags)
    attrs = _relight_attributes(schema, shape, req.attributes)
    attrs.update({k: v for k, v in req.overrides.items() if k in attrs})
    regenerated = _terraform_attributes(schema, shape, attrs)
    bucket: dict[str, Any] = {}
    kept = {k: v for k, v in req.attributes.items() if regenerated.get(k, _MISSING) != v}
    if kept:
        bucket["attributes"] = kept
    if req.private != _encoded(shape.private):  # "" keeps "Terraform stored none"
        bucket["private"] = base64.b64encode(req.private).decode("ascii") if req.private else ""
    if req.extras:
        bucket["extras"] = dict(req.extras)
    if req.schema_version != shape.version:
        bucket["schema_version"] = req.schema_version
    return AdoptTerraformResponse(attrs, {TERRAFORM_KEY: bucket} if bucket else {}, schema.version)


def export(schema: Schema, shape: TerraformShape, req: ExportTerraformRequest) -> ExportTerraformResponse:
    """``req``'s object as Terraform's provider stores it (see module doc)."""
    attrs = dict(req.attributes)
    out = _terraform_attributes(schema, shape, attrs)
    bucket = req.private.get(TERRAFORM_KEY)
    bucket = bucket if isinstance(bucket, dict) else {}
    for name, raw in (bucket.get("attributes") or {}).items():
        shared = name in schema.attributes or name in schema.blocks
        # A shared attribute's stored form is used only while relight still reads it as its value.
        if not shared or _relight_attributes(schema, shape, {**out, name: raw}).get(name) == attrs.get(name):
            out[name] = raw
    back = _relight_attributes(schema, shape, out)
    overrides = {k: v for k, v in attrs.items() if back.get(k, _MISSING) != v}
    stored = bucket.get("private")
    private = (base64.b64decode(stored) or None) if isinstance(stored, str) else _encoded(shape.private)
    version = bucket.get("schema_version")
    return ExportTerraformResponse(
        attributes=out,
        schema_version=version if isinstance(version, int) else shape.version,
        private=private,
        extras=dict(bucket.get("extras") or {}),
        overrides=overrides,
        relight_private={k: v for k, v in req.private.items() if k != TERRAFORM_KEY},
    )


# -- the rules -----------------------------------------------------------------------------


def _relight_attributes(schema: Schema, shape: TerraformShape, tf: Mapping[str, Value]) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for name, attr in schema.attributes.items():
        out[name] = _relight_value(shape, name, tf.get(name), attr)
    out.update(_relight_blocks(schema, shape, tf, ""))
    if shape.hook_in is not None:
        shape.hook_in(out, tf)
    return out


def _relight_blocks(schema: Schema, shape: TerraformShape, tf: Mapping[str, Value], path: str) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for name, block in schema.blocks.items():
        key = path + name
        plain = TerraformShape(zero_is_null=shape.nested_zero_is_null.get(key, frozenset()))
        elements = tf.get(name)
        out[name] = [
            {
                **{k: _relight_value(plain, k, e.get(k), a) for k, a in block.schema.attributes.items()},
                **_relight_blocks(block.schema, shape, e, key + "."),
            }
            for e in (elements if isinstance(elements, list) else [])
            if isinstance(e, dict)
        ]
    return out


def _relight_value(shape: TerraformShape, name: str, value: Value, attr: Attribute) -> Value:
    if name in shape.dynamic and isinstance(value, dict) and set(value) == {"value", "type"}:
        value = value["value"]
    if name in shape.zero_is_null and _is_zero(value):
        value = None
    if value is None and attr.default is not None:
        value = copy.deepcopy(attr.default)
    return value


def _terraform_attributes(schema: Schema, shape: TerraformShape, attrs: Mapping[str, Value]) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for name, attr in schema.attributes.items():
        out[name] = _terraform_value(shape, name, attrs.get(name), attr)
    out.update(_terraform_blocks(schema, shape, attrs, ""))
    for name, unset in shape.only.items():
        out[name] = _fresh(unset)
    if shape.tags_all and "tags_all" not in schema.attributes:
        tags = attrs.get("tags")
        out["tags_all"] = dict(tags) if isinstance(tags, dict) else {}
    if shape.hook_out is not None:
        shape.hook_out(out, attrs)
    return out


def _terraform_blocks(schema: Schema, shape: TerraformShape, attrs: Mapping[str, Value], path: str) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for name, block in schema.blocks.items():
        key = path + name
        zero = shape.nested_zero_is_null.get(key, frozenset())
        extra = shape.nested_only.get(key, {})
        elements = attrs.get(name)
        out[name] = [
            {
                **{k: _fresh(v) for k, v in e.items()},
                **{
                    k: _fresh(_ZEROS[a.type])
                    for k, a in block.schema.attributes.items()
                    if k in zero and e.get(k) is None
                },
                **_terraform_blocks(block.schema, shape, e, key + "."),
                **_fresh(dict(extra)),
            }
            for e in (elements if isinstance(elements, list) else [])
            if isinstance(e, dict)
        ]
    return out


def _terraform_value(shape: TerraformShape, name: str, value: Value, attr: Attribute) -> Value:
    if name in shape.dynamic:
        return None if value is None else {"value": value, "type": type_of(value)}
    if value is None and name in shape.zero_is_null:
        return _fresh(_ZEROS[attr.type])
    return _fresh(value)


_ZEROS: dict[str, Value] = {"string": "", "number": 0, "bool": False, "list": [], "set": [], "map": {}, "any": None}


def _fresh(value: Value) -> Value:
    """A copy the caller may change (scalars are immutable and shared)."""
    return copy.deepcopy(value) if isinstance(value, list | dict) else value


def _is_zero(value: Value) -> bool:
    if isinstance(value, bool):
        return False
    return bool(value == "" or value == 0 or value == [] or value == {})


def _encoded(private: Mapping[str, Any] | None) -> bytes | None:
    """Private data as Terraform's plugin SDK serialises it (Go's encoding/json: sorted keys)."""
    if not private:
        return None
    return json.dumps(private, sort_keys=True, separators=(",", ":")).encode("utf-8")
