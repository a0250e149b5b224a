"""The providers a configuration needs, created from the registry and configured once.

Resources name their provider by key: ``aws`` (the default for ``aws_*`` types) or an alias
``aws.west``. Each key gets one provider instance, configured with its evaluated ``provider``
block (empty when there is none).
"""

from __future__ import annotations

from collections.abc import Iterable

from relight.diagnostics import Diagnostics
from relight.engine.evaluate import Evaluator
from relight.lang import Config
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
        diags = Diagnostics()
        keys = {r.provider_key for r in config.resources.values()} | set(extra_keys)
        keys |= set(config.providers)
        out = cls()
        for key in sorted(keys):
            name = key.split(".", 1)[0]
            try:
                provider = registry.create(name, context)
            except UnknownProviderError:
                where = next((r.range for r in config.resources.values() if r.provider_key == key), None)
                diags.error(
                    f'Provider "{name}" is not available',
                    f"No built-in or installed provider is named {name!r}. Available: {', '.join(registry.names())}.",
                    where,
                )
                continue
            block = config.providers.get(key)
            settings: dict[str, object] = {}
            if block is not None:
                value, d = block.body.evaluate(evaluator.scope())
                diags.extend(d)
                settings = dict(value) if isinstance(value, dict) else {}
            resp = provider.configure(ConfigureRequest(settings))
            diags.extend(resp.diagnostics)
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
