"""``for`` expressions: ``[for k, v in coll : v if cond]`` and ``{for k, v in coll : k => v...}``."""

from __future__ import annotations

from relight.lang.expr._rules import condition, iterate, object_key
from relight.lang.expr.context import EvalContext, PosLike, fail
from relight.lang.expr.nodes import Expr
from relight.values import UNKNOWN, Value

__all__ = ["ForExpr"]


class ForExpr(Expr):
    """``[for k, v in coll : v if cond]`` and ``{for k, v in coll : k => v... if cond}``."""

    __slots__ = ("coll", "cond", "group", "key_expr", "key_var", "value_expr", "value_var")

    def __init__(
        self,
        file: str,
        pos: PosLike,
        key_var: str | None,
        value_var: str,
        coll: Expr,
        key_expr: Expr | None,
        value_expr: Expr,
        cond: Expr | None,
        group: bool,
    ) -> None:
        super().__init__(file, pos)
        self.key_var = key_var
        self.value_var = value_var
        self.coll = coll
        self.key_expr = key_expr
        self.value_expr = value_expr
        self.cond = cond
        self.group = group

    def children(self) -> tuple[Expr, ...]:
        kids = [self.coll, self.key_expr, self.value_expr, self.cond]
        return tuple(k for k in kids if k is not None)

    def ev(self, scope: EvalContext) -> Value:
        coll = self.coll.ev(scope)
        if coll is UNKNOWN:
            return UNKNOWN
        is_object = self.key_expr is not None
        tuple_out: list[Value] = []
        object_out: dict[str, Value] = {}
        for key, value in iterate(coll, self.coll.range):
            names = {self.value_var: value}
            if self.key_var is not None:
                names[self.key_var] = key
            inner = scope.bind(names)
            if self.cond is not None:
                keep = condition(self.cond.ev(inner), self.cond.range)
                if keep is UNKNOWN:
                    return UNKNOWN
                if not keep:
                    continue
            if not is_object:
                tuple_out.append(self.value_expr.ev(inner))
            elif not self._add(object_out, inner):
                return UNKNOWN
        return object_out if is_object else tuple_out

    def _add(self, out: dict[str, Value], inner: EvalContext) -> bool:
        assert self.key_expr is not None
        key = self.key_expr.ev(inner)
        if key is UNKNOWN:
            return False
        skey = object_key(key, self.key_expr.range)
        value = self.value_expr.ev(inner)
        if self.group:
            out.setdefault(skey, []).append(value)
        elif skey in out:
            raise fail(
                self.key_expr.range,
                "Duplicate object key",
                f"Two different items produced the key \"{skey}\" in this 'for' expression. If "
                "duplicates are expected, use the ellipsis (...) after the value expression to "
                "enable grouping by key.",
            )
        else:
            out[skey] = value
        return True
