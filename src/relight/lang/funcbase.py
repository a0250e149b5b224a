"""The seam between the expression evaluator and the built-in functions.

A function is a plain callable ``fn(ctx, *args) -> Value``. It raises :class:`FunctionError` with
a message a person can act on; the evaluator turns that into a diagnostic at the call's position.
Unless a function says otherwise, an argument that is not wholly known makes the result
:data:`relight.values.UNKNOWN` (the registry wrapper handles that, see ``FunctionSpec``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["FuncContext", "FunctionError", "FunctionSpec"]


class FunctionError(Exception):
    """A function rejected its arguments; the message is shown to the user."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _no_templates(text: str, variables: Mapping[str, Any], filename: str) -> Any:
    raise FunctionError("templates are not available in this context")


@dataclass(frozen=True)
class FuncContext:
    """What a function may know about where it runs.

    ``base_dir`` resolves relative paths (``path.module``); ``render_template`` renders a template
    string with the given variables (used by ``templatefile``); ``now`` is the clock (``timestamp``).
    """

    base_dir: str = "."
    render_template: Callable[[str, Mapping[str, Any], str], Any] = _no_templates
    now: Callable[[], datetime] = field(default=_utcnow)


@dataclass(frozen=True)
class FunctionSpec:
    """A registered function.

    ``handles_unknown`` False (the default) means the evaluator returns UNKNOWN without calling
    ``impl`` when any argument is not wholly known. ``min_args``/``max_args`` (None = variadic)
    are checked before the call, with a diagnostic naming the function.
    """

    name: str
    impl: Callable[..., Any]
    min_args: int
    max_args: int | None
    handles_unknown: bool = False
