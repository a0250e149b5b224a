"""What each built-in function returns, as Terraform types it: list, set, map, tuple or object.

The implementations work on plain lists and dicts; the registry passes each result through its
function's rule here, so ``split`` gives a ``list(string)``, ``tomap`` a map, and ``reverse`` a
list for a list but a tuple for a tuple (see :mod:`relight.values` for how types ride along).
The rules were read off Terraform 1.11's ``type()`` of each function's result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from relight.values import TypedDict, TypedList, TypeExpr, Value, type_of

__all__ = [
    "ResultRule",
    "chunks",
    "concat",
    "follows",
    "keys",
    "list_of",
    "map_of",
    "merge",
    "set_of",
    "transpose",
    "values",
    "zipmap",
]

ResultRule = Callable[[Sequence[Value], Value], Value]
_COLLECTIONS: Final = ("list", "set")


def kind(value: Value) -> str | None:
    """list, set, map, tuple, object, or None for a primitive or null."""
    if isinstance(value, TypedList | TypedDict) and value.type is not None:
        return str(value.type[0])
    if isinstance(value, list):
        return "tuple"
    if isinstance(value, dict):
        return "object"
    return None


def element(value: Value) -> TypeExpr:
    """The element type of a typed list, set or map (None: infer it)."""
    if isinstance(value, TypedList | TypedDict) and value.type is not None and value.type[0] in ("list", "set", "map"):
        return value.type[1]
    return None


def list_of(elem: TypeExpr = None) -> ResultRule:
    def rule(args: Sequence[Value], out: Value) -> Value:
        return TypedList(out, ["list", elem]) if isinstance(out, list) else out

    return rule


def set_of(elem: TypeExpr = None) -> ResultRule:
    def rule(args: Sequence[Value], out: Value) -> Value:
        return TypedList(out, ["set", elem]) if isinstance(out, list) else out

    return rule


def map_of(elem: TypeExpr = None) -> ResultRule:
    def rule(args: Sequence[Value], out: Value) -> Value:
        return TypedDict(out, ["map", elem]) if isinstance(out, dict) else out

    return rule


def follows(index: int = 0, *, collection_element: bool = True, always: bool = False) -> ResultRule:
    """A list for a list or set argument (of its element type), a tuple for a tuple; with
    ``always`` a list whatever the argument (``distinct``, ``matchkeys``)."""

    def rule(args: Sequence[Value], out: Value) -> Value:
        arg = args[index] if index < len(args) else None
        if isinstance(out, list) and (always or kind(arg) in _COLLECTIONS):
            return TypedList(out, ["list", element(arg) if collection_element else None])
        return out

    return rule


def keys(args: Sequence[Value], out: Value) -> Value:
    return TypedList(out, ["list", "string"]) if kind(args[0]) == "map" and isinstance(out, list) else out


def values(args: Sequence[Value], out: Value) -> Value:
    return TypedList(out, ["list", element(args[0])]) if kind(args[0]) == "map" and isinstance(out, list) else out


def concat(args: Sequence[Value], out: Value) -> Value:
    """Lists of one element type concatenate to a list; anything with a tuple, to a tuple."""
    if not isinstance(out, list) or not args or any(kind(a) != "list" for a in args):
        return out
    elements = {repr(element(a) or _inferred(a)) for a in args if a}
    if len(elements) > 1:
        return out
    return TypedList(out, ["list", element(args[0])])


def _inferred(value: Value) -> TypeExpr:
    t = type_of(value)
    return t[1] if isinstance(t, list) else None


def zipmap(args: Sequence[Value], out: Value) -> Value:
    if isinstance(out, dict) and kind(args[1]) in _COLLECTIONS:
        return TypedDict(out, ["map", element(args[1])])
    return out


def merge(args: Sequence[Value], out: Value) -> Value:
    """Maps of one element type merge to a map; anything with an object, to an object."""
    present = [a for a in args if a is not None]
    if not isinstance(out, dict) or not present or any(kind(a) != "map" for a in present):
        return out
    elements = {repr(element(a)) for a in present}
    return TypedDict(out, ["map", element(present[0])]) if len(elements) == 1 else out


def chunks(args: Sequence[Value], out: Value) -> Value:
    if not isinstance(out, list):
        return out
    inner = element(args[0]) if kind(args[0]) in _COLLECTIONS else None
    return TypedList([TypedList(c, ["list", inner]) for c in out], ["list", ["list", inner]])


def transpose(args: Sequence[Value], out: Value) -> Value:
    if not isinstance(out, dict):
        return out
    lists = {k: TypedList(v, ["list", "string"]) for k, v in out.items()}
    return TypedDict(lists, ["map", ["list", "string"]])
