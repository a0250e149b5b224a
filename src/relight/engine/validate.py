"""Offline checks against provider schemas: resource types, argument names, required arguments
and referenced attributes. Needs no credentials and makes no calls (``relight validate``).

Providers are created but not configured; only their schemas are read.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from relight.diagnostics import Diagnostics
from relight.engine.requirements import BUILTIN_SOURCES
from relight.lang import Config, Resource
from relight.lang.expr import Reference
from relight.providers.base import ProviderContext, ProviderSchema, Schema
from relight.providers.registry import ProviderRegistry, UnknownProviderError

__all__ = ["validate_schemas"]


def validate_schemas(config: Config, registry: ProviderRegistry) -> Diagnostics:
    """Every problem found, as diagnostics with source ranges; empty when all is well. Child
    modules are checked too, each against its own resources."""
    diags = Diagnostics()
    schemas: dict[str, ProviderSchema | None] = {}
    _validate_module(config, registry, schemas, diags)
    return diags


def _validate_module(
    config: Config, registry: ProviderRegistry, schemas: dict[str, ProviderSchema | None], diags: Diagnostics
) -> None:
    for child in config.children.values():
        _validate_module(child, registry, schemas, diags)

    def schema_of(res: Resource) -> Schema | None:
        name = res.provider_key.split(".", 1)[0]
        if name not in schemas:
            try:
                schemas[name] = registry.create(name, ProviderContext()).schema()
            except UnknownProviderError:
                schemas[name] = None
                diags.error(
                    f'Provider "{name}" is not available',
                    f"No built-in or installed provider is named {name!r}. Available: {', '.join(registry.names())}.",
                    res.range,
                )
        provider = schemas[name]
        if provider is None:
            return None
        table = provider.data_sources if res.addr.mode == "data" else provider.resources
        return table.get(res.type)

    found: dict[str, Schema] = {}
    for addr, res in config.resources.items():
        schema = schema_of(res)
        if schema is None:
            provider = schemas.get(res.provider_key.split(".", 1)[0])
            if provider is not None:
                kind = "data source" if res.addr.mode == "data" else "resource type"
                known = provider.data_sources if res.addr.mode == "data" else provider.resources
                name = res.provider_key.split(".", 1)[0]
                source = BUILTIN_SOURCES.get(name, name)
                detail = f'The provider {source} does not support {kind} "{res.type}".{_hint(res.type, known)}'
                diags.error(f"Invalid {kind}", detail, res.range)
            continue
        found[str(addr)] = schema
        _check_body(res, schema, diags)
    for ref in _references(config):
        if ref.resource is None or str(ref.resource) not in found or not ref.remaining:
            continue
        first = ref.remaining[0]
        schema = found[str(ref.resource)]
        if (
            isinstance(first, str)
            and first != "*"
            and not first.isdigit()
            and first not in schema.attributes
            and first not in schema.blocks
        ):
            names = list(schema.attributes) + list(schema.blocks)
            diags.error(
                "Unsupported attribute",
                f'This object ({ref.resource}) has no argument, nested block, or exported attribute named "{first}".'
                + _hint(first, names),
                ref.range,
            )


def _check_body(res: Resource, schema: Schema, diags: Diagnostics) -> None:
    names = list(schema.attributes) + list(schema.blocks)
    for name, arg in res.body.attributes.items():
        if name not in schema.attributes and name not in schema.blocks:
            diags.error(
                "Unsupported argument",
                f'An argument named "{name}" is not expected here ({res.addr}).{_hint(name, names)}',
                arg.range,
            )
    for block in res.body.blocks:
        if block.type == "dynamic":
            continue
        as_attr = schema.attributes.get(block.type)
        if block.type not in schema.blocks and not (as_attr is not None and as_attr.type in ("map", "any")):
            diags.error(
                "Unsupported block type",
                f'Blocks of type "{block.type}" are not expected here ({res.addr}).{_hint(block.type, names)}',
                block.range,
            )
    present = set(res.body.attributes) | {b.type for b in res.body.blocks}
    for name, spec in schema.attributes.items():
        if spec.required and name not in present:
            diags.error(
                "Missing required argument",
                f'The argument "{name}" is required, but no definition was found in {res.addr}.',
                res.range,
            )


def _references(config: Config) -> list[Reference]:
    refs: list[Reference] = []
    for res in config.resources.values():
        refs.extend(res.body.references())
        for expr in (res.count, res.for_each):
            if expr is not None:
                refs.extend(expr.references())
    for out in config.outputs.values():
        refs.extend(out.expr.references())
    for local in config.locals.values():
        refs.extend(local.expr.references())
    return refs


def _hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f' Did you mean "{close[0]}"?' if close else ""
