"""Terraform's state format <-> State: the envelope (relight.state.tfstate), with a stand-in translator.

Attributes pass through the translator below unchanged, so these tests pin what the envelope
keeps: index keys, module paths, deposed and tainted objects, data sources, outputs, sensitive
paths, dependencies, create_before_destroy, lineage and serial, relight's own additions, and
the refusals (a truncated file, version 3, a broken field), each naming where it is.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from relight.addrs import InstanceAddr, ResourceAddr, format_module
from relight.diagnostics import Diagnostics
from relight.state import ObjectState, OutputState, State
from relight.state.tfstate import (
    Converted,
    Exported,
    TerraformObject,
    from_terraform,
    is_terraform_state,
    provider_address,
    to_terraform,
)

SECRET = [[{"type": "get_attr", "value": "input"}]]


class Passthrough:
    """Attributes as they are; refuses the type ``bad_thing`` and schema versions above 3."""

    def to_relight(self, obj: TerraformObject) -> tuple[Converted | None, Diagnostics]:
        diags = Diagnostics()
        if obj.type == "bad_thing" or obj.schema_version > 3:
            diags.error(f"Unsupported resource type {obj.type}")
            return None, diags
        private = {"tf": obj.private.decode()} if obj.private else {}
        if obj.extras:
            private["extras"] = dict(obj.extras)
        return Converted(dict(obj.attributes), private, 0), diags

    def to_terraform(self, resource: ResourceAddr, provider: str, obj: ObjectState) -> tuple[Exported | None, Diagnostics]:
        private = obj.private.get("tf")
        return (
            Exported(
                schema_version=1,
                attributes=dict(obj.attributes),
                private=private.encode() if isinstance(private, str) else None,
                extras=obj.private.get("extras", {}),
            ),
            Diagnostics(),
        )


def tf_state(resources: list[dict[str, Any]], **top: Any) -> dict[str, Any]:
    doc = {
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": 8,
        "lineage": "d7c72217-91dc-de68-bfdd-c583266714dd",
        "outputs": {},
        "resources": resources,
        "check_results": None,
    }
    doc.update(top)
    return doc


def res(type_: str, name: str, instances: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    provider = extra.pop("provider", 'provider["registry.terraform.io/hashicorp/fake"]')
    return {**extra, "mode": extra.pop("mode", "managed"), "type": type_, "name": name, "provider": provider, "instances": instances}


def inst(attrs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schema_version": 1, "attributes": attrs, "sensitive_attributes": [], **extra}


def read(doc: dict[str, Any] | bytes) -> tuple[State | None, Diagnostics]:
    data = doc if isinstance(doc, bytes) else json.dumps(doc, indent=2).encode()
    return from_terraform(data, "terraform.tfstate", Passthrough())


def write(state: State) -> dict[str, Any]:
    data, diags = to_terraform(state, Passthrough())
    assert data is not None and not diags.has_errors, list(diags)
    doc: dict[str, Any] = json.loads(data)
    return doc


RICH = tf_state(
    [
        res("fake_thing", "one", [inst({"id": "a"}, private="eyJ4IjoxfQ==", dependencies=["fake_thing.zero"])]),
        res("fake_thing", "web", [inst({"id": "w0"}, index_key=0, create_before_destroy=True), inst({"id": "w1"}, index_key=1)]),
        res("fake_thing", "svc", [inst({"id": "sa"}, index_key="a", status="tainted"), inst({"id": "old"}, index_key="a", deposed="00000001")]),
        res("fake_thing", "secret", [inst({"id": "s", "input": "hunter2"}, sensitive_attributes=SECRET)]),
        res("fake_src", "ami", [inst({"id": "ami-1"})], mode="data"),
        res("fake_thing", "west", [inst({"id": "x"})], provider='provider["registry.terraform.io/hashicorp/fake"].west'),
        res("fake_thing", "sub", [inst({"id": "m"}, identity={"id": "m"}, identity_schema_version=0)], module="module.net"),
        res("fake_thing", "keyed", [inst({"id": "k"}, index_key=2)], module='module.app["blue"].module.db'),
        res("fake_thing", "own", [inst({"id": "p"})], module="module.net", provider='module.net.provider["registry.terraform.io/hashicorp/fake"]'),
    ],
    outputs={
        "names": {"value": ["a", "b"], "type": ["list", "string"]},
        "secret": {"value": "hunter2", "type": "string", "sensitive": True},
    },
)


def test_a_terraform_state_reads_with_everything_it_records() -> None:
    state, diags = read(RICH)
    assert state is not None and not diags.has_errors, list(diags)
    assert (state.lineage, state.serial) == ("d7c72217-91dc-de68-bfdd-c583266714dd", 8)
    one = state.current(InstanceAddr.parse("fake_thing.one"))
    assert one is not None and one.dependencies == ("fake_thing.zero",) and one.private == {"tf": '{"x":1}'}
    web0 = state.current(InstanceAddr.parse("fake_thing.web[0]"))
    assert web0 is not None and web0.create_before_destroy
    svc = state.get(InstanceAddr.parse('fake_thing.svc["a"]'))
    assert svc is not None and svc.current is not None and svc.current.status == "tainted"
    assert set(svc.deposed) == {"00000001"} and svc.deposed["00000001"].attributes == {"id": "old"}
    secret = state.current(InstanceAddr.parse("fake_thing.secret"))
    assert secret is not None and [list(p) for p in secret.sensitive_paths] == SECRET
    assert state.current(InstanceAddr.parse("data.fake_src.ami")) is not None
    west = state.get(InstanceAddr.parse("fake_thing.west"))
    assert west is not None and west.provider == "fake.west"
    modules = sorted({format_module(a.resource.module) for a in state.addresses() if a.resource.module})
    assert modules == ['module.app["blue"].module.db', "module.net"]
    own = state.get(InstanceAddr.parse("module.net.fake_thing.own"))
    assert own is not None and own.provider == "module.net.fake"
    keyed = state.get(InstanceAddr.parse('module.app["blue"].module.db.fake_thing.keyed[2]'))
    assert keyed is not None and keyed.current is not None and keyed.current.attributes["id"] == "k"
    assert state.outputs == {
        "names": OutputState(["a", "b"], False, ["list", "string"]),
        "secret": OutputState("hunter2", True),
    }


def test_writing_it_back_gives_terraform_the_same_state() -> None:
    state, _ = read(RICH)
    assert state is not None
    back = write(state)
    want = copy.deepcopy(RICH)
    want["terraform_version"] = back["terraform_version"]
    key = lambda r: (r.get("module", ""), r["mode"], r["type"], r["name"])  # noqa: E731
    want["resources"].sort(key=key)
    for r in want["resources"]:
        r["instances"].sort(key=lambda i: (i.get("deposed", ""), str(i.get("index_key"))))
    for r in back["resources"]:
        r["instances"].sort(key=lambda i: (i.get("deposed", ""), str(i.get("index_key"))))
    assert back == want


def test_relight_only_facts_travel_beside_terraforms() -> None:
    state = State("lin", 4)
    addr = InstanceAddr.parse("fake_thing.db")
    state.set_current(addr, "fake", ObjectState({"id": "v"}, prevent_destroy=True, schema_version=2))
    state.retained.append({"id": "snap-1", "of": "vol-1"})
    back, diags = read(json.dumps(write(state)).encode())
    assert back is not None and not diags.has_errors
    obj = back.current(addr)
    assert obj is not None and obj.prevent_destroy and obj.schema_version == 2
    assert back.retained == [{"id": "snap-1", "of": "vol-1"}]


def test_creates_in_flight_are_written_with_a_warning() -> None:
    from relight.state import CreateIntent

    state = State("lin", 4)
    state.intents[InstanceAddr.parse("fake_thing.x")] = CreateIntent("tok", "fake", {"name": "x"})
    data, diags = to_terraform(state, Passthrough())
    assert data is not None and [d.summary for d in diags] == ["Creates in flight are not part of Terraform's state"]
    back, _ = read(data)
    assert back is not None and back.intents == state.intents


@pytest.mark.parametrize(
    ("provider", "address"),
    [
        ("aws", 'provider["registry.terraform.io/hashicorp/aws"]'),
        ("aws.west", 'provider["registry.terraform.io/hashicorp/aws"].west'),
        ("terraform", 'provider["terraform.io/builtin/terraform"]'),
        ('module.app["a.b"].aws', 'module.app["a.b"].provider["registry.terraform.io/hashicorp/aws"]'),
    ],
)
def test_provider_addresses(provider: str, address: str) -> None:
    assert provider_address(provider) == address


def test_legacy_provider_addresses_of_terraform_0_12_read() -> None:
    state, diags = read(tf_state([res("fake_thing", "a", [inst({"id": "a"})], provider="provider.fake")]))
    assert state is not None and not diags.has_errors
    found = state.get(InstanceAddr.parse("fake_thing.a"))
    assert found is not None and found.provider == "fake"


def test_sniffing_tells_the_formats_apart_even_when_damaged() -> None:
    assert is_terraform_state(json.dumps(RICH).encode()[:200])
    assert not is_terraform_state(b'{"format": "relight-state", "version": 1, "lineage": "x"}')


# -- refusals: one table, each names the problem and where it is --------------------------

GOOD = json.dumps(tf_state([res("fake_thing", "a", [inst({"id": "a"})])]), indent=2)


def broken(**change: Any) -> bytes:
    doc = tf_state([res("fake_thing", "a", [inst({"id": "a"})])])
    doc.update(change)
    return json.dumps(doc, indent=2).encode()


def with_instance(**change: Any) -> bytes:
    return json.dumps(tf_state([res("fake_thing", "a", [inst({"id": "a"}, **change)])]), indent=2).encode()


REFUSALS: list[tuple[str, bytes, str, int | None]] = [
    ("truncated", GOOD[: len(GOOD) // 2].encode(), "probably truncated", None),
    ("empty", b"  \n", "is empty", None),
    ("not an object", b"[1, 2]", "does not hold a JSON object", None),
    ("version 3", broken(version=3), "format version 3 was written by Terraform 0.11 or older", None),
    ("version 5", broken(version=5), "format version 5 is newer", None),
    ("no lineage", broken(lineage=""), "lineage: is empty", None),
    ("serial as text", broken(serial="8"), "serial: expected an integer, found a string", None),
    ("unknown type", json.dumps(tf_state([res("bad_thing", "a", [inst({})])])).encode(), "Unsupported resource type bad_thing", 1),
    ("future schema", with_instance(schema_version=9), "Unsupported resource type fake_thing", 8),
    ("index key", with_instance(index_key=1.5), "index_key: expected null, an integer or a string", 8),
    ("private", with_instance(private="***"), "private: is not base64 text", 8),
    ("flat attributes", json.dumps(tf_state([res("fake_thing", "a", [{"attributes_flat": {"id": "a"}}])])).encode(), "flat form Terraform 0.11 used", None),
    ("sensitive path", with_instance(sensitive_attributes=[[{"type": "nope"}]]), 'expected {"type": "get_attr" or "index"', 8),
    ("status", with_instance(status="gone"), 'expected "tainted" or nothing', 8),
    ("module path", json.dumps(tf_state([res("fake_thing", "a", [inst({})], module="mod.x")])).encode(), "is not a module path", None),
    ("provider", json.dumps(tf_state([res("fake_thing", "a", [inst({})], provider="aws")])).encode(), "is not a provider address", None),
    ("twice", json.dumps(tf_state([res("fake_thing", "a", [inst({"id": "1"}), inst({"id": "2"})])])).encode(), "fake_thing.a is recorded twice", None),
]


@pytest.mark.parametrize(("case", "data", "message", "line"), REFUSALS, ids=[c[0] for c in REFUSALS])
def test_bad_input_is_refused_with_a_message_naming_it(case: str, data: bytes, message: str, line: int | None) -> None:
    state, diags = read(data)
    assert state is None and diags.has_errors
    text = " ".join(f"{d.summary} {d.detail}" for d in diags)
    assert message in text
    if line is not None:
        subject = diags.errors[0].subject
        assert subject is not None and subject.filename == "terraform.tfstate" and subject.start.line == line


def test_a_truncated_file_points_at_where_it_ends() -> None:
    state, diags = read(GOOD[:120].encode())
    assert state is None
    subject = diags.errors[0].subject
    assert subject is not None and subject.start.line == GOOD[:120].count("\n") + 1


def test_an_unknown_type_with_many_instances_is_one_message_naming_each() -> None:
    doc = tf_state([res("bad_thing", "a", [inst({}, index_key=i) for i in range(3)])])
    state, diags = read(doc)
    assert state is None and len(diags.errors) == 1
    assert "Also: bad_thing.a[1], bad_thing.a[2]" in diags.errors[0].detail
    assert diags.errors[0].address == "bad_thing.a[0]"


def test_a_state_never_written_is_not_handed_back() -> None:
    data, diags = to_terraform(State(""), Passthrough())
    assert data is None and diags.errors[0].summary == "There is no state to hand back"
