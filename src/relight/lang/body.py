"""Bodies: the attributes and nested blocks inside a block, kept as compiled expressions.

``Body.evaluate`` turns a body into a plain dict: attributes by name, and each nested block type
as a list of dicts (``tags { Name = "x" }`` -> ``{"tags": [{"Name": "x"}]}``); the engine turns
those lists into maps or objects using the provider schema. ``dynamic "x" { for_each, content }``
blocks expand into the same list form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from relight.diagnostics import Diagnostics, SourceRange
from relight.lang.expr import EvalContext, EvalError, Expr, Reference, Symbol, iterate
from relight.values import UNKNOWN, Value

__all__ = ["Attribute", "Block", "Body"]


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    expr: Expr
    range: SourceRange

    def __reduce__(self) -> tuple[type[Attribute], tuple[str, Expr, SourceRange]]:
        # Compiled bodies are cached with pickle: plain arguments pickle several times faster
        # than a dataclass's generic state (the same for Block and Body).
        return (Attribute, (self.name, self.expr, self.range))


@dataclass(frozen=True, slots=True)
class Block:
    type: str
    labels: tuple[str, ...]
    body: Body
    range: SourceRange

    def __reduce__(self) -> tuple[object, tuple[str, tuple[str, ...], Body, SourceRange]]:
        return (Block, (self.type, self.labels, self.body, self.range))


@dataclass(frozen=True, slots=True, eq=False)
class Body:
    """Attributes by name and nested blocks in source order."""

    attributes: Mapping[str, Attribute]
    blocks: tuple[Block, ...] = ()
    range: SourceRange | None = None
    _refs: list[tuple[Reference, ...]] = field(default_factory=list, repr=False)

    def __reduce__(self) -> tuple[type[Body], tuple[Mapping[str, Attribute], tuple[Block, ...], SourceRange | None]]:
        return (Body, (self.attributes, self.blocks, self.range))  # the reference cache is rebuilt

    def references(self) -> tuple[Reference, ...]:
        """References of every attribute and nested block (cached)."""
        if self._refs:
            return self._refs[0]
        out: list[Reference] = []
        for attr in self.attributes.values():
            out.extend(attr.expr.references())
        for block in self.blocks:
            out.extend(block.body.references())
        refs = tuple(out)
        self._refs.append(refs)
        return refs

    def expressions(self) -> list[Expr]:
        """Every attribute expression, nested blocks included."""
        out = [a.expr for a in self.attributes.values()]
        for block in self.blocks:
            out.extend(block.body.expressions())
        return out

    def blocks_of(self, type_: str) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if b.type == type_)

    def without(self, attributes: frozenset[str], block_types: frozenset[str]) -> Body:
        """A copy without the named attributes and block types (meta-arguments)."""
        attrs = {k: v for k, v in self.attributes.items() if k not in attributes}
        blocks = tuple(b for b in self.blocks if b.type not in block_types)
        return Body(attrs, blocks, self.range)

    def evaluate(self, scope: EvalContext | None = None) -> tuple[dict[str, Value], Diagnostics]:
        """Evaluate every attribute and nested block.

        On errors the failing attributes are UNKNOWN and the diagnostics say why; the other
        attributes are still evaluated so all problems are reported at once.
        """
        diags = Diagnostics()
        out = self._evaluate(scope if scope is not None else EvalContext(), diags)
        return out, diags

    def _evaluate(self, scope: EvalContext, diags: Diagnostics) -> dict[str, Value]:
        out: dict[str, Value] = {}
        for name, attr in self.attributes.items():
            try:
                out[name] = attr.expr.ev(scope)
            except EvalError as err:
                diags.extend(err.diags)
                out[name] = UNKNOWN
        for block in self.blocks:
            if block.type == "dynamic" and block.labels:
                self._dynamic(block, scope, diags, out)
                continue
            value = block.body._evaluate(scope, diags)
            for label in reversed(block.labels):
                value = {label: value}
            items = out.setdefault(block.type, [])
            if isinstance(items, list):
                items.append(value)
        return out

    @staticmethod
    def _dynamic(block: Block, scope: EvalContext, diags: Diagnostics, out: dict[str, Value]) -> None:
        name = block.labels[0]
        body = block.body
        for_each = body.attributes.get("for_each")
        contents = body.blocks_of("content")
        if for_each is None or len(contents) != 1:
            diags.error(
                "Invalid dynamic block",
                'A dynamic block requires a "for_each" argument and exactly one "content" block.',
                block.range,
            )
            return
        iterator = name
        it_attr = body.attributes.get("iterator")
        if it_attr is not None and isinstance(it_attr.expr, Symbol):
            iterator = it_attr.expr.name
        try:
            coll = for_each.expr.ev(scope)
            if coll is UNKNOWN:
                out[name] = UNKNOWN
                return
            pairs = iterate(coll, for_each.expr.range)
        except EvalError as err:
            diags.extend(err.diags)
            return
        items = out.setdefault(name, [])
        for key, value in pairs:
            inner = scope.bind({iterator: {"key": key, "value": value}})
            if isinstance(items, list):
                items.append(contents[0].body._evaluate(inner, diags))
