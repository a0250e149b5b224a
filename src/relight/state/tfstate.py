"""Terraform's state format (version 4, as Terraform 0.12 to 1.x write it) to and from a :class:`State`.

Two pure functions, for ``relight state push FILE``, ``relight state pull -format=terraform`` and
the server's http backend alike:

* :func:`from_terraform` reads a Terraform state file into a State, or returns error
  diagnostics and no State (nothing half-converted ever reaches a backend);
* :func:`to_terraform` writes a State as a Terraform state file that ``terraform state push``
  accepts.

This module converts the envelope: lineage, serial, outputs, resources and their instances
(index keys, module paths, deposed objects, data sources, tainted status, sensitive paths,
dependencies, ``create_before_destroy``). What an object's *attributes* mean is provider
knowledge, so each object goes through a :class:`Translator` that the caller supplies (the
engine builds one from the providers' schemas): it refuses a resource type or schema version it
does not know, and maps attribute names and shapes both ways.

Where the two formats differ, and how this module maps them:

* **Dependencies.** Terraform stores every transitive ancestor, relight the direct ones. They
  are kept as read, both ways (a superset orders destroys just as well); objects relight writes
  afterwards carry direct ones, which Terraform accepts (it recomputes them on its next apply).
* **Output types.** Terraform records a type per output (a ``list(string)`` variable stays a
  list). relight keeps the recorded type while the value conforms to it; an output without one
  goes back with the type Terraform gives a literal of its shape (a tuple for a list). Terraform
  compares the types too: such an output shows as an update in ``terraform plan
  -detailed-exitcode`` until the next ``terraform apply`` (same value, no real change).
* **Provider addresses.** ``provider["registry.terraform.io/hashicorp/aws"].west`` is relight's
  provider ``aws.west``; a provider configured inside a module keeps the module prefix
  (``module.net.aws``). Written back, providers come from registry.terraform.io/hashicorp (the
  built-in ``terraform`` provider from terraform.io/builtin).
* **What only relight knows** (``prevent_destroy``, relight's provider-private data, retained
  final snapshots, creates in flight) travels in a ``"relight"`` key on the instance and at the
  top level. Terraform ignores keys it does not know when it reads a state and drops them when
  it writes one, so a state that went through Terraform comes back with Terraform's meaning.
* **Not kept:** ``check_results`` (Terraform recomputes them on every plan) and the legacy
  ``each`` field (derived from the index keys).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from relight.addrs import InstanceAddr, InstanceKey, Mode, ModuleAddr, ResourceAddr, format_module
from relight.ctytypes import conforms, is_type
from relight.diagnostics import Diagnostic, Diagnostics, SourcePos, SourceRange
from relight.state._tfjson import NOTHING, Reader, Refused, kind_of, merge
from relight.state.model import (
    UNASSIGNED_LINEAGE,
    AttrPath,
    CreateIntent,
    ObjectState,
    OutputState,
    ResourceInstanceState,
    State,
)
from relight.values import type_of

__all__ = [
    "FORMAT_VERSION",
    "WRITTEN_TERRAFORM_VERSION",
    "Converted",
    "Exported",
    "TerraformObject",
    "Translator",
    "from_terraform",
    "is_terraform_state",
    "provider_address",
    "to_terraform",
]

FORMAT_VERSION = 4
# Written as the producing version: the oldest 1.x, so every Terraform 1.x takes the file
# (all of them read format 4; some older releases refused a state from a newer Terraform).
WRITTEN_TERRAFORM_VERSION = "1.0.0"
EXTENSION = "relight"

_BUILTIN_SOURCES = {"terraform": "terraform.io/builtin/terraform"}
_DEFAULT_NAMESPACE = "registry.terraform.io/hashicorp"
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_KEY = r'\[(?:[0-9]+|"(?:[^"\\]|\\.)*")\]'
_MODULE_STEP = rf"module\.{_NAME}(?:{_KEY})?"
_MODULE_RE = re.compile(rf"^{_MODULE_STEP}(?:\.{_MODULE_STEP})*$")
_PROVIDER_RE = re.compile(
    rf'^(?P<module>(?:{_MODULE_STEP}\.)*)provider(?:\["(?P<source>[^"]+)"\]|\.(?P<legacy>{_NAME}))'
    rf"(?:\.(?P<alias>{_NAME}))?$"
)
_KEY_RE = re.compile(rf"^(?P<module>(?:{_MODULE_STEP}\.)*)(?P<name>{_NAME})(?:\.(?P<alias>{_NAME}))?$")


@dataclass(frozen=True, slots=True)
class TerraformObject:
    """One object as Terraform stores it.

    ``provider`` is the provider's name (``aws`` for ``aws.west`` too); ``attributes`` are in
    Terraform's form; ``private`` is Terraform's private data (base64-decoded), owned by the
    provider; ``extras`` holds instance fields this module does not interpret (``identity`` and
    ``identity_schema_version`` from Terraform 1.12 on), kept for the way back; ``overrides``
    are relight values that an earlier export could not express in Terraform's form.
    """

    mode: Mode
    type: str
    provider: str
    schema_version: int
    attributes: Mapping[str, Any]
    private: bytes | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Converted:
    """A Terraform object in relight's form."""

    attributes: dict[str, Any]
    private: dict[str, Any]
    schema_version: int


