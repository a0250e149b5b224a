"""A small framework for writing providers: resource types as classes, dispatch by type name.

A provider subclasses :class:`BaseProvider` and lists its :class:`ResourceType` and
:class:`DataSource` classes. Each resource type implements ``create``/``read``/``update``/
``delete`` (and optionally ``plan``/``import_``/``validate``) over plain dict states; the base
class turns unexpected exceptions into diagnostics so the engine never sees a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from relight.diagnostics import Diagnostics
from relight.providers import tfcompat
from relight.providers.base import (
    AdoptTerraformRequest,
    AdoptTerraformResponse,
    ConfigureRequest,
    ConfigureResponse,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DeleteResponse,
    ExportTerraformRequest,
    ExportTerraformResponse,
    FindCreatedRequest,
    ImportRequest,
    ImportResponse,
    PlanRequest,
    PlanResponse,
    ProviderContext,
    ProviderSchema,
    ReadDataRequest,
    ReadDataResponse,
    ReadRequest,
    ReadResponse,
    Schema,
    UpdateRequest,
    UpdateResponse,
    ValidateRequest,
    ValidateResponse,
    schema_plan,
)
from relight.providers.tfcompat import TerraformShape

__all__ = ["BaseProvider", "CallError", "DataSource", "ResourceType"]

_R = TypeVar("_R")


class CallError(Exception):
    """A vendor call that failed in a way the user can act on (refused, not found, throttled).

    Providers raise it with a ready-made summary and detail; the framework turns it into exactly
    that diagnostic, without the "provider failed" wrapping reserved for bugs. ``attribute``
    names the argument at fault, so the engine can point at its line.
    """

    def __init__(self, summary: str, detail: str = "", attribute: tuple[str | int, ...] = ()) -> None:
        super().__init__(summary if not detail else f"{summary}: {detail}")
        self.summary = summary
        self.detail = detail
        self.attribute = attribute

    @property
    def missing(self) -> bool:
        """True when the failure says the object asked for does not exist (vendors may say so)."""
        return False


class ResourceType:
    """One managed resource type. Override the CRUD methods; ``plan`` defaults to the schema.

    ``terraform`` says how Terraform's provider stores this type in its state (see
    :mod:`relight.providers.tfcompat`); the default is "the same attributes, schema version 0".
    """

    name: ClassVar[str]
    schema: ClassVar[Schema]
    terraform: ClassVar[TerraformShape] = TerraformShape()

    def __init__(self, provider: BaseProvider) -> None:
        self.provider = provider

    def validate(self, req: ValidateRequest) -> ValidateResponse:
        return ValidateResponse()

    def plan(self, req: PlanRequest) -> PlanResponse:
        return schema_plan(self.schema, req)

    def create(self, req: CreateRequest) -> CreateResponse:
        raise NotImplementedError

    def read(self, req: ReadRequest) -> ReadResponse:
        raise NotImplementedError

    def update(self, req: UpdateRequest) -> UpdateResponse:
        raise NotImplementedError

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        raise NotImplementedError

    def import_(self, req: ImportRequest) -> ImportResponse:
        diags = Diagnostics()
        diags.error(f"{self.name} does not support import")
        return ImportResponse(state=None, diagnostics=diags)

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        """The object a crashed create left behind. The default knows of no way to look, so it
        reports nothing; cloud resources override it (see :class:`FindCreatedRequest`)."""
        return ReadResponse(None)


class DataSource:
    """One data source type; ``terraform`` as for :class:`ResourceType`."""

    name: ClassVar[str]
    schema: ClassVar[Schema]
    terraform: ClassVar[TerraformShape] = TerraformShape()

    def __init__(self, provider: BaseProvider) -> None:
        self.provider = provider

    def read(self, req: ReadDataRequest) -> ReadDataResponse:
        raise NotImplementedError


class BaseProvider:
    """Dispatches each request to the resource type or data source it names.

    An exception escaping a type's method is a provider bug or an unexpected vendor failure; it
    is turned into an error diagnostic naming the call so the engine can record and report it.
    """

    name: ClassVar[str]
    provider_schema: ClassVar[Schema] = Schema()
    resource_types: ClassVar[tuple[type[ResourceType], ...]] = ()
    data_source_types: ClassVar[tuple[type[DataSource], ...]] = ()
    local: ClassVar[bool] = False  # see ProviderSchema.local

    def __init__(self, context: ProviderContext | None = None) -> None:
        self.context = context or ProviderContext()
        self._resources = {cls.name: cls(self) for cls in self.resource_types}
        self._data = {cls.name: cls(self) for cls in self.data_source_types}
        self.config: Mapping[str, Any] = {}

    def schema(self) -> ProviderSchema:
        return ProviderSchema(
            provider=self.provider_schema,
            resources={n: r.schema for n, r in self._resources.items()},
            data_sources={n: d.schema for n, d in self._data.items()},
            local=self.local,
        )

    def configure(self, req: ConfigureRequest) -> ConfigureResponse:
        self.config = dict(req.config)
        return ConfigureResponse()

    def resource(self, type_name: str) -> ResourceType:
        return self._resources[type_name]

    def validate(self, req: ValidateRequest) -> ValidateResponse:
        return self._guard(
            "validate",
            req.type_name,
            lambda: self.resource(req.type_name).validate(req),
            ValidateResponse,
        )

    def read(self, req: ReadRequest) -> ReadResponse:
        return self._guard(
            "read",
            req.type_name,
            lambda: self.resource(req.type_name).read(req),
            lambda d: ReadResponse(dict(req.current_state), d),
        )

    def plan_change(self, req: PlanRequest) -> PlanResponse:
        return self._guard(
            "plan",
            req.type_name,
            lambda: self.resource(req.type_name).plan(req),
            lambda d: PlanResponse(None, (), d),
        )

    def create(self, req: CreateRequest) -> CreateResponse:
        return self._guard(
            "create",
            req.type_name,
            lambda: self.resource(req.type_name).create(req),
            lambda d: CreateResponse(None, d),
        )

    def update(self, req: UpdateRequest) -> UpdateResponse:
        return self._guard(
            "update",
            req.type_name,
            lambda: self.resource(req.type_name).update(req),
            lambda d: UpdateResponse(None, d),
        )

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        return self._guard(
            "delete",
            req.type_name,
            lambda: self.resource(req.type_name).delete(req),
            DeleteResponse,
        )

    def import_(self, req: ImportRequest) -> ImportResponse:
        """The object with the request's id; ``state`` None without errors when none exists (a
        vendor's "not found" is that answer, not a failure: the engine says so as Terraform does)."""

        def find() -> ImportResponse:
            try:
                return self.resource(req.type_name).import_(req)
            except CallError as exc:
                if exc.missing:
                    return ImportResponse(None)
                raise

        return self._guard("import", req.type_name, find, lambda d: ImportResponse(None, d))

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        return self._guard(
            "recovery lookup",
            req.type_name,
            lambda: self.resource(req.type_name).find_created(req),
            lambda d: ReadResponse(None, d),
        )

    def read_data(self, req: ReadDataRequest) -> ReadDataResponse:
        return self._guard(
            "read",
            req.type_name,
            lambda: self._data[req.type_name].read(req),
            lambda d: ReadDataResponse(None, d),
        )

    def adopt_terraform(self, req: AdoptTerraformRequest) -> AdoptTerraformResponse:
        kind = self._kind(req.type_name, req.mode)
        if kind is None:
            return AdoptTerraformResponse(None, diagnostics=self._unsupported(req.type_name, req.mode))
        return self._guard(
            "state conversion",
            req.type_name,
            lambda: tfcompat.adopt(req.type_name, kind.schema, kind.terraform, req),
            lambda d: AdoptTerraformResponse(None, diagnostics=d),
        )

    def export_terraform(self, req: ExportTerraformRequest) -> ExportTerraformResponse:
        kind = self._kind(req.type_name, req.mode)
        if kind is None:
            return ExportTerraformResponse(None, diagnostics=self._unsupported(req.type_name, req.mode))
        return self._guard(
            "state conversion",
            req.type_name,
            lambda: tfcompat.export(kind.schema, kind.terraform, req),
            lambda d: ExportTerraformResponse(None, diagnostics=d),
        )

    def _kind(self, type_name: str, mode: str) -> ResourceType | DataSource | None:
        found: ResourceType | DataSource | None
        found = self._resources.get(type_name) if mode == "managed" else self._data.get(type_name)
        return found

    def _unsupported(self, type_name: str, mode: str) -> Diagnostics:
        kind, known = ("resource type", self._resources) if mode == "managed" else ("data source", self._data)
        diags = Diagnostics()
        diags.error(
            f"Unsupported {kind} {type_name}",
            f'relight\'s "{self.name}" provider has no {kind} {type_name}; it has: {", ".join(sorted(known))}. '
            "Remove those objects from the Terraform state first (terraform state rm) to adopt the rest. "
            "Nothing was written.",
        )
        return diags

    def _guard(
        self,
        call: str,
        type_name: str,
        fn: Callable[[], _R],
        on_error: Callable[[Diagnostics], _R],
    ) -> _R:
        try:
            return fn()
        except CallError as exc:
            diags = Diagnostics()
            diags.error(exc.summary, exc.detail, attribute=exc.attribute)
            return on_error(diags)
        except Exception as exc:  # a provider bug must become a diagnostic, not a traceback
            diags = Diagnostics()
            diags.error(
                f"Provider {self.name!r} failed during {call} of {type_name}",
                f"{type(exc).__name__}: {exc}",
            )
            return on_error(diags)
