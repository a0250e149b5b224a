"""Compiled expressions: static references and evaluation with Terraform's semantics.

The loader compiles python-hcl2's typed tree into these small nodes once; nothing here re-parses
source text. ``Expr.references()`` is computed on first use and cached on the node, so the engine
can build its graph cheaply. ``Expr.evaluate(scope)`` never raises for user mistakes: it returns
``(UNKNOWN, diagnostics)`` when evaluation fails, and :data:`relight.values.UNKNOWN` flows through
every operation ("known after apply").
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Protocol
from typing import Literal as TLiteral

from relight.addrs import InstanceKey, ResourceAddr
from relight.diagnostics import Diagnostic, Diagnostics, SourcePos, SourceRange
from relight.lang._prim import (
    ConversionError,
    normalize_number,
    to_bool,
    to_number,
    to_string,
    type_name,
)
from relight.lang.funcbase import FuncContext, FunctionError, FunctionSpec
from relight.values import UNKNOWN, Value, is_wholly_known

__all__ = [
    "BinaryOp",
    "Conditional",
    "EvalError",
    "Expr",
    "ForExpr",
    "FunctionCall",
    "GetAttr",
    "Index",
    "Literal",
    "ObjectCons",
    "Pos",
    "RefKind",
    "Reference",
    "Scope",
    "ScopeRef",
    "Splat",
    "Symbol",
    "Template",
    "TupleCons",
    "UnaryOp",
    "default_functions",
]

RefKind = TLiteral["var", "local", "resource", "data", "count", "each", "path", "self", "terraform"]


class PosLike(Protocol):
    """Anything with 1-based start and end positions (lark's ``Meta`` or :class:`Pos`)."""

    line: int
    column: int
    end_line: int
    end_column: int


class Pos:
    """A source position computed by relight itself (templates, synthesized nodes)."""

    __slots__ = ("column", "end_column", "end_line", "line")

    def __init__(self, line: int, column: int, end_line: int, end_column: int) -> None:
        self.line = line
        self.column = column
        self.end_line = end_line
        self.end_column = end_column


def make_range(filename: str, pos: PosLike) -> SourceRange:
    line = getattr(pos, "line", 1)
    col = getattr(pos, "column", 1)
    end_line = getattr(pos, "end_line", line)
    end_col = getattr(pos, "end_column", col)
    return SourceRange(filename, SourcePos(line, col), SourcePos(end_line, end_col))


@dataclass(frozen=True, slots=True)
class Reference:
    """A static reference found in an expression, e.g. ``var.region`` or ``aws_instance.web[0]``.

    ``name`` is the variable/local/attribute name (``"index"`` for ``count.index``) or, for
    resources and data sources, ``"type.name"``; ``resource`` then holds the address. ``key`` is a
    literal instance key written right after a resource (``[0]``, ``.0``, ``["a"]``), and
    ``remaining`` the literal attribute/index steps that follow.
    """

    kind: RefKind
    name: str
    range: SourceRange
    resource: ResourceAddr | None = None
    key: InstanceKey = None
    remaining: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        if self.resource is not None:
            return str(self.resource)
        return f"{self.kind}.{self.name}" if self.name else self.kind


def _no_resources(addr: ResourceAddr) -> Value:
    raise KeyError(addr)


@dataclass(frozen=True, slots=True)
class Scope:
    """What an expression may see. ``Scope()`` is enough for constant expressions.

    ``resource(addr)`` returns the resource's value (an object, a list for ``count``, a map for
    ``for_each``, or UNKNOWN) and raises ``KeyError`` for an undeclared resource. ``functions``
    None means the built-in registry. ``symbols`` holds names bound by ``for`` expressions,
    ``dynamic`` blocks and templates; callers normally leave it empty.
    """

    variables: Mapping[str, Value] = field(default_factory=dict)
    locals: Mapping[str, Value] = field(default_factory=dict)
    resource: Callable[[ResourceAddr], Value] = _no_resources
    count_index: int | None = None
    each_key: Value = None
    each_value: Value = None
    has_each: bool = False
    self_value: Value = None
    path_module: str = "."
    path_root: str = "."
    path_cwd: str = field(default_factory=os.getcwd)
    terraform_workspace: str = "default"
    func_ctx: FuncContext | None = None
    functions: Mapping[str, FunctionSpec] | None = None
    symbols: Mapping[str, Value] = field(default_factory=dict)

    def bind(self, names: Mapping[str, Value]) -> Scope:
        """A child scope with extra symbols (iteration variables)."""
        return dataclasses.replace(self, symbols={**self.symbols, **names})

    def function_table(self) -> Mapping[str, FunctionSpec]:
        return self.functions if self.functions is not None else default_functions()

    def function_context(self) -> FuncContext:
        if self.func_ctx is not None:
            return self.func_ctx
        from relight.lang.template import render_template  # the renderer needs the compiler

        return FuncContext(base_dir=self.path_module, render_template=render_template)


# --- the function registry -------------------------------------------------------------------

_functions_cache: dict[str, Mapping[str, FunctionSpec]] = {}


def default_functions() -> Mapping[str, FunctionSpec]:
    """The built-in function registry, imported lazily (``relight.lang.functions.FUNCTIONS``).

    Until that module exists a tiny local set is used so the evaluator stays usable.
    """
    cached = _functions_cache.get("table")
    if cached is not None:
        return cached
    try:
        module = importlib.import_module("relight.lang.functions")
    except ImportError:
        return _fallback_functions()
    table: Mapping[str, FunctionSpec] = module.FUNCTIONS
    _functions_cache["table"] = table
    return table


def _fallback_functions() -> Mapping[str, FunctionSpec]:
    def length(_ctx: FuncContext, v: Value) -> Value:
        if isinstance(v, list | dict | str):
            return len(v)
        raise FunctionError("argument must be a string, a collection or a structural type")

    def join(_ctx: FuncContext, sep: str, *lists: list[Value]) -> Value:
        return sep.join(str(to_string(x)) for lst in lists for x in lst)

    def num(f: Callable[..., Any]) -> Callable[..., Value]:
        return lambda _ctx, *xs: normalize_number(f(to_number(x) for x in xs))

    return {
        "upper": FunctionSpec("upper", lambda _c, s: str(to_string(s)).upper(), 1, 1),
        "lower": FunctionSpec("lower", lambda _c, s: str(to_string(s)).lower(), 1, 1),
        "length": FunctionSpec("length", length, 1, 1),
        "join": FunctionSpec("join", join, 2, None),
        "max": FunctionSpec("max", num(max), 1, None),
        "min": FunctionSpec("min", num(min), 1, None),
        "tostring": FunctionSpec("tostring", lambda _c, v: to_string(v), 1, 1),
        "tonumber": FunctionSpec("tonumber", lambda _c, v: to_number(v), 1, 1),
        "concat": FunctionSpec("concat", lambda _c, *ls: [x for lst in ls for x in lst], 1, None),
        "keys": FunctionSpec("keys", lambda _c, m: sorted(m), 1, 1),
    }


# --- evaluation failures ---------------------------------------------------------------------


class EvalError(Exception):
    """Internal: evaluation stopped on a user mistake; carries the diagnostics."""

    def __init__(self, diags: Sequence[Diagnostic]) -> None:
        super().__init__(diags[0].summary if diags else "evaluation failed")
        self.diags = list(diags)


def fail(rng: SourceRange, summary: str, detail: str = "") -> EvalError:
    return EvalError([Diagnostic.error(summary, detail, rng)])


# --- the node base ---------------------------------------------------------------------------


class Expr:
    """An expression. ``range`` says where it is written; instances are immutable."""

    __slots__ = ("_file", "_pos", "_refs")

    def __init__(self, file: str, pos: PosLike) -> None:
        self._file = file
        self._pos = pos
        self._refs: tuple[Reference, ...] | None = None

    @property
    def range(self) -> SourceRange:
        return make_range(self._file, self._pos)

    def children(self) -> tuple[Expr, ...]:
        """Direct sub-expressions (used for static walks)."""
        return ()

    def walk(self) -> Iterator[Expr]:
        """This node and every node below it, depth first."""
        stack: list[Expr] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children()))

    def references(self) -> tuple[Reference, ...]:
        """Every reference in this expression, without evaluating anything (cached)."""
        refs = self._refs
        if refs is None:
            refs = self._compute_refs()
            self._refs = refs
        return refs

    def _compute_refs(self) -> tuple[Reference, ...]:
        kids = self.children()
        if not kids:
            return ()
        if len(kids) == 1:
            return kids[0].references()
        out: list[Reference] = []
        for kid in kids:
            out.extend(kid.references())
        return tuple(out)

    def evaluate(self, scope: Scope | None = None) -> tuple[Value, Diagnostics]:
        """Evaluate; on a user mistake the value is UNKNOWN and the diagnostics say why."""
        try:
            return self.ev(scope if scope is not None else Scope()), Diagnostics()
        except EvalError as err:
            return UNKNOWN, Diagnostics(err.diags)

    def ev(self, scope: Scope) -> Value:
        """Evaluate or raise :class:`EvalError` (for use by other nodes)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        pos = self._pos
        return f"<{type(self).__name__} {self._file}:{pos.line}:{pos.column}>"


class Literal(Expr):
    __slots__ = ("value",)

    def __init__(self, file: str, pos: PosLike, value: Value) -> None:
        super().__init__(file, pos)
        self.value = value
        self._refs = ()

    def ev(self, scope: Scope) -> Value:
        return self.value


class TupleCons(Expr):
    __slots__ = ("items",)

    def __init__(self, file: str, pos: PosLike, items: tuple[Expr, ...]) -> None:
        super().__init__(file, pos)
        self.items = items

    def children(self) -> tuple[Expr, ...]:
        return self.items

    def ev(self, scope: Scope) -> Value:
        return [item.ev(scope) for item in self.items]


class ObjectCons(Expr):
    """``{k = v, ...}``; keys are expressions (a bare name compiles to a string literal)."""

    __slots__ = ("items",)

    def __init__(self, file: str, pos: PosLike, items: tuple[tuple[Expr, Expr], ...]) -> None:
        super().__init__(file, pos)
        self.items = items

    def children(self) -> tuple[Expr, ...]:
        return tuple(e for pair in self.items for e in pair)

    def ev(self, scope: Scope) -> Value:
        out: dict[str, Value] = {}
        unknown = False
        for key_expr, val_expr in self.items:
            key = key_expr.ev(scope)
            value = val_expr.ev(scope)
            if key is UNKNOWN:
                unknown = True
                continue
            out[object_key(key, key_expr.range)] = value
        return UNKNOWN if unknown else out


def object_key(key: Value, rng: SourceRange) -> str:
    if key is None:
        raise fail(rng, "Null value as key", "Can't use a null value as a key.")
    try:
        text = to_string(key)
    except ConversionError:
        raise fail(rng, "Incorrect key type", "Can't use this value as a key: string required.") from None
    assert isinstance(text, str)
    return text


# --- templates -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateIf:
    cond: Expr
    then: tuple[TemplatePart, ...]
    otherwise: tuple[TemplatePart, ...]


@dataclass(frozen=True, slots=True)
class TemplateFor:
    key_var: str | None
    value_var: str
    collection: Expr
    body: tuple[TemplatePart, ...]


TemplatePart = str | Expr | TemplateIf | TemplateFor


def _part_exprs(parts: tuple[TemplatePart, ...]) -> Iterator[Expr]:
    for part in parts:
        if isinstance(part, Expr):
            yield part
        elif isinstance(part, TemplateIf):
            yield part.cond
            yield from _part_exprs(part.then)
            yield from _part_exprs(part.otherwise)
        elif isinstance(part, TemplateFor):
            yield part.collection
            yield from _part_exprs(part.body)


class Template(Expr):
    """A string template. A template that is one lone interpolation (``"${x}"``) yields x as is."""

    __slots__ = ("parts", "unwrap")

    def __init__(self, file: str, pos: PosLike, parts: tuple[TemplatePart, ...]) -> None:
        super().__init__(file, pos)
        self.parts = parts
        self.unwrap = len(parts) == 1 and isinstance(parts[0], Expr)

    def children(self) -> tuple[Expr, ...]:
        return tuple(_part_exprs(self.parts))

    def ev(self, scope: Scope) -> Value:
        if self.unwrap:
            part = self.parts[0]
            assert isinstance(part, Expr)
            return part.ev(scope)
        out: list[str] = []
        known = _render(self.parts, scope, out)
        return "".join(out) if known else UNKNOWN


def _render(parts: tuple[TemplatePart, ...], scope: Scope, out: list[str]) -> bool:
    known = True
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Expr):
            value = part.ev(scope)
            if value is UNKNOWN:
                known = False
            else:
                out.append(_interpolated(value, part.range))
        elif isinstance(part, TemplateIf):
            cond = _condition(part.cond.ev(scope), part.cond.range)
            if cond is UNKNOWN:
                known = False
                continue
            known = _render(part.then if cond else part.otherwise, scope, out) and known
        else:
            known = _render_for(part, scope, out) and known
    return known


def _render_for(part: TemplateFor, scope: Scope, out: list[str]) -> bool:
    coll = part.collection.ev(scope)
    if coll is UNKNOWN:
        return False
    known = True
    for key, value in iterate(coll, part.collection.range):
        names = {part.value_var: value}
        if part.key_var is not None:
            names[part.key_var] = key
        known = _render(part.body, scope.bind(names), out) and known
    return known


def _interpolated(value: Value, rng: SourceRange) -> str:
    if value is None:
        raise fail(
            rng,
            "Invalid template interpolation value",
            "The expression result is null. Cannot include a null value in a string template.",
        )
    if isinstance(value, list | dict):
        raise fail(
            rng,
            "Invalid template interpolation value",
            "Cannot include the given value in a string template: string required.",
        )
    text = to_string(value)
    assert isinstance(text, str)
    return text


# --- references and traversals ---------------------------------------------------------------


class ScopeRef(Expr):
    """The subject of a reference (``var.x``, ``aws_instance.web``, ``count.index``, ...)."""

    __slots__ = ("ref",)

    def __init__(self, file: str, pos: PosLike, ref: Reference) -> None:
        super().__init__(file, pos)
        self.ref = ref
        self._refs = (ref,)

    def ev(self, scope: Scope) -> Value:
        ref = self.ref
        kind = ref.kind
        if kind == "var":
            if ref.name in scope.variables:
                return scope.variables[ref.name]
            raise fail(
                ref.range,
                "Reference to undeclared input variable",
                f'An input variable with the name "{ref.name}" has not been declared.',
            )
        if kind == "local":
            if ref.name in scope.locals:
                return scope.locals[ref.name]
            raise fail(
                ref.range,
                "Reference to undeclared local value",
                f'A local value with the name "{ref.name}" has not been declared.',
            )
        if kind in ("resource", "data"):
            assert ref.resource is not None
            try:
                return scope.resource(ref.resource)
            except KeyError:
                raise fail(ref.range, "Reference to undeclared resource", undeclared_resource(ref.resource)) from None
        return self._special(scope)

    def _special(self, scope: Scope) -> Value:
        ref = self.ref
        if ref.kind == "count":
            if scope.count_index is None:
                raise fail(ref.range, 'Reference to "count" in non-counted context', COUNT_DETAIL)
            return scope.count_index
        if ref.kind == "each":
            if not scope.has_each:
                raise fail(ref.range, 'Reference to "each" in context without for_each', EACH_DETAIL)
            return scope.each_key if ref.name == "key" else scope.each_value
        if ref.kind == "path":
            paths = {"module": scope.path_module, "root": scope.path_root, "cwd": scope.path_cwd}
            return paths[ref.name]
        if ref.kind == "terraform":
            return scope.terraform_workspace
        if scope.self_value is None:
            raise fail(ref.range, 'Invalid "self" reference', SELF_DETAIL)
        return scope.self_value


COUNT_DETAIL: Final = (
    'The "count" object can only be used in "module", "resource", and "data" blocks, and only '
    'when the "count" argument is set.'
)
EACH_DETAIL: Final = (
    'The "each" object can be used only in "module" or "resource" blocks, and only when the "for_each" argument is set.'
)
SELF_DETAIL: Final = (
    'The "self" object is not available in this context. This object can be used only in '
    "resource provisioner and connection blocks."
)


def undeclared_resource(addr: ResourceAddr) -> str:
    kind = "data resource" if addr.mode == "data" else "managed resource"
    return f'A {kind} "{addr.type}" "{addr.name}" has not been declared in the root module.'


class Symbol(Expr):
    """A name bound by a ``for`` expression, a ``dynamic`` block or a template's variables."""

    __slots__ = ("name",)

    def __init__(self, file: str, pos: PosLike, name: str) -> None:
        super().__init__(file, pos)
        self.name = name
        self._refs = ()

    def ev(self, scope: Scope) -> Value:
        try:
            return scope.symbols[self.name]
        except KeyError:
            raise fail(self.range, "Unknown variable", f'There is no variable named "{self.name}".') from None