@dataclass(frozen=True, slots=True)
class Exported:
    """A relight object in Terraform's form.

    ``overrides`` are relight attribute values that Terraform's form cannot express (they would
    read back differently) and ``relight_private`` is relight's provider-private data; both travel
    in the instance's ``"relight"`` key.
    """

    schema_version: int
    attributes: dict[str, Any]
    private: bytes | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    relight_private: Mapping[str, Any] = field(default_factory=dict)


class Translator(Protocol):
    """Converts single objects; knows which resource types and schema versions exist.

    Both methods return error diagnostics (and None) for an object they cannot convert, naming
    the type or version; they never raise for bad input.
    """

    def to_relight(self, obj: TerraformObject) -> tuple[Converted | None, Diagnostics]: ...

    def to_terraform(
        self, resource: ResourceAddr, provider: str, obj: ObjectState
    ) -> tuple[Exported | None, Diagnostics]: ...


def is_terraform_state(data: bytes) -> bool:
    """True when ``data`` looks like a Terraform state (not relight's own), even if damaged.

    Decides which reader gets the file, so a truncated Terraform state is reported as one.
    """
    head = data[:4096].decode("utf-8", errors="replace")
    if '"format"' in head and '"relight-state"' in head:
        return False
    return bool(re.search(r'"(terraform_version|version)"\s*:\s*[0-9"]', head))


def provider_address(provider: str) -> str:
    """relight's provider key (``aws``, ``aws.west``, ``module.net.aws``) as Terraform writes it."""
    module, name, alias = _split_provider(provider)
    source = _BUILTIN_SOURCES.get(name, f"{_DEFAULT_NAMESPACE}/{name}")
    return f'{module}provider["{source}"]' + (f".{alias}" if alias else "")


def _split_provider(provider: str) -> tuple[str, str, str]:
    """(module prefix with its trailing dot, provider name, alias) of a relight provider key."""
    match = _KEY_RE.match(provider)
    if match is None:
        raise ValueError(f"not a provider key: {provider!r}")
    return match.group("module"), match.group("name"), match.group("alias") or ""


# -- reading -------------------------------------------------------------------------------


def from_terraform(data: bytes, source: str, translator: Translator) -> tuple[State | None, Diagnostics]:
    """The State a Terraform state file describes, or None with error diagnostics.

    Lineage and serial are kept as they are (the backend that stores the result continues the
    serial). Every problem is a diagnostic naming ``source`` and, where it can, the line of the
    resource: a truncated file, a format version other than 4, a resource type or schema
    version the translator does not know. Objects are all converted before anything is
    returned, so a refusal never leaves part of a state behind.
    """
    diags = Diagnostics()
    try:
        text = data.decode("utf-8")
        doc = _parse(text, source)
        r = Reader(source, text)
        state = _read_envelope(r, doc)
        _read_resources(r, doc, translator, state, diags)
    except Refused as refused:
        diags.append(refused.diag)
        return None, diags
    except UnicodeDecodeError as exc:
        diags.error("Invalid Terraform state", f"{source} is not UTF-8 text ({exc}).{NOTHING}")
        return None, diags
    if diags.has_errors:
        return None, merge(diags)
    return state, diags


