"""Check blocks: warnings at the end of plan and apply, never stopping either."""

from __future__ import annotations

from relight.addrs import InstanceAddr
from relight.diagnostics import Severity
from relight.engine import Action, PlanOptions
from relight.engine.static import static_checks
from relight.lang import load_config

from .conftest import Workspace
from .fakes import registry_with

CHECKS = """
resource "fake_thing" "a" {
  name = "a"
  size = 2
}
check "size" {
  assert {
    condition     = fake_thing.a.size > 3
    error_message = "a is too small: ${fake_thing.a.size}."
  }
}
check "lookup" {
  data "fake_lookup" "a" {
    name = fake_thing.a.name
  }
  assert {
    condition     = data.fake_lookup.a.id == fake_thing.a.id
    error_message = "lookup found ${data.fake_lookup.a.id}."
  }
}
check "later" {
  assert {
    condition     = fake_thing.a.id != "thing-1"
    error_message = "a got the first id."
  }
}
"""


def warnings(diags) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    assert not diags.has_errors, [d.summary for d in diags.errors]
    return [(d.summary, d.detail, d.subject.start.line if d.subject else 0) for d in diags if d.severity is Severity.WARNING]


def test_checks_warn_at_plan_and_again_after_apply(ws: Workspace) -> None:
    ws.write(CHECKS)
    engine = ws.engine()
    plan, diags = engine.plan(PlanOptions())
    later = "The condition could not be evaluated at this time, a result will be known when this plan is applied."
    assert warnings(diags) == [  # checks in name order: later, lookup, size
        ("Check block assertion known after apply", later, 23),
        # The scoped data source has no object to find yet: a warning, and its assertion is not evaluated.
        ("No such thing", "No fake thing is named 'a'.", 13),
        ("Check block assertion failed", "a is too small: 2.", 8),
    ]
    reads = [c for c in plan.changes if c.action is Action.READ]
    assert [(str(c.addr), c.reason) for c in reads] == [("data.fake_lookup.a", "check")]
    assert plan.counts() == (1, 0, 0)
    state, diags = ws.engine().apply(plan)
    assert warnings(diags) == [
        ("Check block assertion failed", "a got the first id.", 23),
        ("Check block assertion failed", "a is too small: 2.", 8),
    ]
    looked_up = state.current(InstanceAddr.parse("data.fake_lookup.a"))
    assert looked_up is not None and looked_up.attributes["id"] == "thing-1"  # recorded, as Terraform does
    assert ws.state().current(InstanceAddr.parse("data.fake_lookup.a")) is not None


def test_checks_alone_do_not_make_a_plan_a_change(ws: Workspace) -> None:
    ws.write(CHECKS)
    ws.apply()
    plan, diags = ws.engine().plan(PlanOptions())
    assert not plan.has_changes
    assert [c.reason for c in plan.changes if c.action is Action.READ] == ["check"]
    assert {d.summary for d in diags} == {"Check block assertion failed"}


def test_conditions_and_checks_inside_child_modules_run_per_instance(ws: Workspace) -> None:
    ws.write(
        'module "node" {\n  source   = "./modules/node"\n  for_each = toset(["a", "b"])\n  name     = each.key\n}\n'
        'output "ids" {\n  value = { for k, m in module.node : k => m.id }\n}\n'
    )
    ws.write(
        'variable "name" {\n  type = string\n}\n'
        'resource "fake_thing" "n" {\n  name = var.name\n  size = 1\n}\n'
        'output "id" {\n  value = fake_thing.n.id\n  precondition {\n'
        '    condition     = var.name != "b"\n    error_message = "b may not be exported."\n  }\n}\n'
        'check "small" {\n  assert {\n    condition     = fake_thing.n.size > 1\n'
        '    error_message = "${var.name} is small."\n  }\n}\n',
        "modules/node/main.tf",
    )
    _, diags = ws.engine().plan(PlanOptions())
    found = sorted((d.severity.value, d.summary, d.detail) for d in diags)
    assert found == [
        ("error", "Module output value precondition failed", "b may not be exported."),
        ("warning", "Check block assertion failed", "a is small."),
        ("warning", "Check block assertion failed", "b is small."),
    ]


def test_a_check_data_source_may_not_reuse_a_data_source_name(ws: Workspace) -> None:
    ws.write(
        'data "fake_lookup" "a" {\n  name = "a"\n}\n'
        'check "c" {\n  data "fake_lookup" "a" {\n    name = "b"\n  }\n'
        '  assert {\n    condition     = data.fake_lookup.a.size > 1\n    error_message = "small"\n  }\n}\n'
    )
    config, _ = load_config(str(ws.root), engine_features=frozenset({"check"}))
    assert config is not None
    found = static_checks(config, registry_with(ws.cloud))
    assert [(d.summary, d.subject.start.line if d.subject else 0) for d in found] == [
        ('Duplicate data "fake_lookup" configuration', 5)
    ]
