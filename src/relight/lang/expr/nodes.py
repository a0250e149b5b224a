"""The expression node base and the constructors: literals, tuples and objects.

Nodes are built once by the compiler and are immutable. ``Expr.references()`` is computed on
first use and cached on the node, so the engine can build its graph cheaply.
``Expr.evaluate(ctx)`` never raises for user mistakes: it returns ``(UNKNOWN, diagnostics)``
when evaluation fails, and :data:`relight.values.UNKNOWN` flows through every operation
("known after apply").
"""

from __future__ import annotations

from collections.abc import Iterator

from relight.diagnostics import Diagnostics, SourceRange
from relight.lang.expr._rules import object_key
from relight.lang.expr.context import EvalContext, EvalError, PosLike, Reference, make_range
from relight.values import UNKNOWN, Value

__all__ = ["Expr", "Literal", "ObjectCons", "TupleCons"]


# --- the node base ---------------------------------------------------------------------------


class Expr:
    """An expression. ``range`` says where it is written; instances are immutable."""

    __slots__ = ("_file", "_pos", "_refs")

    def __init__(self, file: str, pos: PosLike) -> None:
        self._file = file
        self._pos = pos
        self._refs: tuple[Reference, ...] | None = None

    @property
    def range(self) -> SourceRange:
        return make_range(self._file, self._pos)

    def children(self) -> tuple[Expr, ...]:
        """Direct sub-expressions (used for static walks)."""
        return ()

    def walk(self) -> Iterator[Expr]:
        """This node and every node below it, depth first."""
        stack: list[Expr] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children()))

    def references(self) -> tuple[Reference, ...]:
        """Every reference in this expression, without evaluating anything (cached)."""
        refs = self._refs
        if refs is None:
            refs = self._compute_refs()
            self._refs = refs
        return refs

    def _compute_refs(self) -> tuple[Reference, ...]:
        kids = self.children()
        if not kids:
            return ()
        if len(kids) == 1:
            return kids[0].references()
        out: list[Reference] = []
        for kid in kids:
            out.extend(kid.references())
        return tuple(out)

    def evaluate(self, scope: EvalContext | None = None) -> tuple[Value, Diagnostics]:
        """Evaluate; on a user mistake the value is UNKNOWN and the diagnostics say why."""
        try:
            return self.ev(scope if scope is not None else EvalContext()), Diagnostics()
        except EvalError as err:
            return UNKNOWN, Diagnostics(err.diags)

    def ev(self, scope: EvalContext) -> Value:
        """Evaluate or raise :class:`EvalError` (for use by other nodes)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        pos = self._pos
        return f"<{type(self).__name__} {self._file}:{pos.line}:{pos.column}>"


class Literal(Expr):
    __slots__ = ("value",)

    def __init__(self, file: str, pos: PosLike, value: Value) -> None:
        super().__init__(file, pos)
        self.value = value
        self._refs = ()

    def ev(self, scope: EvalContext) -> Value:
        return self.value


class TupleCons(Expr):
    __slots__ = ("items",)

    def __init__(self, file: str, pos: PosLike, items: tuple[Expr, ...]) -> None:
        super().__init__(file, pos)
        self.items = items

    def children(self) -> tuple[Expr, ...]:
        return self.items

    def ev(self, scope: EvalContext) -> Value:
        return [item.ev(scope) for item in self.items]


class ObjectCons(Expr):
    """``{k = v, ...}``; keys are expressions (a bare name compiles to a string literal)."""

    __slots__ = ("items",)

    def __init__(self, file: str, pos: PosLike, items: tuple[tuple[Expr, Expr], ...]) -> None:
        super().__init__(file, pos)
        self.items = items

    def children(self) -> tuple[Expr, ...]:
        return tuple(e for pair in self.items for e in pair)

    def ev(self, scope: EvalContext) -> Value:
        out: dict[str, Value] = {}
        unknown = False
        for key_expr, val_expr in self.items:
            key = key_expr.ev(scope)
            value = val_expr.ev(scope)
            if key is UNKNOWN:
                unknown = True
                continue
            out[object_key(key, key_expr.range)] = value
        return UNKNOWN if unknown else out