def _parse(text: str, source: str) -> dict[str, Any]:
    if not text.strip():
        raise Refused(Diagnostic.error("Invalid Terraform state", f"{source} is empty.{NOTHING}"))
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        ended = exc.pos >= len(text.rstrip()) or not text.rstrip().endswith("}")
        cut = " The file ends before the JSON does: it was probably truncated." if ended else ""
        where = SourceRange(source, SourcePos(exc.lineno, exc.colno))
        detail = f"Not valid JSON: {exc.msg}.{cut}{NOTHING}"
        raise Refused(Diagnostic.error("Invalid Terraform state", detail, where)) from None
    if not isinstance(doc, dict):
        raise Refused(Diagnostic.error("Invalid Terraform state", f"{source} does not hold a JSON object.{NOTHING}"))
    return doc


def _read_envelope(r: Reader, doc: dict[str, Any]) -> State:
    version = doc.get("version")
    if version != FORMAT_VERSION:
        r.fail("version", _version_problem(version))
    lineage = r.get(doc, "lineage", str, "")
    if not lineage:
        r.fail("lineage", "is empty; a Terraform state always has one")
    state = State(lineage, r.get(doc, "serial", int, ""))
    for name, raw in r.opt(doc, "outputs", dict, {}, "", None).items():
        state.outputs[name] = _output_state(r, r.check(raw, dict, f"outputs.{name}"), f"outputs.{name}")
    ext = r.opt(doc, EXTENSION, dict, {}, "", None)
    for i, rec in enumerate(r.opt(ext, "retained", list, [], EXTENSION, None)):
        state.retained.append(r.check(rec, dict, f"{EXTENSION}.retained[{i}]"))
    for text, raw in r.opt(ext, "create_intents", dict, {}, EXTENSION, None).items():
        state.intents[_instance_addr(r, text)] = _intent(r, r.check(raw, dict, f"{EXTENSION}.create_intents"))
    return state


def _output_state(r: Reader, out: dict[str, Any], path: str) -> OutputState:
    if "value" not in out:
        r.fail(path, 'missing field "value"')
    ty = out.get("type")
    if ty is not None and (not is_type(ty) or not conforms(out["value"], ty)):
        r.fail(f"{path}.type", f"{json.dumps(ty)} is not a Terraform type of the output's value")
    if ty == type_of(out["value"]):
        ty = None  # the type relight would give it anyway: nothing to keep
    return OutputState(out["value"], r.opt(out, "sensitive", bool, False, path, None), ty)


def _version_problem(version: object) -> str:
    if version == 3 or version == 2 or version == 1:
        return (
            f"format version {version} was written by Terraform 0.11 or older; relight reads version 4. "
            "Upgrade the state with Terraform 0.12 or newer first (terraform apply -refresh-only rewrites it), "
            "then push it again"
        )
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        return f"format version {version} is newer than the version 4 relight reads"
    return f"expected the format version 4, found {json.dumps(version)}"


def _intent(r: Reader, doc: dict[str, Any]) -> CreateIntent:
    where = f"{EXTENSION}.create_intents"
    return CreateIntent(
        r.get(doc, "token", str, where),
        r.get(doc, "provider", str, where),
        r.opt(doc, "planned", dict, {}, where, None),
        r.opt(doc, "started", str, "", where, None),
    )


def _instance_addr(r: Reader, text: str) -> InstanceAddr:
    try:
        return InstanceAddr.parse(text)
    except ValueError as exc:
        r.fail(f"{EXTENSION}.create_intents", str(exc))


