"""The snapshot file format: JSON close to Terraform's state v4, versioned on its own.

``dumps`` writes deterministic, indented JSON (sorted keys inside attribute trees, outputs,
resources and instances in address order) so snapshots diff well. ``loads`` parses raw JSON,
then validates every field into the frozen model; anything wrong raises
:class:`StateCorruptError` naming the file, the JSON path and the fix. See
docs/state-format.md for the format itself.

The object encoders are shared with the journal, which stores one object per line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NoReturn, TypeVar, cast

from relight.addrs import InstanceAddr, InstanceKey, Mode, ModuleAddr, ModuleInstance, ResourceAddr, format_module
from relight.ctytypes import is_type
from relight.errors import StateCorruptError
from relight.state.model import AttrPath, CreateIntent, ObjectState, OutputState, ResourceInstanceState, State
from relight.values import Unknown

__all__ = [
    "FORMAT",
    "VERSION",
    "Reader",
    "corrupt_message",
    "dumps",
    "encode_line",
    "loads",
    "object_from_json",
    "object_to_json",
    "outputs_from_json",
    "outputs_to_json",
]

FORMAT = "relight-state"
VERSION = 1

_T = TypeVar("_T")


def corrupt_message(source: str, problem: str, restore_from: str | None) -> str:
    """The one wording for unreadable state, so every refusal tells the user what to do."""
    where = restore_from or "a backup"
    return f"{source}: {problem}; the file was left untouched. Restore it from {where} or fix it by hand"


# -- writing -------------------------------------------------------------------------------


def _reject(value: object) -> NoReturn:
    if isinstance(value, Unknown):
        raise TypeError("state cannot hold an unknown value; resolve it before recording")
    raise TypeError(f"state cannot hold a {type(value).__name__} value: {value!r}")


def _json_bytes(doc: object, indent: int | None) -> bytes:
    separators = (",", ": ") if indent else (",", ":")
    text = json.dumps(
        doc,
        indent=indent,
        ensure_ascii=False,
        allow_nan=False,
        default=_reject,
        separators=separators,
    )
    return text.encode("utf-8")


def _canonical(value: Any) -> Any:
    """``value`` with every object's keys sorted, so equal states give equal bytes."""
    if isinstance(value, dict):
        return {k: _canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def encode_line(doc: dict[str, Any]) -> bytes:
    """One compact JSON document plus newline (a journal record)."""
    return _json_bytes(doc, None) + b"\n"


def object_to_json(obj: ObjectState, canonical: bool = False) -> dict[str, Any]:
    tidy = _canonical if canonical else _same
    doc = {
        "status": obj.status,
        "schema_version": obj.schema_version,
        "attributes": tidy(obj.attributes),
        "private": tidy(obj.private),
        "dependencies": list(obj.dependencies),
        "create_before_destroy": obj.create_before_destroy,
        "prevent_destroy": obj.prevent_destroy,
    }
    if obj.sensitive_paths:  # only when present, so states without marks keep their bytes
        doc["sensitive_attributes"] = [[tidy(dict(step)) for step in path] for path in obj.sensitive_paths]
    return doc


def outputs_to_json(outputs: dict[str, OutputState], canonical: bool = False) -> dict[str, Any]:
    tidy = _canonical if canonical else _same
    docs = {n: {"value": tidy(outputs[n].value), "sensitive": outputs[n].sensitive} for n in sorted(outputs)}
    for name, doc in docs.items():
        if outputs[name].type is not None:
            doc["type"] = tidy(outputs[name].type)
    return docs


def _same(value: Any) -> Any:
    return value


def _resources_json(instances: Iterable[ResourceInstanceState]) -> list[dict[str, Any]]:
    groups: dict[tuple[ResourceAddr, str], list[dict[str, Any]]] = {}
    for inst in instances:
        entries = groups.setdefault((inst.addr.resource, inst.provider), [])
        if inst.current is not None:
            obj = object_to_json(inst.current, canonical=True)
            entries.append({"index_key": inst.addr.key, **obj})
        for key in sorted(inst.deposed):
            obj = object_to_json(inst.deposed[key], canonical=True)
            entries.append({"index_key": inst.addr.key, "deposed": key, **obj})
    return [_resource_head(r, p) | {"instances": entries} for (r, p), entries in groups.items()]


def dumps(state: State) -> bytes:
    """The snapshot bytes for ``state``. Raises TypeError if it holds an unknown value (a bug)."""
    resources = _resources_json(state)
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "lineage": state.lineage,
        "serial": state.serial,
        "outputs": outputs_to_json(state.outputs, canonical=True),
        "resources": resources,
    }
    if state.retained:
        doc["retained"] = [_canonical(r) for r in state.retained]
    if state.intents:
        doc["create_intents"] = {
            str(a): intent_to_json(i) for a, i in sorted(state.intents.items(), key=lambda x: str(x[0]))
        }
    return _json_bytes(doc, 2) + b"\n"


