"""Import blocks: planned as imports, applied into the state (journaled), kept by saved plans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relight.addrs import InstanceAddr
from relight.diagnostics import Diagnostics
from relight.engine import Action, Plan, PlanOptions, read_plan, write_plan
from relight.engine.imports import static_import_checks
from relight.lang import load_config

from .conftest import Workspace


def plan_with(ws: Workspace, **opts: Any) -> tuple[Plan, Diagnostics]:
    return ws.engine().plan(PlanOptions(**opts))


def made(ws: Workspace, name: str, size: int = 1) -> str:
    """An object made outside relight (the thing to import); returns its id."""
    oid = f"thing-{name}"
    ws.cloud.objects[oid] = {"id": oid, "name": name, "size": size, "tags": None, "secret": None, "ref": None}
    return oid


SINGLE = """
import {
  to = fake_thing.a
  id = "thing-a"
}
resource "fake_thing" "a" {
  name = "a"
  size = 1
}
"""


def test_an_import_with_matching_configuration_changes_nothing_else(ws: Workspace) -> None:
    made(ws, "a")
    ws.write(SINGLE)
    plan, diags = plan_with(ws)
    assert not diags.has_errors
    [change] = plan.changes
    assert (change.action, change.importing, change.before and change.before["name"]) == (Action.NOOP, "thing-a", "a")
    assert plan.import_count() == 1 and plan.counts() == (0, 0, 0) and plan.has_changes
    state, diags = ws.engine().apply(plan)
    assert not diags.has_errors
    assert state.current(InstanceAddr.parse("fake_thing.a")).attributes["id"] == "thing-a"  # type: ignore[union-attr]
    assert ("create", "a") not in ws.cloud.calls and ("update", "a") not in ws.cloud.calls
    again, _ = plan_with(ws)  # imported: the block is now a no-op, as in Terraform
    assert [(c.action, c.importing) for c in again.changes] == [(Action.NOOP, "")] and not again.has_changes


def test_an_import_then_an_update_and_the_import_survives_a_failed_update(ws: Workspace) -> None:
    made(ws, "a", size=5)
    ws.write(SINGLE)
    plan, _ = plan_with(ws)
    [change] = plan.changes
    assert (change.action, change.importing) == (Action.UPDATE, "thing-a")
    ws.cloud.fail_on["update"] = {1}
    _, diags = ws.engine().apply(plan)
    assert [d.summary for d in diags.errors] == ["injected failure in update of a"]
    kept = ws.state().current(InstanceAddr.parse("fake_thing.a"))
    assert kept is not None and kept.attributes["size"] == 5  # imported, recorded, not updated
    retry, _ = plan_with(ws)
    assert [(c.action, c.importing) for c in retry.changes] == [(Action.UPDATE, "")]


FOR_EACH = """
locals {
  ids = { p = "thing-p", q = "thing-q" }
}
import {
  for_each = local.ids
  to       = fake_thing.m[each.key]
  id       = each.value
}
resource "fake_thing" "m" {
  for_each = local.ids
  name     = each.key
  size     = 1
}
"""


def test_for_each_imports_every_instance(ws: Workspace, tmp_path: Path) -> None:
    made(ws, "p")
    made(ws, "q")
    ws.write(FOR_EACH)
    plan, diags = plan_with(ws)
    assert not diags.has_errors
    assert sorted((str(c.addr), c.importing) for c in plan.changes) == [
        ('fake_thing.m["p"]', "thing-p"),
        ('fake_thing.m["q"]', "thing-q"),
    ]
    saved = str(tmp_path / "saved.plan")  # a saved plan keeps its imports
    write_plan(plan, saved)
    state, diags = ws.engine().apply(read_plan(saved))
    assert not diags.has_errors and sorted(str(i.addr) for i in state) == ['fake_thing.m["p"]', 'fake_thing.m["q"]']


ERRORS = [
    (
        'import {\n  to = fake_thing.a\n  id = "thing-nope"\n}\n',
        "Cannot import non-existent remote object",
    ),
    (
        'import {\n  to = fake_thing.a[3]\n  id = "thing-a"\n}\n',
        "Configuration for import target does not exist",
    ),
    (
        'resource "fake_thing" "n" {\n  name = "n"\n}\nimport {\n  to = fake_thing.a\n  id = fake_thing.n.id\n}\n',
        "Invalid import id argument",
    ),
    (
        'import {\n  for_each = ["x"]\n  to = fake_thing.a\n  id = "thing-a"\n}\n'
        'import {\n  to = fake_thing.a\n  id = "thing-a"\n}\n',
        'Duplicate import configuration for "fake_thing.a"',
    ),
]


@pytest.mark.parametrize(("blocks", "summary"), ERRORS)
def test_imports_that_cannot_be_planned(ws: Workspace, blocks: str, summary: str) -> None:
    made(ws, "a")
    ws.write(blocks + 'resource "fake_thing" "a" {\n  name = "a"\n  size = 1\n}\n')
    _, diags = plan_with(ws)
    assert [d.summary for d in diags.errors] == [summary]
    assert diags.errors[0].subject is not None and diags.errors[0].subject.filename.endswith("main.tf")


def test_configuration_mistakes_are_found_before_any_run(ws: Workspace) -> None:
    ws.write(
        'import {\n  to = fake_thing.gone\n  id = "x"\n}\n'
        'import {\n  to = fake_thing.a\n  id = "x"\n}\n'
        'import {\n  to = fake_thing.a\n  id = "y"\n}\n'
        'import {\n  to = fake_thing.b\n  id = "y"\n  provider = fake.other\n}\n'
        'resource "fake_thing" "a" {\n  name = "a"\n}\n'
        'resource "fake_thing" "b" {\n  name = "b"\n}\n'
    )
    config, _ = load_config(str(ws.root), engine_features=frozenset({"import"}))
    assert config is not None
    found = static_import_checks(config)
    assert [(d.summary, d.subject.start.line if d.subject else 0) for d in found] == [
        ("Configuration for import target does not exist", 1),
        ('Duplicate import configuration for "fake_thing.a"', 9),
        ("Invalid import provider argument", 13),
    ]


def test_an_import_is_not_repeated_for_an_object_already_managed(ws: Workspace) -> None:
    ws.write('resource "fake_thing" "a" {\n  name = "a"\n  size = 1\n}\n')
    ws.apply()
    ws.write(SINGLE.replace('"thing-a"', '"thing-other"'))
    plan, diags = plan_with(ws)
    assert not diags.has_errors and [c.importing for c in plan.changes] == [""]
    assert not any(method == "import" for method, _ in ws.cloud.calls)


def test_targeting_leaves_other_imports_alone(ws: Workspace) -> None:
    made(ws, "a")
    ws.write(SINGLE + 'resource "fake_thing" "b" {\n  name = "b"\n}\n')
    plan, diags = plan_with(ws, targets=(InstanceAddr.parse("fake_thing.b"),))
    assert not diags.has_errors and plan.import_count() == 0
