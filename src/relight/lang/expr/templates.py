"""String templates: literal text, interpolations and ``%{if}``/``%{for}`` directives.

A template that is one lone interpolation (``"${x}"``) yields x as it is, not as a string.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from relight.lang.expr._rules import condition, interpolated, iterate
from relight.lang.expr.context import EvalContext, PosLike
from relight.lang.expr.nodes import Expr
from relight.values import UNKNOWN, Value

__all__ = ["Template", "TemplateFor", "TemplateIf", "TemplatePart"]


# --- templates -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateIf:
    cond: Expr
    then: tuple[TemplatePart, ...]
    otherwise: tuple[TemplatePart, ...]


@dataclass(frozen=True, slots=True)
class TemplateFor:
    key_var: str | None
    value_var: str
    collection: Expr
    body: tuple[TemplatePart, ...]


TemplatePart = str | Expr | TemplateIf | TemplateFor


def _part_exprs(parts: tuple[TemplatePart, ...]) -> Iterator[Expr]:
    for part in parts:
        if isinstance(part, Expr):
            yield part
        elif isinstance(part, TemplateIf):
            yield part.cond
            yield from _part_exprs(part.then)
            yield from _part_exprs(part.otherwise)
        elif isinstance(part, TemplateFor):
            yield part.collection
            yield from _part_exprs(part.body)


class Template(Expr):
    """A string template. A template that is one lone interpolation (``"${x}"``) yields x as is."""

    __slots__ = ("parts", "unwrap")

    def __init__(self, file: str, pos: PosLike, parts: tuple[TemplatePart, ...]) -> None:
        super().__init__(file, pos)
        self.parts = parts
        self.unwrap = len(parts) == 1 and isinstance(parts[0], Expr)

    def children(self) -> tuple[Expr, ...]:
        return tuple(_part_exprs(self.parts))

    def ev(self, scope: EvalContext) -> Value:
        if self.unwrap:
            part = self.parts[0]
            assert isinstance(part, Expr)
            return part.ev(scope)
        out: list[str] = []
        known = _render(self.parts, scope, out)
        return "".join(out) if known else UNKNOWN


def _render(parts: tuple[TemplatePart, ...], scope: EvalContext, out: list[str]) -> bool:
    known = True
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Expr):
            value = part.ev(scope)
            if value is UNKNOWN:
                known = False
            else:
                out.append(interpolated(value, part.range))
        elif isinstance(part, TemplateIf):
            cond = condition(part.cond.ev(scope), part.cond.range)
            if cond is UNKNOWN:
                known = False
                continue
            known = _render(part.then if cond else part.otherwise, scope, out) and known
        else:
            known = _render_for(part, scope, out) and known
    return known


def _render_for(part: TemplateFor, scope: EvalContext, out: list[str]) -> bool:
    coll = part.collection.ev(scope)
    if coll is UNKNOWN:
        return False
    known = True
    for key, value in iterate(coll, part.collection.range):
        names = {part.value_var: value}
        if part.key_var is not None:
            names[part.key_var] = key
        known = _render(part.body, scope.bind(names), out) and known
    return known
