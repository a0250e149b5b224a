"""How many instances a resource or a module call has: ``count`` and ``for_each`` evaluated.

:func:`expand` is shared by resources and module calls. The value must be known when planning,
as Terraform requires: a ``count`` or ``for_each`` that depends on what only apply can tell is
an error naming the way out (``-target`` what it depends on first). Every mistake comes back as
a diagnostic at the argument; the expansion returned then has no keys.
"""

from __future__ import annotations

from relight.diagnostics import Diagnostics, SourceRange
from relight.engine.evaluate import Expansion
from relight.lang import Expr, Scope
from relight.values import UNKNOWN, Value, is_wholly_known

__all__ = ["expand"]


def expand(count: Expr | None, for_each: Expr | None, scope: Scope, what: str) -> tuple[Expansion, Diagnostics]:
    """The expansion ``count``/``for_each`` ask for, evaluated in ``scope``; ``what`` names the
    instances in messages ("resources", "module instances")."""
    if count is not None:
        return _count(count, scope, what)
    if for_each is not None:
        return _for_each(for_each, scope, what)
    return Expansion("single", (None,)), Diagnostics()


def _count(expr: Expr, scope: Scope, what: str) -> tuple[Expansion, Diagnostics]:
    value, diags = expr.evaluate(scope)
    if diags.has_errors:
        return Expansion("count", (), known=True), diags
    if value is UNKNOWN:
        _unknown(diags, "count", expr.range, what)
        return Expansion("count", (), known=False), diags
    number = _as_count(value)
    if number is None:
        diags.error("Invalid count argument", f'The "count" value must be a whole number, not {value!r}.', expr.range)
        return Expansion("count", ()), diags
    return Expansion("count", tuple(range(number))), diags


def _for_each(expr: Expr, scope: Scope, what: str) -> tuple[Expansion, Diagnostics]:
    value, diags = expr.evaluate(scope)
    if diags.has_errors:
        return Expansion("for_each", (), {}), diags
    if not is_wholly_known(value) and not (isinstance(value, dict) and all(isinstance(k, str) for k in value)):
        _unknown(diags, "for_each", expr.range, what)
        return Expansion("for_each", (), {}, known=False), diags
    each = _as_for_each(value)
    if each is None:
        diags.error(
            "Invalid for_each argument",
            "The given for_each argument must be a map, or a set of strings, and you "
            f"have provided a value of type {type(value).__name__}.",
            expr.range,
        )
        return Expansion("for_each", (), {}), diags
    return Expansion("for_each", tuple(sorted(each)), each), diags


def _unknown(diags: Diagnostics, arg: str, rng: SourceRange, what: str) -> None:
    diags.error(
        f"Invalid {arg} argument",
        f'The "{arg}" value depends on resource attributes that cannot be determined until '
        f"apply, so relight cannot predict how many {what} will be created. To work "
        "around this, use -target to first apply only the resources that it depends on.",
        rng,
    )


def _as_count(value: Value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            return None
    if isinstance(value, int) and value >= 0:
        return value
    return None


def _as_for_each(value: Value) -> dict[str, Value] | None:
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return {v: v for v in value}
    return None
