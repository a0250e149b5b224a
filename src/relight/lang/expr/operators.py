"""Operators: the conditional, binary arithmetic/comparison/logic and unary operators.

Numbers are decimal as in Terraform (``0.1 + 0.2`` is ``0.3``); ``==`` compares type and value
and is UNKNOWN while either side is; ``&&``/``||`` are known as soon as one side decides.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Final

from relight.lang._prim import ConversionError, normalize_number, to_bool, to_number, to_string
from relight.lang.expr._rules import condition
from relight.lang.expr.context import EvalContext, EvalError, PosLike, fail
from relight.lang.expr.nodes import Expr
from relight.values import UNKNOWN, TypedDict, TypedList, Value, type_of

__all__ = ["BinaryOp", "Conditional", "UnaryOp", "deep_equal"]


# --- operators -------------------------------------------------------------------------------


class Conditional(Expr):
    __slots__ = ("cond", "if_false", "if_true")

    def __init__(self, file: str, pos: PosLike, cond: Expr, if_true: Expr, if_false: Expr) -> None:
        super().__init__(file, pos)
        self.cond = cond
        self.if_true = if_true
        self.if_false = if_false

    def children(self) -> tuple[Expr, ...]:
        return (self.cond, self.if_true, self.if_false)

    def ev(self, scope: EvalContext) -> Value:
        cond = condition(self.cond.ev(scope), self.cond.range)
        if cond is UNKNOWN:
            return UNKNOWN
        chosen, other = (self.if_true, self.if_false) if cond else (self.if_false, self.if_true)
        value = chosen.ev(scope)
        # Like HCL, both results are unified to one type: a number or bool next to a string
        # becomes a string, two tuples of different shapes a list. Errors in the branch not
        # taken are ignored.
        try:
            alternative = other.ev(scope)
        except EvalError:
            return value
        if isinstance(value, int | float) and isinstance(alternative, str):
            return to_string(value)
        return unify_collections(value, alternative)


def unify_collections(value: Value, other: Value) -> Value:
    """``value`` as the collection type both results share, when their structural types differ:
    ``["a", "b"]`` next to ``["c"]`` is a ``list(string)``, ``{a = 1}`` next to ``{b = 2}`` a map."""
    if isinstance(value, list) and isinstance(other, list) and not isinstance(value, TypedList):
        elements = _element_types(value) | _element_types(other)
        if type_of(value) != type_of(other) and len(elements) <= 1:
            return TypedList(value, ["list", _only(elements)])
    if isinstance(value, dict) and isinstance(other, dict) and not isinstance(value, TypedDict):
        elements = _element_types(value) | _element_types(other)
        if type_of(value) != type_of(other) and len(elements) <= 1:
            return TypedDict(value, ["map", _only(elements)])
    return value


def _element_types(value: list[Value] | dict[str, Value]) -> set[str]:
    items = value.values() if isinstance(value, dict) else value
    return {json.dumps(type_of(v)) for v in items if v is not None and v is not UNKNOWN}


def _only(elements: set[str]) -> Value:
    return json.loads(next(iter(elements))) if elements else "dynamic"


_ARITH: Final = frozenset({"+", "-", "*", "/", "%"})
_COMPARE: Final = frozenset({"<", ">", "<=", ">="})


class BinaryOp(Expr):
    __slots__ = ("lhs", "op", "rhs")

    def __init__(self, file: str, pos: PosLike, op: str, lhs: Expr, rhs: Expr) -> None:
        super().__init__(file, pos)
        self.op = op
        self.lhs = lhs
        self.rhs = rhs

    def children(self) -> tuple[Expr, ...]:
        return (self.lhs, self.rhs)

    def ev(self, scope: EvalContext) -> Value:
        op = self.op
        lhs = self.lhs.ev(scope)
        rhs = self.rhs.ev(scope)
        if op == "==":
            return deep_equal(lhs, rhs)
        if op == "!=":
            eq = deep_equal(lhs, rhs)
            return eq if eq is UNKNOWN else not eq
        if op in ("&&", "||"):
            return self._logic(lhs, rhs)
        a = self._number(lhs, "left")
        b = self._number(rhs, "right")
        if a is UNKNOWN or b is UNKNOWN:
            return UNKNOWN
        if op in _COMPARE:
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        return self._arith(op, a, b)

    def _number(self, value: Value, side: str) -> Value:
        expr = self.lhs if side == "left" else self.rhs
        if value is None:
            raise fail(
                expr.range,
                "Invalid operand",
                f"Unsuitable value for {side} operand: a number is required.",
            )
        try:
            return to_number(value)
        except ConversionError as err:
            raise fail(expr.range, "Invalid operand", f"Unsuitable value for {side} operand: {err}.") from None

    def _arith(self, op: str, a: int | float, b: int | float) -> Value:
        if op in ("+", "-", "*"):
            return _exact(op, a, b)
        if b == 0:
            raise fail(self.range, "Operation failed", "Error during operation: can't divide by zero.")
        if op == "/":
            if isinstance(a, int) and isinstance(b, int) and a % b == 0:
                return a // b
            return normalize_number(a / b)
        # Terraform's modulo keeps the sign of the dividend, like Go's.
        rem = abs(a) % abs(b)
        return normalize_number(-rem if a < 0 else rem)

    def _logic(self, lhs: Value, rhs: Value) -> Value:
        a = self._bool(lhs, "left")
        b = self._bool(rhs, "right")
        if self.op == "&&":
            if a is False or b is False:
                return False
            return UNKNOWN if a is UNKNOWN or b is UNKNOWN else True
        if a is True or b is True:
            return True
        return UNKNOWN if a is UNKNOWN or b is UNKNOWN else False

    def _bool(self, value: Value, side: str) -> Value:
        expr = self.lhs if side == "left" else self.rhs
        try:
            result = to_bool(value)
        except ConversionError as err:
            raise fail(expr.range, "Invalid operand", f"Unsuitable value for {side} operand: {err}.") from None
        if result is None:
            raise fail(
                expr.range,
                "Invalid operand",
                f"Unsuitable value for {side} operand: a bool is required.",
            )
        return result


class UnaryOp(Expr):
    __slots__ = ("op", "operand")

    def __init__(self, file: str, pos: PosLike, op: str, operand: Expr) -> None:
        super().__init__(file, pos)
        self.op = op
        self.operand = operand

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def ev(self, scope: EvalContext) -> Value:
        value = self.operand.ev(scope)
        if value is UNKNOWN:
            return UNKNOWN
        want = "a number" if self.op == "-" else "a bool"
        try:
            result = to_number(value) if self.op == "-" else to_bool(value)
        except ConversionError as err:
            raise fail(self.range, "Invalid operand", f"Unsuitable value for unary operand: {err}.") from None
        if result is None:
            raise fail(
                self.range,
                "Invalid operand",
                f"Unsuitable value for unary operand: {want} is required.",
            )
        return normalize_number(-result) if self.op == "-" else not result


def _exact(op: str, a: int | float, b: int | float) -> Value:
    """Terraform's numbers are decimal, so 0.1 + 0.2 is 0.3: floats are added as decimals."""
    if isinstance(a, int) and isinstance(b, int):
        return a + b if op == "+" else a - b if op == "-" else a * b
    if math.isinf(a) or math.isinf(b) or math.isnan(a) or math.isnan(b):
        return normalize_number(a + b if op == "+" else a - b if op == "-" else a * b)
    x, y = Decimal(repr(a)), Decimal(repr(b))
    return normalize_number(float(x + y if op == "+" else x - y if op == "-" else x * y))


def deep_equal(a: Value, b: Value) -> Value:
    """Terraform's ``==``: same type and same value, UNKNOWN when it cannot tell yet."""
    if a is UNKNOWN or b is UNKNOWN:
        return UNKNOWN
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return _all_equal(list(zip(a, b, strict=False))) if len(a) == len(b) else False
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return False
        return _all_equal([(a[k], b[k]) for k in a])
    if type(a) is not type(b):
        return False
    return bool(a == b)


def _all_equal(pairs: list[tuple[Value, Value]]) -> Value:
    unknown = False
    for x, y in pairs:
        eq = deep_equal(x, y)
        if eq is UNKNOWN:
            unknown = True
        elif not eq:
            return False
    return UNKNOWN if unknown else True
