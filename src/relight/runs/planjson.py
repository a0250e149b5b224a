"""The machine-readable plan: the ``-json`` form of a plan, close to Terraform's ``show -json``.

One format for every consumer: ``relight plan -json``, the server's API and run log, and the
heal loop's records.
"""

from __future__ import annotations

from relight.addrs import format_module
from relight.engine import Action, Plan, ResourceChange, encode_value
from relight.values import UNKNOWN, Value

__all__ = ["plan_to_json"]


def plan_to_json(plan: Plan) -> dict[str, object]:
    """A machine-readable plan (the ``-json`` form), close to Terraform's ``show -json``."""

    def change(c: ResourceChange) -> dict[str, object]:
        actions = {
            Action.REPLACE: ["create", "delete"] if c.create_first else ["delete", "create"],
        }.get(c.action, [c.action.value])
        module = {"module_address": format_module(c.addr.resource.module)} if c.addr.resource.module else {}
        body: dict[str, object] = {
            "actions": actions,
            "before": encode_value(c.before),
            "after": _known_only(c.after if c.action is not Action.NOOP or c.after is not None else c.before),
            "after_unknown": _unknown_paths(c.after),
            "replace_paths": [[p] for p in c.requires_replace],
        }
        if c.importing:
            body["importing"] = {"id": c.importing}
        return {
            "address": str(c.addr),
            **module,
            "mode": c.addr.resource.mode,
            "type": c.addr.resource.type,
            "name": c.addr.resource.name,
            "index": c.addr.key,
            "provider_name": c.provider,
            "change": body,
            "action_reason": c.reason or None,
            "deposed": c.deposed or None,
            "before_destroy": c.before_destroy or None,
        }

    return {
        "format_version": "1.0",
        "mode": plan.mode.value,
        "resource_drift": [
            {"address": str(d.addr), "kind": d.kind, "before": d.before, "after": d.after} for d in plan.drift
        ],
        "resource_changes": [change(c) for c in plan.changes],
        "output_changes": {
            o.name: {
                "actions": [o.action.value],
                "before": None if o.sensitive else o.before,
                "after": None if o.sensitive else _known_only(o.after),
                "after_unknown": _unknown_paths(o.after),
                "after_sensitive": o.sensitive,
            }
            for o in plan.outputs
        },
        "summary": _summary(plan),
        "prior_state": {"lineage": plan.lineage, "serial": plan.serial},
    }


def _summary(plan: Plan) -> dict[str, int]:
    """add, change, destroy; and import when the plan imports anything (as the text says it)."""
    out = dict(zip(("add", "change", "destroy"), plan.counts(), strict=True))
    if plan.import_count():
        out["import"] = plan.import_count()
    return out


def _known_only(value: Value) -> Value:
    if value is UNKNOWN:
        return None
    if isinstance(value, dict):
        return {k: _known_only(v) for k, v in value.items() if v is not UNKNOWN}
    if isinstance(value, list):
        return [_known_only(v) for v in value]
    return value


def _unknown_paths(value: Value) -> Value:
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return {k: _unknown_paths(v) for k, v in value.items() if _has_unknown(v)}
    if isinstance(value, list):
        return [_unknown_paths(v) for v in value] if any(_has_unknown(v) for v in value) else []
    return False


def _has_unknown(value: Value) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return False
