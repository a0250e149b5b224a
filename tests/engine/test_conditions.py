"""Preconditions, postconditions and output preconditions in plan and apply (Terraform's rules)."""

from __future__ import annotations

from typing import Any

import pytest

from relight.addrs import InstanceAddr
from relight.diagnostics import Diagnostics, Severity
from relight.engine import Action, Plan, PlanMode, PlanOptions
from relight.engine.conditions import static_condition_checks
from relight.lang import load_config
from relight.state import State

from .conftest import Workspace


def plan_with(ws: Workspace, **opts: Any) -> tuple[Plan, Diagnostics]:
    return ws.engine(opts.pop("variables", None)).plan(PlanOptions(**opts))


def apply_with(ws: Workspace, variables: dict[str, Any] | None = None) -> tuple[State, Diagnostics]:
    engine = ws.engine(variables)
    with engine.lock("apply"):
        plan, diags = engine.plan(PlanOptions())
        assert not diags.has_errors, [d.summary for d in diags]
        return engine.apply(plan)


def summaries(diags: Diagnostics) -> list[tuple[str, str, str, int]]:
    """(severity, summary, detail, line) of each diagnostic, for comparing with a table."""
    return [(d.severity.value, d.summary, d.detail, d.subject.start.line if d.subject else 0) for d in diags]


CONDITIONS = """
variable "n" {
  type    = number
  default = 1
}
resource "fake_thing" "a" {
  name = "a"
  size = var.n
  lifecycle {
    precondition {
      condition     = var.n < 5
      error_message = "n must be under 5, not ${var.n}."
    }
    postcondition {
      condition     = self.size == var.n
      error_message = "the size did not stick."
    }
  }
}
output "n" {
  value = var.n
  precondition {
    condition     = var.n != 3
    error_message = "three is not allowed."
  }
}
"""

# (variable n, expected diagnostics: severity, summary, detail, line). Each condition is
# reported once, at its condition's line, with its error message.
PLAN_CASES = [
    (1, []),
    (7, [("error", "Resource precondition failed", "n must be under 5, not 7.", 11)]),
    (3, [("error", "Module output value precondition failed", "three is not allowed.", 23)]),
]


@pytest.mark.parametrize(("n", "expected"), PLAN_CASES)
def test_known_conditions_are_checked_at_plan(ws: Workspace, n: int, expected: list[Any]) -> None:
    ws.write(CONDITIONS)
    plan, diags = plan_with(ws, variables={"n": n})
    assert summaries(diags) == expected
    if n == 7:  # a failing precondition plans nothing for its resource
        assert [str(c.addr) for c in plan.changes] == []


def test_refresh_only_plans_report_failed_conditions_as_warnings(ws: Workspace) -> None:
    ws.write(CONDITIONS)
    apply_with(ws, {"n": 1})
    _, diags = plan_with(ws, variables={"n": 7}, mode=PlanMode.REFRESH_ONLY)
    assert [(d.severity, d.summary) for d in diags] == [(Severity.WARNING, "Resource precondition failed")]


DEFERRED = """
resource "fake_thing" "a" {
  name = "a"
  size = 2
}
resource "fake_thing" "b" {
  name = "b"
  ref  = fake_thing.a.id
  lifecycle {
    precondition {
      condition     = fake_thing.a.id == "thing-999"
      error_message = "a has the wrong id: ${fake_thing.a.id}."
    }
  }
}
resource "fake_thing" "c" {
  name = "c"
  ref  = fake_thing.b.id
}
"""


def test_an_unknown_precondition_waits_for_apply_and_stops_its_resource_there(ws: Workspace) -> None:
    ws.write(DEFERRED)
    plan, diags = plan_with(ws)
    assert not diags.has_errors and {str(c.addr) for c in plan.changes} == {"fake_thing.a", "fake_thing.b", "fake_thing.c"}
    state, diags = ws.engine().apply(plan)
    assert summaries(diags) == [("error", "Resource precondition failed", "a has the wrong id: thing-1.", 11)]
    assert [str(i.addr) for i in state] == ["fake_thing.a"]  # b was refused, c depends on it
    assert ("create", "b") not in ws.cloud.calls


POSTCONDITION = """
resource "fake_thing" "a" {
  name = "a"
  lifecycle {
    postcondition {
      condition     = self.id != "thing-1"
      error_message = "got ${self.id}."
    }
  }
}
resource "fake_thing" "b" {
  name = "b"
  ref  = fake_thing.a.id
}
"""


def test_a_postcondition_failing_after_create_keeps_the_object_and_stops_dependents(ws: Workspace) -> None:
    ws.write(POSTCONDITION)
    plan, diags = plan_with(ws)
    assert not diags.has_errors  # self.id is unknown until the object exists
    state, diags = ws.engine().apply(plan)
    assert summaries(diags) == [("error", "Resource postcondition failed", "got thing-1.", 6)]
    recorded = state.current(InstanceAddr.parse("fake_thing.a"))
    assert recorded is not None and recorded.attributes["id"] == "thing-1"  # it exists: it is kept
    assert state.current(InstanceAddr.parse("fake_thing.b")) is None
    assert ws.state().current(InstanceAddr.parse("fake_thing.a")) is not None  # and durably so


