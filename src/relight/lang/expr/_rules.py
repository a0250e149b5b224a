"""Value rules several nodes share: object keys, conditions, iteration order, interpolation.

Each raises :class:`EvalError` with Terraform's wording at the given range.
"""

from __future__ import annotations

from relight.diagnostics import SourceRange
from relight.lang._prim import ConversionError, to_bool, to_string, type_name
from relight.lang.expr.context import fail
from relight.values import Value

__all__ = ["condition", "interpolated", "iterate", "object_key"]


def object_key(key: Value, rng: SourceRange) -> str:
    if key is None:
        raise fail(rng, "Null value as key", "Can't use a null value as a key.")
    try:
        text = to_string(key)
    except ConversionError:
        raise fail(rng, "Incorrect key type", "Can't use this value as a key: string required.") from None
    assert isinstance(text, str)
    return text


def condition(value: Value, rng: SourceRange) -> Value:
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


def interpolated(value: Value, rng: SourceRange) -> str:
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