def _resource_head(res: ResourceAddr, provider: str) -> dict[str, Any]:
    """A resource entry's address fields; ``module`` only for a child module's resource (as
    Terraform writes it: ``"module.net[0]"``), so root resources keep their bytes."""
    head: dict[str, Any] = {"module": format_module(res.module)} if res.module else {}
    head.update({"mode": res.mode, "type": res.type, "name": res.name, "provider": provider})
    return head


def intent_to_json(intent: CreateIntent) -> dict[str, Any]:
    return {"token": intent.token, "provider": intent.provider, "planned": intent.planned, "started": intent.started}


def intent_from_json(r: Reader, doc: dict[str, Any], where: str) -> CreateIntent:
    return CreateIntent(
        r.get(doc, "token", str, where),
        r.get(doc, "provider", str, where),
        r.opt(doc, "planned", dict, {}, where),
        r.opt(doc, "started", str, "", where),
    )


def intents_from_json(r: Reader, doc: dict[str, Any], where: str) -> dict[InstanceAddr, CreateIntent]:
    out: dict[InstanceAddr, CreateIntent] = {}
    for raw_addr, raw in doc.items():
        at = f"{where}.{raw_addr}"
        try:
            addr = InstanceAddr.parse(raw_addr)
        except ValueError as exc:
            r.fail(at, str(exc))
        out[addr] = intent_from_json(r, r.check(raw, dict, at), at)
    return out


# -- reading -------------------------------------------------------------------------------


class Reader:
    """Typed access to parsed JSON that reports the first problem with its JSON path."""

    def __init__(self, source: str, restore_from: str | None) -> None:
        self.source = source
        self.restore_from = restore_from

    def fail(self, where: str, problem: str) -> NoReturn:
        text = f"{where}: {problem}" if where else problem
        raise StateCorruptError(corrupt_message(self.source, text, self.restore_from))

    def get(self, doc: dict[str, Any], key: str, kind: type[_T], where: str) -> _T:
        if key not in doc:
            self.fail(where, f'missing field "{key}"')
        return self.check(doc[key], kind, f"{where}.{key}" if where else key)

    def opt(self, doc: dict[str, Any], key: str, kind: type[_T], default: _T, where: str) -> _T:
        if key not in doc:
            return default
        return self.get(doc, key, kind, where)

    def check(self, value: object, kind: type[_T], where: str) -> _T:
        # bool is an int in Python; a serial of `true` is still wrong.
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            self.fail(where, f"expected {_KIND_NAMES.get(kind, kind.__name__)}, found {_json_kind(value)}")
        return cast(_T, value)

    def parse_json(self, data: bytes) -> object:
        if not data.strip():
            self.fail("", "the file is empty")
        try:
            return cast(object, json.loads(data))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.fail("", f"not valid JSON ({exc})")


_KIND_NAMES: dict[type, str] = {
    # bool before int: True is an int to isinstance.
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
}


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    for kind, name in _KIND_NAMES.items():
        if isinstance(value, kind):
            return name
    return "a number" if isinstance(value, float) else type(value).__name__


def object_from_json(r: Reader, doc: dict[str, Any], where: str) -> ObjectState:
    status = r.opt(doc, "status", str, "ready", where)
    if status not in ("ready", "tainted"):
        r.fail(f"{where}.status", f'expected "ready" or "tainted", found {status!r}')
    deps = r.opt(doc, "dependencies", list, [], where)
    for i, dep in enumerate(deps):
        r.check(dep, str, f"{where}.dependencies[{i}]")
    return ObjectState(
        attributes=r.get(doc, "attributes", dict, where),
        status="tainted" if status == "tainted" else "ready",
        dependencies=tuple(deps),
        create_before_destroy=r.opt(doc, "create_before_destroy", bool, False, where),
        prevent_destroy=r.opt(doc, "prevent_destroy", bool, False, where),
        private=r.opt(doc, "private", dict, {}, where),
        schema_version=r.opt(doc, "schema_version", int, 0, where),
        sensitive_paths=_sensitive_paths(r, r.opt(doc, "sensitive_attributes", list, [], where), where),
    )