class GetAttr(Expr):
    __slots__ = ("name", "obj")

    def __init__(self, file: str, pos: PosLike, obj: Expr, name: str) -> None:
        super().__init__(file, pos)
        self.obj = obj
        self.name = name

    def children(self) -> tuple[Expr, ...]:
        return (self.obj,)

    def ev(self, scope: Scope) -> Value:
        return get_attr(self.obj.ev(scope), self.name, self.range)


class Index(Expr):
    __slots__ = ("key", "obj")

    def __init__(self, file: str, pos: PosLike, obj: Expr, key: Expr) -> None:
        super().__init__(file, pos)
        self.obj = obj
        self.key = key

    def children(self) -> tuple[Expr, ...]:
        return (self.obj, self.key)

    def ev(self, scope: Scope) -> Value:
        return index_value(self.obj.ev(scope), self.key.ev(scope), self.range)


# One step applied to each element by a splat: an attribute name or an index expression.
SplatStep = str | Expr


class Splat(Expr):
    """``src[*].a[0]`` (full) and legacy ``src.*.a`` (attribute-only) splats."""

    __slots__ = ("source", "steps")

    def __init__(self, file: str, pos: PosLike, source: Expr, steps: tuple[SplatStep, ...]) -> None:
        super().__init__(file, pos)
        self.source = source
        self.steps = steps

    def children(self) -> tuple[Expr, ...]:
        return (self.source, *(s for s in self.steps if isinstance(s, Expr)))

    def ev(self, scope: Scope) -> Value:
        src = self.source.ev(scope)
        if src is UNKNOWN:
            return UNKNOWN
        if src is None:
            return []
        items = src if isinstance(src, list) else [src]
        keys = [s.ev(scope) if isinstance(s, Expr) else s for s in self.steps]
        rng = self.range
        out = []
        for item in items:
            value = item
            for step, key in zip(self.steps, keys, strict=True):
                is_attr = isinstance(step, str)
                value = get_attr(value, key, rng) if is_attr else index_value(value, key, rng)
            out.append(value)
        return out


