"""Numeric functions (``min``, ``max``, ``sum``, ``pow``, ``log``, ``parseint``...)."""

from __future__ import annotations

import math
from decimal import Decimal

from relight.lang.funcbase import FuncContext, FunctionError
from relight.lang.functions._args import (
    Number,
    as_num,
    as_seq,
    as_whole,
    fmt_num,
    from_decimal,
    invalid,
    is_number,
    norm,
    to_decimal,
)
from relight.values import Value


def _numbers(args: tuple[Value, ...], param: str) -> list[Number]:
    return [as_num(a, param) for a in args]


def fn_min(ctx: FuncContext, *numbers: Value) -> Value:
    if not numbers:
        raise FunctionError("must pass at least one number")
    return min(_numbers(numbers, "numbers"))


def fn_max(ctx: FuncContext, *numbers: Value) -> Value:
    if not numbers:
        raise FunctionError("must pass at least one number")
    return max(_numbers(numbers, "numbers"))


def fn_sum(ctx: FuncContext, seq: Value) -> Value:
    items = as_seq(seq, "list", "argument must be list, set, or tuple of number values")
    if not items:
        raise invalid("list", "cannot sum an empty list")
    total = Decimal(0)
    for item in items:
        if not (is_number(item) or isinstance(item, str)):
            raise invalid("list", "argument must be list, set, or tuple of number values")
        total += to_decimal(as_num(item, "list"))
    return from_decimal(total)


def fn_abs(ctx: FuncContext, n: Value) -> Value:
    return abs(as_num(n, "num"))


def fn_ceil(ctx: FuncContext, n: Value) -> Value:
    number = as_num(n, "num")
    return number if isinstance(number, int) or math.isinf(number) else math.ceil(number)


def fn_floor(ctx: FuncContext, n: Value) -> Value:
    number = as_num(n, "num")
    return number if isinstance(number, int) or math.isinf(number) else math.floor(number)


def fn_pow(ctx: FuncContext, n: Value, power: Value) -> Value:
    base, exponent = as_num(n, "num"), as_num(power, "power")
    if isinstance(base, int) and isinstance(exponent, int) and exponent >= 0:
        return base**exponent
    try:
        return norm(math.pow(base, exponent))
    except (OverflowError, ValueError) as exc:
        raise FunctionError(f"cannot raise {fmt_num(base)} to {fmt_num(exponent)}: {exc}") from None


def fn_signum(ctx: FuncContext, n: Value) -> Value:
    number = as_whole(n, "num")
    return (number > 0) - (number < 0)


def _ln(number: Number) -> float:
    if number == 0:
        return -math.inf
    return math.nan if number < 0 else math.log(number)


def fn_log(ctx: FuncContext, n: Value, base: Value) -> Value:
    # IEEE division as in Go: log(2, 1) is +Inf, log(2, 0) is 0; only NaN is an error.
    number, b = as_num(n, "num"), as_num(base, "base")
    top, bottom = _ln(number), _ln(b)
    if math.isnan(top) or math.isnan(bottom) or (math.isinf(top) and math.isinf(bottom)):
        raise FunctionError(f"cannot take the logarithm of {fmt_num(number)} in base {fmt_num(b)}")
    if bottom == 0 and top == 0:
        raise FunctionError(f"cannot take the logarithm of {fmt_num(number)} in base 1")
    if bottom == 0:
        return math.copysign(math.inf, top)
    return norm(top / bottom)


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def fn_parseint(ctx: FuncContext, number: Value, base: Value) -> Value:
    radix = as_num(base, "base")
    if not isinstance(radix, int) or not 2 <= radix <= 62:
        raise invalid("base", "base must be a whole number between 2 and 62 inclusive")
    if not isinstance(number, str):
        raise invalid("number", "string required")
    text = number[1:] if number[:1] in "+-" else number
    total = 0
    for char in text:
        digit = _DIGITS.find(char.lower() if radix <= 36 else char)
        if digit < 0 or digit >= radix:
            total = -1
            break
        total = total * radix + digit
    if not text or total < 0:
        raise invalid("number", f'cannot parse "{number}" as a base {radix} integer')
    return -total if number.startswith("-") else total
