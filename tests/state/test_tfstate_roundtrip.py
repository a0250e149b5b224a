"""relight -> Terraform -> relight is the identity on everything relight stores (hypothesis).

States are generated over the real providers' schemas (terraform_data and every aws type and
data source), with arbitrary attribute values of each attribute's type, nulls and empty strings
where Terraform would write zeros, sensitive paths, deposed and tainted objects, instances
in child modules, outputs with and without recorded types, retained snapshots and creates in
flight. The conversion is pure: no cloud is involved.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relight.addrs import InstanceAddr, ModuleAddr, ResourceAddr
from relight.engine.adopt import ProviderTranslator
from relight.providers.base import Attribute, ProviderContext, Schema
from relight.providers.registry import ProviderRegistry
from relight.state import CreateIntent, ObjectState, OutputState, ResourceInstanceState, State, dumps
from relight.state.tfstate import from_terraform, to_terraform
from relight.values import type_of

REGISTRY = ProviderRegistry()
SCHEMAS: dict[tuple[str, str, str], Schema] = {}
for _name in ("aws", "terraform"):
    _schema = REGISTRY.create(_name, ProviderContext()).schema()
    SCHEMAS.update({(_name, "managed", t): s for t, s in _schema.resources.items()})
    SCHEMAS.update({(_name, "data", t): s for t, s in _schema.data_sources.items()})
KINDS = sorted(SCHEMAS)

names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
text = st.text(alphabet="abcxyz0123456789-/. ", max_size=8)
scalars = st.none() | st.booleans() | st.integers(-5, 300) | text | st.just("")
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3), max_leaves=6)


def value_of(attr: Attribute) -> st.SearchStrategy[Any]:
    element = {"string": text, "number": st.integers(0, 500), "bool": st.booleans()}.get(attr.element, text)
    by_type: dict[str, st.SearchStrategy[Any]] = {
        "string": text | st.just("") | st.from_regex(r"[0-9a-f]{40}", fullmatch=True),
        "number": st.integers(0, 500) | st.just(0),
        "bool": st.booleans(),
        "list": st.lists(element, max_size=3),
        "set": st.lists(element, max_size=3, unique=True),
        "map": st.dictionaries(names, element, max_size=3),
        "any": json_values,
    }
    return st.none() | by_type[attr.type]


@st.composite
def attributes(draw: st.DrawFn, schema: Schema) -> dict[str, Any]:
    out = {n: draw(value_of(a)) for n, a in schema.attributes.items()}
    for name, block in schema.blocks.items():
        out[name] = draw(st.lists(st.fixed_dictionaries({n: value_of(a) for n, a in block.schema.attributes.items()}), max_size=2))
    return out


paths = st.lists(
    st.lists(
        st.fixed_dictionaries({"type": st.just("get_attr"), "value": names})
        | st.fixed_dictionaries({"type": st.just("index"), "value": st.fixed_dictionaries({"value": st.integers(0, 3), "type": st.just("number")})}),
        min_size=1,
        max_size=2,
    ).map(tuple),
    max_size=2,
).map(tuple)


@st.composite
def objects(draw: st.DrawFn, schema: Schema, mode: str) -> ObjectState:
    return ObjectState(
        attributes=draw(attributes(schema)),
        status=draw(st.sampled_from(["ready", "tainted"])) if mode == "managed" else "ready",
        dependencies=tuple(draw(st.lists(st.sampled_from(["aws_vpc.main", "data.aws_ami.x", "module.net.aws_subnet.a"]), unique=True, max_size=2))),
        create_before_destroy=draw(st.booleans()),
        prevent_destroy=draw(st.booleans()),
        private=draw(st.dictionaries(names.filter(lambda n: n != "terraform"), json_values, max_size=2)),
        schema_version=draw(st.integers(0, 2)),
        sensitive_paths=draw(paths),
    )


@st.composite
def instances(draw: st.DrawFn, module: str) -> ResourceInstanceState:
    provider, mode, type_ = draw(st.sampled_from(KINDS))
    schema = SCHEMAS[(provider, mode, type_)]
    key = draw(st.none() | st.integers(0, 3) | names)
    in_module = ModuleAddr.parse(module).module if module else ()
    addr = ResourceAddr(mode, type_, draw(names), in_module).instance(key)  # type: ignore[arg-type]
    alias = draw(st.sampled_from(["", ".west"])) if provider == "aws" else ""
    key_prefix = draw(st.sampled_from(["", f"{module}."])) if module else ""
    current = draw(st.none() | objects(schema, mode)) if mode == "managed" else draw(objects(schema, mode))
    deposed = draw(st.dictionaries(st.from_regex(r"[0-9a-f]{8}", fullmatch=True), objects(schema, mode), max_size=1)) if mode == "managed" else {}
    if current is None and not deposed:
        current = draw(objects(schema, mode))
    return ResourceInstanceState(addr, key_prefix + provider + alias, current, deposed)


@st.composite
def outputs(draw: st.DrawFn) -> OutputState:
    value = draw(json_values.filter(lambda v: v is not None))
    typed = draw(st.booleans()) and isinstance(value, list) and all(isinstance(v, str) for v in value)
    return OutputState(value, draw(st.booleans()), ["list", "string"] if typed and value else None)


@st.composite
def states(draw: st.DrawFn) -> State:
    state = State(draw(st.uuids()).hex, draw(st.integers(0, 1000)))  # never the unassigned lineage
    for inst in draw(st.lists(instances(""), max_size=6)):
        if state.get(inst.addr) is None:
            state.set_current(inst.addr, inst.provider, inst.current)
            for key, obj in inst.deposed.items():
                state.set_deposed(inst.addr, key, inst.provider, obj)
    for module in draw(st.lists(st.sampled_from(["module.net", 'module.app["blue"]']), unique=True, max_size=2)):
        for inst in draw(st.lists(instances(module), max_size=3)):
            if state.get(inst.addr) is None:
                state.set_instance(inst)
    state.outputs = draw(st.dictionaries(names, outputs(), max_size=3))
    state.retained = draw(st.lists(st.fixed_dictionaries({"id": text, "of": text}), max_size=2))
    for key in draw(st.lists(names, unique=True, max_size=2)):
        state.intents[InstanceAddr.parse(f"aws_instance.{key}")] = CreateIntent(draw(text), "aws", {"ami": draw(text)}, "")
    return state


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states())
def test_relight_to_terraform_and_back_is_identity(state: State) -> None:
    translator = ProviderTranslator(REGISTRY)
    data, diags = to_terraform(state, translator)
    assert data is not None and not diags.has_errors, list(diags)
    back, diags = from_terraform(data, "handback.tfstate", translator)
    assert back is not None, list(diags)
    want, got = dumps(state).decode(), dumps(back).decode()
    assert got == want, "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True)))
    assert back == state


@settings(max_examples=60, deadline=None)
@given(json_values)
def test_a_terraform_data_value_keeps_its_recorded_type(value: Any) -> None:
    """Terraform records the type of terraform_data's input; a list typed as a list comes back so."""
    ty = ["list", "string"] if isinstance(value, list) and all(isinstance(v, str) for v in value) else type_of(value)
    tf = {
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": 1,
        "lineage": "l",
        "outputs": {},
        "resources": [
            {
                "mode": "managed",
                "type": "terraform_data",
                "name": "x",
                "provider": 'provider["terraform.io/builtin/terraform"]',
                "instances": [
                    {
                        "schema_version": 0,
                        "attributes": {"id": "1", "input": None if value is None else {"value": value, "type": ty}, "output": None, "triggers_replace": None},
                        "sensitive_attributes": [],
                    }
                ],
            }
        ],
        "check_results": None,
    }
    translator = ProviderTranslator(REGISTRY)
    state, _ = from_terraform(json.dumps(tf).encode(), "t", translator)
    assert state is not None
    data, _ = to_terraform(state, translator)
    assert data is not None
    assert json.loads(data)["resources"] == tf["resources"]