def get_attr(value: Value, name: str, rng: SourceRange) -> Value:
    """``value.name`` with Terraform's errors."""
    if isinstance(value, dict):
        if name in value:
            return value[name]
        raise fail(rng, "Unsupported attribute", f'This object does not have an attribute named "{name}".')
    if value is UNKNOWN:
        return UNKNOWN
    if value is None:
        raise fail(
            rng,
            "Attempt to get attribute from null value",
            "This value is null, so it does not have any attributes.",
        )
    if isinstance(value, list):
        raise fail(
            rng,
            "Unsupported attribute",
            "Can't access attributes on a list of objects. Did you mean to access attribute "
            f'"{name}" for a specific element of the list, or across all elements of the list?',
        )
    raise fail(
        rng,
        "Unsupported attribute",
        f"Can't access attributes on a primitive-typed value ({type_name(value)}).",
    )


def index_value(value: Value, key: Value, rng: SourceRange) -> Value:
    """``value[key]`` with Terraform's errors."""
    if value is UNKNOWN or key is UNKNOWN:
        return UNKNOWN
    if value is None:
        raise fail(
            rng,
            "Attempt to index null value",
            "This value is null, so it does not have any indices.",
        )
    if key is None:
        raise fail(rng, "Invalid index", "Can't use a null value as an indexing key.")
    if isinstance(value, list):
        try:
            num = to_number(key)
        except ConversionError:
            raise fail(rng, "Invalid index", "The given key is not a number.") from None
        if not isinstance(num, int) or not 0 <= num < len(value):
            raise fail(
                rng,
                "Invalid index",
                "The given key does not identify an element in this collection value.",
            )
        return value[num]
    if isinstance(value, dict):
        if isinstance(key, list | dict):
            raise fail(rng, "Invalid index", "The given key is not a string.")
        skey = to_string(key)
        if skey not in value:
            raise fail(
                rng,
                "Invalid index",
                "The given key does not identify an element in this collection value.",
            )
        return value[skey]
    raise fail(rng, "Invalid index", f"This value does not have any indices ({type_name(value)}).")


