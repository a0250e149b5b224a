"""The value model shared by the language, providers, state and engine.

Values are plain Python: ``str``, ``int``/``float`` (numbers), ``bool``, ``None`` (null), ``list``
and ``dict``. A value that is not known until apply is the singleton :data:`UNKNOWN`; it may sit
anywhere inside a list or dict. Operations on an unknown yield an unknown, so the planner can
propagate "(known after apply)".

Types, as Terraform has them, ride along only where they differ from what the Python value
shows. Terraform tells a list from a tuple, a set from a list and a map from an object; here a
plain ``list`` is a *tuple* and a plain ``dict`` an *object* (what a literal ``[...]``/``{...}``
is in Terraform), and the other kinds are :class:`TypedList` / :class:`TypedDict`, subclasses of
``list``/``dict`` carrying a Terraform type (``["list", "string"]``, ``["set", "number"]``,
``["map", "string"]``, or a declared ``["tuple", ...]``/``["object", ...]`` whose null members
have known types). Code that does not care about types sees ordinary lists and dicts, and a new
list built from a typed one is a tuple again, as a ``for`` expression's result is in Terraform.
:func:`type_of` gives any value's type in Terraform's JSON notation (what ``output -json``
prints). Values read back from JSON (state, plans) are plain: their types are the literal ones.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = [
    "UNKNOWN",
    "TypeExpr",
    "TypedDict",
    "TypedList",
    "Unknown",
    "Value",
    "is_wholly_known",
    "strip_unknown",
    "type_of",
]

Value = Any
# Terraform's JSON type notation: "string" | "number" | "bool" | "dynamic" | ["list", T] |
# ["set", T] | ["map", T] | ["tuple", [T...]] | ["object", {name: T}]. A collection whose element
# type is None has it inferred from its elements.
TypeExpr = Any


class Unknown:
    """The type of :data:`UNKNOWN`: a value that will only be known after apply."""

    _instance: Unknown | None = None
    __slots__ = ()

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(known after apply)"

    def __bool__(self) -> bool:
        raise TypeError("an unknown value has no truth value yet")

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = Unknown()


def is_wholly_known(value: Value) -> bool:
    """True when ``value`` contains no :data:`UNKNOWN` at any depth."""
    if value is UNKNOWN:
        return False
    if isinstance(value, dict):
        return all(is_wholly_known(v) for v in value.values())
    if isinstance(value, list):
        return all(is_wholly_known(v) for v in value)
    return True


def strip_unknown(value: Value) -> Value:
    """Replace every unknown with None (for places that can only hold known data)."""
    if value is UNKNOWN:
        return None
    if isinstance(value, dict):
        return {k: strip_unknown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_unknown(v) for v in value]
    return value


class TypedList(list[Any]):
    """A list, set or declared tuple: ``type`` is ``["list", T]``, ``["set", T]`` or ``["tuple", [...]]``."""

    __slots__ = ("type",)

    def __init__(self, items: Any = (), type: TypeExpr = None) -> None:
        super().__init__(items)
        self.type = type

    def __reduce__(self) -> Any:
        return (TypedList, (list(self), self.type))


class TypedDict(dict[str, Any]):
    """A map or declared object: ``type`` is ``["map", T]`` or ``["object", {...}]``."""

    __slots__ = ("type",)

    def __init__(self, items: Any = (), type: TypeExpr = None) -> None:
        super().__init__(items)
        self.type = type

    def __reduce__(self) -> Any:
        return (TypedDict, (dict(self), self.type))


def type_of(value: Value, declared: TypeExpr = None) -> TypeExpr:
    """``value``'s Terraform type in JSON notation; ``declared`` types a null (or fills gaps)."""
    if value is None or value is UNKNOWN:
        return declared if declared is not None else "dynamic"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, TypedList | TypedDict) and value.type is not None:
        return _typed(value, value.type)
    if isinstance(value, list):
        return ["tuple", [type_of(v) for v in value]]
    if isinstance(value, dict):
        return ["object", {k: type_of(v) for k, v in value.items()}]
    return "dynamic"


def _typed(value: TypedList | TypedDict, declared: TypeExpr) -> TypeExpr:
    kind, inner = declared[0], declared[1]
    if kind in ("list", "set", "map"):
        if _complete(inner):
            return [kind, inner]
        items = value.values() if isinstance(value, dict) else value
        found = [type_of(v, inner) for v in items]
        return [kind, _unify(found) if found else _filled(inner)]
    if kind == "tuple" and isinstance(value, list):
        return ["tuple", [type_of(v, t) for v, t in zip(value, inner, strict=False)]]
    if kind == "object" and isinstance(value, dict):
        return ["object", {k: type_of(v, inner.get(k)) for k, v in value.items()}]
    return declared


def _complete(t: TypeExpr) -> bool:
    """Whether a type expression names every element type (no None left to infer)."""
    if t is None:
        return False
    if isinstance(t, str):
        return True
    inner = t[1]
    if isinstance(inner, dict):
        return all(_complete(v) for v in inner.values())
    if isinstance(inner, list) and t[0] == "tuple":
        return all(_complete(v) for v in inner)
    return _complete(inner)


def _filled(t: TypeExpr) -> TypeExpr:
    """``t`` with every element type still to infer taken as "dynamic" (an empty collection)."""
    if t is None:
        return "dynamic"
    if isinstance(t, str):
        return t
    inner = t[1]
    if isinstance(inner, dict):
        return [t[0], {k: _filled(v) for k, v in inner.items()}]
    if t[0] == "tuple":
        return [t[0], [_filled(v) for v in inner]]
    return [t[0], _filled(inner)]


def _unify(types: list[TypeExpr]) -> TypeExpr:
    """One element type for a collection's elements (they were converted to one already)."""
    known = [t for t in types if t != "dynamic"]
    if not known:
        return "dynamic"
    return known[0]
