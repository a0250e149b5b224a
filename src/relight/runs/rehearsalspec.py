"""The ``relight { rehearsal { ... } }`` block decoded into checks (see :mod:`relight.images.checks`
for the block's reference and for running the checks). Pure: ``relight validate`` and the
rehearsal decode it the same way, and every mistake is a diagnostic at its line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from relight.diagnostics import Diagnostics, SourceRange
from relight.durations import parse_duration
from relight.lang import Body, Scope, did_you_mean
from relight.values import Value

__all__ = ["Check", "RehearsalSpec", "check_relight_block", "decode_rehearsal"]

_RELIGHT_BLOCKS = ("heal", "rehearsal")

_HTTP = frozenset({"path", "port", "status", "contains", "json", "instance"})
_COMMAND = frozenset({"run", "contains", "instance"})


@dataclass(frozen=True)
class Check:
    name: str  # "http /status" or "command test -s ..."
    kind: str  # http | command
    instance: str | None
    path: str = "/"
    port: int = 80
    status: int = 200
    contains: str | None = None
    json: Mapping[str, Value] | None = None
    run: str = ""


@dataclass(frozen=True)
class RehearsalSpec:
    checks: tuple[Check, ...] = ()
    timeout: float = 600.0
    range: SourceRange | None = None


def decode_rehearsal(relight_body: Body | None, scope: Scope) -> tuple[RehearsalSpec, Diagnostics]:
    """The rehearsal block of ``relight {}`` (an empty spec when there is none)."""
    diags = Diagnostics()
    blocks = relight_body.blocks_of("rehearsal") if relight_body is not None else ()
    if not blocks:
        return RehearsalSpec(), diags
    if len(blocks) > 1:
        diags.error(
            "Duplicate rehearsal block", "Only one rehearsal block is allowed in the relight block.", blocks[1].range
        )
    body = blocks[0].body
    timeout = 600.0
    for name, attr in body.attributes.items():
        if name != "timeout":
            diags.error(
                "Unsupported argument", f'An argument named "{name}" is not expected in relight.rehearsal.', attr.range
            )
            continue
        value, d = attr.expr.evaluate(scope)
        diags.extend(d)
        try:
            timeout = parse_duration(str(value))
        except ValueError as exc:
            diags.error("Invalid timeout", f"{exc}.", attr.range)
    checks: list[Check] = []
    for block in body.blocks:
        if block.type != "check" or len(block.labels) != 1 or block.labels[0] not in ("http", "command"):
            diags.error(
                "Unsupported block type",
                'relight.rehearsal holds check "http" { ... } and check "command" { ... } blocks.',
                block.range,
            )
            continue
        found = _check(block.labels[0], block.body, scope, diags)
        if found is not None:
            checks.append(found)
    return RehearsalSpec(tuple(checks), timeout, blocks[0].range), diags


def _check(kind: str, body: Body, scope: Scope, diags: Diagnostics) -> Check | None:
    allowed = _HTTP if kind == "http" else _COMMAND
    values: dict[str, Value] = {}
    for name, attr in body.attributes.items():
        if name not in allowed:
            diags.error(
                "Unsupported argument", f'An argument named "{name}" is not expected in a {kind} check.', attr.range
            )
            continue
        values[name], d = attr.expr.evaluate(scope)
        diags.extend(d)
    for nested in body.blocks:
        diags.error("Unsupported block type", f"A {kind} check has no nested blocks.", nested.range)
    instance = str(values["instance"]) if values.get("instance") else None
    if kind == "command":
        if not values.get("run"):
            diags.error("Missing run", 'A command check needs run = "...".', body.range)
            return None
        run = str(values["run"])
        return Check(f"command {run}", "command", instance, run=run, contains=_opt(values.get("contains")))
    path = str(values.get("path") or "/")
    try:
        port, status = int(values.get("port") or 80), int(values.get("status") or 200)
    except (TypeError, ValueError):
        diags.error("Invalid value", "port and status must be numbers.", body.range)
        return None
    expected = values.get("json")
    if expected is not None and not isinstance(expected, dict):
        diags.error("Invalid value", "json must be an object of expected keys and values.", body.range)
        return None
    return Check(f"http {path}", "http", instance, path=path, port=port, status=status,
                 contains=_opt(values.get("contains")), json=expected)  # fmt: skip


def _opt(value: Value) -> str | None:
    return None if value is None else str(value)




def check_relight_block(body: Body) -> Diagnostics:
    """The ``relight {}`` block holds ``heal`` and ``rehearsal`` blocks only: anything else is an
    error at its line (it would otherwise be ignored)."""
    diags = Diagnostics()
    for name, attr in body.attributes.items():
        diags.error(
            "Unsupported argument",
            f'An argument named "{name}" is not expected in the relight block (it holds heal {{}} and rehearsal {{}}).',
            attr.range,
        )
    for block in body.blocks:
        if block.type not in _RELIGHT_BLOCKS:
            hint = did_you_mean(block.type, _RELIGHT_BLOCKS)
            diags.error(
                "Unsupported block type",
                f'Blocks of type "{block.type}" are not expected in the relight block.{hint}',
                block.range,
            )
    return diags
