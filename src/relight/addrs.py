"""Frozen addresses for modules, resources and their instances.

``ResourceAddr.parse("aws_instance.ghe_node")``, ``InstanceAddr.parse('aws_instance.web[0]')``,
``InstanceAddr.parse('data.aws_ami.base["a"]')`` and, inside child modules,
``InstanceAddr.parse('module.net[0].module.sub["k"].aws_subnet.a')``. Strings appear only at the
edges (CLI flags, state files, plan output); inside the engine addresses are these values.

Module addresses follow Terraform's model:

* a **module instance** (:data:`ModuleInstance`) is the path of calls from the root, each with
  its instance key: ``(("net", 0), ("sub", "k"))`` prints as ``module.net[0].module.sub["k"]``;
  the root module is ``()``;
* a **module path** (:data:`ModulePath`) is the static path of call names, ``("net", "sub")``:
  what a configuration is keyed by, whatever the instances;
* a :class:`ResourceAddr` is absolute: its ``module`` is the module instance it lives in
  (``()`` for the root, so root addresses read and print exactly as before). Configuration
  objects are keyed by their *configuration address* (:meth:`ResourceAddr.config_addr`: every
  module key None), and by their address relative to their own module
  (:meth:`ResourceAddr.relative`) inside that module's configuration;
* a :class:`ModuleAddr` names a module instance (or, with a last key None, a whole module call)
  where a person or a ``moved`` block may name one: ``-target=module.net``,
  ``moved { from = module.a  to = module.b }``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "InstanceAddr",
    "InstanceKey",
    "Mode",
    "ModuleAddr",
    "ModuleInstance",
    "ModulePath",
    "ModuleStep",
    "ResourceAddr",
    "Target",
    "format_key",
    "format_module",
    "module_path",
    "parse_target",
    "static_module",
]

Mode = Literal["managed", "data"]
InstanceKey = int | str | None
ModuleStep = tuple[str, InstanceKey]
ModuleInstance = tuple[ModuleStep, ...]
ModulePath = tuple[str, ...]

_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_KEY = r"\[(?P<key>[0-9]+|\"(?:[^\"\\]|\\.)*\")\]"
_ADDR_RE = re.compile(rf"^(?P<data>data\.)?(?P<type>{_NAME})\.(?P<name>{_NAME})(?:{_KEY})?$")
_MODULE_STEP_RE = re.compile(rf"module\.(?P<call>{_NAME})(?:{_KEY})?(?:\.|$)")


def format_key(key: InstanceKey) -> str:
    if key is None:
        return ""
    if isinstance(key, int):
        return f"[{key}]"
    return f"[{json.dumps(key)}]"


def format_module(module: ModuleInstance) -> str:
    """``module.net[0].module.sub`` for ``(("net", 0), ("sub", None))``; "" for the root."""
    return ".".join(f"module.{name}{format_key(key)}" for name, key in module)


def module_path(module: ModuleInstance) -> ModulePath:
    """The static path of a module instance: its call names."""
    return tuple(name for name, _key in module)


def static_module(path: ModulePath) -> ModuleInstance:
    """The module instance of a static path with every key None (a configuration address)."""
    return tuple((name, None) for name in path)


def _key_sort(key: InstanceKey) -> tuple[int, int, str]:
    if key is None:
        return (0, 0, "")
    if isinstance(key, int):
        return (1, key, "")
    return (2, 0, key)


def _module_sort(module: ModuleInstance) -> tuple[tuple[str, tuple[int, int, str]], ...]:
    return tuple((name, _key_sort(key)) for name, key in module)


def _parse_key(raw: str | None) -> InstanceKey:
    if raw is None:
        return None
    return int(raw) if raw[0] != '"' else str(json.loads(raw))


def _split_module(text: str) -> tuple[ModuleInstance, str]:
    """The ``module.x[k].`` steps at the start of ``text`` and what follows them."""
    steps: list[ModuleStep] = []
    pos = 0
    while text.startswith("module.", pos):
        match = _MODULE_STEP_RE.match(text, pos)
        if match is None:
            break
        steps.append((match.group("call"), _parse_key(match.group("key"))))
        pos = match.end()
    return tuple(steps), text[pos:]


@dataclass(frozen=True, slots=True)
class ResourceAddr:
    """A resource block's address: mode, type and name, in a module instance (root: ``()``)."""

    mode: Mode
    type: str
    name: str
    module: ModuleInstance = ()

    @classmethod
    def managed(cls, type_: str, name: str) -> ResourceAddr:
        return cls("managed", type_, name)

    @classmethod
    def data(cls, type_: str, name: str) -> ResourceAddr:
        return cls("data", type_, name)

    @classmethod
    def parse(cls, text: str) -> ResourceAddr:
        """Parse ``type.name`` or ``data.type.name``, optionally after ``module.x[k].`` steps;
        raises ValueError on anything else."""
        inst = InstanceAddr.parse(text)
        if inst.key is not None:
            raise ValueError(f"{text!r} is an instance address, expected a resource address")
        return inst.resource

    def instance(self, key: InstanceKey = None) -> InstanceAddr:
        return InstanceAddr(self, key)

    def in_module(self, module: ModuleInstance) -> ResourceAddr:
        """This (relative) resource placed in ``module``."""
        if not module and not self.module:
            return self
        return ResourceAddr(self.mode, self.type, self.name, module + self.module)

    def relative(self) -> ResourceAddr:
        """The address inside its own module (what that module's configuration is keyed by)."""
        return self if not self.module else ResourceAddr(self.mode, self.type, self.name)

    def config_addr(self) -> ResourceAddr:
        """The configuration address: the same resource with every module key None."""
        if all(key is None for _name, key in self.module):
            return self
        return ResourceAddr(self.mode, self.type, self.name, static_module(module_path(self.module)))

    @property
    def module_path(self) -> ModulePath:
        return module_path(self.module)

    def sort_key(self) -> tuple[object, ...]:
        return (_module_sort(self.module), self.mode, self.type, self.name)

    def __lt__(self, other: ResourceAddr) -> bool:
        return self.sort_key() < other.sort_key()

    def __str__(self) -> str:
        base = f"{self.type}.{self.name}"
        if self.mode == "data":
            base = f"data.{base}"
        return f"{format_module(self.module)}.{base}" if self.module else base


