"""Terraform's JSON notation for value types, as its state files write them.

Terraform records the type of every root output (``"type": ["list", "string"]``) and of every
attribute whose schema type is "any" (``terraform_data``'s ``input``: ``{"value": ..., "type":
...}``). relight's values are plain JSON and carry no type, so converting a state to Terraform's
format needs a type for each such value: the one recorded earlier when it still describes the
value (:func:`conforms`), else the type Terraform itself gives a literal of that shape
(:func:`relight.values.type_of`).

The notation: ``"string"``, ``"number"``, ``"bool"``, ``"dynamic"``, ``["list", T]``,
``["set", T]``, ``["map", T]``, ``["tuple", [T, ...]]``, ``["object", {"name": T, ...}]``.
"""

from __future__ import annotations

from typing import Any

from relight.values import Value

__all__ = ["CtyType", "conforms", "is_type"]

CtyType = Any  # str | list: JSON as Terraform writes it

_PRIMITIVES = frozenset({"string", "number", "bool", "dynamic"})
_COLLECTIONS = frozenset({"list", "set", "map"})


def is_type(ty: object) -> bool:
    """True when ``ty`` is well-formed type notation (checked before trusting a stored type)."""
    if isinstance(ty, str):
        return ty in _PRIMITIVES
    if not isinstance(ty, list) or len(ty) != 2 or not isinstance(ty[0], str):
        return False
    kind, arg = ty
    if kind in _COLLECTIONS:
        return is_type(arg)
    if kind == "tuple":
        return isinstance(arg, list) and all(is_type(t) for t in arg)
    if kind == "object":
        return isinstance(arg, dict) and all(isinstance(k, str) and is_type(t) for k, t in arg.items())
    return False


def conforms(value: Value, ty: CtyType) -> bool:
    """True when ``value`` is a value of type ``ty`` (null is a value of every type)."""
    if value is None or ty == "dynamic":
        return True
    if isinstance(ty, str):
        return _primitive(value, ty)
    kind, arg = ty
    if kind in ("list", "set"):
        return isinstance(value, list) and all(conforms(v, arg) for v in value)
    if kind == "map":
        return isinstance(value, dict) and all(conforms(v, arg) for v in value.values())
    if kind == "tuple":
        return isinstance(value, list) and len(value) == len(arg) and all(map(conforms, value, arg))
    if kind == "object":
        return isinstance(value, dict) and set(value) == set(arg) and all(conforms(value[k], arg[k]) for k in arg)
    return False


def _primitive(value: Value, ty: str) -> bool:
    if ty == "bool":
        return isinstance(value, bool)
    if ty == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return ty == "string" and isinstance(value, str)