# --- function calls --------------------------------------------------------------------------


class FunctionCall(Expr):
    __slots__ = ("args", "expand", "name")

    def __init__(self, file: str, pos: PosLike, name: str, args: tuple[Expr, ...], expand: bool) -> None:
        super().__init__(file, pos)
        self.name = name
        self.args = args
        self.expand = expand

    def children(self) -> tuple[Expr, ...]:
        return self.args

    def ev(self, scope: Scope) -> Value:
        if self.name == "try":
            return self._try(scope)
        if self.name == "can":
            return self._can(scope)
        spec = scope.function_table().get(self.name)
        if spec is None:
            raise fail(self.range, "Call to unknown function", unknown_function(self.name))
        args = [a.ev(scope) for a in self.args]
        if self.expand:
            expanded = self._expand(args.pop())
            if expanded is UNKNOWN:
                return UNKNOWN
            args.extend(expanded)
        self._check_arity(spec, len(args))
        if not spec.handles_unknown and not all(is_wholly_known(a) for a in args):
            return UNKNOWN
        try:
            return spec.impl(scope.function_context(), *args)
        except (FunctionError, ConversionError) as err:
            raise fail(
                self.range,
                "Error in function call",
                f'Call to function "{self.name}" failed: {err}.',
            ) from None

    def _expand(self, last: Value) -> Value:
        if last is UNKNOWN or isinstance(last, list):
            return last
        what = "must not be null" if last is None else "must be of a tuple, list, or set type"
        raise fail(
            self.args[-1].range,
            "Invalid expanding argument value",
            f"The expanding argument (indicated by ...) {what}.",
        )

    def _check_arity(self, spec: FunctionSpec, count: int) -> None:
        if count < spec.min_args:
            raise fail(
                self.range,
                "Not enough function arguments",
                f'Function "{self.name}" expects at least {spec.min_args} argument(s), but {count} were given.',
            )
        if spec.max_args is not None and count > spec.max_args:
            raise fail(
                self.range,
                "Too many function arguments",
                f'Function "{self.name}" expects only {spec.max_args} argument(s).',
            )

    def _try(self, scope: Scope) -> Value:
        errors: list[str] = []
        for arg in self.args:
            try:
                value = arg.ev(scope)
            except EvalError as err:
                errors.extend(d.detail or d.summary for d in err.diags)
                continue
            return value if is_wholly_known(value) else UNKNOWN
        raise fail(
            self.range,
            "Error in function call",
            'Call to function "try" failed: no expression succeeded:\n- ' + "\n- ".join(errors or ["no arguments"]),
        )

    def _can(self, scope: Scope) -> Value:
        if len(self.args) != 1:
            raise fail(self.range, "Incorrect number of arguments", 'Function "can" expects one argument.')
        try:
            value = self.args[0].ev(scope)
        except EvalError:
            return False
        return True if is_wholly_known(value) else UNKNOWN


