"""Equality, type unification and set order, as cty has them over the plain value model.

Sets are lists here; a set of strings, numbers or bools is kept sorted, as Terraform orders them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from relight.lang.functions._args import as_str, invalid, is_number, norm
from relight.values import UNKNOWN, Value


def equality_key(value: Value) -> Any:
    """A hashable key under which two values are equal exactly when Terraform says so."""
    if value is None:
        return ("null",)
    if value is UNKNOWN:
        return ("unknown", id(value))
    if isinstance(value, bool):
        return ("bool", value)
    if is_number(value):
        return ("number", norm(value))
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("list", tuple(equality_key(v) for v in value))
    if isinstance(value, dict):
        return ("map", tuple(sorted((k, equality_key(v)) for k, v in value.items())))
    return ("other", repr(value))


def equal(a: Value, b: Value) -> bool:
    return bool(equality_key(a) == equality_key(b))


def distinct(values: Iterable[Value]) -> list[Value]:
    seen: set[Any] = set()
    out = []
    for value in values:
        k = equality_key(value)
        if k not in seen:
            seen.add(k)
            out.append(value)
    return out


def kind(value: Value) -> str:
    if isinstance(value, bool):
        return "bool"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    return "null"


def unify(values: list[Value]) -> list[Value] | None:
    """Convert the elements of a tuple to one element type, or None if Terraform cannot.

    Mixed primitives become strings when any of them is a string (bool and number alone do not
    unify); nested lists unify element-wise. Objects are left as they are.
    """
    kinds = {kind(v) for v in values} - {"null"}
    if len(kinds) <= 1 and kinds != {"list"}:
        return list(values)
    if kinds == {"list"}:
        inner = unify([item for v in values if v is not None for item in v])
        if inner is None:
            return None
        out: list[Value] = []
        pos = 0
        for v in values:
            if v is None:
                out.append(None)
            else:
                out.append(inner[pos : pos + len(v)])
                pos += len(v)
        return out
    if kinds <= {"string", "number", "bool"} and "string" in kinds:
        return [None if v is None else as_str(v, "v") for v in values]
    return None


def set_order(values: list[Value]) -> list[Value]:
    """Order set elements as Terraform does for primitive and list-of-primitive sets."""
    kinds = {kind(v) for v in values}
    if kinds == {"string"}:
        return sorted(values)
    if kinds == {"number"}:
        return sorted(values)
    if kinds == {"bool"}:
        return sorted(values)
    if kinds == {"list"}:
        try:
            return sorted(values, key=lambda v: [equality_key(x) for x in v])
        except TypeError:
            return values
    return values


def to_set(values: list[Value], param: str) -> list[Value]:
    unified = unify(values)
    if unified is None:
        raise invalid(param, "cannot convert tuple to set of any single type")
    return set_order(distinct(unified))
