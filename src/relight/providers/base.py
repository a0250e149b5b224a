"""The provider protocol: one request/response pair per method, schemas, and a schema-driven base.

Failure semantics every provider keeps (the engine relies on them):

* ``create``: a response with error diagnostics and ``new_state`` None created nothing. If the
  object was created but is broken, return it in ``new_state`` *with* the errors: the engine
  records it as tainted so the next plan replaces it.
* ``update``: on error, ``new_state`` is what the object looks like now (None = unchanged prior).
* ``delete``: on error, the object still exists. What a delete keeps on purpose (a final
  snapshot) is reported through ``DeleteRequest.retain`` *before* the irreversible step, so a
  run killed in between still has it in its state (and in ``DeleteResponse.retained``).
* ``read``: ``new_state`` None means the object is gone (deleted outside relight).
* ``import_``: ``state`` None without errors means no object has that id.
* ``adopt_terraform`` / ``export_terraform``: pure conversions of one object between Terraform's
  state and relight's; they touch no cloud. An unknown type or schema version is an error
  diagnostic (and None), never an exception.

Values inside requests are plain Python values (see :mod:`relight.values`); planned states may
hold :data:`relight.values.UNKNOWN` for attributes known only after apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from relight.diagnostics import Diagnostics
from relight.providers.clock import CloudClock
from relight.values import UNKNOWN, Value

__all__ = [
    "AdoptTerraformRequest",
    "AdoptTerraformResponse",
    "Attribute",
    "BlockType",
    "ConfigureRequest",
    "ConfigureResponse",
    "CreateRequest",
    "CreateResponse",
    "DeleteRequest",
    "DeleteResponse",
    "ExportTerraformRequest",
    "ExportTerraformResponse",
    "FindCreatedRequest",
    "ImportRequest",
    "ImportResponse",
    "PlanRequest",
    "PlanResponse",
    "Provider",
    "ProviderContext",
    "ProviderSchema",
    "ReadDataRequest",
    "ReadDataResponse",
    "ReadRequest",
    "ReadResponse",
    "Schema",
    "UpdateRequest",
    "UpdateResponse",
    "ValidateRequest",
    "ValidateResponse",
]

@dataclass(frozen=True)
class ProviderContext:
    """What a provider knows of the run it serves, instead of process-wide state.

    ``environment`` is the run's environment (``AWS_REGION``, ``AWS_ENDPOINT_URL``...): a
    provider reads settings from it, never from ``os.environ``, so two runs in one process can
    use different credentials. ``clock`` is the run's own cloud clock: every remote call and wait
    is timed on it, so the run can split its time into cloud and relight time.
    """

    environment: Mapping[str, str] = field(default_factory=dict)
    clock: CloudClock = field(default_factory=CloudClock)


AttrType = Literal["string", "number", "bool", "list", "set", "map", "any"]


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute of a resource schema.

    ``type`` is the outer type; ``element`` the element type of a list/set/map. ``force_new``
    means a change to it replaces the object. ``default`` applies when the config leaves an
    optional attribute null.
    """

    type: AttrType = "string"
    element: AttrType = "any"
    required: bool = False
    optional: bool = False
    computed: bool = False
    force_new: bool = False
    sensitive: bool = False
    default: Value = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class BlockType:
    """A nested block (``ingress { ... }``), held in the value as a list of objects."""

    schema: Schema
    nesting: Literal["list", "set", "single"] = "list"
    force_new: bool = False
    min_items: int = 0
    max_items: int | None = None


@dataclass(frozen=True, slots=True)
class Schema:
    """Attributes and nested blocks of a resource type, data source or provider config."""

    attributes: Mapping[str, Attribute] = field(default_factory=dict)
    blocks: Mapping[str, BlockType] = field(default_factory=dict)
    version: int = 0
    description: str = ""
    # True when create marks the object with the request's token and find_created can look it
    # up: the engine then journals each create's token first, so a crash loses no object.
    recoverable: bool = False
    # True when the object holds data that exists nowhere else (a disk, a snapshot): the heal
    # loop never destroys, replaces or re-creates one without a person.
    holds_data: bool = False


