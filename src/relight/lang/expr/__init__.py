"""Compiled expressions: the node classes, static references and evaluation with Terraform's semantics.

The loader compiles source into these nodes once; nothing here parses text, so this package
sits below the parser (:mod:`relight.lang._hcl`) and the template renderer. Modules:

* :mod:`.context`: positions, :class:`Reference`, :class:`EvalContext` (what an expression sees)
  and :class:`EvalError`;
* :mod:`.nodes`: the :class:`Expr` base, literals, tuple and object constructors;
* :mod:`.templates`: string templates and their directives;
* :mod:`.traversal`: references, attribute access, indexes and splats;
* :mod:`.calls`: function calls, ``try`` and ``can``;
* :mod:`.operators`: conditionals, binary and unary operators;
* :mod:`.forexpr`: ``for`` expressions.
"""

from relight.lang.expr._rules import iterate
from relight.lang.expr.calls import SPECIAL_FUNCTIONS, FunctionCall, unknown_function
from relight.lang.expr.context import EvalContext, EvalError, Pos, PosLike, Reference, RefKind, fail, make_range
from relight.lang.expr.forexpr import ForExpr
from relight.lang.expr.nodes import Expr, Literal, ObjectCons, TupleCons
from relight.lang.expr.operators import BinaryOp, Conditional, UnaryOp, deep_equal
from relight.lang.expr.templates import Template, TemplateFor, TemplateIf, TemplatePart
from relight.lang.expr.traversal import (
    COUNT_DETAIL,
    EACH_DETAIL,
    SELF_DETAIL,
    GetAttr,
    Index,
    Invalid,
    ScopeRef,
    Splat,
    SplatStep,
    Symbol,
    get_attr,
    index_value,
    undeclared_module,
    undeclared_resource,
)

__all__ = [
    "COUNT_DETAIL",
    "EACH_DETAIL",
    "SELF_DETAIL",
    "SPECIAL_FUNCTIONS",
    "BinaryOp",
    "Conditional",
    "EvalContext",
    "EvalError",
    "Expr",
    "ForExpr",
    "FunctionCall",
    "GetAttr",
    "Index",
    "Invalid",
    "Literal",
    "ObjectCons",
    "Pos",
    "PosLike",
    "RefKind",
    "Reference",
    "ScopeRef",
    "Splat",
    "SplatStep",
    "Symbol",
    "Template",
    "TemplateFor",
    "TemplateIf",
    "TemplatePart",
    "TupleCons",
    "UnaryOp",
    "deep_equal",
    "fail",
    "get_attr",
    "index_value",
    "iterate",
    "make_range",
    "undeclared_module",
    "undeclared_resource",
    "unknown_function",
]