SPECIAL_FUNCTIONS: Final = frozenset({"try", "can"})


def unknown_function(name: str) -> str:
    return f'There is no function named "{name}".'


# --- operators -------------------------------------------------------------------------------


class Conditional(Expr):
    __slots__ = ("cond", "if_false", "if_true")

    def __init__(self, file: str, pos: PosLike, cond: Expr, if_true: Expr, if_false: Expr) -> None:
        super().__init__(file, pos)
        self.cond = cond
        self.if_true = if_true
        self.if_false = if_false

    def children(self) -> tuple[Expr, ...]:
        return (self.cond, self.if_true, self.if_false)

    def ev(self, scope: Scope) -> Value:
        cond = _condition(self.cond.ev(scope), self.cond.range)
        if cond is UNKNOWN:
            return UNKNOWN
        chosen, other = (self.if_true, self.if_false) if cond else (self.if_false, self.if_true)
        value = chosen.ev(scope)
        # Like HCL, both results are unified to one type: a number or bool next to a string
        # becomes a string. Errors in the branch not taken are ignored.
        if isinstance(value, int | float) and _is_string(other, scope):
            return to_string(value)
        return value


def _is_string(expr: Expr, scope: Scope) -> bool:
    try:
        return isinstance(expr.ev(scope), str)
    except EvalError:
        return False