@dataclass(frozen=True, slots=True)
class ProviderSchema:
    """``local`` is True for a provider whose objects exist only in the state (``terraform_data``):
    its calls reach nothing outside the process, so the engine runs them in line rather than on
    worker threads, and records their results without an fsync of their own (they become durable
    with the next record that has one, or the commit: nothing real is lost in between)."""

    provider: Schema
    resources: Mapping[str, Schema]
    data_sources: Mapping[str, Schema] = field(default_factory=dict)
    local: bool = False


@dataclass(frozen=True, slots=True)
class ConfigureRequest:
    config: Mapping[str, Value]


@dataclass(frozen=True, slots=True)
class ConfigureResponse:
    diagnostics: Diagnostics = field(default_factory=Diagnostics)


@dataclass(frozen=True, slots=True)
class ValidateRequest:
    type_name: str
    config: Mapping[str, Value]


@dataclass(frozen=True, slots=True)
class ValidateResponse:
    diagnostics: Diagnostics = field(default_factory=Diagnostics)


@dataclass(frozen=True, slots=True)
class ReadRequest:
    type_name: str
    current_state: Mapping[str, Value]
    private: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReadResponse:
    new_state: dict[str, Value] | None
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    private: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """Plan a change. ``prior_state`` None = create; ``proposed_new_state`` None = delete."""

    type_name: str
    prior_state: Mapping[str, Value] | None
    proposed_new_state: Mapping[str, Value] | None
    config: Mapping[str, Value] | None


@dataclass(frozen=True, slots=True)
class PlanResponse:
    """``before_destroy`` (delete plans only) says what the provider will do to keep data before
    it destroys the object, e.g. "snapshot vol-0abc before destroy"; the plan shows it."""

    planned_state: dict[str, Value] | None
    requires_replace: tuple[str, ...] = ()
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    before_destroy: str = ""


@dataclass(frozen=True, slots=True)
class CreateRequest:
    """``token`` is unique per create attempt and journaled before the call: a provider that
    marks the new object with it (a tag, a client token) can find it again after a crash, see
    :class:`FindCreatedRequest`."""

    type_name: str
    planned_state: Mapping[str, Value]
    config: Mapping[str, Value]
    token: str = ""


@dataclass(frozen=True, slots=True)
class CreateResponse:
    new_state: dict[str, Value] | None
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    private: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class UpdateRequest:
    type_name: str
    prior_state: Mapping[str, Value]
    planned_state: Mapping[str, Value]
    config: Mapping[str, Value]
    private: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UpdateResponse:
    new_state: dict[str, Value] | None
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    private: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class DeleteRequest:
    """``retain``, when given, durably records what the delete keeps (a final snapshot, the
    same mapping as ``DeleteResponse.retained``); call it before the step that cannot be undone
    (deleting the volume), so the record survives a run that dies right after that step."""

    type_name: str
    prior_state: Mapping[str, Value]
    private: Mapping[str, Any] = field(default_factory=dict)
    retain: Callable[[Mapping[str, Value]], None] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class DeleteResponse:
    """``retained`` describes what the delete kept on purpose (a final snapshot); the engine
    records it in state and reports it. Its ``id`` names what was kept; an optional
    ``restore_hint`` tells people how to bring the data back if the replacement fails."""

    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    retained: Mapping[str, Value] | None = None


@dataclass(frozen=True, slots=True)
class FindCreatedRequest:
    """Find the object a create with this ``token`` made, if any (the run died before its result
    was recorded). A :class:`ReadResponse` with ``new_state`` None means nothing was created."""

    type_name: str
    token: str
    planned_state: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ImportRequest:
    type_name: str
    id: str


@dataclass(frozen=True, slots=True)
class ImportResponse:
    state: dict[str, Value] | None
    diagnostics: Diagnostics = field(default_factory=Diagnostics)


@dataclass(frozen=True, slots=True)
class ReadDataRequest:
    type_name: str
    config: Mapping[str, Value]


@dataclass(frozen=True, slots=True)
class ReadDataResponse:
    state: dict[str, Value] | None
    diagnostics: Diagnostics = field(default_factory=Diagnostics)


