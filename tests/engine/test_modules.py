"""Module calls end to end against the fake provider: shapes planned and applied, moves into and
between modules, removed instances, targeting, provider configurations, and the errors."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from relight.addrs import InstanceAddr, parse_target
from relight.diagnostics import Diagnostics
from relight.engine import (
    FEATURES,
    Action,
    Engine,
    Plan,
    PlanMode,
    PlanOptions,
    decode_plan,
    encode_plan,
    validate_schemas,
)
from relight.lang import load_config, validate_references
from relight.providers.base import Attribute as SchemaAttribute
from relight.providers.base import CreateRequest, CreateResponse, ImportRequest, ImportResponse, Schema
from relight.providers.registry import ProviderRegistry
from relight.state import LocalBackend

from .conftest import Workspace
from .fakes import FakeCloud, FakeProvider, FakeThing


class ZonedThing(FakeThing):
    """A fake_thing that records the ``zone`` of the provider configuration that created it."""

    name = "fake_zoned"
    schema = Schema(attributes={**FakeThing.schema.attributes, "zone": SchemaAttribute("string", computed=True)})

    def create(self, req: CreateRequest) -> CreateResponse:
        zone = str(self.provider.config.get("zone", "default"))
        return super().create(CreateRequest(req.type_name, {**req.planned_state, "zone": zone}, req.config, req.token))


    def import_(self, req: ImportRequest) -> ImportResponse:
        found = self.cloud.objects.get(req.id)
        return ImportResponse(dict(found) if found is not None else None)


class ZonedProvider(FakeProvider):
    resource_types = (FakeThing, ZonedThing)


def registry(cloud: FakeCloud) -> ProviderRegistry:
    reg = ProviderRegistry()
    reg.register("fake", lambda context: ZonedProvider(cloud))
    return reg


def write_tree(ws: Workspace, files: dict[str, str]) -> None:
    for name, text in files.items():
        ws.write(textwrap.dedent(text), name)


def engine(ws: Workspace) -> tuple[Engine | None, Diagnostics]:
    config, diags = load_config(str(ws.root), engine_features=FEATURES)
    if config is not None and not diags.has_errors:
        diags.extend(validate_references(config))
    if config is None or diags.has_errors:
        return None, diags
    return Engine(config, LocalBackend(str(ws.root / "relight.tfstate")), registry(ws.cloud), {}), diags


def options(opts: dict[str, Any]) -> PlanOptions:
    if "targets" in opts:
        opts["targets"] = tuple(parse_target(t) for t in opts["targets"])
    return PlanOptions(**opts)


def plan(ws: Workspace, **opts: Any) -> Plan:
    eng, diags = engine(ws)
    assert eng is not None, [f"{d.subject}: {d.summary}: {d.detail}" for d in diags]
    result, diags = eng.plan(options(opts))
    assert not diags.has_errors, [f"{d.subject}: {d.summary}: {d.detail}" for d in diags]
    return result


def apply(ws: Workspace, **opts: Any) -> Plan:
    eng, diags = engine(ws)
    assert eng is not None, [f"{d.subject}: {d.summary}: {d.detail}" for d in diags]
    with eng.lock("apply"):
        made, diags = eng.plan(options(opts))
        assert not diags.has_errors, [f"{d.subject}: {d.summary}: {d.detail}" for d in diags]
        _, diags = eng.apply(made)
    assert not diags.has_errors, [f"{d.subject}: {d.summary}: {d.detail}" for d in diags]
    return made


def actions(made: Plan) -> dict[str, str]:
    return {str(c.addr): c.action.value for c in made.changes if c.action is not Action.NOOP}


def outputs(ws: Workspace) -> dict[str, Any]:
    return {name: out.value for name, out in ws.state().outputs.items()}


THING = """
variable "name" { type = string }
variable "ref" {
  type    = string
  default = ""
}
resource "fake_thing" "t" {
  name = var.name
  ref  = var.ref
}
output "id" { value = fake_thing.t.id }
output "name" { value = fake_thing.t.name }
"""

# -- shapes: planned, applied, then planned again with no changes --------------------------------

SHAPES: dict[str, tuple[dict[str, str], dict[str, str], dict[str, Any]]] = {
    "single call, output used by the parent": (
        {
            "main.tf": """
                module "one" {
                  source = "./modules/thing"
                  name   = "one"
                }
                resource "fake_thing" "user" {
                  name = "user"
                  ref  = module.one.name
                }
                output "ref" { value = fake_thing.user.ref }
            """,
            "modules/thing/main.tf": THING,
        },
        {"module.one.fake_thing.t": "create", "fake_thing.user": "create"},
        {"ref": "one"},
    ),
    "nested modules": (
        {
            "main.tf": """
                module "outer" {
                  source = "./modules/outer"
                  name   = "o"
                }
                output "inner" { value = module.outer.inner_name }
            """,
            "modules/outer/main.tf": """
                variable "name" {}
                module "inner" {
                  source = "../thing"
                  name   = "${var.name}-inner"
                }
                output "inner_name" { value = module.inner.name }
            """,
            "modules/thing/main.tf": THING,
        },
        {"module.outer.module.inner.fake_thing.t": "create"},
        {"inner": "o-inner"},
    ),
    "count on a module": (
        {
            "main.tf": """
                module "many" {
                  source = "./modules/thing"
                  count  = 2
                  name   = "n${count.index}"
                }
                output "names" { value = module.many[*].name }
                output "second" { value = module.many[1].name }
            """,
            "modules/thing/main.tf": THING,
        },
        {"module.many[0].fake_thing.t": "create", "module.many[1].fake_thing.t": "create"},
        {"names": ["n0", "n1"], "second": "n1"},
    ),
    "for_each on a module": (
        {
            "main.tf": """
                module "each" {
                  source   = "./modules/thing"
                  for_each = { a = "x", b = "y" }
                  name     = "${each.key}-${each.value}"
                }
                output "names" { value = { for k, m in module.each : k => m.name } }
            """,
            "modules/thing/main.tf": THING,
        },
        {'module.each["a"].fake_thing.t': "create", 'module.each["b"].fake_thing.t': "create"},
        {"names": {"a": "a-x", "b": "b-y"}},
    ),
    "an instance's output feeds another module": (
        {
            "main.tf": """
                module "first" {
                  source = "./modules/thing"
                  name   = "first"
                }
                module "second" {
                  source = "./modules/thing"
                  name   = "second"
                  ref    = module.first.id
                }
                output "same" { value = module.second.id != module.first.id }
            """,
            "modules/thing/main.tf": THING,
        },
        {"module.first.fake_thing.t": "create", "module.second.fake_thing.t": "create"},
        {"same": True},
    ),
    "path.module and path.root": (
        {
            "main.tf": """
                module "p" {
                  source = "./modules/paths"
                }
                output "module" { value = module.p.module }
                output "root_is_parent" { value = module.p.root_is_parent }
                output "text" { value = module.p.text }
            """,
            "modules/paths/main.tf": """
                output "module" { value = basename(path.module) }
                output "root_is_parent" { value = dirname(dirname(path.module)) == path.root }
                output "text" { value = trimspace(file("${path.module}/data.txt")) }
            """,
            "modules/paths/data.txt": "from the module\n",
        },
        {},
        {"module": "paths", "root_is_parent": True, "text": "from the module"},
    ),
    "a module without resources": (
        {
            "main.tf": """
                module "calc" {
                  source = "./modules/calc"
                  n      = 4
                }
                output "double" { value = module.calc.double }
                output "whole" { value = module.calc }
            """,
            "modules/calc/main.tf": """
                variable "n" { type = number }
                locals { twice = var.n * 2 }
                output "double" { value = local.twice }
                output "as_text" { value = tostring(var.n) }
            """,
        },
        {},
        {"double": 8, "whole": {"double": 8, "as_text": "4"}},
    ),
    "a child variable's default and type conversion": (
        {
            "main.tf": """
                module "d" {
                  source = "./modules/defaults"
                  count_text = "3"
                }
                output "sum" { value = module.d.sum }
            """,
            "modules/defaults/main.tf": """
                variable "count_text" { type = number }
                variable "extra" { default = 10 }
                output "sum" { value = var.count_text + var.extra }
            """,
        },
        {},
        {"sum": 13},
    ),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_module_shapes_plan_apply_and_settle(ws: Workspace, name: str) -> None:
    files, expected_actions, expected_outputs = SHAPES[name]
    write_tree(ws, files)
    assert actions(plan(ws)) == expected_actions
    apply(ws)
    assert outputs(ws) == expected_outputs
    again = plan(ws)
    assert actions(again) == {} and not again.has_changes
    for addr in expected_actions:
        assert ws.state().current(InstanceAddr.parse(addr)) is not None, addr


def test_state_records_module_addresses_and_dependencies(ws: Workspace) -> None:
    write_tree(ws, SHAPES["an instance's output feeds another module"][0])
    apply(ws)
    doc = json.loads((ws.root / "relight.tfstate").read_text())
    by_address = {f"{r.get('module', '')}.{r['type']}.{r['name']}".lstrip("."): r for r in doc["resources"]}
    second = by_address["module.second.fake_thing.t"]
    assert second["module"] == "module.second"
    assert second["instances"][0]["dependencies"] == ["module.first.fake_thing.t"]
    assert "module" not in json.dumps([r for r in doc["resources"] if r["name"] == "user"])


def test_module_depends_on_orders_the_whole_module_after_it(ws: Workspace) -> None:
    write_tree(
        ws,
        {
            "main.tf": """
                resource "fake_thing" "first" { name = "first" }
                module "later" {
                  source     = "./modules/thing"
                  name       = "later"
                  depends_on = [fake_thing.first]
                }
            """,
            "modules/thing/main.tf": THING,
        },
    )
    made = apply(ws, parallelism=4)
    change = next(c for c in made.changes if str(c.addr) == "module.later.fake_thing.t")
    assert change.dependencies == ("fake_thing.first",)
    creates = [name for method, name in ws.cloud.calls if method == "create"]
    assert creates == ["first", "later"]


def test_depends_on_a_module_waits_for_everything_in_it(ws: Workspace) -> None:
    write_tree(
        ws,
        {
            "main.tf": """
                module "base" {
                  source = "./modules/thing"
                  name   = "base"
                }
                resource "fake_thing" "after" {
                  name       = "after"
                  depends_on = [module.base]
                }
            """,
            "modules/thing/main.tf": THING,
        },
    )
    made = apply(ws, parallelism=4)
    change = next(c for c in made.changes if str(c.addr) == "fake_thing.after")
    assert change.dependencies == ("module.base.fake_thing.t",)


def test_saved_plan_with_module_instances_applies_exactly(ws: Workspace) -> None:
    write_tree(ws, SHAPES["for_each on a module"][0])
    eng, _ = engine(ws)
    assert eng is not None
    with eng.lock("apply"):
        made, diags = eng.plan(PlanOptions())
        assert not diags.has_errors
        saved = decode_plan(encode_plan(made), "saved.plan")
        assert saved.module_expansions == {"module.each": {"kind": "for_each", "keys": ["a", "b"], "each": {"a": "x", "b": "y"}}}
        _, diags = eng.apply(saved)
    assert not diags.has_errors, list(diags)
    assert outputs(ws) == {"names": {"a": "a-x", "b": "b-y"}}


# -- refactoring and removal ---------------------------------------------------------------------


def test_moved_into_a_module_keeps_the_object(ws: Workspace) -> None:
    ws.write('resource "fake_thing" "t" {\n  name = "keep"\n  ref  = ""\n}\n')
    apply(ws)
    old_id = ws.state().current(InstanceAddr.parse("fake_thing.t")).attributes["id"]  # type: ignore[union-attr]
    write_tree(
        ws,
        {
            "main.tf": """
                module "m" {
                  source = "./modules/thing"
                  name   = "keep"
                }
                moved {
                  from = fake_thing.t
                  to   = module.m.fake_thing.t
                }
            """,
            "modules/thing/main.tf": THING,
        },
    )
    made = plan(ws)
    assert actions(made) == {} and made.moved == [("fake_thing.t", "module.m.fake_thing.t")]
    apply(ws)
    moved = ws.state().current(InstanceAddr.parse("module.m.fake_thing.t"))
    assert moved is not None and moved.attributes["id"] == old_id
    assert ws.state().current(InstanceAddr.parse("fake_thing.t")) is None
    assert [m for m, _ in ws.cloud.calls if m in ("create", "delete")] == ["create"]


def test_moved_between_module_calls_and_instances(ws: Workspace) -> None:
    files = {"main.tf": 'module "old" {\n  source = "./modules/thing"\n  name = "x"\n}\n', "modules/thing/main.tf": THING}
    write_tree(ws, files)
    apply(ws)
    write_tree(
        ws,
        {
            "main.tf": """
                module "new" {
                  source = "./modules/thing"
                  count  = 1
                  name   = "x"
                }
                moved {
                  from = module.old
                  to   = module.new[0]
                }
            """
        },
    )
    made = plan(ws)
    assert made.moved == [("module.old.fake_thing.t", "module.new[0].fake_thing.t")]
    assert actions(made) == {}


def test_moved_block_inside_a_child_module_is_relative_to_each_instance(ws: Workspace) -> None:
    child_v1 = 'variable "name" {}\nresource "fake_thing" "a" {\n  name = var.name\n}\n'
    write_tree(
        ws,
        {
            "main.tf": 'module "m" {\n  source = "./mod"\n  for_each = toset(["p", "q"])\n  name = each.key\n}\n',
            "mod/main.tf": child_v1,
        },
    )
    apply(ws)
    ws.write(child_v1.replace('"a"', '"b"') + "moved {\n  from = fake_thing.a\n  to   = fake_thing.b\n}\n", "mod/main.tf")
    made = plan(ws)
    assert sorted(made.moved) == [
        ('module.m["p"].fake_thing.a', 'module.m["p"].fake_thing.b'),
        ('module.m["q"].fake_thing.a', 'module.m["q"].fake_thing.b'),
    ]
    assert actions(made) == {}


def test_removed_module_instance_and_call_are_destroyed(ws: Workspace) -> None:
    main = 'module "many" {\n  source = "./modules/thing"\n  count = 2\n  name = "n${count.index}"\n}\n'
    write_tree(ws, {"main.tf": main, "modules/thing/main.tf": THING})
    apply(ws)
    ws.write(main.replace("count = 2", "count = 1"))
    made = plan(ws)
    assert actions(made) == {"module.many[1].fake_thing.t": "delete"}
    assert made.changes[-1].reason == "no module"
    apply(ws)
    ws.write("")
    made = plan(ws)
    assert actions(made) == {"module.many[0].fake_thing.t": "delete"}
    apply(ws)
    assert len(ws.state()) == 0 and ws.cloud.objects == {}


def test_destroy_takes_modules_down_dependents_first(ws: Workspace) -> None:
    write_tree(ws, SHAPES["an instance's output feeds another module"][0])
    apply(ws)
    made = apply(ws, mode=PlanMode.DESTROY, parallelism=4)
    assert actions(made) == {"module.first.fake_thing.t": "delete", "module.second.fake_thing.t": "delete"}
    deletes = [name for method, name in ws.cloud.calls if method == "delete"]
    assert deletes == ["second", "first"]  # second used first's id
    assert len(ws.state()) == 0 and ws.cloud.objects == {}


def test_removed_block_forgets_a_whole_module(ws: Workspace) -> None:
    write_tree(ws, {"main.tf": 'module "gone" {\n  source = "./modules/thing"\n  name = "g"\n}\n', "modules/thing/main.tf": THING})
    apply(ws)
    ws.write("removed {\n  from = module.gone\n  lifecycle {\n    destroy = false\n  }\n}\n")
    made = plan(ws)
    assert actions(made) == {"module.gone.fake_thing.t": "forget"}
    apply(ws)
    assert len(ws.state()) == 0 and len(ws.cloud.objects) == 1


def test_prevent_destroy_recorded_in_state_protects_a_removed_module(ws: Workspace) -> None:
    guarded = THING.replace("  ref  = var.ref\n}", "  ref  = var.ref\n  lifecycle {\n    prevent_destroy = true\n  }\n}")
    write_tree(ws, {"main.tf": 'module "db" {\n  source = "./modules/thing"\n  name = "db"\n}\n', "modules/thing/main.tf": guarded})
    apply(ws)
    ws.write("")
    eng, _ = engine(ws)
    assert eng is not None
    _, diags = eng.plan(PlanOptions())
    refusal = [d for d in diags if d.summary == "Instance cannot be destroyed"]
    assert refusal and "module.db.fake_thing.t" in refusal[0].detail


def test_target_a_module_plans_only_it_and_what_it_needs(ws: Workspace) -> None:
    write_tree(
        ws,
        {
            "main.tf": """
                resource "fake_thing" "base" { name = "base" }
                resource "fake_thing" "other" { name = "other" }
                module "app" {
                  source = "./modules/thing"
                  count  = 2
                  name   = "app${count.index}"
                  ref    = fake_thing.base.id
                }
                module "unrelated" {
                  source = "./modules/thing"
                  name   = "u"
                }
            """,
            "modules/thing/main.tf": THING,
        },
    )
    assert actions(plan(ws, targets=("module.app",))) == {
        "fake_thing.base": "create",
        "module.app[0].fake_thing.t": "create",
        "module.app[1].fake_thing.t": "create",
    }
    assert actions(plan(ws, targets=("module.app[1]",))) == {
        "fake_thing.base": "create",
        "module.app[1].fake_thing.t": "create",
    }
    assert actions(plan(ws, targets=("module.app[0].fake_thing.t",))) == {
        "fake_thing.base": "create",
        "module.app[0].fake_thing.t": "create",
    }


# -- providers -----------------------------------------------------------------------------------

ZONED = 'variable "name" {}\nresource "fake_zoned" "z" {\n  name = var.name\n}\noutput "zone" { value = fake_zoned.z.zone }\n'


def test_providers_inherited_passed_and_legacy(ws: Workspace) -> None:
    write_tree(
        ws,
        {
            "main.tf": """
                provider "fake" { zone = "main" }
                provider "fake" {
                  alias = "west"
                  zone  = "west"
                }
                module "inherits" {
                  source = "./modules/zoned"
                  name   = "i"
                }
                module "passed" {
                  source    = "./modules/zoned"
                  name      = "p"
                  providers = { fake = fake.west }
                }
                module "legacy" {
                  source = "./modules/legacy"
                }
                output "zones" { value = [module.inherits.zone, module.passed.zone, module.legacy.zone] }
            """,
            "modules/zoned/main.tf": ZONED,
            "modules/legacy/main.tf": 'provider "fake" { zone = "own" }\nmodule "z" {\n  source = "../zoned"\n  name = "l"\n}\n'
            'output "zone" { value = module.z.zone }\n',
        },
    )
    made = apply(ws)
    providers = {str(c.addr): c.provider for c in made.changes}
    assert providers == {
        "module.inherits.fake_zoned.z": "fake",
        "module.passed.fake_zoned.z": "fake.west",
        "module.legacy.module.z.fake_zoned.z": "module.legacy.fake",
    }
    assert outputs(ws) == {"zones": ["main", "west", "own"]}
    assert not plan(ws).has_changes


def test_import_into_a_module_instance_uses_its_provider_configuration(ws: Workspace) -> None:
    write_tree(
        ws,
        {
            "main.tf": 'provider "fake" {\n  alias = "west"\n  zone = "west"\n}\n'
            'module "m" {\n  source = "./modules/zoned"\n  for_each = toset(["a"])\n  name = "imported"\n'
            "  providers = { fake = fake.west }\n}\n",
            "modules/zoned/main.tf": ZONED,
        },
    )
    ws.cloud.objects["thing-99"] = {"id": "thing-99", "name": "imported", "zone": "west"} | dict.fromkeys(
        ("size", "tags", "secret", "ref")
    )
    eng, _ = engine(ws)
    assert eng is not None
    addr = InstanceAddr.parse('module.m["a"].fake_zoned.z')
    with eng.lock("import"):
        state, diags = eng.import_(addr, "thing-99")
    assert not diags.has_errors, list(diags)
    assert state.get(addr) is not None and state.get(addr).provider == "fake.west"  # type: ignore[union-attr]
    assert actions(plan(ws)) == {}


def test_aliased_provider_inside_a_module_must_be_passed(ws: Workspace) -> None:
    write_tree(
        ws,
        {
            "main.tf": 'provider "fake" {\n  alias = "west"\n}\nmodule "m" {\n  source = "./m"\n}\n',
            "m/main.tf": 'resource "fake_thing" "t" {\n  provider = fake.west\n  name = "t"\n}\n',
        },
    )
    eng, _ = engine(ws)
    assert eng is not None
    _, diags = eng.plan(PlanOptions())
    err = next(d for d in diags.errors if d.summary == "Provider configuration not present")
    assert err.subject is not None and err.subject.filename.endswith("m/main.tf") and err.subject.start.line == 1


# -- errors with file:line -----------------------------------------------------------------------

ERRORS: list[tuple[str, dict[str, str], str, str, int]] = [
    ("missing directory", {"main.tf": 'module "m" {\n  source = "./nowhere"\n}\n'}, "Unreadable module directory", "main.tf", 1),
    (
        "registry source",
        {"main.tf": '\nmodule "vpc" {\n  source  = "terraform-aws-modules/vpc/aws"\n  version = "5.0.0"\n}\n'},
        "Module not installed",
        "main.tf",
        2,
    ),
    (
        "git source",
        {"main.tf": 'module "g" {\n  source = "git::https://example.com/mod.git?ref=v1"\n}\n'},
        "Module not installed",
        "main.tf",
        1,
    ),
    (
        "unknown input",
        {"main.tf": 'module "m" {\n  source = "./m"\n  name = "x"\n  nmae = "y"\n}\n', "m/main.tf": 'variable "name" {}\n'},
        "Unsupported argument",
        "main.tf",
        4,
    ),
    (
        "missing input",
        {"main.tf": '\n\nmodule "m" {\n  source = "./m"\n}\n', "m/main.tf": 'variable "name" {}\n'},
        "Missing required argument",
        "main.tf",
        3,
    ),
    (
        "source cycle",
        {"main.tf": 'module "a" {\n  source = "./a"\n}\n', "a/main.tf": '\nmodule "again" {\n  source = "../a"\n}\n'},
        "Module source cycle",
        "a/main.tf",
        2,
    ),
    (
        "version on a local source",
        {"main.tf": 'module "m" {\n  source  = "./m"\n  version = "1.0.0"\n}\n', "m/main.tf": "\n"},
        "Invalid version argument",
        "main.tf",
        1,
    ),
    (
        "error inside a child module points at its file",
        {"main.tf": 'module "m" {\n  source = "./m"\n}\n', "m/main.tf": '\n\noutput "x" { value = local.nope }\n'},
        "Reference to undeclared local value",
        "m/main.tf",
        3,
    ),
    (
        "undeclared module",
        {"main.tf": 'output "x" { value = module.nope.out }\n'},
        "Reference to undeclared module",
        "main.tf",
        1,
    ),
    (
        "undeclared output",
        {"main.tf": 'module "m" {\n  source = "./m"\n}\n\noutput "x" { value = module.m.nope }\n', "m/main.tf": 'output "out" { value = 1 }\n'},
        "Unsupported attribute",
        "main.tf",
        5,
    ),
    (
        "legacy module with count",
        {"main.tf": 'module "m" {\n  source = "./m"\n  count = 2\n}\n', "m/main.tf": 'provider "fake" { zone = "x" }\n'},
        "Module is incompatible with count, for_each, and depends_on",
        "main.tf",
        3,
    ),
    (
        "moved from a module to a resource",
        {"main.tf": 'module "m" {\n  source = "./m"\n}\n\nmoved {\n  from = module.m\n  to   = fake_thing.x\n}\n', "m/main.tf": "\n"},
        'Invalid "moved" addresses',
        "main.tf",
        5,
    ),
    (
        "moved to another resource type",
        {"main.tf": 'moved {\n  from = fake_thing.a\n  to   = fake_zoned.a\n}\n'},
        "Resource type mismatch",
        "main.tf",
        1,
    ),
    (
        "relight block in a child",
        {"main.tf": 'module "m" {\n  source = "./m"\n}\n', "m/main.tf": '\nrelight {\n  heal { mode = "auto" }\n}\n'},
        "relight block in a child module",
        "m/main.tf",
        3,
    ),
]


@pytest.mark.parametrize(("case", "files", "summary", "filename", "line"), ERRORS, ids=[e[0] for e in ERRORS])
def test_module_errors_name_the_file_and_line(
    ws: Workspace, case: str, files: dict[str, str], summary: str, filename: str, line: int
) -> None:
    write_tree(ws, files)
    _, diags = engine(ws)
    found = [d for d in diags.errors if d.summary == summary]
    assert found, (case, [f"{d.summary}: {d.detail}" for d in diags])
    subject = found[0].subject
    assert subject is not None, case
    assert Path(subject.filename).relative_to(ws.root).as_posix() == filename, case
    assert subject.start.line == line, case


def test_validate_checks_child_modules_against_the_schemas(ws: Workspace) -> None:
    write_tree(
        ws,
        {
            "main.tf": 'module "m" {\n  source = "./m"\n}\n',
            "m/main.tf": 'resource "fake_thing" "t" {\n  name = "t"\n  sise = 1\n}\n',
        },
    )
    config, diags = load_config(str(ws.root), engine_features=FEATURES)
    assert config is not None and not diags.has_errors
    [err] = validate_schemas(config, registry(ws.cloud)).errors
    assert err.summary == "Unsupported argument" and 'Did you mean "size"?' in err.detail
    assert err.subject is not None and err.subject.filename.endswith("m/main.tf") and err.subject.start.line == 3


PLAN_ERRORS: list[tuple[str, dict[str, str], str]] = [
    (
        "wrong input type",
        {"main.tf": 'module "m" {\n  source = "./m"\n  n = "many"\n}\n', "m/main.tf": 'variable "n" { type = number }\noutput "o" { value = var.n }\n'},
        "Invalid value for input variable",
    ),
    (
        "failing validation in the child",
        {
            "main.tf": 'module "m" {\n  source = "./m"\n  n = 0\n}\n',
            "m/main.tf": 'variable "n" {\n  validation {\n    condition = var.n > 0\n    error_message = "n must be positive."\n  }\n}\n',
        },
        "Invalid value for variable",
    ),
    (
        "count from an unknown value",
        {
            "main.tf": 'resource "fake_thing" "a" { name = "a" }\nmodule "m" {\n  source = "./m"\n  count = length(fake_thing.a.id)\n}\n',
            "m/main.tf": "\n",
        },
        "Invalid count argument",
    ),
]


@pytest.mark.parametrize(("case", "files", "summary"), PLAN_ERRORS, ids=[e[0] for e in PLAN_ERRORS])
def test_module_plan_errors(ws: Workspace, case: str, files: dict[str, str], summary: str) -> None:
    write_tree(ws, files)
    eng, diags = engine(ws)
    assert eng is not None, [d.summary for d in diags]
    _, diags = eng.plan(PlanOptions())
    found = [d for d in diags.errors if d.summary == summary]
    assert found and found[0].subject is not None, (case, [f"{d.summary}: {d.detail}" for d in diags])
    assert found[0].subject.filename.endswith("main.tf")


def test_a_module_terraform_init_downloaded_is_used(ws: Workspace) -> None:
    write_tree(
        ws,
        {
            "main.tf": 'module "vpc" {\n  source  = "example/thing/fake"\n  version = "~> 1.2"\n  name = "dl"\n}\n'
            'output "name" { value = module.vpc.name }\n',
            ".terraform/modules/vpc/main.tf": THING,
        },
    )
    manifest = {
        "Modules": [
            {"Key": "", "Source": "", "Dir": "."},
            {"Key": "vpc", "Source": "registry.terraform.io/example/thing/fake", "Version": "1.2.7", "Dir": ".terraform/modules/vpc"},
        ]
    }
    (ws.root / ".terraform/modules/modules.json").write_text(json.dumps(manifest))
    assert actions(plan(ws)) == {"module.vpc.fake_thing.t": "create"}
    apply(ws)
    assert outputs(ws) == {"name": "dl"}
    ws.write(ws.root.joinpath("main.tf").read_text().replace("~> 1.2", ">= 2.0"))
    _, diags = engine(ws)
    assert [d.summary for d in diags.errors] == ["Module version requirements have changed"]