def _condition(value: Value, rng: SourceRange) -> Value:
    if value is None:
        raise fail(
            rng,
            "Null condition",
            "The condition value is null. Conditions must either be true or false.",
        )
    try:
        return to_bool(value)
    except ConversionError:
        raise fail(rng, "Incorrect condition type", "The condition expression must be of type bool.") from None


_ARITH: Final = frozenset({"+", "-", "*", "/", "%"})
_COMPARE: Final = frozenset({"<", ">", "<=", ">="})


class BinaryOp(Expr):
    __slots__ = ("lhs", "op", "rhs")

    def __init__(self, file: str, pos: PosLike, op: str, lhs: Expr, rhs: Expr) -> None:
        super().__init__(file, pos)
        self.op = op
        self.lhs = lhs
        self.rhs = rhs

    def children(self) -> tuple[Expr, ...]:
        return (self.lhs, self.rhs)

    def ev(self, scope: Scope) -> Value:
        op = self.op
        lhs = self.lhs.ev(scope)
        rhs = self.rhs.ev(scope)
        if op == "==":
            return deep_equal(lhs, rhs)
        if op == "!=":
            eq = deep_equal(lhs, rhs)
            return eq if eq is UNKNOWN else not eq
        if op in ("&&", "||"):
            return self._logic(lhs, rhs)
        a = self._number(lhs, "left")
        b = self._number(rhs, "right")
        if a is UNKNOWN or b is UNKNOWN:
            return UNKNOWN
        if op in _COMPARE:
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        return self._arith(op, a, b)

    def _number(self, value: Value, side: str) -> Value:
        expr = self.lhs if side == "left" else self.rhs
        if value is None:
            raise fail(
                expr.range,
                "Invalid operand",
                f"Unsuitable value for {side} operand: a number is required.",
            )
        try:
            return to_number(value)
        except ConversionError as err:
            raise fail(expr.range, "Invalid operand", f"Unsuitable value for {side} operand: {err}.") from None

    def _arith(self, op: str, a: int | float, b: int | float) -> Value:
        if op in ("+", "-", "*"):
            return _exact(op, a, b)
        if b == 0:
            raise fail(self.range, "Operation failed", "Error during operation: can't divide by zero.")
        if op == "/":
            if isinstance(a, int) and isinstance(b, int) and a % b == 0:
                return a // b
            return normalize_number(a / b)
        # Terraform's modulo keeps the sign of the dividend, like Go's.
        rem = abs(a) % abs(b)
        return normalize_number(-rem if a < 0 else rem)

    def _logic(self, lhs: Value, rhs: Value) -> Value:
        a = self._bool(lhs, "left")
        b = self._bool(rhs, "right")
        if self.op == "&&":
            if a is False or b is False:
                return False
            return UNKNOWN if a is UNKNOWN or b is UNKNOWN else True
        if a is True or b is True:
            return True
        return UNKNOWN if a is UNKNOWN or b is UNKNOWN else False

    def _bool(self, value: Value, side: str) -> Value:
        expr = self.lhs if side == "left" else self.rhs
        try:
            result = to_bool(value)
        except ConversionError as err:
            raise fail(expr.range, "Invalid operand", f"Unsuitable value for {side} operand: {err}.") from None
        if result is None:
            raise fail(
                expr.range,
                "Invalid operand",
                f"Unsuitable value for {side} operand: a bool is required.",
            )
        return result


