"""The providers a configuration needs, created from the registry and configured once.

Resources name their provider by key: ``aws`` (the default for ``aws_*`` types) or an alias
``aws.west``, and in a child module the key it resolves to across the tree
(:meth:`relight.engine.modules.ModuleTree.provider_key`: ``aws.west`` passed in, or
``module.net.aws`` for the module's own block). Each key gets one provider instance, configured
with its evaluated ``provider`` block (empty when there is none; a child module's key with no
block left is an error, never an unconfigured provider).
"""

from __future__ import annotations

from collections.abc import Iterable

from relight.addrs import static_module
from relight.diagnostics import Diagnostics
from relight.engine.evaluate import Evaluator
from relight.engine.modules import provider_name
from relight.lang import Config, Resource
from relight.providers.base import ConfigureRequest, Provider, ProviderContext, ProviderSchema, Schema
from relight.providers.registry import ProviderRegistry, UnknownProviderError

__all__ = ["ProviderSet"]


class ProviderSet:
    """Configured providers by key, with their schemas cached."""

    def __init__(self) -> None:
        self.by_key: dict[str, Provider] = {}
        self.schemas: dict[str, ProviderSchema] = {}

    @classmethod
    def for_config(
        cls,
        config: Config,
        registry: ProviderRegistry,
        evaluator: Evaluator,
        extra_keys: Iterable[str] = (),
        context: ProviderContext | None = None,
    ) -> tuple[ProviderSet, Diagnostics]:
        """Create and configure every provider the config (and ``extra_keys``) refers to, each
        serving the run described by ``context`` (its environment and cloud clock)."""
        context = context or ProviderContext()
        tree = evaluator.tree
        diags = Diagnostics()
        blocks = {key: (block, info) for key, block, info in tree.providers()}
        uses: dict[str, Resource] = {}
        for info, res in tree.resources():
            uses.setdefault(tree.provider_key(info.path, res), res)
        diags.extend(tree.diagnostics)
        keys = set(uses) | set(extra_keys) | set(blocks)
        out = cls()
        for key in sorted(keys):
            name = provider_name(key)
            if key.startswith("module.") and key not in blocks:
                diags.error(
                    "Provider configuration not present",
                    f"Objects in the state use the provider configuration {key}, which is no longer in the "
                    "configuration: its provider block in a child module was removed, or the module was. relight "
                    "needs it to refresh and destroy those objects; restore the module (or its provider block), "
                    "destroy its objects, then remove it.",
                )
                continue
            try:
                provider = registry.create(name, context)
            except UnknownProviderError:
                where = uses[key].range if key in uses else None
                diags.error(
                    f'Provider "{name}" is not available',
                    f"No built-in or installed provider is named {name!r}. Available: {', '.join(registry.names())}.",
                    where,
                )
                continue
            settings: dict[str, object] = {}
            if key not in blocks:
                diags.extend(provider.configure(ConfigureRequest(settings)).diagnostics)
            else:
                block, info = blocks[key]
                value, d = block.body.evaluate(evaluator.scope(static_module(info.path)))
                diags.extend(d)
                settings = dict(value) if isinstance(value, dict) else {}
                resp = provider.configure(ConfigureRequest(settings))
                # point a provider's complaint at its block (or the argument it names)
                ranges = {b.type: b.range for b in reversed(block.body.blocks)}
                ranges.update({n: a.range for n, a in block.body.attributes.items()})
                diags.extend(diag.stamped("", ranges, block.range) for diag in resp.diagnostics)
            out.by_key[key] = provider
            out.schemas[key] = provider.schema()
        return out, diags

    def get(self, key: str) -> Provider | None:
        return self.by_key.get(key)

    def is_local(self, key: str) -> bool:
        """Whether the provider at ``key`` keeps its objects in the state alone (no remote calls)."""
        schema = self.schemas.get(key)
        return schema is not None and schema.local

    def resource_schema(self, key: str, type_name: str, data: bool = False) -> Schema | None:
        schema = self.schemas.get(key)
        if schema is None:
            return None
        table = schema.data_sources if data else schema.resources
        return table.get(type_name)
