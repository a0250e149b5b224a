"""Fit an evaluated resource body to its provider schema.

This is where Terraform's type conversion happens for resource arguments: numbers and bools
from strings (and ``1``/``0`` to bool, as 0.11-era configs write), the 0.11 block form of a map
(``tags { Name = "x" }`` arrives as a one-element list of objects) into a map, and unknown or
missing arguments into diagnostics naming the argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from relight.diagnostics import Diagnostics, SourceRange
from relight.providers.base import BlockType, Schema
from relight.values import UNKNOWN, Value

__all__ = ["conform"]


class _Mismatch(Exception):
    pass


def conform(
    schema: Schema,
    raw: Mapping[str, Value],
    where: str,
    subject: SourceRange | None,
    ranges: Mapping[str, SourceRange] | None = None,
) -> tuple[dict[str, Value], Diagnostics]:
    """Return ``raw`` converted to ``schema``; every schema attribute is present (null if unset).

    ``where`` names the object in messages (an address); ``ranges`` gives per-argument source
    positions for sharper diagnostics.
    """
    diags = Diagnostics()
    ranges = ranges or {}
    out: dict[str, Value] = {}
    for name, value in raw.items():
        rng = ranges.get(name, subject)
        attr = schema.attributes.get(name)
        if attr is not None:
            if attr.computed and not (attr.optional or attr.required) and value is not None:
                diags.error(
                    f'Invalid or unknown key "{name}"',
                    f'The argument "{name}" of {where} is read-only: it is set by the provider.',
                    rng,
                )
                continue
            try:
                out[name] = _convert(value, attr.type, attr.element)
            except _Mismatch as exc:
                diags.error(
                    "Incorrect attribute value type",
                    f'Inappropriate value for attribute "{name}": {exc}.',
                    rng,
                )
                out[name] = value  # it is set, if wrongly: not also "missing"
            continue
        block = schema.blocks.get(name)
        if block is not None:
            out[name] = _conform_blocks(block, value, f"{where} {name}", rng, diags)
            continue
        diags.error(
            "Unsupported argument",
            f'An argument named "{name}" is not expected here ({where}).',
            rng,
        )
    for name, attr in schema.attributes.items():
        if name not in out:
            out[name] = None
        if attr.required and out[name] is None:
            diags.error(
                "Missing required argument",
                f'The argument "{name}" is required, but no definition was found in {where}.',
                subject,
            )
    for name in schema.blocks:
        out.setdefault(name, [])
    return out, diags


def _conform_blocks(block: BlockType, value: Value, where: str, rng: SourceRange | None, diags: Diagnostics) -> Value:
    if value is UNKNOWN or value is None:
        return [] if value is None else value
    items = value if isinstance(value, list) else [value]
    result = []
    for item in items:
        if not isinstance(item, dict):
            diags.error("Unsupported block type", f"{where} must be a block.", rng)
            continue
        conformed, sub = conform(block.schema, item, where, rng)
        diags.extend(sub)
        result.append(conformed)
    if block.max_items is not None and len(result) > block.max_items:
        diags.error("Too many blocks", f"{where}: at most {block.max_items} allowed.", rng)
    return result


def _convert(value: Value, type_: str, element: str) -> Value:
    if value is None or value is UNKNOWN or type_ == "any":
        return value
    if type_ == "string":
        return _to_string(value)
    if type_ == "number":
        return _to_number(value)
    if type_ == "bool":
        return _to_bool(value)
    if type_ in ("list", "set"):
        if not isinstance(value, list):
            raise _Mismatch(f"{type_} of {_element_name(element)} required")
        items = [_convert(v, element, "any") for v in value]
        if type_ == "set":
            deduped: list[Any] = []
            for v in items:
                if v not in deduped:
                    deduped.append(v)
            return deduped
        return items
    if type_ == "map":
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            merged: dict[str, Value] = {}
            for v in value:  # the 0.11 block form of a map attribute
                merged.update(v)
            value = merged
        if not isinstance(value, dict):
            raise _Mismatch(f"map of {_element_name(element)} required")
        return {str(k): _convert(v, element, "any") for k, v in value.items()}
    return value


def _element_name(element: str) -> str:
    return "any single type" if element == "any" else element


def _to_string(value: Value) -> Value:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, str):
        return value
    raise _Mismatch("string required")


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _to_number(value: Value) -> Value:
    if isinstance(value, bool):
        raise _Mismatch("a number is required")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise _Mismatch(f'a number is required, got "{value}"') from None
        return int(number) if number.is_integer() and "." not in value else number
    raise _Mismatch("a number is required")


def _to_bool(value: Value) -> Value:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", 1):
        return True
    if value in ("false", "0", 0):
        return False
    raise _Mismatch("a bool is required")