def _read_resources(r: Reader, doc: dict[str, Any], translator: Translator, state: State, diags: Diagnostics) -> None:
    for i, raw in enumerate(r.opt(doc, "resources", list, [], "", None)):
        res = r.check(raw, dict, f"resources[{i}]", i)
        _read_resource(r, i, res, translator, state, diags)


def _read_resource(
    r: Reader, i: int, res: dict[str, Any], translator: Translator, state: State, diags: Diagnostics
) -> None:
    path = f"resources[{i}]"
    module = r.opt(res, "module", str, "", path, i)
    if module and not _MODULE_RE.match(module):
        r.fail(f"{path}.module", f"{module!r} is not a module path like module.net or module.app[\"a\"]", i)
    mode = r.get(res, "mode", str, path, i)
    if mode not in ("managed", "data"):
        r.fail(f"{path}.mode", f'expected "managed" or "data", found {mode!r}', i)
    instance = ModuleAddr.parse(module).module if module else ()
    resource = ResourceAddr(mode, r.get(res, "type", str, path, i), r.get(res, "name", str, path, i), instance)
    provider, name = _provider_key(r, r.get(res, "provider", str, path, i), path, i)
    for j, raw in enumerate(r.get(res, "instances", list, path, i)):
        at = f"{path}.instances[{j}]"
        entry = r.check(raw, dict, at, i)
        addr = InstanceAddr(resource, _index_key(r, entry, at, i))
        label = str(addr)
        obj, d = _read_object(r, i, at, entry, resource, name, translator)
        for diag in d:
            diags.append(replace(diag, subject=r.where(i), address=label))
        if obj is not None:
            _place(r, state, ResourceInstanceState(addr, provider), obj, _deposed(r, entry, at, i), label, i)


def _provider_key(r: Reader, text: str, path: str, i: int) -> tuple[str, str]:
    """relight's provider key for a Terraform provider address, and the provider's name."""
    match = _PROVIDER_RE.match(text)
    if match is None:
        example = 'provider["registry.terraform.io/hashicorp/aws"]'
        r.fail(f"{path}.provider", f"{text!r} is not a provider address like {example}", i)
    name = match.group("legacy") or match.group("source").rsplit("/", 1)[-1]
    alias = match.group("alias")
    return match.group("module") + name + (f".{alias}" if alias else ""), name


def _index_key(r: Reader, entry: dict[str, Any], at: str, i: int) -> InstanceKey:
    key = entry.get("index_key")
    if key is None or isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool)):
        return key
    r.fail(f"{at}.index_key", f"expected null, an integer or a string, found {kind_of(key)}", i)


def _deposed(r: Reader, entry: dict[str, Any], at: str, i: int) -> str:
    deposed: str = r.opt(entry, "deposed", str, "", at, i)
    return deposed


def _read_object(
    r: Reader,
    i: int,
    at: str,
    entry: dict[str, Any],
    resource: ResourceAddr,
    provider_name: str,
    translator: Translator,
) -> tuple[ObjectState | None, Diagnostics]:
    if "attributes" not in entry and "attributes_flat" in entry:
        r.fail(
            at,
            "stored in the flat form Terraform 0.11 used; let Terraform 0.12 or newer rewrite it "
            "(terraform apply -refresh-only), then push it again",
            i,
        )
    status = r.opt(entry, "status", str, "ready", at, i)
    if status not in ("ready", "tainted"):
        r.fail(f"{at}.status", f'expected "tainted" or nothing, found {status!r}', i)
    ext = r.opt(entry, EXTENSION, dict, {}, at, i)
    tf = TerraformObject(
        mode=resource.mode,
        type=resource.type,
        provider=provider_name,
        schema_version=r.opt(entry, "schema_version", int, 0, at, i),
        attributes=r.get(entry, "attributes", dict, at, i),
        private=_private(r, entry, at, i),
        extras={k: entry[k] for k in ("identity", "identity_schema_version") if entry.get(k) is not None},
        overrides=r.opt(ext, "attributes", dict, {}, f"{at}.{EXTENSION}", i),
    )
    converted, diags = translator.to_relight(tf)
    if converted is None:
        return None, diags
    obj = ObjectState(
        attributes=converted.attributes,
        status="tainted" if status == "tainted" else "ready",
        dependencies=tuple(_strings(r, r.opt(entry, "dependencies", list, [], at, i), f"{at}.dependencies", i)),
        create_before_destroy=r.opt(entry, "create_before_destroy", bool, False, at, i),
        prevent_destroy=r.opt(ext, "prevent_destroy", bool, False, f"{at}.{EXTENSION}", i),
        private={**converted.private, **r.opt(ext, "private", dict, {}, f"{at}.{EXTENSION}", i)},
        schema_version=r.opt(ext, "schema_version", int, converted.schema_version, f"{at}.{EXTENSION}", i),
        sensitive_paths=_paths(r, r.opt(entry, "sensitive_attributes", list, [], at, i), at, i),
    )
    return obj, diags


