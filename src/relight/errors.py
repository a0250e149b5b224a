"""Exceptions for bugs and I/O, never for user mistakes (those are diagnostics).

The tree::

    RelightError
    ├── StateError               state could not be read or written
    │   ├── StateCorruptError    the stored state is unreadable; it is never overwritten
    │   └── StateLockedError     another run holds the lock (carries the holder's info)
    └── PlanError                a saved plan cannot be applied (stale, wrong lineage, damaged)

Configuration mistakes and refused provider calls are not here: they are diagnostics.

Each leaf that has a natural stdlib cousin also inherits it, so callers can catch either.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PlanError",
    "RelightError",
    "StateCorruptError",
    "StateError",
    "StateLockedError",
]


class RelightError(Exception):
    """Root of relight's exceptions."""


class StateError(RelightError, OSError):
    """State could not be read or written."""


class StateCorruptError(StateError, ValueError):
    """The stored state is unreadable. relight refuses it and never overwrites it."""


class StateLockedError(StateError):
    """Another run holds the state lock. ``info`` is the holder's lock record."""

    def __init__(self, message: str, info: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.info = info or {}


class PlanError(RelightError, ValueError):
    """A saved plan cannot be applied: stale, for another state, or damaged."""
