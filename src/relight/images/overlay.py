"""The rehearsal's ephemeral copy of a stack: the same configuration, rewritten to be harmless.

:func:`rehearsal_overlay` returns a :data:`relight.runs.Overlay` that rewrites the loaded
configuration (every module) before it is planned:

* every ``aws_instance`` boots the candidate image (``ami``), when one is given;
* every ``aws_ebs_volume`` that production has is created from the chosen snapshot of
  production's volume at the same address (``snapshot_id``), with no final snapshot and no
  ``prevent_destroy`` (the copy is thrown away);
* DNS goes: ``aws_route53_record`` and ``aws_route53_zone`` are left out, with the outputs that
  name them (anything else that needs them is an error: the rehearsal cannot run that stack);
* alarms stay but act on nobody: ``alarm_actions``, ``ok_actions`` and
  ``insufficient_data_actions`` are empty, and the alarm name gets the rehearsal's prefix
  (alarm names are unique in an account: the same name would overwrite production's alarm);
* the ``relight {}`` block (heal policy, notifications) and ``import`` blocks go;
* isolation is checked, not assumed: every instance's subnet and security groups must be ones
  the configuration creates (so the copy gets its own), else the rehearsal is refused.

The state is the rehearsal's own (the caller's backend factory), so production's state is
never read for writing or locked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from relight.addrs import ResourceAddr
from relight.diagnostics import Diagnostics
from relight.lang import Attribute, Body, Config, Resource
from relight.lang.expr import Expr, Literal, Pos, Template
from relight.runs import Overlay

__all__ = ["DROPPED_TYPES", "rehearsal_overlay"]

DROPPED_TYPES = frozenset({"aws_route53_record", "aws_route53_zone"})
_SILENCED = ("alarm_actions", "ok_actions", "insufficient_data_actions")


def rehearsal_overlay(prefix: str, image: str | None, snapshots: Mapping[str, str]) -> Overlay:
    """The overlay for one rehearsal: ``prefix`` for alarm names, the candidate ``image`` (None:
    as configured), and ``snapshots`` (volume address in production's state -> snapshot id)."""

    def overlay(config: Config) -> tuple[Config, Diagnostics]:
        diags = Diagnostics()
        return _module(config, prefix, image, snapshots, diags), diags

    return overlay


def _module(config: Config, prefix: str, image: str | None, snapshots: Mapping[str, str], diags: Diagnostics) -> Config:
    dropped = {addr for addr, r in config.resources.items() if r.type in DROPPED_TYPES}
    resources: dict[ResourceAddr, Resource] = {}
    for addr, res in config.resources.items():
        if addr in dropped:
            continue
        uses = [str(ref) for ref in res.body.references() if ref.resource is not None and ref.resource in dropped]
        if uses:
            diags.error(
                "The stack cannot be rehearsed",
                f"{addr} uses {', '.join(sorted(set(uses)))}, which a rehearsal leaves out (no DNS).",
                res.range,
            )
        resources[addr] = _resource(res, prefix, image, snapshots, config.path, diags)
    outputs = {
        name: out
        for name, out in config.outputs.items()
        if not any(ref.resource is not None and ref.resource in dropped for ref in out.expr.references())
    }
    children = {name: _module(child, prefix, image, snapshots, diags) for name, child in config.children.items()}
    _check_isolation(config, resources, diags)
    return replace(config, resources=resources, outputs=outputs, children=children, relight=None, imports=())


def _resource(
    res: Resource,
    prefix: str,
    image: str | None,
    snapshots: Mapping[str, str],
    path: tuple[str, ...],
    diags: Diagnostics,
) -> Resource:
    if res.mode != "managed":
        return res
    sets: dict[str, object] = {}
    if res.type == "aws_instance" and image:
        sets["ami"] = image
    if res.type == "aws_ebs_volume":
        snap = snapshots.get(_address(path, res.addr))
        if snap is not None:
            sets["snapshot_id"] = snap
        sets["final_snapshot"] = False
        res = replace(res, lifecycle=replace(res.lifecycle, prevent_destroy=False))
    if res.type == "aws_cloudwatch_metric_alarm":
        for name in _SILENCED:
            sets[name] = []
        name_attr = res.body.attributes.get("alarm_name")
        if name_attr is not None:
            prefixed = Template(name_attr.range.filename, _pos(name_attr), (prefix, name_attr.expr))
            res = _with(res, {"alarm_name": prefixed})
    if not sets:
        return res
    return _with(res, {k: Literal(res.range.filename, _pos_of(res), v) for k, v in sets.items()})


def _with(res: Resource, exprs: Mapping[str, Expr]) -> Resource:
    attrs = dict(res.body.attributes)
    for name, expr in exprs.items():
        old = attrs.get(name)
        attrs[name] = Attribute(name, expr, old.range if old is not None else res.range)
    return replace(res, body=Body(attrs, res.body.blocks, res.body.range))


def _pos(attr: Attribute) -> Pos:
    start = attr.range.start
    end = attr.range.end or start
    return Pos(start.line, start.column, end.line, end.column)


def _pos_of(res: Resource) -> Pos:
    start = res.range.start
    return Pos(start.line, start.column, start.line, start.column)


def _address(path: tuple[str, ...], addr: ResourceAddr) -> str:
    """The state's address of a resource in the module at ``path`` (without instance keys)."""
    return ".".join([*(f"module.{m}" for m in path), f"{addr.type}.{addr.name}"])


def _check_isolation(config: Config, resources: Mapping[ResourceAddr, Resource], diags: Diagnostics) -> None:
    created = {(r.type, r.name) for r in resources.values() if r.mode == "managed"}
    for res in resources.values():
        if res.mode != "managed" or res.type != "aws_instance":
            continue
        for name, kind, required in (
            ("subnet_id", "aws_subnet", True),
            ("vpc_security_group_ids", "aws_security_group", False),
            ("security_groups", "aws_security_group", False),
        ):
            attr = res.body.attributes.get(name)
            if attr is None:
                if required:
                    diags.error(
                        "The stack cannot be rehearsed in isolation",
                        f"{res.addr} has no subnet_id: it would start in the default VPC next to other machines. "
                        "Give it a subnet the configuration creates.",
                        res.range,
                    )
                continue
            refs = [r.resource for r in attr.expr.references() if r.resource is not None]
            foreign = [str(r) for r in refs if (r.type, r.name) not in created or r.type != kind]
            if not refs or foreign:
                diags.error(
                    "The stack cannot be rehearsed in isolation",
                    f"{res.addr}.{name} must name {kind} resources of this configuration, so the rehearsal gets its "
                    f"own; it uses {', '.join(foreign) or 'a value from outside'}.",
                    attr.range,
                )
