"""Type constraints (``list(string)``, ``object({a = optional(number, 1)})``) and conversion.

:func:`parse_type` reads a variable's ``type`` expression statically; :func:`convert` applies a
constraint to a value the way Terraform does (strings to numbers, ``"true"`` to bools, optional
attributes filled with their defaults) and raises :class:`ConversionError` with a Terraform-like
message otherwise. UNKNOWN passes through every conversion. The engine also uses ``convert`` with
provider schemas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal as TypingLiteral

from relight.diagnostics import Diagnostics
from relight.lang._prim import (
    ConversionError,
    to_bool,
    to_number,
    to_string,
    type_name,
)
from relight.lang.expr import Expr, FunctionCall, Literal, ObjectCons, Symbol, TupleCons
from relight.values import UNKNOWN, TypedDict, TypedList, TypeExpr, Value

__all__ = [
    "ANY",
    "BOOL",
    "NUMBER",
    "STRING",
    "AnyType",
    "ConversionError",
    "ListType",
    "MapType",
    "ObjectType",
    "PrimitiveType",
    "SetType",
    "TupleType",
    "TypeConstraint",
    "convert",
    "json_type",
    "parse_type",
    "to_bool",
    "to_number",
    "to_string",
    "type_name",
]


@dataclass(frozen=True, slots=True)
class PrimitiveType:
    name: TypingLiteral["string", "number", "bool"]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class AnyType:
    def __str__(self) -> str:
        return "any"


@dataclass(frozen=True, slots=True)
class ListType:
    element: TypeConstraint

    def __str__(self) -> str:
        return f"list({self.element})"


@dataclass(frozen=True, slots=True)
class SetType:
    element: TypeConstraint

    def __str__(self) -> str:
        return f"set({self.element})"


@dataclass(frozen=True, slots=True)
class MapType:
    element: TypeConstraint

    def __str__(self) -> str:
        return f"map({self.element})"


@dataclass(frozen=True, slots=True)
class ObjectType:
    """``attributes`` in declaration order; ``optional`` names may be absent (then ``defaults``)."""

    attributes: tuple[tuple[str, TypeConstraint], ...]
    optional: frozenset[str] = frozenset()
    defaults: Mapping[str, Value] = field(default_factory=dict, hash=False, compare=False)

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.attributes)
        return f"object({{{inner}}})"


@dataclass(frozen=True, slots=True)
class TupleType:
    elements: tuple[TypeConstraint, ...]

    def __str__(self) -> str:
        return f"tuple([{', '.join(str(e) for e in self.elements)}])"


TypeConstraint = PrimitiveType | AnyType | ListType | SetType | MapType | ObjectType | TupleType

STRING: PrimitiveType = PrimitiveType("string")
NUMBER: PrimitiveType = PrimitiveType("number")
BOOL: PrimitiveType = PrimitiveType("bool")
ANY: AnyType = AnyType()

_PRIMITIVES: dict[str, TypeConstraint] = {
    "string": STRING,
    "number": NUMBER,
    "bool": BOOL,
    "any": ANY,
}
_BARE: dict[str, TypeConstraint] = {"list": ListType(ANY), "map": MapType(ANY), "set": SetType(ANY)}
# 0.11-era quoted type names.
_LEGACY: dict[str, TypeConstraint] = {"string": STRING, "list": ListType(ANY), "map": MapType(ANY)}


# --- parsing ---------------------------------------------------------------------------------


def parse_type(expr: Expr) -> tuple[TypeConstraint | None, Diagnostics]:
    """Read a type expression without evaluating it; None (with an error) when it is invalid."""
    diags = Diagnostics()
    result = _parse(expr, diags, allow_optional=False)
    return (None if diags.has_errors else result), diags


def _bad(expr: Expr, diags: Diagnostics, detail: str) -> None:
    diags.error("Invalid type specification", detail, expr.range)


def _parse(expr: Expr, diags: Diagnostics, allow_optional: bool) -> TypeConstraint:
    if isinstance(expr, Symbol):
        if expr.name in _PRIMITIVES:
            return _PRIMITIVES[expr.name]
        if expr.name in _BARE:  # Terraform reads a bare "list" as list(any), and so on
            return _BARE[expr.name]
        _bad(expr, diags, f'The keyword "{expr.name}" is not a valid type specification.')
        return ANY
    if isinstance(expr, Literal) and isinstance(expr.value, str) and expr.value in _LEGACY:
        return _LEGACY[expr.value]
    if isinstance(expr, FunctionCall):
        return _parse_call(expr, diags, allow_optional)
    _bad(
        expr,
        diags,
        "A type specification is either a primitive type keyword (bool, number, "
        "string) or a complex type constructor call, like list(string).",
    )
    return ANY


def _parse_call(expr: FunctionCall, diags: Diagnostics, allow_optional: bool) -> TypeConstraint:
    name, args = expr.name, expr.args
    if len(args) != 1 and name != "optional":
        _bad(expr, diags, f"The {name} type constructor requires one argument.")
        return ANY
    if name in ("list", "set", "map"):
        elem = _parse(args[0], diags, False)
        if name == "list":
            return ListType(elem)
        return SetType(elem) if name == "set" else MapType(elem)
    if name == "tuple":
        if not isinstance(args[0], TupleCons):
            _bad(expr, diags, "The tuple type constructor requires a list of element types.")
            return ANY
        return TupleType(tuple(_parse(e, diags, False) for e in args[0].items))
    if name == "object":
        return _parse_object(expr, diags)
    _bad(expr, diags, f'Keyword "{name}" is not a valid type constructor.')
    return ANY


def _parse_object(expr: FunctionCall, diags: Diagnostics) -> TypeConstraint:
    spec = expr.args[0]
    if not isinstance(spec, ObjectCons):
        _bad(expr, diags, "The object type constructor requires an object of attribute types.")
        return ANY
    attrs: list[tuple[str, TypeConstraint]] = []
    optional: set[str] = set()
    defaults: dict[str, Value] = {}
    for key_expr, type_expr in spec.items:
        if not isinstance(key_expr, Literal) or not isinstance(key_expr.value, str):
            _bad(key_expr, diags, "Object type attribute names must be literal names.")
            continue
        key = key_expr.value
        if isinstance(type_expr, FunctionCall) and type_expr.name == "optional":
            attr_type, default = _parse_optional(type_expr, diags)
            optional.add(key)
            if default is not None:
                defaults[key] = default
        else:
            attr_type = _parse(type_expr, diags, False)
        attrs.append((key, attr_type))
    return ObjectType(tuple(attrs), frozenset(optional), defaults)


def _parse_optional(expr: FunctionCall, diags: Diagnostics) -> tuple[TypeConstraint, Value]:
    if not 1 <= len(expr.args) <= 2:
        _bad(expr, diags, "The optional modifier requires a type and an optional default value.")
        return ANY, None
    attr_type = _parse(expr.args[0], diags, False)
    if len(expr.args) == 1:
        return attr_type, None
    value, vdiags = expr.args[1].evaluate()
    diags.extend(vdiags)
    try:
        return attr_type, convert(value, attr_type)
    except ConversionError as err:
        _bad(expr.args[1], diags, f"Invalid default value for optional attribute: {err}.")
        return attr_type, None


# --- conversion ------------------------------------------------------------------------------


def convert(value: Value, type_: TypeConstraint | None) -> Value:
    """Convert ``value`` to ``type_`` (None means any); raises ConversionError when impossible."""
    if type_ is None or value is None or value is UNKNOWN or isinstance(type_, AnyType):
        return value
    try:
        return _convert(value, type_)
    except ConversionError:
        raise
    except (TypeError, ValueError) as err:  # defensive: report rather than crash
        raise ConversionError(str(err)) from None


def json_type(t: TypeConstraint | None) -> TypeExpr:
    """A type constraint in Terraform's JSON type notation; ``any`` is None (inferred)."""
    if t is None or isinstance(t, AnyType):
        return None
    if isinstance(t, PrimitiveType):
        return t.name
    if isinstance(t, ListType | SetType | MapType):
        kind = "list" if isinstance(t, ListType) else "set" if isinstance(t, SetType) else "map"
        return [kind, json_type(t.element)]
    if isinstance(t, TupleType):
        return ["tuple", [json_type(e) for e in t.elements]]
    return ["object", {name: json_type(a) for name, a in t.attributes}]


