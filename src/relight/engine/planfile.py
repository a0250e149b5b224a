"""Saved plans: ``relight plan -out=FILE`` writes one, ``relight apply FILE`` applies exactly it.

The file is JSON. Unknown values are written as ``{"$relight_unknown": true}``. The plan records
the lineage and serial of the state it was made against and a digest of the configuration, so
applying it after either moved on is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

from relight import __version__
from relight.addrs import InstanceAddr
from relight.engine.plan import Action, Drift, OutputChange, Plan, PlanMode, ResourceChange
from relight.errors import PlanError
from relight.state import codec
from relight.values import UNKNOWN, Value

__all__ = ["config_digest", "decode_plan", "decode_value", "encode_plan", "encode_value", "read_plan", "write_plan"]

_FORMAT = "relight-plan"
_VERSION = 1
_UNKNOWN_MARK = "$relight_unknown"


def config_digest(sources: Mapping[str, str]) -> str:
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(os.path.basename(name).encode())
        h.update(b"\0")
        h.update(sources[name].encode())
        h.update(b"\0")
    return h.hexdigest()


def encode_value(value: Value) -> Any:
    """``value`` as JSON-able data, unknowns written as ``{"$relight_unknown": true}``."""
    if value is UNKNOWN:
        return {_UNKNOWN_MARK: True}
    if isinstance(value, dict):
        return {k: encode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    return value


def decode_value(value: Any) -> Value:
    """The value :func:`encode_value` wrote."""
    if isinstance(value, dict):
        if value.get(_UNKNOWN_MARK) is True and len(value) == 1:
            return UNKNOWN
        return {k: decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    return value


def _change_to_json(c: ResourceChange) -> dict[str, Any]:
    return {
        "address": str(c.addr),
        "action": c.action.value,
        "provider": c.provider,
        "before": encode_value(c.before),
        "after": encode_value(c.after),
        "requires_replace": list(c.requires_replace),
        "reason": c.reason,
        "create_first": c.create_first,
        "dependencies": list(c.dependencies),
        "prior_dependencies": list(c.prior_dependencies),
        "prevent_destroy": c.prevent_destroy,
        "sensitive_attrs": list(c.sensitive_attrs),
        "before_destroy": c.before_destroy,
        "deposed": c.deposed,
        "importing": c.importing,
    }


def _change_from_json(d: dict[str, Any]) -> ResourceChange:
    return ResourceChange(
        addr=InstanceAddr.parse(d["address"]),
        action=Action(d["action"]),
        provider=d["provider"],
        before=decode_value(d["before"]),
        after=decode_value(d["after"]),
        requires_replace=tuple(d["requires_replace"]),
        reason=d["reason"],
        create_first=d["create_first"],
        dependencies=tuple(d["dependencies"]),
        prior_dependencies=tuple(d["prior_dependencies"]),
        prevent_destroy=d["prevent_destroy"],
        sensitive_attrs=tuple(d["sensitive_attrs"]),
        before_destroy=d.get("before_destroy", ""),
        deposed=d.get("deposed", ""),
        importing=d.get("importing", ""),
    )


def encode_plan(plan: Plan) -> bytes:
    """The saved-plan file content for ``plan`` (JSON)."""
    doc = {
        "format": _FORMAT,
        "version": _VERSION,
        "relight_version": __version__,
        "mode": plan.mode.value,
        "lineage": plan.lineage,
        "serial": plan.serial,
        "config_digest": plan.config_digest,
        "targets": list(plan.targets),
        "variables": encode_value(plan.variables),
        "changes": [_change_to_json(c) for c in plan.changes],
        "drift": [{"address": str(d.addr), "kind": d.kind, "before": d.before, "after": d.after} for d in plan.drift],
        "outputs": [
            {
                "name": o.name,
                "action": o.action.value,
                "before": encode_value(o.before),
                "after": encode_value(o.after),
                "sensitive": o.sensitive,
            }
            for o in plan.outputs
        ],
        "expansions": encode_value(plan.expansions),
        "module_expansions": encode_value(plan.module_expansions),
        "moved": [list(m) for m in plan.moved],
        "refreshed_state": json.loads(codec.dumps(plan.refreshed_state)),
    }
    return json.dumps(doc).encode()


def write_plan(plan: Plan, path: str) -> None:
    """Write ``plan`` to ``path`` atomically (a partial file never replaces a good one)."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(encode_plan(plan))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_plan(path: str) -> Plan:
    """Read a saved plan; raises PlanError with a clear message if it is not one."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise PlanError(f"{path}: no such plan file") from None
    except OSError as exc:
        raise PlanError(f"{path}: not a readable relight plan file ({exc})") from None
    return decode_plan(data, path)


def decode_plan(data: bytes, path: str) -> Plan:
    """The plan in saved-plan bytes (``path`` names them in messages); raises PlanError with a
    clear message if they are not one."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise PlanError(f"{path}: not a readable relight plan file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise PlanError(f"{path}: not a relight plan file (make one with: relight plan -out={path})")
    if doc.get("version") != _VERSION:
        raise PlanError(f"{path}: plan format version {doc.get('version')} is not supported")
    try:
        state = codec.loads(json.dumps(doc["refreshed_state"]).encode(), path)
        return Plan(
            mode=PlanMode(doc["mode"]),
            lineage=doc["lineage"],
            serial=doc["serial"],
            changes=[_change_from_json(c) for c in doc["changes"]],
            drift=[Drift(InstanceAddr.parse(d["address"]), d["kind"], d["before"], d["after"]) for d in doc["drift"]],
            outputs=[
                OutputChange(
                    o["name"],
                    Action(o["action"]),
                    decode_value(o["before"]),
                    decode_value(o["after"]),
                    o["sensitive"],
                )
                for o in doc["outputs"]
            ],
            variables=decode_value(doc["variables"]),
            config_digest=doc["config_digest"],
            targets=tuple(doc["targets"]),
            refreshed_state=state,
            expansions=decode_value(doc["expansions"]),
            module_expansions=decode_value(doc.get("module_expansions", {})),
            moved=[(m[0], m[1]) for m in doc["moved"]],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanError(f"{path}: damaged plan file ({type(exc).__name__}: {exc})") from None