def _sensitive_paths(r: Reader, raw: list[Any], where: str) -> tuple[AttrPath, ...]:
    """Terraform's path notation, checked step by step (see :data:`relight.state.model.AttrPath`)."""
    paths: list[AttrPath] = []
    for i, path in enumerate(raw):
        at = f"{where}.sensitive_attributes[{i}]"
        steps = r.check(path, list, at)
        for j, step in enumerate(steps):
            doc = r.check(step, dict, f"{at}[{j}]")
            if doc.get("type") not in ("get_attr", "index") or "value" not in doc:
                r.fail(f"{at}[{j}]", 'expected {"type": "get_attr" or "index", "value": ...}')
        paths.append(tuple(steps))
    return tuple(paths)


def outputs_from_json(r: Reader, doc: dict[str, Any], where: str) -> dict[str, OutputState]:
    outputs: dict[str, OutputState] = {}
    for name, raw in doc.items():
        at = f"{where}.{name}"
        out = r.check(raw, dict, at)
        if "value" not in out:
            r.fail(at, 'missing field "value"')
        ty = out.get("type")
        if ty is not None and not is_type(ty):
            r.fail(f"{at}.type", "expected a Terraform type such as \"string\" or [\"list\", \"string\"]")
        outputs[name] = OutputState(out["value"], r.opt(out, "sensitive", bool, False, at), ty)
    return outputs


def _instance_key(r: Reader, doc: dict[str, Any], where: str) -> InstanceKey:
    key = doc.get("index_key")
    if key is None or isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool)):
        return key
    r.fail(f"{where}.index_key", f"expected null, an integer or a string, found {_json_kind(key)}")


def _module(r: Reader, doc: dict[str, Any], where: str) -> ModuleInstance:
    text = r.opt(doc, "module", str, "", where)
    if not text:
        return ()
    try:
        return ModuleAddr.parse(text).module
    except ValueError as exc:
        r.fail(f"{where}.module", str(exc))


def _resource(r: Reader, doc: dict[str, Any], where: str, state: State) -> None:
    mode = r.get(doc, "mode", str, where)
    if mode not in ("managed", "data"):
        r.fail(f"{where}.mode", f'expected "managed" or "data", found {mode!r}')
    mode_: Mode = "managed" if mode == "managed" else "data"
    type_, name = r.get(doc, "type", str, where), r.get(doc, "name", str, where)
    resource = ResourceAddr(mode_, type_, name, _module(r, doc, where))
    provider = r.get(doc, "provider", str, where)
    for i, raw in enumerate(r.get(doc, "instances", list, where)):
        at = f"{where}.instances[{i}]"
        entry = r.check(raw, dict, at)
        addr = InstanceAddr(resource, _instance_key(r, entry, at))
        obj = object_from_json(r, entry, at)
        deposed = r.opt(entry, "deposed", str, "", at)
        prior = state.get(addr)
        taken = prior is not None and (prior.deposed.get(deposed) is not None if deposed else prior.current is not None)
        if taken:
            r.fail(at, f"{addr} is recorded twice")
        if deposed:
            state.set_deposed(addr, deposed, provider, obj)
        else:
            state.set_current(addr, provider, obj)


def loads(data: bytes, source: str, restore_from: str | None = None) -> State:
    """Parse snapshot bytes read from ``source``.

    Raises :class:`StateCorruptError` on invalid JSON, a foreign format, a newer version or any
    missing or mistyped field; the message names ``restore_from`` as the place to recover from.
    """
    r = Reader(source, restore_from)
    doc = r.check(r.parse_json(data), dict, "")
    fmt = doc.get("format")
    if fmt != FORMAT:
        hint = " (a Terraform state file?)" if "terraform_version" in doc else ""
        r.fail("", f'not a relight state file: "format" is {fmt!r}, expected "{FORMAT}"{hint}')
    version = r.get(doc, "version", int, "")
    if version != VERSION:
        r.fail(
            "",
            f"state format version {version} is not supported (this relight reads version {VERSION}); upgrade relight",
        )
    state = State(r.get(doc, "lineage", str, ""), r.get(doc, "serial", int, ""))
    state.outputs = outputs_from_json(r, r.get(doc, "outputs", dict, ""), "outputs")
    for i, raw in enumerate(r.get(doc, "resources", list, "")):
        _resource(r, r.check(raw, dict, f"resources[{i}]"), f"resources[{i}]", state)
    for i, raw in enumerate(r.opt(doc, "retained", list, [], "")):
        state.retained.append(r.check(raw, dict, f"retained[{i}]"))
    state.intents = intents_from_json(r, r.opt(doc, "create_intents", dict, {}, ""), "create_intents")
    return state