def _convert(value: Value, t: TypeConstraint) -> Value:
    if value is None or value is UNKNOWN or isinstance(t, AnyType):
        return value
    if isinstance(t, PrimitiveType):
        return _primitive(value, t)
    if isinstance(t, ListType | SetType):
        if not isinstance(value, list):
            raise ConversionError(f"{_friendly(t)} required")
        out = [_at(i, v, t.element) for i, v in enumerate(value)]
        return TypedList(_as_set(out) if isinstance(t, SetType) else out, json_type(t))
    if isinstance(t, MapType):
        if not isinstance(value, dict):
            raise ConversionError(f"{_friendly(t)} required")
        return TypedDict({k: _at(k, v, t.element) for k, v in value.items()}, json_type(t))
    if isinstance(t, TupleType):
        if not isinstance(value, list) or len(value) != len(t.elements):
            raise ConversionError(f"tuple required with {len(t.elements)} elements")
        items = [_at(i, v, et) for i, (v, et) in enumerate(zip(value, t.elements, strict=True))]
        return TypedList(items, json_type(t))
    return TypedDict(_object(value, t), json_type(t))


def _friendly(t: TypeConstraint) -> str:
    """Terraform's wording: "list of string", "map of number"."""
    if isinstance(t, ListType | SetType | MapType):
        kind = "list" if isinstance(t, ListType) else "set" if isinstance(t, SetType) else "map"
        return f"{kind} of {_friendly(t.element)}"
    if isinstance(t, ObjectType):
        return "object"
    if isinstance(t, TupleType):
        return "tuple"
    return str(t)


def _primitive(value: Value, t: PrimitiveType) -> Value:
    if isinstance(value, list | dict):
        raise ConversionError(f"{t.name} required")
    if t.name == "string":
        return to_string(value)
    if t.name == "number":
        return to_number(value)
    return to_bool(value)


def _at(key: str | int, value: Value, t: TypeConstraint) -> Value:
    try:
        return _convert(value, t)
    except ConversionError as err:
        raise ConversionError(err.message, (key, *err.path)) from None


def _as_set(items: list[Value]) -> list[Value]:
    out: list[Value] = []
    for item in items:
        if item not in out or item is UNKNOWN:
            out.append(item)
    if all(isinstance(i, str) for i in out) or all(isinstance(i, int | float) and not isinstance(i, bool) for i in out):
        out.sort()
    return out


def _object(value: Value, t: ObjectType) -> Value:
    if not isinstance(value, dict):
        raise ConversionError("object required")
    out: dict[str, Value] = {}
    for name, attr_type in t.attributes:
        if name in value and value[name] is not None:
            out[name] = _at(name, value[name], attr_type)
        elif name in t.optional:
            out[name] = t.defaults.get(name)
        elif name in value:
            out[name] = None
        else:
            raise ConversionError(f'attribute "{name}" is required')
    return out
