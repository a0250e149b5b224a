"""The evaluation scope callers build: :class:`Scope`, an expression context that renders templates.

:class:`relight.lang.expr.EvalContext` is what expression nodes see; it sits below the parser
and so cannot render ``templatefile`` templates. :class:`Scope` is the same frozen value with
the template renderer (which needs the parser) plugged in; the engine, the loader and tests
build a ``Scope``. The import direction stays one way: expr <- _hcl <- template <- scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from relight.lang.expr import EvalContext
from relight.lang.funcbase import TemplateRenderer
from relight.lang.template import render_template

__all__ = ["Scope"]


@dataclass(frozen=True, slots=True)
class Scope(EvalContext):
    """What an expression may see; ``Scope()`` is enough for constant expressions.

    Fields (all optional): ``variables``, ``locals``, ``resource`` (address -> value, KeyError
    for an undeclared one), ``count_index``, ``each_key``/``each_value``/``has_each``,
    ``self_value``, ``path_module``/``path_root``/``path_cwd``, ``terraform_workspace``,
    ``func_ctx`` (a ready function context, else one is built from the scope), ``functions``
    (None: the built-in registry), ``symbols`` (names bound by ``for``/``dynamic``/templates)
    and ``file_policy`` (which files ``file()`` and friends may read; unconfined by default).
    """

    def template_renderer(self) -> TemplateRenderer:
        return render_template
