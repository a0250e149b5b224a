"""Argument checking and Terraform's automatic conversions, shared by every category.

A number or bool given for a string parameter becomes its string form, a decimal string given
for a number becomes that number, ``"true"``/``"false"`` given for a bool become bools; bools are
never numbers. Each checker raises :class:`FunctionError` in Terraform's words ("Invalid value for
"x" parameter: ...") and never anything else.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from relight.lang._prim import type_name as type_name  # the one friendly type name, re-exported
from relight.lang.funcbase import FunctionError
from relight.values import Value

Number = int | float


def invalid(param: str, message: str) -> FunctionError:
    """The error Terraform reports as "Invalid function argument"."""
    return FunctionError(f'Invalid value for "{param}" parameter: {message}.')


def is_number(value: Value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def norm(number: Number) -> Number:
    """Return an integral, finite float as an int (the value model's canonical number)."""
    if isinstance(number, float) and math.isfinite(number) and number.is_integer():
        # Via the shortest decimal, so 1.5e300 is 15 followed by zeros, as Terraform has it.
        return int(Decimal(repr(number)))
    return number


def fmt_num(number: Number) -> str:
    """Format a number as Terraform does: shortest exact decimal, never an exponent."""
    if isinstance(number, int):
        return str(number)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    text = format(Decimal(repr(number)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def to_decimal(number: Number) -> Decimal:
    """The exact decimal a number stands for (its shortest form, for floats)."""
    return Decimal(number) if isinstance(number, int) else Decimal(repr(number))


def from_decimal(number: Decimal) -> Number:
    return int(number) if number == number.to_integral_value() else float(number)


def parse_number(text: str) -> Number | None:
    """Parse a decimal number string, or return None if it is not one."""
    if not DECIMAL.fullmatch(text):
        return None
    return from_decimal(Decimal(text))


def not_null(value: Value, param: str) -> None:
    if value is None:
        raise invalid(param, "argument must not be null")


def as_str(value: Value, param: str) -> str:
    """Convert an argument for a string parameter."""
    not_null(value, param)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return fmt_num(value)
    raise invalid(param, "string required")


def as_num(value: Value, param: str) -> Number:
    """Convert an argument for a number parameter."""
    not_null(value, param)
    if is_number(value):
        return norm(value)
    if isinstance(value, str):
        parsed = parse_number(value)
        if parsed is not None:
            return parsed
        raise invalid(param, "a number is required")
    raise invalid(param, "number required")


def as_int(value: Value, param: str) -> int:
    """Convert an argument for a number parameter that must be whole."""
    number = as_num(value, param)
    if not isinstance(number, int):
        raise invalid(param, "value must be a whole number")
    return number


def as_bool(value: Value, param: str) -> bool:
    """Convert an argument for a bool parameter."""
    not_null(value, param)
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise invalid(param, "bool required")


def as_seq(value: Value, param: str, message: str = "list, set or tuple required") -> list[Value]:
    """Check an argument for a list, set or tuple parameter."""
    not_null(value, param)
    if not isinstance(value, list):
        raise invalid(param, message)
    return value


def as_mapping(value: Value, param: str, message: str = "map or object required") -> dict[str, Value]:
    """Check an argument for a map or object parameter."""
    not_null(value, param)
    if not isinstance(value, dict):
        raise invalid(param, message)
    return value


def as_str_list(value: Value, param: str) -> list[str]:
    """Convert an argument for a ``list(string)`` parameter; elements must not be null."""
    items = as_seq(value, param)
    out = []
    for i, item in enumerate(items):
        if item is None:
            raise invalid(param, f"element {i} is null")
        if not isinstance(item, str | int | float):
            raise invalid(param, f"element {i}: string required")
        out.append(as_str(item, param))
    return out


def as_whole(value: Value, param: str, context: str = "") -> int:
    """A number that must be whole, refused in cty's words (``context`` leads the message)."""
    number = as_num(value, param)
    if not isinstance(number, int):
        raise FunctionError(
            f"{context}value must be a whole number, between -9223372036854775808 and 9223372036854775807"
        )
    return number
