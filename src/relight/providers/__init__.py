"""Providers: the protocol the engine speaks, the framework, the registry and the built-ins."""

from relight.providers.base import Attribute, BlockType, Provider, ProviderSchema, Schema
from relight.providers.registry import ProviderRegistry, UnknownProviderError

__all__ = [
    "Attribute",
    "BlockType",
    "Provider",
    "ProviderRegistry",
    "ProviderSchema",
    "Schema",
    "UnknownProviderError",
]