def _private(r: Reader, entry: dict[str, Any], at: str, i: int) -> bytes | None:
    text = r.opt(entry, "private", str, "", at, i)
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        r.fail(f"{at}.private", "is not base64 text", i)


def _strings(r: Reader, items: list[Any], path: str, i: int) -> Iterator[str]:
    for j, item in enumerate(items):
        yield r.check(item, str, f"{path}[{j}]", i)


def _paths(r: Reader, raw: list[Any], at: str, i: int) -> tuple[AttrPath, ...]:
    paths: list[AttrPath] = []
    for j, path in enumerate(raw):
        where = f"{at}.sensitive_attributes[{j}]"
        steps = r.check(path, list, where, i)
        for k, step in enumerate(steps):
            doc = r.check(step, dict, f"{where}[{k}]", i)
            if doc.get("type") not in ("get_attr", "index") or "value" not in doc:
                r.fail(f"{where}[{k}]", 'expected {"type": "get_attr" or "index", "value": ...}', i)
        paths.append(tuple(steps))
    return tuple(paths)


def _place(
    r: Reader,
    state: State,
    empty: ResourceInstanceState,
    obj: ObjectState,
    deposed: str,
    label: str,
    i: int,
) -> None:
    prior = state.get(empty.addr) or empty
    if (prior.deposed.get(deposed) if deposed else prior.current) is not None:
        r.fail("resources", f"{label}{' (deposed ' + deposed + ')' if deposed else ''} is recorded twice", i)
    if deposed:
        state.set_deposed(empty.addr, deposed, empty.provider, obj)
    else:
        state.set_current(empty.addr, empty.provider, obj)


# -- writing -------------------------------------------------------------------------------


def to_terraform(state: State, translator: Translator) -> tuple[bytes | None, Diagnostics]:
    """``state`` as a Terraform state file (format 4), or None with error diagnostics.

    The serial and lineage are relight's, so ``terraform state push`` accepts the file where the
    stack came from (same lineage, higher serial). A state with creates in flight (a run was
    interrupted) is written with a warning: Terraform would not know what those creates made.
    """
    diags = Diagnostics()
    if state.lineage == UNASSIGNED_LINEAGE:
        diags.error("There is no state to hand back", "relight has not recorded anything here yet.")
        return None, diags
    resources: list[dict[str, Any]] = []
    for module, inst in _all_instances(state):
        entry = _resource_entry(resources, module, inst)
        for deposed, obj in _objects(inst):
            written, d = _write_object(translator, module, inst, deposed, obj)
            diags.extend(replace(x, address=x.address or str(inst.addr)) for x in d)
            if written is not None:
                entry["instances"].append(written)
    if diags.has_errors:
        return None, merge(diags)
    doc: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "terraform_version": WRITTEN_TERRAFORM_VERSION,
        "serial": state.serial,
        "lineage": state.lineage,
        "outputs": {n: _output(state.outputs[n]) for n in sorted(state.outputs)},
        "resources": [r for r in resources if r["instances"]],
        "check_results": None,
    }
    ext = _state_extension(state, diags)
    if ext:
        doc[EXTENSION] = ext
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8"), diags