class UnaryOp(Expr):
    __slots__ = ("op", "operand")

    def __init__(self, file: str, pos: PosLike, op: str, operand: Expr) -> None:
        super().__init__(file, pos)
        self.op = op
        self.operand = operand

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def ev(self, scope: Scope) -> Value:
        value = self.operand.ev(scope)
        if value is UNKNOWN:
            return UNKNOWN
        want = "a number" if self.op == "-" else "a bool"
        try:
            result = to_number(value) if self.op == "-" else to_bool(value)
        except ConversionError as err:
            raise fail(self.range, "Invalid operand", f"Unsuitable value for unary operand: {err}.") from None
        if result is None:
            raise fail(
                self.range,
                "Invalid operand",
                f"Unsuitable value for unary operand: {want} is required.",
            )
        return normalize_number(-result) if self.op == "-" else not result


def _exact(op: str, a: int | float, b: int | float) -> Value:
    """Terraform's numbers are decimal, so 0.1 + 0.2 is 0.3: floats are added as decimals."""
    if isinstance(a, int) and isinstance(b, int):
        return a + b if op == "+" else a - b if op == "-" else a * b
    if math.isinf(a) or math.isinf(b) or math.isnan(a) or math.isnan(b):
        return normalize_number(a + b if op == "+" else a - b if op == "-" else a * b)
    x, y = Decimal(repr(a)), Decimal(repr(b))
    return normalize_number(float(x + y if op == "+" else x - y if op == "-" else x * y))


