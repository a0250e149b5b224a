"""Moving a stack between Terraform and relight: read Terraform's state, write it back, and stop
a plan in a directory whose stack Terraform still manages.

The conversion itself is :mod:`relight.state.tfstate` (the envelope) plus each provider's
``adopt_terraform``/``export_terraform`` (the attributes); :class:`ProviderTranslator` joins
them, so the resource types and schema versions relight accepts are exactly the ones its
providers know. The functions here are what a shell calls: ``relight state push`` and ``pull``,
``plan``/``apply`` (:func:`adoption_check`) and the server's http backend
(:func:`read_state_file`, :func:`export_terraform`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import replace

from relight.addrs import ResourceAddr
from relight.diagnostics import Diagnostics
from relight.errors import StateCorruptError
from relight.lang import Config
from relight.providers.base import AdoptTerraformRequest, ExportTerraformRequest, Provider, ProviderContext
from relight.providers.registry import ProviderRegistry, UnknownProviderError
from relight.state import UNASSIGNED_LINEAGE, ObjectState, State, StateBackend, codec, tfstate
from relight.state.tfstate import Converted, Exported, TerraformObject

__all__ = [
    "TERRAFORM_STATE_FILE",
    "ProviderTranslator",
    "adoption_check",
    "export_terraform",
    "read_backend_state",
    "read_state_file",
]

TERRAFORM_STATE_FILE = "terraform.tfstate"


class ProviderTranslator:
    """A :class:`relight.state.tfstate.Translator` over the providers of a registry (made for the
    run's ``context``; converting makes no remote call)."""

    def __init__(self, registry: ProviderRegistry, context: ProviderContext | None = None) -> None:
        self.registry = registry
        self.context = context or ProviderContext()
        self._providers: dict[str, Provider | None] = {}

    def _provider(self, name: str) -> Provider | None:
        if name not in self._providers:
            try:
                self._providers[name] = self.registry.create(name, self.context)
            except UnknownProviderError:
                self._providers[name] = None
        return self._providers[name]

    def to_relight(self, obj: TerraformObject) -> tuple[Converted | None, Diagnostics]:
        provider = self._provider(obj.provider)
        if provider is None:
            return None, self._no_provider(obj.provider, obj.type)
        req = AdoptTerraformRequest(
            obj.type, obj.mode, obj.schema_version, obj.attributes, obj.private, obj.extras, obj.overrides
        )
        resp = provider.adopt_terraform(req)
        if resp.attributes is None or resp.diagnostics.has_errors:
            return None, resp.diagnostics
        return Converted(resp.attributes, dict(resp.private), resp.schema_version), resp.diagnostics

    def to_terraform(
        self, resource: ResourceAddr, provider: str, obj: ObjectState
    ) -> tuple[Exported | None, Diagnostics]:
        found = self._provider(provider)
        if found is None:
            return None, self._no_provider(provider, resource.type)
        resp = found.export_terraform(ExportTerraformRequest(resource.type, resource.mode, obj.attributes, obj.private))
        if resp.attributes is None or resp.diagnostics.has_errors:
            return None, resp.diagnostics
        exported = Exported(
            resp.schema_version, resp.attributes, resp.private, resp.extras, resp.overrides, resp.relight_private
        )
        return exported, resp.diagnostics

    def _no_provider(self, name: str, type_name: str) -> Diagnostics:
        diags = Diagnostics()
        diags.error(
            f"Unsupported provider {name!r}",
            f"{type_name} belongs to the provider {name!r}, which relight does not have (it has: "
            f"{', '.join(self.registry.names())}). Remove its objects from the Terraform state first "
            "(terraform state rm) to adopt the rest. Nothing was written.",
        )
        return diags


def read_state_file(
    data: bytes, source: str, registry: ProviderRegistry, context: ProviderContext | None = None
) -> tuple[State | None, Diagnostics]:
    """The State in ``data``: relight's own snapshot or a Terraform state (format 4).

    Returns None and error diagnostics when the file cannot be taken as a whole (see
    :func:`relight.state.tfstate.from_terraform` for what is refused); nothing is written here.
    """
    if tfstate.is_terraform_state(data):
        return tfstate.from_terraform(data, source, ProviderTranslator(registry, context))
    diags = Diagnostics()
    try:
        return codec.loads(data, source), diags
    except StateCorruptError as exc:
        diags.error(f"Cannot read {source}", str(exc).replace("the file was left untouched. ", "nothing was written. "))
        return None, diags


def export_terraform(
    state: State, registry: ProviderRegistry, context: ProviderContext | None = None
) -> tuple[bytes | None, Diagnostics]:
    """``state`` as a Terraform state file that ``terraform state push`` accepts."""
    return tfstate.to_terraform(state, ProviderTranslator(registry, context))


def adoption_check(config: Config, directory: str, backend: StateBackend) -> Diagnostics:
    """What stops ``plan``/``apply`` in a directory whose stack is still Terraform's.

    Errors when ``backend`` holds no relight state yet but the directory holds a
    ``terraform.tfstate`` that records objects, or the configuration has a ``backend "s3"``
    block: a plan would create every object again next to the real ones. Also an error when
    relight's own state file is a Terraform state. With relight's state present, an s3 backend
    block only draws a warning that relight does not store state there. Reads the state only
    when the directory looks like Terraform's.
    """
    diags = Diagnostics()
    s3 = config.backend if config.backend is not None and config.backend.type == "s3" else None
    tf_file = os.path.join(directory, TERRAFORM_STATE_FILE)
    from_terraform = os.path.exists(tf_file) and _records_objects(tf_file)
    if s3 is None and not from_terraform:
        return diags
    try:
        adopted = backend.read().lineage != UNASSIGNED_LINEAGE
    except StateCorruptError as exc:
        if "a Terraform state file?" not in str(exc):
            raise
        where = str(exc).split(": not a relight state file", 1)[0]
        diags.error(
            "relight's state file is a Terraform state",
            f"{where} is Terraform's state, and relight keeps its own state in a file of its own. Point the local "
            "backend's path at another file (relight.tfstate), then adopt this one with 'relight state push FILE'.",
            config.backend.range if config.backend is not None else None,
        )
        return diags
    if adopted:
        if s3 is not None:
            diags.warning(
                "relight does not store state in the s3 backend",
                "relight keeps this stack's state in its own backend. The backend \"s3\" block is only read, never "
                "written, by 'relight state push -from-backend' (when adopting a stack from Terraform).",
                s3.range,
            )
        return diags
    if from_terraform:
        diags.error(
            "This stack is still managed by Terraform",
            f"{TERRAFORM_STATE_FILE} here records real objects, and relight has no state yet; a plan would create "
            "all of them again next to the ones that exist. Adopt them first:\n\n"
            f"    relight state push {TERRAFORM_STATE_FILE}\n\n"
            "then 'relight plan' shows what differs (nothing, for a stack Terraform just applied). To hand the stack "
            "back later: relight state pull -format=terraform > handback.tfstate, then terraform state push "
            "handback.tfstate.",
        )
    else:
        assert s3 is not None
        diags.error(
            "This stack is still managed by Terraform",
            f"The configuration keeps its state in an s3 backend ({_s3_location(s3.config)}), and relight has no "
            "state yet; a plan would create every object again next to the ones that exist. Adopt them first "
            "(relight reads the bucket and never writes to it):\n\n    relight state push -from-backend\n\n"
            "then 'relight plan' shows what differs.",
            s3.range,
        )
    return diags


def read_backend_state(config: Config | None, context: ProviderContext) -> tuple[bytes | None, str, Diagnostics]:
    """The Terraform state that the configuration's ``backend "s3"`` block points at, read with
    the run's environment (credentials, endpoints) the way the aws provider reads it.

    Returns the bytes, a name for the source (``s3://bucket/key``) and diagnostics; reads only.
    """
    diags = Diagnostics()
    backend = config.backend if config is not None else None
    if backend is None or backend.type != "s3":
        found = f'a backend "{backend.type}" block' if backend is not None else "no backend block"
        diags.error(
            'No backend "s3" to read',
            f"-from-backend reads the Terraform state of a backend \"s3\" block, and the configuration has {found}. "
            "For a state file, run 'relight state push FILE'.",
            backend.range if backend is not None else None,
        )
        return None, "", diags
    from relight.providers.aws.s3state import read_state_object

    data, source, d = read_state_object(backend.config, context.environment, context.clock)
    for diag in d:
        diags.append(replace(diag, subject=diag.subject or backend.range))
    return data, source, diags


def _s3_location(settings: Mapping[str, object]) -> str:
    return f"s3://{settings.get('bucket', '?')}/{settings.get('key', '?')}"


def _records_objects(path: str) -> bool:
    """True unless the file is a readable Terraform state without resources (nothing to lose)."""
    try:
        with open(path, "rb") as fh:
            doc = json.loads(fh.read())
    except (OSError, ValueError):
        return True
    return not isinstance(doc, dict) or bool(doc.get("resources"))
