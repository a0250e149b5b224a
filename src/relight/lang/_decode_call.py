"""Decoding a ``module "name" { source = ... }`` block into a :class:`~relight.lang.model.ModuleCall`.

The call's own meta-arguments (``source``, ``version``, ``count``, ``for_each``, ``providers``,
``depends_on``) are decoded here; every other argument is an input for the child module's
variables and is checked against them once the child is loaded (:mod:`relight.lang.modules`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from relight.diagnostics import Diagnostics
from relight.lang.body import Attribute, Block
from relight.lang.expr import Expr, GetAttr, Literal, ObjectCons, Reference, Symbol
from relight.lang.model import ModuleCall

__all__ = ["decode_module_call"]

_MODULE_META: Final = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})


def decode_module_call(
    block: Block,
    diags: Diagnostics,
    text: Callable[[Attribute | None], str],
    depends_on: Callable[[Attribute | None], tuple[Reference, ...]],
) -> ModuleCall | None:
    """The call ``block`` declares, or None (with an error) when it has no label or no source.

    ``text`` reads a literal string argument and ``depends_on`` a list of references, with the
    loader's own checks and diagnostics.
    """
    if len(block.labels) != 1:
        diags.error("Invalid module block", "A module block must have 1 label(s): the module name.", block.range)
        return None
    attrs = block.body.attributes
    if "source" not in attrs:
        diags.error(
            "Missing required argument",
            'The argument "source" is required, but no definition was found.',
            block.range,
        )
        return None
    count = attrs["count"].expr if "count" in attrs else None
    for_each = attrs["for_each"].expr if "for_each" in attrs else None
    if count is not None and for_each is not None:
        diags.error(
            'Invalid combination of "count" and "for_each"',
            'The "count" and "for_each" meta-arguments are mutually-exclusive, only one should be used to be '
            "explicit about the number of module instances to be created.",
            attrs["for_each"].range,
        )
    return ModuleCall(
        name=block.labels[0],
        source=text(attrs["source"]),
        version=text(attrs["version"]) if "version" in attrs else None,
        count=count,
        for_each=for_each,
        providers=_provider_map(attrs.get("providers"), diags),
        depends_on=depends_on(attrs.get("depends_on")),
        inputs=block.body.without(_MODULE_META, frozenset()),
        range=block.range,
    )


def _provider_map(attr: Attribute | None, diags: Diagnostics) -> dict[str, str]:
    if attr is None:
        return {}
    if not isinstance(attr.expr, ObjectCons):
        diags.error("Invalid providers argument", "providers must be a map of provider configurations.", attr.range)
        return {}
    out: dict[str, str] = {}
    for key, value in attr.expr.items:
        child, parent = _provider_name(key), _provider_name(value)
        if child is None or parent is None:
            diags.error(
                "Invalid provider configuration reference",
                "Each providers entry maps a provider name (optionally with an alias) to one, like aws = aws.west.",
                key.range,
            )
            continue
        out[child] = parent
    return out


def _provider_name(expr: Expr) -> str | None:
    if isinstance(expr, Literal) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, Symbol):
        return expr.name
    if isinstance(expr, GetAttr) and isinstance(expr.obj, Symbol):
        return f"{expr.obj.name}.{expr.name}"
    return None
