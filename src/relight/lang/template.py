"""``templatefile`` rendering: a template file's text evaluated with the given variables.

The renderer plugs into :class:`relight.lang.funcbase.FuncContext` (``render_template``); it
raises :class:`FunctionError` so the calling function's diagnostic names the problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from relight.diagnostics import Diagnostics
from relight.lang._hcl import compile_template
from relight.lang.expr import Expr, Scope
from relight.lang.funcbase import FunctionError
from relight.values import Value

__all__ = ["render_template"]


@lru_cache(maxsize=256)
def _compiled(text: str, filename: str) -> tuple[Expr | None, Diagnostics]:
    diags = Diagnostics()
    expr = compile_template(text, filename, diags)
    return expr, diags


def render_template(text: str, variables: Mapping[str, Value], filename: str) -> Value:
    """Render ``text`` with ``variables`` as its only names; raises FunctionError on mistakes."""
    expr, diags = _compiled(text, filename)
    if expr is None or diags.has_errors:
        raise FunctionError(_describe(diags))
    scope = Scope(symbols=dict(variables))
    value, eval_diags = expr.evaluate(scope)
    if eval_diags.has_errors:
        raise FunctionError(_describe(eval_diags))
    return value


def _describe(diags: Diagnostics) -> str:
    parts = []
    for d in diags.errors:
        where = f"{d.subject}: " if d.subject is not None else ""
        parts.append(f"{where}{d.summary}; {d.detail}".rstrip("; "))
    return "; ".join(parts) or "invalid template"
