"""The configuration model: frozen values decoded from one module directory's blocks.

Produced by :func:`relight.lang.config.load_config` (one :class:`Config` per module directory:
the root module, with the child module of each call in ``children``); consumed by the engine. Every
value keeps its source range so later stages can point at what the user wrote. Expressions are
kept unevaluated (:class:`relight.lang.expr.Expr`) wherever Terraform evaluates them late.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from typing import Literal as TLiteral

from relight.addrs import InstanceAddr, ModuleAddr, ResourceAddr
from relight.diagnostics import SourceRange
from relight.lang.body import Block, Body
from relight.lang.expr import Expr, Reference
from relight.lang.types import STRING, TypeConstraint
from relight.values import Value

__all__ = [
    "NO_DEFAULT",
    "BackendBlock",
    "Check",
    "Condition",
    "Config",
    "Import",
    "Lifecycle",
    "Local",
    "ModuleCall",
    "Moved",
    "Output",
    "ProviderBlock",
    "Removed",
    "RequiredProvider",
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
    """``backend "type" {...}`` (or ``cloud {...}``, type "cloud") with its literal settings."""

    type: str
    config: Mapping[str, Value]
    range: SourceRange


@dataclass(frozen=True, slots=True)
class Condition:
    """A custom condition: a variable ``validation``, a ``precondition``/``postcondition``, or a
    ``check`` block's ``assert``. The condition must hold; ``error_message`` says why not."""

    condition: Expr
    error_message: Expr
    range: SourceRange


Validation = Condition  # the name variable validation rules had first


@dataclass(frozen=True, slots=True)
class Variable:
    """A ``variable`` block. ``default`` is :data:`NO_DEFAULT` when the variable is required."""

    name: str
    type: TypeConstraint | None
    default: Value
    description: str
    sensitive: bool
    nullable: bool
    validations: tuple[Condition, ...]
    range: SourceRange
    ephemeral: bool = False

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
    preconditions: tuple[Condition, ...] = ()
    postconditions: tuple[Condition, ...] = ()


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
    preconditions: tuple[Condition, ...] = ()
    ephemeral: bool = False


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
    from_: InstanceAddr | ResourceAddr | ModuleAddr
    to: InstanceAddr | ResourceAddr | ModuleAddr
    range: SourceRange


@dataclass(frozen=True, slots=True)
class Removed:
    from_: ResourceAddr | ModuleAddr
    destroy: bool
    range: SourceRange


@dataclass(frozen=True, slots=True)
class Import:
    """``import { to, id, for_each, provider }`` (Terraform 1.5+).

    ``to`` is the resource; ``to_key`` the instance key expression written after it (a literal
    ``[0]``/``["a"]``, or ``[each.key]`` with ``for_each``), None for a single instance. ``id``
    (and ``to_key``) are evaluated with ``each`` bound when ``for_each`` is set.
    """

    to: ResourceAddr
    to_key: Expr | None
    id: Expr
    for_each: Expr | None
    provider_key: str | None
    range: SourceRange


@dataclass(frozen=True, slots=True)
class Check:
    """``check "name" { data ... {} assert { condition, error_message } }``: failing assertions
    (and a failing scoped data source) are warnings, as in Terraform."""

    name: str
    data: tuple[Resource, ...]
    asserts: tuple[Condition, ...]
    range: SourceRange


@dataclass(frozen=True, slots=True)
class RequiredProvider:
    """One entry of ``terraform { required_providers { ... } }``."""

    name: str
    source: str
    version: str | None
    range: SourceRange


@dataclass(frozen=True, slots=True)
class ModuleCall:
    """A ``module "name" {...}`` block, decoded for the engine; ``inputs`` holds its arguments
    other than the meta-arguments (``source``, ``version``, ``count``, ``for_each``,
    ``providers``, ``depends_on``)."""

    name: str
    source: str
    version: str | None
    count: Expr | None
    for_each: Expr | None
    providers: Mapping[str, str]
    depends_on: tuple[Reference, ...]
    inputs: Body
    range: SourceRange


@dataclass(frozen=True, slots=True)
class Config:
    """A loaded module directory. ``sources`` maps each file name used in diagnostics to its text.

    ``required_version`` holds each ``terraform { required_version }`` constraint as written
    (already checked against the Terraform language version relight implements).
    """

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
    imports: tuple[Import, ...] = ()
    checks: Mapping[str, Check] = field(default_factory=dict)
    required_providers: Mapping[str, RequiredProvider] = field(default_factory=dict)
    required_version: tuple[str, ...] = ()
    module_calls: Mapping[str, ModuleCall] = field(default_factory=dict)
    # The loaded child module of each call (see relight.lang.modules), and this module's static path.
    children: Mapping[str, Config] = field(default_factory=dict)
    path: tuple[str, ...] = ()

