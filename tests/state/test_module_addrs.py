"""Module addresses: parsing and printing as Terraform spells them, their order, and their place
in the state file, the journal and moves."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relight.addrs import InstanceAddr, ModuleAddr, ResourceAddr, parse_target
from relight.state import ObjectState, State, dumps, loads

# text, module instance, mode, type, name, key
PARSED: list[tuple[str, tuple[tuple[str, object], ...], str, str, str, object]] = [
    ("aws_instance.web", (), "managed", "aws_instance", "web", None),
    ('data.aws_ami.base["a"]', (), "data", "aws_ami", "base", "a"),
    ("module.net.aws_subnet.a", (("net", None),), "managed", "aws_subnet", "a", None),
    ("module.net[0].aws_subnet.a[2]", (("net", 0),), "managed", "aws_subnet", "a", 2),
    ('module.app["blue"].module.db.data.aws_ami.z', (("app", "blue"), ("db", None)), "data", "aws_ami", "z", None),
    ('module.a["x.y"].module.b[10].t_t.n["k"]', (("a", "x.y"), ("b", 10)), "managed", "t_t", "n", "k"),
]


@pytest.mark.parametrize(("text", "module", "mode", "type_", "name", "key"), PARSED)
def test_instance_addresses_parse_and_print_as_terraform_does(
    text: str, module: tuple[tuple[str, object], ...], mode: str, type_: str, name: str, key: object
) -> None:
    addr = InstanceAddr.parse(text)
    assert (addr.resource.module, addr.resource.mode, addr.resource.type, addr.resource.name, addr.key) == (
        module,
        mode,
        type_,
        name,
        key,
    )
    assert str(addr) == text


BAD = ["module.net", "module.net[0]", "module..x.y", "module.net.", "aws_instance", "module.x.y", "a.b.c"]


@pytest.mark.parametrize("text", BAD)
def test_bad_instance_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        InstanceAddr.parse(text)


TARGETS: list[tuple[str, type]] = [
    ("module.net", ModuleAddr),
    ('module.app["a"].module.db', ModuleAddr),
    ("module.net.aws_subnet.a", InstanceAddr),
    ("aws_vpc.main", InstanceAddr),
]


@pytest.mark.parametrize(("text", "kind"), TARGETS)
def test_targets_are_modules_or_resources(text: str, kind: type) -> None:
    target = parse_target(text)
    assert isinstance(target, kind) and str(target) == text


def test_configuration_and_relative_addresses() -> None:
    res = InstanceAddr.parse('module.app["a"].module.db[1].aws_instance.x[0]').resource
    assert str(res.config_addr()) == "module.app.module.db.aws_instance.x"
    assert str(res.relative()) == "aws_instance.x"
    assert res.module_path == ("app", "db")
    assert ResourceAddr.managed("aws_vpc", "v").in_module((("net", 0),)) == ResourceAddr.parse("module.net[0].aws_vpc.v")


def test_module_address_contains_its_instances_and_a_keyless_step_every_key() -> None:
    calls = ModuleAddr.parse("module.app")
    one = ModuleAddr.parse('module.app["a"]')
    assert calls.contains((("app", "a"),)) and calls.contains((("app", "b"), ("db", None)))
    assert one.contains((("app", "a"), ("db", 0))) and not one.contains((("app", "b"),))
    assert not calls.contains((("other", None),)) and not calls.contains(())


def test_root_addresses_sort_before_module_addresses_and_keys_sort_by_kind() -> None:
    texts = [
        'module.b["x"].t.a',
        "module.b[1].t.a",
        "module.a.t.z",
        "t.b",
        "data.t.a",
        "module.b.t.a",
    ]
    ordered = sorted((InstanceAddr.parse(t) for t in texts), key=InstanceAddr.sort_key)
    assert [str(a) for a in ordered] == [
        "data.t.a",
        "t.b",
        "module.a.t.z",
        "module.b.t.a",
        "module.b[1].t.a",
        'module.b["x"].t.a',
    ]


_names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True)
_keys = st.one_of(st.none(), st.integers(0, 99), st.text(min_size=0, max_size=6))
_modules = st.lists(st.tuples(_names, _keys), max_size=3).map(tuple)


@settings(max_examples=200, deadline=None)
@given(_modules, st.sampled_from(["managed", "data"]), _names, _names, _keys)
def test_every_address_round_trips_through_its_text(
    module: tuple[tuple[str, object], ...], mode: str, type_: str, name: str, key: object
) -> None:
    res = ResourceAddr(mode, type_, name, module)  # type: ignore[arg-type]
    addr = InstanceAddr(res, key)  # type: ignore[arg-type]
    assert InstanceAddr.parse(str(addr)) == addr
    if module:
        assert ModuleAddr.parse(str(ModuleAddr(module))).module == module  # type: ignore[arg-type]


def test_the_state_file_writes_terraform_s_module_field_and_reads_it_back() -> None:
    state = State.new()
    root = InstanceAddr.parse("aws_vpc.main")
    child = InstanceAddr.parse('module.ghe["primary"].aws_instance.node')
    state.set_current(root, "aws", ObjectState({"id": "vpc-1"}))
    state.set_current(child, "aws", ObjectState({"id": "i-1"}, dependencies=("module.network.aws_subnet.private",)))
    data = dumps(state)
    doc = json.loads(data)
    assert [r.get("module") for r in doc["resources"]] == [None, 'module.ghe["primary"]']
    assert "module" not in doc["resources"][0]  # root resources keep their bytes
    back = loads(data, "relight.tfstate")
    assert back == state
    assert back.current(child) is not None and back.current(child).dependencies == ("module.network.aws_subnet.private",)  # type: ignore[union-attr]


def test_a_damaged_module_field_is_refused_with_its_path() -> None:
    state = State.new()
    state.set_current(InstanceAddr.parse("module.a.t.x"), "fake", ObjectState({"id": "1"}))
    doc = json.loads(dumps(state))
    doc["resources"][0]["module"] = "module.a["
    with pytest.raises(Exception, match=r"resources\[0\]\.module"):
        loads(json.dumps(doc).encode(), "relight.tfstate")


def test_moves_between_modules_keep_keys_and_everything_recorded() -> None:
    state = State.new()
    for text in ("module.old.t.a", "module.old.module.sub.t.b", "module.many[0].t.a", "module.many[1].t.a", "t.z"):
        state.set_current(InstanceAddr.parse(text), "fake", ObjectState({"id": text}))
    pairs = state.move_pairs(ModuleAddr.parse("module.old"), ModuleAddr.parse('module.new["k"]'))
    assert [(str(a), str(b)) for a, b in pairs] == [
        ("module.old.t.a", 'module.new["k"].t.a'),
        ("module.old.module.sub.t.b", 'module.new["k"].module.sub.t.b'),
    ]
    renamed = state.move_pairs(ModuleAddr.parse("module.many"), ModuleAddr.parse("module.lots"))
    assert [(str(a), str(b)) for a, b in renamed] == [
        ("module.many[0].t.a", "module.lots[0].t.a"),
        ("module.many[1].t.a", "module.lots[1].t.a"),
    ]
    into = state.move_pairs(ResourceAddr.parse("t.z"), ResourceAddr.parse("module.m.t.z"))
    assert [(str(a), str(b)) for a, b in into] == [("t.z", "module.m.t.z")]
    assert state.move_pairs(ModuleAddr.parse("module.old"), ResourceAddr.parse("t.q")) == []
