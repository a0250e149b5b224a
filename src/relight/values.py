"""The value model shared by the language, providers, state and engine.

Values are plain Python: ``str``, ``int``/``float`` (numbers), ``bool``, ``None`` (null), ``list``
(tuples, lists and sets) and ``dict`` (objects and maps). A value that is not known until apply is
the singleton :data:`UNKNOWN`; it may sit anywhere inside a list or dict. Operations on an unknown
yield an unknown, so the planner can propagate "(known after apply)".
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["UNKNOWN", "Unknown", "Value", "is_wholly_known", "strip_unknown"]

Value = Any


class Unknown:
    """The type of :data:`UNKNOWN`: a value that will only be known after apply."""

    _instance: Unknown | None = None
    __slots__ = ()

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(known after apply)"

    def __bool__(self) -> bool:
        raise TypeError("an unknown value has no truth value yet")

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = Unknown()


def is_wholly_known(value: Value) -> bool:
    """True when ``value`` contains no :data:`UNKNOWN` at any depth."""
    if value is UNKNOWN:
        return False
    if isinstance(value, dict):
        return all(is_wholly_known(v) for v in value.values())
    if isinstance(value, list):
        return all(is_wholly_known(v) for v in value)
    return True


def strip_unknown(value: Value) -> Value:
    """Replace every unknown with None (for places that can only hold known data)."""
    if value is UNKNOWN:
        return None
    if isinstance(value, dict):
        return {k: strip_unknown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_unknown(v) for v in value]
    return value
