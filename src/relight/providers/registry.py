"""The explicit provider registry: built-ins by name, third parties through entry points.

Third-party providers register a factory under the entry-point group ``relight.providers``::

    [project.entry-points."relight.providers"]
    mycloud = "mypkg.provider:MyCloudProvider"

A factory takes the run's :class:`~relight.providers.base.ProviderContext` (its environment and
cloud clock) and returns a new provider; a provider class whose ``__init__`` takes the context
is a factory. Nothing is imported until a configuration asks for a provider by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from relight.providers.base import Provider, ProviderContext

__all__ = ["BUILTIN", "ProviderFactory", "ProviderRegistry", "UnknownProviderError"]

ProviderFactory = Callable[[ProviderContext], Provider]

# name -> "module:attribute"; imported lazily so `relight version` stays fast.
BUILTIN: Mapping[str, str] = {
    "aws": "relight.providers.aws:AwsProvider",
    "relight": "relight.providers.aws:RelightProvider",
    "terraform": "relight.providers.builtin:TerraformProvider",
}


class UnknownProviderError(LookupError):
    """No built-in or installed provider has this name."""


class ProviderRegistry:
    """Maps provider names to factories. Tests add fakes with :meth:`register`."""

    def __init__(self, factories: Mapping[str, ProviderFactory] | None = None) -> None:
        self._factories: dict[str, ProviderFactory] = dict(factories or {})

    def register(self, name: str, factory: ProviderFactory) -> None:
        self._factories[name] = factory

    def names(self) -> list[str]:
        found = set(self._factories) | set(BUILTIN)
        found |= {ep.name for ep in _entry_points()}
        return sorted(found)

    def create(self, name: str, context: ProviderContext) -> Provider:
        """A new provider instance for one run; raises UnknownProviderError naming what is available."""
        factory = self._factories.get(name) or self._load(name)
        return factory(context)

    def _load(self, name: str) -> ProviderFactory:
        target = BUILTIN.get(name)
        if target is None:
            for ep in _entry_points():
                if ep.name == name:
                    factory: ProviderFactory = ep.load()
                    return factory
            raise UnknownProviderError(name)
        module_name, _, attr = target.partition(":")
        loaded: ProviderFactory = getattr(importlib.import_module(module_name), attr)
        return loaded


def _entry_points() -> Any:
    """Installed providers (importlib.metadata is imported on first use: it is slow to import,
    and most runs use built-in providers only)."""
    from importlib.metadata import entry_points

    return entry_points(group="relight.providers")
