"""References and traversals: ``var.x``, resources, ``count``/``each``/``path``, attributes, indexes, splats.

The compiler classifies each root name statically (:class:`ScopeRef` for a reference,
:class:`Symbol` for a name bound by ``for``, ``dynamic`` or a template), so evaluation never
re-derives what a name means.
"""

from __future__ import annotations

from typing import Final

from relight.addrs import ResourceAddr
from relight.diagnostics import SourceRange
from relight.lang._prim import ConversionError, to_number, to_string, type_name
from relight.lang.expr.context import EvalContext, PosLike, Reference, fail
from relight.lang.expr.nodes import Expr
from relight.values import UNKNOWN, TypedList, Value

__all__ = [
    "COUNT_DETAIL",
    "EACH_DETAIL",
    "SELF_DETAIL",
    "GetAttr",
    "Index",
    "Invalid",
    "ScopeRef",
    "Splat",
    "SplatStep",
    "Symbol",
    "get_attr",
    "index_value",
    "undeclared_module",
    "undeclared_resource",
]


# --- references and traversals ---------------------------------------------------------------


class ScopeRef(Expr):
    """The subject of a reference (``var.x``, ``aws_instance.web``, ``count.index``, ...)."""

    __slots__ = ("ref",)

    def __init__(self, file: str, pos: PosLike, ref: Reference) -> None:
        super().__init__(file, pos)
        self.ref = ref
        self._refs = (ref,)

    def ev(self, scope: EvalContext) -> Value:
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
        if kind == "module":
            try:
                return scope.module_call(ref.name)
            except KeyError:
                raise fail(ref.range, "Reference to undeclared module", undeclared_module(ref.name)) from None
        return self._special(scope)

    def _special(self, scope: EvalContext) -> Value:
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


def undeclared_resource(addr: ResourceAddr, where: str = "the root module") -> str:
    kind = "data resource" if addr.mode == "data" else "managed resource"
    return f'A {kind} "{addr.type}" "{addr.name}" has not been declared in {where}.'


def undeclared_module(name: str, where: str = "the root module") -> str:
    return f'No module call named "{name}" is declared in {where}.'


class Invalid(Expr):
    """A reference the compiler found meaningless (``var`` alone, ``count.foo``): evaluating it,
    or checking it with :func:`relight.lang.validate_references`, reports the problem."""

    __slots__ = ("detail", "summary")

    def __init__(self, file: str, pos: PosLike, summary: str, detail: str) -> None:
        super().__init__(file, pos)
        self.summary = summary
        self.detail = detail
        self._refs = ()

    def ev(self, scope: EvalContext) -> Value:
        raise fail(self.range, self.summary, self.detail)


class Symbol(Expr):
    """A name bound by a ``for`` expression, a ``dynamic`` block or a template's variables."""

    __slots__ = ("name",)

    def __init__(self, file: str, pos: PosLike, name: str) -> None:
        super().__init__(file, pos)
        self.name = name
        self._refs = ()

    def ev(self, scope: EvalContext) -> Value:
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

    def ev(self, scope: EvalContext) -> Value:
        return get_attr(self.obj.ev(scope), self.name, self.range)


class Index(Expr):
    __slots__ = ("key", "obj")

    def __init__(self, file: str, pos: PosLike, obj: Expr, key: Expr) -> None:
        super().__init__(file, pos)
        self.obj = obj
        self.key = key

    def children(self) -> tuple[Expr, ...]:
        return (self.obj, self.key)

    def ev(self, scope: EvalContext) -> Value:
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

    def ev(self, scope: EvalContext) -> Value:
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
        if isinstance(src, TypedList) and src.type is not None and src.type[0] in ("list", "set"):
            return TypedList(out, ["list", None])  # a splat over a list or set is a list
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
