"""What an expression sees and how its evaluation fails: positions, references, the context.

:class:`EvalContext` is the evaluation context of the expression nodes (variables, locals,
resources, ``count``/``each``/``self``, paths, functions, bound symbols, the file policy).
:class:`EvalError` carries a user mistake up to :meth:`Expr.evaluate`, which returns it as
diagnostics; nothing else is raised for bad input.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal as TLiteral
from typing import Protocol, Self

from relight.addrs import InstanceKey, ResourceAddr
from relight.diagnostics import Diagnostic, SourcePos, SourceRange
from relight.lang.filepolicy import FilePolicy
from relight.lang.funcbase import FuncContext, FunctionSpec, TemplateRenderer, no_templates
from relight.lang.functions import FUNCTIONS
from relight.values import Value

__all__ = [
    "EvalContext",
    "EvalError",
    "Pos",
    "PosLike",
    "RefKind",
    "Reference",
    "fail",
    "make_range",
]

RefKind = TLiteral["var", "local", "resource", "data", "module", "count", "each", "path", "self", "terraform"]


class PosLike(Protocol):
    """Anything with 1-based start and end positions (:class:`Pos`, or a compiler's own position object)."""

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

    ``name`` is the variable/local/attribute name (``"index"`` for ``count.index``), the call
    name for ``module.NAME`` or, for resources and data sources, ``"type.name"``; ``resource``
    then holds the address. ``key`` is a literal instance key written right after a resource
    (``[0]``, ``.0``, ``["a"]``), and ``remaining`` the literal attribute/index steps that follow.
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


def _no_modules(name: str) -> Value:
    raise KeyError(name)


@dataclass(frozen=True, slots=True)
class EvalContext:
    """What an expression may see while it is evaluated; ``EvalContext()`` suits constants.

    ``resource(addr)`` returns the resource's value (an object, a list for ``count``, a map for
    ``for_each``, or UNKNOWN) and raises ``KeyError`` for an undeclared resource;
    ``module_call(name)`` likewise gives ``module.NAME`` (an object of the child's outputs, a
    list of them for ``count``, a map for ``for_each``) and raises ``KeyError`` for an
    undeclared call. ``functions``
    None means the built-in registry. ``symbols`` holds names bound by ``for`` expressions,
    ``dynamic`` blocks and templates; callers normally leave it empty. ``file_policy`` says which
    files the file functions may read (unconfined unless the caller confines it).

    This context cannot render ``templatefile`` templates: that needs the parser, which sits
    above the expression nodes. :class:`relight.lang.scope.Scope` is this context plus the
    template renderer, and is what callers outside the parser use.
    """

    variables: Mapping[str, Value] = field(default_factory=dict)
    locals: Mapping[str, Value] = field(default_factory=dict)
    resource: Callable[[ResourceAddr], Value] = _no_resources
    module_call: Callable[[str], Value] = _no_modules
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
    file_policy: FilePolicy = field(default_factory=FilePolicy.unconfined)

    def bind(self, names: Mapping[str, Value]) -> Self:
        """A child context with extra symbols (iteration variables)."""
        return dataclasses.replace(self, symbols={**self.symbols, **names})

    def function_table(self) -> Mapping[str, FunctionSpec]:
        return self.functions if self.functions is not None else FUNCTIONS

    def function_context(self) -> FuncContext:
        """The context functions run in: ``func_ctx`` when given, else one built from this scope."""
        if self.func_ctx is not None:
            return self.func_ctx
        return FuncContext(
            base_dir=self.path_root,
            cwd=self.path_cwd,
            files=self.file_policy,
            render_template=self.template_renderer(),
        )

    def template_renderer(self) -> TemplateRenderer:
        """How ``templatefile`` renders; none at this level (see :class:`relight.lang.scope.Scope`)."""
        return no_templates


# --- evaluation failures ---------------------------------------------------------------------


class EvalError(Exception):
    """Internal: evaluation stopped on a user mistake; carries the diagnostics."""

    def __init__(self, diags: Sequence[Diagnostic]) -> None:
        super().__init__(diags[0].summary if diags else "evaluation failed")
        self.diags = list(diags)


def fail(rng: SourceRange, summary: str, detail: str = "") -> EvalError:
    return EvalError([Diagnostic.error(summary, detail, rng)])
