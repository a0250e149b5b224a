"""Frozen addresses for resources and their instances.

``ResourceAddr.parse("aws_instance.ghe_node")``, ``InstanceAddr.parse('aws_instance.web[0]')``
and ``InstanceAddr.parse('data.aws_ami.base["a"]')``. Strings appear only at the edges (CLI
flags, state files, plan output); inside the engine addresses are these values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["InstanceAddr", "InstanceKey", "Mode", "ResourceAddr", "format_key"]

Mode = Literal["managed", "data"]
InstanceKey = int | str | None

_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_ADDR_RE = re.compile(
    rf"^(?P<data>data\.)?(?P<type>{_NAME})\.(?P<name>{_NAME})"
    r"(?:\[(?P<key>[0-9]+|\"(?:[^\"\\]|\\.)*\")\])?$"
)


@dataclass(frozen=True, slots=True, order=True)
class ResourceAddr:
    """A resource block's address: mode, type and name."""

    mode: Mode
    type: str
    name: str

    @classmethod
    def managed(cls, type_: str, name: str) -> ResourceAddr:
        return cls("managed", type_, name)

    @classmethod
    def data(cls, type_: str, name: str) -> ResourceAddr:
        return cls("data", type_, name)

    @classmethod
    def parse(cls, text: str) -> ResourceAddr:
        """Parse ``type.name`` or ``data.type.name``; raises ValueError on anything else."""
        inst = InstanceAddr.parse(text)
        if inst.key is not None:
            raise ValueError(f"{text!r} is an instance address, expected a resource address")
        return inst.resource

    def instance(self, key: InstanceKey = None) -> InstanceAddr:
        return InstanceAddr(self, key)

    def __str__(self) -> str:
        base = f"{self.type}.{self.name}"
        return f"data.{base}" if self.mode == "data" else base


def format_key(key: InstanceKey) -> str:
    if key is None:
        return ""
    if isinstance(key, int):
        return f"[{key}]"
    return f"[{json.dumps(key)}]"


@dataclass(frozen=True, slots=True)
class InstanceAddr:
    """One instance of a resource: ``key`` is None, a count index or a for_each key."""

    resource: ResourceAddr
    key: InstanceKey = None

    @classmethod
    def parse(cls, text: str) -> InstanceAddr:
        """Parse ``type.name``, ``type.name[0]`` or ``type.name["k"]`` (optionally ``data.``)."""
        match = _ADDR_RE.match(text.strip())
        if match is None:
            raise ValueError(
                f"invalid resource address {text!r}: expected TYPE.NAME, TYPE.NAME[INDEX] "
                'or TYPE.NAME["KEY"]'
            )
        mode: Mode = "data" if match.group("data") else "managed"
        raw_key = match.group("key")
        key: InstanceKey = None
        if raw_key is not None:
            key = int(raw_key) if raw_key[0] != '"' else str(json.loads(raw_key))
        return cls(ResourceAddr(mode, match.group("type"), match.group("name")), key)

    def sort_key(self) -> tuple[str, str, str, int, int, str]:
        k = self.key
        return (
            self.resource.mode,
            self.resource.type,
            self.resource.name,
            0 if k is None else (1 if isinstance(k, int) else 2),
            k if isinstance(k, int) else 0,
            k if isinstance(k, str) else "",
        )

    def __str__(self) -> str:
        return f"{self.resource}{format_key(self.key)}"