@dataclass(frozen=True, slots=True)
class AdoptTerraformRequest:
    """One object from a Terraform state: its attributes as Terraform's provider stored them,
    at that provider's ``schema_version``; ``private`` is Terraform's private data; ``extras``
    are instance fields kept for the way back (``identity``); ``overrides`` are relight values an
    earlier export could not say in Terraform's terms (they win over the converted ones)."""

    type_name: str
    mode: Literal["managed", "data"]
    schema_version: int
    attributes: Mapping[str, Value]
    private: bytes | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AdoptTerraformResponse:
    """The object in this provider's terms; ``attributes`` None (with errors) if it cannot be."""

    attributes: dict[str, Value] | None
    private: Mapping[str, Any] = field(default_factory=dict)
    schema_version: int = 0
    diagnostics: Diagnostics = field(default_factory=Diagnostics)


@dataclass(frozen=True, slots=True)
class ExportTerraformRequest:
    type_name: str
    mode: Literal["managed", "data"]
    attributes: Mapping[str, Value]
    private: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExportTerraformResponse:
    """The object as Terraform's provider stores it. ``overrides`` and ``relight_private`` are
    what Terraform's form cannot carry (relight values that would read back differently, and
    this provider's own private data): they travel beside the object for the way back."""

    attributes: dict[str, Value] | None
    schema_version: int = 0
    private: bytes | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Value] = field(default_factory=dict)
    relight_private: Mapping[str, Any] = field(default_factory=dict)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)


@runtime_checkable
class Provider(Protocol):
    """What the engine calls. One instance serves one ``provider`` block (or the default)."""

    name: str

    def schema(self) -> ProviderSchema: ...

    def configure(self, req: ConfigureRequest) -> ConfigureResponse: ...

    def validate(self, req: ValidateRequest) -> ValidateResponse: ...

    def read(self, req: ReadRequest) -> ReadResponse: ...

    def plan_change(self, req: PlanRequest) -> PlanResponse: ...

    def create(self, req: CreateRequest) -> CreateResponse: ...

    def update(self, req: UpdateRequest) -> UpdateResponse: ...

    def delete(self, req: DeleteRequest) -> DeleteResponse: ...

    def import_(self, req: ImportRequest) -> ImportResponse: ...

    def find_created(self, req: FindCreatedRequest) -> ReadResponse: ...

    def read_data(self, req: ReadDataRequest) -> ReadDataResponse: ...

    def adopt_terraform(self, req: AdoptTerraformRequest) -> AdoptTerraformResponse: ...

    def export_terraform(self, req: ExportTerraformRequest) -> ExportTerraformResponse: ...


def schema_plan(schema: Schema, req: PlanRequest) -> PlanResponse:
    """The default planning rule, driven by the schema.

    Create: config values, defaults for unset optionals, UNKNOWN for unset computed attributes.
    Update: config values; unset computed attributes keep their prior value. A change in a
    ``force_new`` attribute or block lists it in ``requires_replace`` and plans as a create.
    """
    if req.proposed_new_state is None:
        return PlanResponse(planned_state=None)
    proposed = req.proposed_new_state
    prior = req.prior_state
    replace: list[str] = []
    if prior is not None:
        for name, attr in schema.attributes.items():
            if attr.force_new and _changed(prior.get(name), proposed.get(name), attr):
                replace.append(name)
        for name, block in schema.blocks.items():
            if block.force_new and prior.get(name) != proposed.get(name):
                replace.append(name)
    creating = prior is None or bool(replace)
    planned: dict[str, Value] = {}
    for name, attr in schema.attributes.items():
        value = proposed.get(name)
        if value is None and attr.default is not None:
            value = attr.default
        if value is None and attr.computed:
            value = UNKNOWN if creating or prior is None else prior.get(name)
        planned[name] = value
    for name in schema.blocks:
        planned[name] = proposed.get(name) if proposed.get(name) is not None else []
    return PlanResponse(planned_state=planned, requires_replace=tuple(replace))


def _changed(before: Value, after: Value, attr: Attribute) -> bool:
    if after is None and attr.default is not None:
        after = attr.default
    if after is None and attr.computed:
        return False
    if after is UNKNOWN:
        return True
    return bool(before != after)
