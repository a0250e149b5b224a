"""The state model and the snapshot codec: round trips, the pinned shape, and refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relight.addrs import InstanceAddr, ResourceAddr
from relight.errors import StateCorruptError
from relight.state import ObjectState, OutputState, State, dumps, loads
from relight.values import UNKNOWN

WEB = ResourceAddr.managed("aws_instance", "web")
AMI = ResourceAddr.data("aws_ami", "base")


def obj(**attrs: Any) -> ObjectState:
    return ObjectState(attributes=dict(attrs))


# -- model ---------------------------------------------------------------------------------


def test_set_and_remove_keep_the_resource_index() -> None:
    s = State.new()
    s.set_current(WEB.instance(1), "aws", obj(id="i-1"))
    s.set_current(WEB.instance(0), "aws", obj(id="i-0"))
    s.set_current(AMI.instance(), "aws", obj(id="ami-1"))
    assert [str(i.addr) for i in s.resource_instances(WEB)] == [
        "aws_instance.web[0]",
        "aws_instance.web[1]",
    ]
    assert [str(a) for a in s.addresses()] == [
        "data.aws_ami.base",
        "aws_instance.web[0]",
        "aws_instance.web[1]",
    ]
    s.remove(WEB.instance(0))
    s.remove(WEB.instance(1))
    assert s.resource_instances(WEB) == []
    assert s.resources() == [AMI]


def test_setting_none_drops_an_instance_unless_deposed_objects_remain() -> None:
    s = State.new()
    addr = WEB.instance()
    s.set_current(addr, "aws", obj(id="old"))
    s.set_deposed(addr, "d1", "aws", obj(id="older"))
    s.set_current(addr, "aws", None)
    inst = s.get(addr)
    assert inst is not None and inst.current is None and set(inst.deposed) == {"d1"}
    s.set_deposed(addr, "d1", "aws", None)
    assert s.get(addr) is None and len(s) == 0


def test_copy_is_independent_and_equal() -> None:
    s = State.new()
    s.set_current(WEB.instance(), "aws", obj(id="a"))
    s.outputs["ip"] = OutputState("10.0.0.1")
    twin = s.copy()
    assert twin == s
    twin.set_current(WEB.instance(), "aws", obj(id="b"))
    twin.outputs["ip"] = OutputState("10.0.0.2")
    assert s.current(WEB.instance()) == obj(id="a")
    assert s.outputs["ip"].value == "10.0.0.1"
    assert twin != s and not twin.same_content(s)


# -- codec round trip ----------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
attribute_dicts = st.dictionaries(st.text(), json_values, max_size=6)
keys = st.none() | st.integers(min_value=0, max_value=50) | st.text(max_size=8)


@settings(max_examples=150, deadline=None)
@given(
    attrs=attribute_dicts,
    private=attribute_dicts,
    key=keys,
    tainted=st.booleans(),
    deposed=st.dictionaries(st.text(min_size=1, max_size=8), attribute_dicts, max_size=2),
    output=json_values,
)
def test_arbitrary_states_survive_a_round_trip(
    attrs: dict[str, Any],
    private: dict[str, Any],
    key: int | str | None,
    tainted: bool,
    deposed: dict[str, dict[str, Any]],
    output: Any,
) -> None:
    s = State.new()
    s.serial = 7
    addr = WEB.instance(key)
    s.set_current(
        addr,
        "aws",
        ObjectState(
            attributes=attrs,
            status="tainted" if tainted else "ready",
            dependencies=("aws_vpc.main", "data.aws_ami.base"),
            create_before_destroy=True,
            prevent_destroy=tainted,
            private=private,
            schema_version=3,
        ),
    )
    for dkey, dattrs in deposed.items():
        s.set_deposed(addr, dkey, "aws", obj(**dattrs))
    s.outputs["out"] = OutputState(output, sensitive=True)
    back = loads(dumps(s), "mem")
    assert back == s
    assert dumps(back) == dumps(s)


def test_snapshot_shape_is_pinned() -> None:
    s = State("11111111-2222-4333-8444-555555555555", 3)
    s.set_current(WEB.instance(0), "aws", ObjectState({"id": "i-0"}, dependencies=("aws_vpc.a",)))
    s.set_deposed(WEB.instance(0), "0badcafe", "aws", ObjectState({"id": "i-old"}))
    s.outputs["ip"] = OutputState("10.0.0.5")
    doc = json.loads(dumps(s))
    common = {
        "status": "ready",
        "schema_version": 0,
        "private": {},
        "create_before_destroy": False,
        "prevent_destroy": False,
    }
    assert doc == {
        "format": "relight-state",
        "version": 1,
        "lineage": "11111111-2222-4333-8444-555555555555",
        "serial": 3,
        "outputs": {"ip": {"value": "10.0.0.5", "sensitive": False}},
        "resources": [
            {
                "mode": "managed",
                "type": "aws_instance",
                "name": "web",
                "provider": "aws",
                "instances": [
                    {
                        "index_key": 0,
                        "attributes": {"id": "i-0"},
                        "dependencies": ["aws_vpc.a"],
                        **common,
                    },
                    {
                        "index_key": 0,
                        "deposed": "0badcafe",
                        "attributes": {"id": "i-old"},
                        "dependencies": [],
                        **common,
                    },
                ],
            }
        ],
    }


def test_an_unknown_value_is_never_written() -> None:
    s = State.new()
    s.set_current(WEB.instance(), "aws", obj(id=UNKNOWN))
    with pytest.raises(TypeError, match="unknown"):
        dumps(s)


# -- codec refusals ------------------------------------------------------------------------


def _valid() -> dict[str, Any]:
    s = State("11111111-2222-4333-8444-555555555555", 1)
    s.set_current(InstanceAddr.parse("aws_instance.web"), "aws", obj(id="i-1"))
    doc: dict[str, Any] = json.loads(dumps(s))
    return doc


def _mutated(change: Any) -> bytes:
    doc = _valid()
    change(doc)
    return json.dumps(doc).encode()


def _set_instance(field: str, value: Any) -> Any:
    return lambda d: d["resources"][0]["instances"][0].__setitem__(field, value)


CORRUPT_CASES: list[tuple[str, bytes, str]] = [
    ("empty", b"", "the file is empty"),
    ("whitespace", b"  \n", "the file is empty"),
    ("truncated", dumps(State.new())[:40], "not valid JSON"),
    ("binary", b"\xff\xfe\x00garbage", "not valid JSON"),
    ("array", b"[]", "expected an object, found an array"),
    ("terraform", b'{"version": 4, "terraform_version": "1.11.4"}', "a Terraform state file?"),
    ("newer", _mutated(lambda d: d.__setitem__("version", 2)), "version 2 is not supported"),
    ("no lineage", _mutated(lambda d: d.pop("lineage")), 'missing field "lineage"'),
    ("serial type", _mutated(lambda d: d.__setitem__("serial", "1")), "serial: expected an int"),
    ("serial bool", _mutated(lambda d: d.__setitem__("serial", True)), "found a boolean"),
    ("status", _mutated(_set_instance("status", "gone")), "instances[0].status"),
    ("attributes", _mutated(_set_instance("attributes", [1])), "attributes: expected an object"),
    ("index key", _mutated(_set_instance("index_key", 1.5)), "index_key"),
    ("dependency", _mutated(_set_instance("dependencies", [3])), "dependencies[0]"),
    ("mode", _mutated(lambda d: d["resources"][0].__setitem__("mode", "x")), "mode"),
    (
        "duplicate",
        _mutated(lambda d: d["resources"].append(d["resources"][0])),
        "aws_instance.web is recorded twice",
    ),
    ("output", _mutated(lambda d: d.__setitem__("outputs", {"x": {}})), "outputs.x: missing"),
]


@pytest.mark.parametrize(("data", "problem"), [c[1:] for c in CORRUPT_CASES], ids=[c[0] for c in CORRUPT_CASES])
def test_bad_snapshots_are_refused_with_a_way_out(data: bytes, problem: str) -> None:
    with pytest.raises(StateCorruptError) as err:
        loads(data, "dir/relight.tfstate", restore_from="dir/.relight/history/x/00000001.json")
    message = str(err.value)
    assert message.startswith("dir/relight.tfstate: ")
    assert problem in message
    assert "the file was left untouched" in message
    assert "Restore it from dir/.relight/history/x/00000001.json or fix it by hand" in message