def deep_equal(a: Value, b: Value) -> Value:
    """Terraform's ``==``: same type and same value, UNKNOWN when it cannot tell yet."""
    if a is UNKNOWN or b is UNKNOWN:
        return UNKNOWN
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return _all_equal(list(zip(a, b, strict=False))) if len(a) == len(b) else False
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return False
        return _all_equal([(a[k], b[k]) for k in a])
    if type(a) is not type(b):
        return False
    return bool(a == b)


def _all_equal(pairs: list[tuple[Value, Value]]) -> Value:
    unknown = False
    for x, y in pairs:
        eq = deep_equal(x, y)
        if eq is UNKNOWN:
            unknown = True
        elif not eq:
            return False
    return UNKNOWN if unknown else True


# --- for expressions -------------------------------------------------------------------------


def iterate(coll: Value, rng: SourceRange) -> list[tuple[Value, Value]]:
    """(key, value) pairs of a collection: list index or map key (sorted, like Terraform)."""
    if isinstance(coll, list):
        return list(enumerate(coll))
    if isinstance(coll, dict):
        return [(k, coll[k]) for k in sorted(coll)]
    if coll is None:
        raise fail(
            rng,
            "Iteration over null value",
            "A null value cannot be used as the collection in a 'for' expression.",
        )
    raise fail(
        rng,
        "Iteration over non-iterable value",
        f"A value of type {type_name(coll)} cannot be used as the collection in a 'for' expression.",
    )


class ForExpr(Expr):
    """``[for k, v in coll : v if cond]`` and ``{for k, v in coll : k => v... if cond}``."""

    __slots__ = ("coll", "cond", "group", "key_expr", "key_var", "value_expr", "value_var")

    def __init__(
        self,
        file: str,
        pos: PosLike,
        key_var: str | None,
        value_var: str,
        coll: Expr,
        key_expr: Expr | None,
        value_expr: Expr,
        cond: Expr | None,
        group: bool,
    ) -> None:
        super().__init__(file, pos)
        self.key_var = key_var
        self.value_var = value_var
        self.coll = coll
        self.key_expr = key_expr
        self.value_expr = value_expr
        self.cond = cond
        self.group = group

    def children(self) -> tuple[Expr, ...]:
        kids = [self.coll, self.key_expr, self.value_expr, self.cond]
        return tuple(k for k in kids if k is not None)

    def ev(self, scope: Scope) -> Value:
        coll = self.coll.ev(scope)
        if coll is UNKNOWN:
            return UNKNOWN
        is_object = self.key_expr is not None
        tuple_out: list[Value] = []
        object_out: dict[str, Value] = {}
        for key, value in iterate(coll, self.coll.range):
            names = {self.value_var: value}
            if self.key_var is not None:
                names[self.key_var] = key
            inner = scope.bind(names)
            if self.cond is not None:
                keep = _condition(self.cond.ev(inner), self.cond.range)
                if keep is UNKNOWN:
                    return UNKNOWN
                if not keep:
                    continue
            if not is_object:
                tuple_out.append(self.value_expr.ev(inner))
            elif not self._add(object_out, inner):
                return UNKNOWN
        return object_out if is_object else tuple_out

    def _add(self, out: dict[str, Value], inner: Scope) -> bool:
        assert self.key_expr is not None
        key = self.key_expr.ev(inner)
        if key is UNKNOWN:
            return False
        skey = object_key(key, self.key_expr.range)
        value = self.value_expr.ev(inner)
        if self.group:
            out.setdefault(skey, []).append(value)
        elif skey in out:
            raise fail(
                self.key_expr.range,
                "Duplicate object key",
                f"Two different items produced the key \"{skey}\" in this 'for' expression. If "
                "duplicates are expected, use the ellipsis (...) after the value expression to "
                "enable grouping by key.",
            )
        else:
            out[skey] = value
        return True