@dataclass(frozen=True, slots=True)
class InstanceAddr:
    """One instance of a resource: ``key`` is None, a count index or a for_each key."""

    resource: ResourceAddr
    key: InstanceKey = None

    @classmethod
    def parse(cls, text: str) -> InstanceAddr:
        """Parse ``type.name``, ``type.name[0]`` or ``type.name["k"]`` (optionally ``data.``),
        optionally after module steps (``module.net[0].aws_subnet.a``)."""
        text = text.strip()
        module: ModuleInstance = ()
        rest = text
        if text.startswith("module."):
            module, rest = _split_module(text)
            if not rest:
                raise ValueError(
                    f"{text!r} is a module address, expected a resource address like "
                    f"{text}.TYPE.NAME"
                )
        match = _ADDR_RE.match(rest)
        if match is None:
            raise ValueError(
                f"invalid resource address {text!r}: expected TYPE.NAME, TYPE.NAME[INDEX] "
                'or TYPE.NAME["KEY"], optionally after module.NAME. steps'
            )
        mode: Mode = "data" if match.group("data") else "managed"
        resource = ResourceAddr(mode, match.group("type"), match.group("name"), module)
        return cls(resource, _parse_key(match.group("key")))

    def sort_key(self) -> tuple[object, ...]:
        k = self.key
        res = self.resource
        return (
            _module_sort(res.module) if res.module else (),
            res.mode,
            res.type,
            res.name,
            0 if k is None else (1 if isinstance(k, int) else 2),
            k if isinstance(k, int) else 0,
            k if isinstance(k, str) else "",
        )

    def __str__(self) -> str:
        return f"{self.resource}{format_key(self.key)}"


@dataclass(frozen=True, slots=True)
class ModuleAddr:
    """A module instance named by a person or a ``moved`` block: ``module.net[0].module.sub``.

    A last key None also names the whole call (every instance) where that reading applies:
    ``-target=module.net`` targets every instance of ``module.net``.
    """

    module: ModuleInstance

    @classmethod
    def parse(cls, text: str) -> ModuleAddr:
        """Parse ``module.x``, ``module.x[0].module.y["k"]``; raises ValueError otherwise."""
        text = text.strip()
        module, rest = _split_module(text)
        if not module or rest or text.endswith("."):
            raise ValueError(f"invalid module address {text!r}: expected module.NAME, optionally with [INDEX]")
        return cls(module)

    @property
    def path(self) -> ModulePath:
        return module_path(self.module)

    def contains(self, module: ModuleInstance) -> bool:
        """True when ``module`` is this instance or inside it; a step without a key matches
        every key of that call (``module.net`` contains ``module.net[1].module.sub``)."""
        if len(module) < len(self.module):
            return False
        return all(
            name == other and (key is None or key == other_key)
            for (name, key), (other, other_key) in zip(self.module, module, strict=False)
        )

    def __str__(self) -> str:
        return format_module(self.module)


Target = InstanceAddr | ModuleAddr
"""What ``-target`` names: a resource (an instance address without key targets every instance),
a resource instance, a module instance, or every instance of a module call."""


def parse_target(text: str) -> Target:
    """A ``-target`` address: a module address when nothing follows its module steps, else a
    resource (instance) address; raises ValueError naming what was expected."""
    stripped = text.strip()
    if stripped.startswith("module."):
        module, rest = _split_module(stripped)
        if module and not rest and not stripped.endswith("."):
            return ModuleAddr(module)
    return InstanceAddr.parse(stripped)