def _all_instances(state: State) -> Iterator[tuple[str, ResourceInstanceState]]:
    """Root instances, then each module's, in Terraform's order (module, mode, type, name, key).

    Instances of one resource recorded with different providers (the resource moved to another
    provider alias, and an apply changed only some instances) are grouped by provider: Terraform
    has one provider per resource entry, so each group becomes an entry of its own.
    """
    for inst in sorted(state, key=_order):
        yield format_module(inst.addr.resource.module), inst


def _order(inst: ResourceInstanceState) -> tuple[object, ...]:
    r = inst.addr.resource
    key = inst.addr.sort_key()
    return (key[0], r.mode, r.type, r.name, inst.provider, *key[4:])


def _resource_entry(resources: list[dict[str, Any]], module: str, inst: ResourceInstanceState) -> dict[str, Any]:
    r = inst.addr.resource
    here = (module, r.mode, r.type, r.name, provider_address(inst.provider))
    if resources:
        last = resources[-1]
        if (last.get("module", ""), last["mode"], last["type"], last["name"], last["provider"]) == here:
            return last
    entry: dict[str, Any] = {"module": module} if module else {}
    entry.update(mode=r.mode, type=r.type, name=r.name, provider=provider_address(inst.provider), instances=[])
    resources.append(entry)
    return entry


def _objects(inst: ResourceInstanceState) -> Iterator[tuple[str, ObjectState]]:
    if inst.current is not None:
        yield "", inst.current
    for key in sorted(inst.deposed):
        yield key, inst.deposed[key]


def _write_object(
    translator: Translator, module: str, inst: ResourceInstanceState, deposed: str, obj: ObjectState
) -> tuple[dict[str, Any] | None, Diagnostics]:
    exported, diags = translator.to_terraform(inst.addr.resource, _split_provider(inst.provider)[1], obj)
    if exported is None:
        return None, diags
    out: dict[str, Any] = {}
    if inst.addr.key is not None:
        out["index_key"] = inst.addr.key
    if obj.status == "tainted":
        out["status"] = "tainted"
    if deposed:
        out["deposed"] = deposed
    out["schema_version"] = exported.schema_version
    out["attributes"] = exported.attributes
    out["sensitive_attributes"] = [[dict(step) for step in path] for path in obj.sensitive_paths]
    out.update(exported.extras)
    if exported.private:
        out["private"] = base64.b64encode(exported.private).decode("ascii")
    if obj.dependencies:
        out["dependencies"] = list(obj.dependencies)
    if obj.create_before_destroy:
        out["create_before_destroy"] = True
    ext = _object_extension(obj, exported)
    if ext:
        out[EXTENSION] = ext
    return out, diags


def _object_extension(obj: ObjectState, exported: Exported) -> dict[str, Any]:
    ext: dict[str, Any] = {}
    if obj.prevent_destroy:
        ext["prevent_destroy"] = True
    if obj.schema_version:
        ext["schema_version"] = obj.schema_version
    if exported.overrides:
        ext["attributes"] = dict(exported.overrides)
    if exported.relight_private:
        ext["private"] = dict(exported.relight_private)
    return ext


def _output(out: OutputState) -> dict[str, Any]:
    known = out.type is not None and conforms(out.value, out.type)
    doc: dict[str, Any] = {"value": out.value, "type": out.type if known else type_of(out.value)}
    if out.sensitive:
        doc["sensitive"] = True
    return doc


def _state_extension(state: State, diags: Diagnostics) -> dict[str, Any]:
    ext: dict[str, Any] = {}
    if state.retained:
        ext["retained"] = list(state.retained)
    if state.intents:
        ext["create_intents"] = {
            str(a): {"token": i.token, "provider": i.provider, "planned": dict(i.planned), "started": i.started}
            for a, i in sorted(state.intents.items(), key=lambda x: str(x[0]))
        }
        names = ", ".join(str(a) for a in sorted(state.intents, key=str))
        diags.warning(
            "Creates in flight are not part of Terraform's state",
            f"A run was interrupted while creating {names}; the objects may exist without being recorded. "
            "Run 'relight plan' first: it finds them and records them, and then they are handed over too.",
        )
    return ext

