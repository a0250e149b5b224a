"""Primitive conversions with Terraform's rules (shared by the evaluator and :mod:`types`).

Numbers are ``int`` when integral and ``float`` otherwise, so ``1.5 + 1.5`` is ``3`` like
Terraform prints it. Strings convert to numbers and bools the way Terraform does ("5" -> 5,
"true" -> true); for 0.11-era configurations 1/0 and "1"/"0" also convert to bools.
"""

from __future__ import annotations

import math
import re

from relight.values import UNKNOWN, Value

__all__ = [
    "ConversionError",
    "format_number",
    "normalize_number",
    "to_bool",
    "to_number",
    "to_string",
    "type_name",
]

_NUMBER_RE = re.compile(r"^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_INT_RE = re.compile(r"^-?[0-9]+$")


class ConversionError(ValueError):
    """A value does not fit a type. ``message`` reads like Terraform's ("a number is required")."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        if not self.path:
            return self.message
        return f"{_format_path(self.path)}: {self.message}"


def _format_path(path: tuple[str | int, ...]) -> str:
    parts = [f"element {p}" if isinstance(p, int) else f'attribute "{p}"' for p in path]
    return ", ".join(parts)


def type_name(value: Value) -> str:
    """Terraform's friendly name for the type of ``value``."""
    if value is None:
        return "null"
    if value is UNKNOWN:
        return "unknown"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "tuple"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def normalize_number(num: int | float) -> int | float:
    """Integral floats become ints so equal numbers look equal."""
    if isinstance(num, float) and num.is_integer():
        return int(num)
    return num


def format_number(num: int | float) -> str:
    if isinstance(num, int):
        return str(num)
    if math.isinf(num):
        return "Infinity" if num > 0 else "-Infinity"
    if num.is_integer():
        return str(int(num))
    return format(num, ".15g")


def to_number(value: Value) -> Value:
    """Convert to a number; null and unknown pass through."""
    if value is None or value is UNKNOWN:
        return value
    if isinstance(value, bool):
        raise ConversionError("number required")
    if isinstance(value, int | float):
        return normalize_number(value)
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.match(text):
            return int(text)
        if _NUMBER_RE.match(text):
            return normalize_number(float(text))
        raise ConversionError("a number is required")
    raise ConversionError("number required")


def to_string(value: Value) -> Value:
    """Convert a primitive to a string; null and unknown pass through."""
    if value is None or value is UNKNOWN or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(value)
    raise ConversionError("string required")


def to_bool(value: Value) -> Value:
    """Convert to a bool: true/false, "true"/"false", and legacy 1/0, "1"/"0"."""
    if value is None or value is UNKNOWN or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        raise ConversionError("a bool is required")
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    raise ConversionError("bool required")
