"""Types before apply: each resource argument's type, found from the expression alone, checked
against the provider's schema, as ``terraform validate`` checks it.

A value known at plan time is converted (and refused) by :mod:`relight.engine.conform`; this
module finds what conversion cannot see before apply: a reference whose value is not known yet
(``vpc_security_group_ids = aws_security_group.web.id`` is a string where a set of strings
goes, whatever the id turns out to be). Types come from where Terraform gets them: literals,
templates (strings), operators, the schemas of referenced resources, variables' type
constraints, locals (from their expressions), and the kinds of function results. Anything it
cannot tell is ``dynamic`` and never an error here, so this check has no false alarms: every
error it reports would fail the apply.

Contract of :func:`check_types`: one "Incorrect attribute value type" error per argument whose
type cannot convert to the schema's, at the argument, with Terraform's detail
(``Inappropriate value for attribute "x": set of string required.``); nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from relight.diagnostics import Diagnostics
from relight.lang import Config, Expr, Resource
from relight.lang.body import Body
from relight.lang.expr import (
    BinaryOp,
    Conditional,
    ForExpr,
    FunctionCall,
    GetAttr,
    Index,
    Literal,
    ObjectCons,
    ScopeRef,
    Splat,
    Template,
    TupleCons,
    UnaryOp,
)
from relight.lang.types import json_type
from relight.providers.base import Attribute, BlockType, Schema
from relight.values import type_of

__all__ = ["check_types", "static_type"]

T = Any  # a type in Terraform's JSON notation, or "dynamic" when it cannot be told
DYNAMIC: Final = "dynamic"

# The kind of what each function returns, where it does not depend on its arguments' values.
_STRING_FUNCS: Final = frozenset(
    {
        "abspath", "base64decode", "base64encode", "base64gzip", "base64sha256", "base64sha512", "basename",
        "bcrypt", "chomp", "cidrhost", "cidrnetmask", "cidrsubnet", "dirname", "endswith", "file", "filebase64",
        "filebase64sha256", "filebase64sha512", "filemd5", "filesha1", "filesha256", "filesha512", "format",
        "formatdate", "indent", "join", "jsonencode", "lower", "md5", "pathexpand", "plantimestamp", "replace",
        "rsadecrypt", "sha1", "sha256", "sha512", "strrev", "substr", "templatefile", "textdecodebase64",
        "textencodebase64", "timeadd", "timestamp", "title", "tostring", "trim", "trimprefix", "trimspace",
        "trimsuffix", "upper", "urlencode", "uuid", "uuidv5", "yamlencode",
    }
)
_NUMBER_FUNCS: Final = frozenset(
    {
        "abs", "ceil", "floor", "length", "log", "max", "min", "parseint", "pow", "signum", "sum", "tonumber",
    }
)
_BOOL_FUNCS: Final = frozenset(
    {
        "alltrue", "anytrue", "can", "contains", "fileexists", "issensitive", "startswith", "tobool",
    }
)
_LIST_FUNCS: Final = {
    "split": ["list", "string"],
    "keys": ["list", "string"],
    "range": ["list", "number"],
    "cidrsubnets": ["list", "string"],
    "formatlist": ["list", "string"],
    "regexall": ["list", DYNAMIC],
    "tolist": ["list", DYNAMIC],
    "compact": ["list", "string"],
    "sort": ["list", "string"],
    "distinct": ["list", DYNAMIC],
    "flatten": ["list", DYNAMIC],
    "chunklist": ["list", DYNAMIC],
    "concat": ["list", DYNAMIC],
    "values": ["list", DYNAMIC],
    "slice": ["list", DYNAMIC],
    "reverse": ["list", DYNAMIC],
    "setproduct": ["list", DYNAMIC],
    "matchkeys": ["list", DYNAMIC],
    "fileset": ["set", "string"],
    "toset": ["set", DYNAMIC],
    "setunion": ["set", DYNAMIC],
    "setintersection": ["set", DYNAMIC],
    "setsubtract": ["set", DYNAMIC],
}
_MAP_FUNCS: Final = {
    "tomap": ["map", DYNAMIC],
    "zipmap": ["map", DYNAMIC],
    "transpose": ["map", ["list", "string"]],
    "merge": ["map", DYNAMIC],
}
_ARITHMETIC: Final = frozenset({"+", "-", "*", "/", "%"})


def static_type(expr: Expr, lookup: Callable[[Expr], T] | None = None) -> T:
    """The type ``expr`` has whatever the values, ``dynamic`` when that cannot be told.
    ``lookup`` answers for references (``ScopeRef``), else they are ``dynamic``."""
    return _Inference(lookup or (lambda _e: DYNAMIC)).of(expr)


def check_types(
    config: Config,
    schema_of: Callable[[Resource], Schema | None],
    flagged: set[tuple[str, str]] | None = None,
) -> Diagnostics:
    """Check every argument of every resource (and check-scoped data source) against its
    schema; ``schema_of`` gives a resource's schema (None: unknown type, reported elsewhere).
    ``flagged``, when given, receives (resource address, argument) of each top-level argument
    reported, so later checks of the same argument can leave it alone."""
    diags = Diagnostics()
    refs = _References(config, schema_of)
    infer = _Inference(refs.type_of)
    refs.infer = infer
    resources: list[Resource] = list(config.resources.values())
    resources += [d for check in config.checks.values() for d in check.data]
    for res in resources:
        schema = schema_of(res)
        if schema is None:
            continue
        found = Diagnostics()
        _check_body(res.body, schema, infer, found)
        diags.extend(found)
        if flagged is not None and found.has_errors:
            lines = {d.subject.start for d in found if d.subject is not None}
            flagged |= {(str(res.addr), n) for n, a in res.body.attributes.items() if a.range.start in lines}
    return diags


def _check_body(body: Body, schema: Schema, infer: _Inference, diags: Diagnostics) -> None:
    for name, attr in body.attributes.items():
        spec = schema.attributes.get(name)
        if spec is None:
            continue  # unsupported arguments are reported by the schema check
        problem = _mismatch(infer.of(attr.expr), _schema_type(spec))
        if problem is not None:
            diags.error(
                "Incorrect attribute value type",
                f'Inappropriate value for attribute "{name}": {problem}.',
                attr.range,
            )
    for block in body.blocks:
        nested = schema.blocks.get(block.type)
        if nested is not None:
            _check_body(block.body, nested.schema, infer, diags)


def _schema_type(spec: Attribute) -> T:
    if spec.type in ("list", "set", "map"):
        element = DYNAMIC if spec.element == "any" else spec.element
        return [spec.type, element]
    return DYNAMIC if spec.type == "any" else spec.type


def _mismatch(found: T, want: T) -> str | None:
    """Why a value of type ``found`` cannot convert to ``want`` (Terraform's words), or None."""
    if found == DYNAMIC or want == DYNAMIC:
        return None
    want_kind = want if isinstance(want, str) else want[0]
    kind = found if isinstance(found, str) else found[0]
    if want_kind in ("string", "number", "bool"):
        if kind in ("string", "number", "bool"):
            return _primitive(kind, want_kind)
        return f"{want_kind} required"
    if want_kind in ("list", "set"):
        if kind in ("list", "set"):
            return _element(found[1], want)
        if kind == "tuple":
            for i, item in enumerate(found[1]):
                problem = _mismatch(item, want[1])
                if problem is not None:
                    return f"element {i}: {problem}"
            return None
        return f"{_describe(want)} required"
    if want_kind == "map":
        if kind == "map":
            return _element(found[1], want)
        if kind == "object":
            for key, item in found[1].items():
                problem = _mismatch(item, want[1])
                if problem is not None:
                    return f'element "{key}": {problem}'
            return None
        if kind in ("tuple", "list") and _all_objects(found):
            return None  # the 0.11 block form of a map (``tags { ... }``), merged by conform
        return f"{_describe(want)} required"
    return None


def _primitive(kind: str, want: str) -> str | None:
    if want == "string" or kind == want or kind == "string":
        return None  # strings may hold numbers and bools: conform checks the known value
    if want == "bool" and kind == "number":
        return None  # 0.11-era 1/0, which conform accepts
    return f"{want} required"


def _element(found: T, want: T) -> str | None:
    problem = _mismatch(found, want[1])
    return None if problem is None else f"{_describe(want)} required"


def _all_objects(found: T) -> bool:
    items = found[1] if found[0] == "tuple" else [found[1]]
    return all(not isinstance(i, str) and i[0] in ("object", "map") for i in items)


def _describe(t: T) -> str:
    if isinstance(t, str):
        return "any single type" if t == DYNAMIC else str(t)
    if t[0] in ("list", "set", "map"):
        return f"{t[0]} of {_describe(t[1])}"
    return str(t[0])


class _Inference:
    """Static types of expressions (see the module docstring)."""

    def __init__(self, lookup: Callable[[Expr], T]) -> None:
        self.lookup = lookup

    def of(self, expr: Expr) -> T:
        if isinstance(expr, Literal):
            return DYNAMIC if expr.value is None else type_of(expr.value)
        if isinstance(expr, Template):
            if expr.unwrap:
                part = expr.parts[0]
                return self.of(part) if isinstance(part, Expr) else "string"
            return "string"
        if isinstance(expr, TupleCons):
            return ["tuple", [self.of(item) for item in expr.items]]
        if isinstance(expr, ObjectCons):
            return self._object(expr)
        if isinstance(expr, ScopeRef):
            return self.lookup(expr)
        if isinstance(expr, GetAttr):
            return _member(self.of(expr.obj), expr.name)
        if isinstance(expr, Index):
            return self._index(expr)
        if isinstance(expr, Splat):
            return ["list", DYNAMIC]
        if isinstance(expr, FunctionCall):
            return _function(expr.name)
        if isinstance(expr, Conditional):
            return _unify([self.of(expr.if_true), self.of(expr.if_false)])
        if isinstance(expr, BinaryOp):
            return "number" if expr.op in _ARITHMETIC else "bool"
        if isinstance(expr, UnaryOp):
            return "bool" if expr.op == "!" else "number"
        if isinstance(expr, ForExpr):
            return ["map", DYNAMIC] if expr.key_expr is not None else ["list", DYNAMIC]
        return DYNAMIC

    def _object(self, expr: ObjectCons) -> T:
        members: dict[str, T] = {}
        for key, value in expr.items:
            if not isinstance(key, Literal) or not isinstance(key.value, str):
                return ["map", DYNAMIC]
            members[key.value] = self.of(value)
        return ["object", members]

    def _index(self, expr: Index) -> T:
        base = self.of(expr.obj)
        if isinstance(base, str):
            return DYNAMIC
        kind = base[0]
        if kind in ("list", "set", "map"):
            return base[1]
        key = expr.key.value if isinstance(expr.key, Literal) else None
        if kind == "tuple" and isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(base[1]):
            return base[1][key]
        if kind == "object" and isinstance(key, str):
            return base[1].get(key, DYNAMIC)
        return DYNAMIC


def _member(base: T, name: str) -> T:
    if isinstance(base, str):
        return DYNAMIC
    if base[0] == "object":
        return base[1].get(name, DYNAMIC)
    if base[0] == "map":
        return base[1]
    return DYNAMIC


def _function(name: str) -> T:
    if name in _STRING_FUNCS:
        return "string"
    if name in _NUMBER_FUNCS:
        return "number"
    if name in _BOOL_FUNCS:
        return "bool"
    return _LIST_FUNCS.get(name) or _MAP_FUNCS.get(name) or DYNAMIC


def _unify(types: Iterable[T]) -> T:
    found = list(types)
    if any(t == DYNAMIC for t in found):
        return DYNAMIC
    kinds = {t if isinstance(t, str) else t[0] for t in found}
    if len(kinds) == 1:
        return found[0]
    return DYNAMIC


class _References:
    """Types of references: variables by their constraints, locals by their expressions,
    resources by their schemas (count: a list of them, for_each: a map)."""

    def __init__(self, config: Config, schema_of: Callable[[Resource], Schema | None]) -> None:
        self.config = config
        self.schema_of = schema_of
        self.infer: _Inference | None = None
        self._locals: dict[str, T] = {}
        self._busy: set[str] = set()
        self._scoped = {d.addr: d for check in config.checks.values() for d in check.data}

    def type_of(self, expr: Expr) -> T:
        assert isinstance(expr, ScopeRef)
        ref = expr.ref
        if ref.kind == "var":
            var = self.config.variables.get(str(ref.name))
            found = json_type(var.type) if var is not None else None
            return DYNAMIC if found is None else _fill(found)
        if ref.kind == "local":
            return self._local(str(ref.name))
        if ref.resource is not None:
            return self._resource(ref.resource)
        if ref.kind == "count":
            return "number"
        if ref.kind == "path" or (ref.kind == "each" and ref.name == "key"):
            return "string"
        return DYNAMIC

    def _local(self, name: str) -> T:
        if name in self._locals:
            return self._locals[name]
        local = self.config.locals.get(name)
        if local is None or name in self._busy or self.infer is None:
            return DYNAMIC
        self._busy.add(name)
        try:
            found = self.infer.of(local.expr)
        finally:
            self._busy.discard(name)
        self._locals[name] = found
        return found

    def _resource(self, addr: Any) -> T:
        res = self.config.resources.get(addr) or self._scoped.get(addr)
        if res is None:
            return DYNAMIC
        schema = self.schema_of(res)
        if schema is None:
            return DYNAMIC
        obj = _schema_object(schema)
        if res.count is not None:
            return ["list", obj]
        if res.for_each is not None:
            return ["map", obj]
        return obj


def _schema_object(schema: Schema) -> T:
    members: dict[str, T] = {name: _schema_type(spec) for name, spec in schema.attributes.items()}
    for name, block in schema.blocks.items():
        members[name] = _block_type(block)
    return ["object", members]


def _block_type(block: BlockType) -> T:
    inner = _schema_object(block.schema)
    return inner if block.nesting == "single" else [block.nesting, inner]


def _fill(t: T) -> T:
    """A declared type with its ``any`` parts (None) made ``dynamic``."""
    if t is None:
        return DYNAMIC
    if isinstance(t, str):
        return t
    inner = t[1]
    if t[0] == "object":
        return ["object", {k: _fill(v) for k, v in inner.items()}]
    if t[0] == "tuple":
        return ["tuple", [_fill(v) for v in inner]]
    return [t[0], _fill(inner)]
