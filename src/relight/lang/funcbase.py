"""The seam between the expression evaluator and the built-in functions.

A function is a plain callable ``fn(ctx, *args) -> Value``. It raises :class:`FunctionError` with
a message a person can act on; the evaluator turns that into a diagnostic at the call's position.
Unless a function says otherwise, an argument that is not wholly known makes the result
:data:`relight.values.UNKNOWN` (the registry wrapper handles that, see ``FunctionSpec``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from relight.lang.filepolicy import FilePolicy

__all__ = ["FuncContext", "FunctionError", "FunctionSpec", "TemplateRenderer", "no_templates"]


class FunctionError(Exception):
    """A function rejected its arguments; the message is shown to the user."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TemplateRenderer(Protocol):
    """Renders a template's text with ``variables`` as its only names (``templatefile``).

    ``ctx`` is the calling function's context: the template's own function calls read files
    under the same policy. Raises :class:`FunctionError` for mistakes in the template.
    """

    def __call__(self, text: str, variables: Mapping[str, Any], filename: str, ctx: FuncContext) -> Any: ...


def no_templates(text: str, variables: Mapping[str, Any], filename: str, ctx: FuncContext) -> Any:
    raise FunctionError("templates are not available in this context")


@dataclass(frozen=True)
class FuncContext:
    """What a function may know about where it runs.

    ``base_dir`` resolves relative file paths (the root module's directory, as Terraform's
    working directory); ``cwd`` is what ``abspath`` resolves against; ``files`` is the file
    access policy every file read goes through; ``render_template`` renders ``templatefile``
    templates; ``now`` is the clock (``timestamp``).
    """

    base_dir: str = "."
    render_template: TemplateRenderer = no_templates
    now: Callable[[], datetime] = field(default=_utcnow)
    files: FilePolicy = field(default_factory=FilePolicy.unconfined)
    cwd: str | None = None


@dataclass(frozen=True)
class FunctionSpec:
    """A registered function.

    ``handles_unknown`` False (the default) means the evaluator returns UNKNOWN without calling
    ``impl`` when any argument is not wholly known. ``min_args``/``max_args`` (None = variadic)
    are checked before the call, with a diagnostic naming the function. ``result`` types the
    result as Terraform does (``list(string)`` for ``split``...); None leaves it as it is.
    """

    name: str
    impl: Callable[..., Any]
    min_args: int
    max_args: int | None
    handles_unknown: bool = False
    result: Callable[[Sequence[Any], Any], Any] | None = None

    def call(self, ctx: FuncContext, args: Sequence[Any]) -> Any:
        """Run the function (arity and unknowns already checked) and type its result."""
        out = self.impl(ctx, *args)
        return self.result(args, out) if self.result is not None else out
