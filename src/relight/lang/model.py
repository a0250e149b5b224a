"""The configuration model: frozen values decoded from a module's blocks.

Produced by :func:`relight.lang.config.load_config`; consumed by the engine. Every value keeps
its source range so later stages can point at what the user wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from typing import Literal as TLiteral

from relight.addrs import InstanceAddr, ResourceAddr
from relight.diagnostics import SourceRange
from relight.lang.body import Block, Body
from relight.lang.expr import Expr, Reference
from relight.lang.types import STRING, TypeConstraint
from relight.values import Value

__all__ = [
    "NO_DEFAULT",
    "BackendBlock",
    "Config",
    "Lifecycle",
    "Local",
    "Moved",
    "Output",
    "ProviderBlock",
    "Removed",
    "Resource",
    "Validation",
    "Variable",
]


class _NoDefault:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Final = _NoDefault()


@dataclass(frozen=True, slots=True)
class BackendBlock:
    type: str
    config: Mapping[str, Value]
    range: SourceRange


@dataclass(frozen=True, slots=True)
class Validation:
    condition: Expr
    error_message: Expr
    range: SourceRange


@dataclass(frozen=True, slots=True)
class Variable:
    """A ``variable`` block. ``default`` is :data:`NO_DEFAULT` when the variable is required."""

    name: str
    type: TypeConstraint | None
    default: Value
    description: str
    sensitive: bool
    nullable: bool
    validations: tuple[Validation, ...]
    range: SourceRange

    @property
    def required(self) -> bool:
        return self.default is NO_DEFAULT

    @property
    def parse_literally(self) -> bool:
        """Whether ``-var``/``TF_VAR_`` text is taken as a string rather than parsed as HCL."""
        return self.type is None or self.type == STRING


@dataclass(frozen=True, slots=True)
class Local:
    name: str
    expr: Expr
    range: SourceRange


@dataclass(frozen=True, slots=True)
class Lifecycle:
    prevent_destroy: bool = False
    create_before_destroy: bool = False
    ignore_changes: tuple[str, ...] | TLiteral["all"] = ()
    replace_triggered_by: tuple[Expr, ...] = ()


@dataclass(frozen=True, slots=True)
class Resource:
    """A ``resource`` or ``data`` block; ``body`` holds everything but the meta-arguments."""

    addr: ResourceAddr
    type: str
    name: str
    provider_key: str
    body: Body
    count: Expr | None
    for_each: Expr | None
    depends_on: tuple[Reference, ...]
    lifecycle: Lifecycle
    range: SourceRange
    provisioners: tuple[Block, ...] = ()

    @property
    def mode(self) -> str:
        return self.addr.mode


@dataclass(frozen=True, slots=True)
class Output:
    name: str
    expr: Expr
    sensitive: bool
    description: str
    depends_on: tuple[Reference, ...]
    range: SourceRange


@dataclass(frozen=True, slots=True)
class ProviderBlock:
    name: str
    alias: str | None
    body: Body
    range: SourceRange

    @property
    def key(self) -> str:
        return f"{self.name}.{self.alias}" if self.alias else self.name


@dataclass(frozen=True, slots=True)
class Moved:
    from_: InstanceAddr | ResourceAddr
    to: InstanceAddr | ResourceAddr
    range: SourceRange


@dataclass(frozen=True, slots=True)
class Removed:
    from_: ResourceAddr
    destroy: bool
    range: SourceRange


@dataclass(frozen=True, slots=True)
class Config:
    """A loaded root module. ``sources`` maps each file name used in diagnostics to its text."""

    directory: str
    sources: Mapping[str, str] = field(default_factory=dict)
    backend: BackendBlock | None = None
    variables: Mapping[str, Variable] = field(default_factory=dict)
    locals: Mapping[str, Local] = field(default_factory=dict)
    resources: Mapping[ResourceAddr, Resource] = field(default_factory=dict)
    outputs: Mapping[str, Output] = field(default_factory=dict)
    providers: Mapping[str, ProviderBlock] = field(default_factory=dict)
    moved: tuple[Moved, ...] = ()
    removed: tuple[Removed, ...] = ()
    relight: Body | None = None

