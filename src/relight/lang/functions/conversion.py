"""Type conversion functions (``tostring``, ``tonumber``, ``tolist``, ``toset``, ``tomap``...)."""

from __future__ import annotations

from relight.lang.funcbase import FuncContext
from relight.lang.functions._args import as_str, invalid, is_number, norm, parse_number, type_name
from relight.lang.functions._sets import to_set, unify
from relight.values import Value


def fn_sensitivity(ctx: FuncContext, v: Value) -> Value:
    """``sensitive``/``nonsensitive``: the value itself. Sensitivity is tracked per output and
    per schema attribute, not per value, so marking a value changes nothing else."""
    return v


def fn_tostring(ctx: FuncContext, v: Value) -> Value:
    if v is None:
        return None
    if isinstance(v, list | dict):
        raise invalid("v", f"cannot convert {type_name(v)} to string")
    return as_str(v, "v")


def fn_tonumber(ctx: FuncContext, v: Value) -> Value:
    if v is None:
        return None
    if is_number(v):
        return norm(v)
    if isinstance(v, str):
        parsed = parse_number(v)
        if parsed is None:
            raise invalid(
                "v",
                f'cannot convert "{v}" to number; given string must be a decimal representation of a number',
            )
        return parsed
    raise invalid("v", f"cannot convert {type_name(v)} to number")


def fn_tobool(ctx: FuncContext, v: Value) -> Value:
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str):
        if v in ("true", "false"):
            return v == "true"
        raise invalid("v", f'cannot convert "{v}" to bool; only the strings "true" or "false" are allowed')
    raise invalid("v", f"cannot convert {type_name(v)} to bool")


def fn_tolist(ctx: FuncContext, v: Value) -> Value:
    if v is None:
        return None
    unified = unify(v) if isinstance(v, list) else None
    if unified is None:
        raise invalid("v", f"cannot convert {type_name(v)} to list of any single type")
    return unified


def fn_toset(ctx: FuncContext, v: Value) -> Value:
    if v is None:
        return None
    if not isinstance(v, list):
        raise invalid("v", f"cannot convert {type_name(v)} to set of any single type")
    return to_set(v, "v")


def fn_tomap(ctx: FuncContext, v: Value) -> Value:
    if v is None:
        return None
    unified = unify(list(v.values())) if isinstance(v, dict) else None
    if unified is None:
        raise invalid("v", f"cannot convert {type_name(v)} to map of any single type")
    return dict(zip(v, unified, strict=True))