def test_a_known_postcondition_fails_the_plan(ws: Workspace) -> None:
    ws.write(POSTCONDITION.replace('self.id != "thing-1"', 'self.name == "z"'))
    _, diags = plan_with(ws)
    # The message needs self.id, unknown until apply: Terraform's note stands in for it.
    bad = "This check failed, but has an invalid error message as described in the other accompanying messages."
    assert summaries(diags) == [("error", "Resource postcondition failed", bad, 6)]


# Conditions that cannot give an answer, and messages that cannot be made (Terraform's words).
BAD = [
    ("null", '"x"', "Invalid condition result", "Condition expression must return either true or false, not null."),
    ('"maybe"', '"x"', "Invalid condition result", "Invalid condition result value: a bool is required."),
    (
        "false",
        "fake_thing.z.id",
        "Resource precondition failed",
        "This check failed, but has an invalid error message as described in the other accompanying messages.",
    ),
    ("false", "12", "Resource precondition failed", "12"),
    ('"false"', '"as text"', "Resource precondition failed", "as text"),
]


@pytest.mark.parametrize(("condition", "message", "summary", "detail"), BAD)
def test_conditions_that_cannot_answer(ws: Workspace, condition: str, message: str, summary: str, detail: str) -> None:
    ws.write(
        'resource "fake_thing" "z" {\n  name = "z"\n}\n'
        'resource "fake_thing" "a" {\n  name = "a"\n  lifecycle {\n    precondition {\n'
        f'      condition     = fake_thing.z.name == "z" ? {condition} : true\n'
        f"      error_message = {message}\n    }}\n  }}\n}}\n"
    )
    _, diags = plan_with(ws)
    assert [(d.summary, d.detail) for d in diags if d.severity is Severity.ERROR] == [(summary, detail)]


def test_every_failing_condition_is_reported_once(ws: Workspace) -> None:
    ws.write(
        'variable "n" {\n  default = 9\n}\n'
        'resource "fake_thing" "a" {\n  count = 2\n  name = "a${count.index}"\n  lifecycle {\n'
        '    precondition {\n      condition     = var.n < 5\n      error_message = "first ${count.index}."\n    }\n'
        '    precondition {\n      condition     = var.n < 3\n      error_message = "second ${count.index}."\n    }\n'
        "  }\n}\n"
    )
    _, diags = plan_with(ws, variables={"n": 9})
    assert sorted(d.detail for d in diags) == ["first 0.", "first 1.", "second 0.", "second 1."]
    assert {d.address for d in diags} == {"fake_thing.a[0]", "fake_thing.a[1]"}


def test_data_source_conditions(ws: Workspace) -> None:
    ws.write('resource "fake_thing" "a" {\n  name = "a"\n  size = 3\n}\n')
    apply_with(ws)
    ws.write(
        'resource "fake_thing" "a" {\n  name = "a"\n  size = 3\n}\n'
        'data "fake_lookup" "a" {\n  name = "a"\n  lifecycle {\n'
        '    postcondition {\n      condition     = self.size > 5\n      error_message = "too small: ${self.size}."\n'
        "    }\n  }\n}\n"
    )
    _, diags = plan_with(ws)
    assert summaries(diags) == [("error", "Resource postcondition failed", "too small: 3.", 9)]


def test_conditions_that_refer_to_nothing_are_refused_before_any_run(ws: Workspace) -> None:
    ws.write(
        'resource "fake_thing" "a" {\n  name = "a"\n  lifecycle {\n'
        '    precondition {\n      condition     = 1 == 1\n      error_message = "x"\n    }\n  }\n}\n'
        'output "o" {\n  value = 1\n  precondition {\n    condition     = true\n    error_message = "x"\n  }\n}\n'
        'check "c" {\n  assert {\n    condition     = true\n    error_message = "x"\n  }\n}\n'
    )
    config, _ = load_config(str(ws.root), engine_features=frozenset({"conditions", "check"}))
    assert config is not None
    found = static_condition_checks(config)
    assert [(d.summary, d.subject.start.line if d.subject else 0) for d in found] == [
        ("Invalid precondition expression", 5),
        ("Invalid precondition expression", 13),
        ("Invalid assert expression", 19),
    ]


def test_conditions_pass_quietly_and_the_apply_goes_ahead(ws: Workspace) -> None:
    ws.write(CONDITIONS)
    state, diags = apply_with(ws, {"n": 2})
    assert not diags.has_errors and state.outputs["n"].value == 2
    plan, diags = plan_with(ws, variables={"n": 2})
    assert not diags.has_errors and all(c.action is Action.NOOP for c in plan.changes)
