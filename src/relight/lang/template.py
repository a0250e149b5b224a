"""``templatefile`` rendering: a template file's text evaluated with the given variables.

:func:`render_template` is a :class:`relight.lang.funcbase.TemplateRenderer`: it compiles the
text (cached by text and name), evaluates it with the variables as its only names, and runs
the template's own function calls in the calling function's context (same base directory and
file policy), except that a template may not call ``templatefile`` again, as in Terraform.
Mistakes raise :class:`FunctionError`, so the calling function's diagnostic names them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from relight.diagnostics import Diagnostics
from relight.lang._hcl import compile_template
from relight.lang.expr import EvalContext, Expr
from relight.lang.funcbase import FuncContext, FunctionError
from relight.values import Value

__all__ = ["render_template"]


@lru_cache(maxsize=256)
def _compiled(text: str, filename: str) -> tuple[Expr | None, Diagnostics]:
    diags = Diagnostics()
    expr = compile_template(text, filename, diags)
    return expr, diags


def _recursive(text: str, variables: Mapping[str, Any], filename: str, ctx: FuncContext) -> Any:
    raise FunctionError("cannot recursively call templatefile from inside another templatefile call")


def render_template(
    text: str, variables: Mapping[str, Value], filename: str, ctx: FuncContext | None = None
) -> Value:
    """Render ``text`` with ``variables`` as its only names; raises FunctionError on mistakes."""
    expr, diags = _compiled(text, filename)
    if expr is None or diags.has_errors:
        raise FunctionError(_describe(diags))
    inner = dataclasses.replace(ctx if ctx is not None else FuncContext(), render_template=_recursive)
    value, eval_diags = expr.evaluate(EvalContext(symbols=dict(variables), func_ctx=inner))
    if eval_diags.has_errors:
        raise FunctionError(_describe(eval_diags))
    return value


def _describe(diags: Diagnostics) -> str:
    parts = []
    for d in diags.errors:
        where = f"{d.subject}: " if d.subject is not None else ""
        parts.append(f"{where}{d.summary}; {d.detail}".rstrip("; "))
    return "; ".join(parts) or "invalid template"
