"""Plan actions for each kind of change and each lifecycle rule, against the fake provider."""

from __future__ import annotations

import pytest

from relight.addrs import InstanceAddr
from relight.engine import Action, PlanMode, PlanOptions, read_plan, write_plan
from relight.errors import PlanError

from .conftest import Workspace

BASE = """
resource "fake_thing" "a" {
  name = "a"
  size = 1
}
resource "fake_thing" "b" {
  name = "b"
  ref  = fake_thing.a.id
}
"""


def actions(plan) -> dict[str, Action]:  # type: ignore[no-untyped-def]
    return {str(c.addr): c.action for c in plan.changes if c.action is not Action.NOOP}


def test_create_then_noop(ws: Workspace) -> None:
    ws.write(BASE)
    plan = ws.plan()
    assert actions(plan) == {"fake_thing.a": Action.CREATE, "fake_thing.b": Action.CREATE}
    assert plan.counts() == (2, 0, 0)
    state = ws.apply()
    a = state.current(InstanceAddr.parse("fake_thing.a"))
    b = state.current(InstanceAddr.parse("fake_thing.b"))
    assert a is not None and b is not None
    assert b.attributes["ref"] == a.attributes["id"]
    assert b.dependencies == ("fake_thing.a",)
    assert actions(ws.plan()) == {}


def test_an_output_that_stays_null_is_no_change(ws: Workspace) -> None:
    ws.write(BASE + 'output "nothing" {\n  value = null\n}\noutput "name" {\n  value = fake_thing.a.name\n}\n')
    plan = ws.plan()
    assert {o.name: o.action for o in plan.outputs} == {"name": Action.CREATE, "nothing": Action.NOOP}
    ws.apply()
    assert {o.name: o.action for o in ws.plan().outputs} == {"name": Action.NOOP, "nothing": Action.NOOP}


def test_update_in_place(ws: Workspace) -> None:
    ws.write(BASE)
    ws.apply()
    ws.write(BASE.replace("size = 1", "size = 2"))
    plan = ws.plan()
    assert actions(plan) == {"fake_thing.a": Action.UPDATE}
    state = ws.apply()
    assert state.current(InstanceAddr.parse("fake_thing.a")).attributes["size"] == 2  # type: ignore[union-attr]


def test_force_new_replaces_and_names_attribute(ws: Workspace) -> None:
    ws.write(BASE)
    ws.apply()
    old_id = ws.state().current(InstanceAddr.parse("fake_thing.a")).attributes["id"]  # type: ignore[union-attr]
    ws.write(BASE.replace('name = "a"', 'name = "a2"'))
    plan = ws.plan()
    change = next(c for c in plan.changes if str(c.addr) == "fake_thing.a")
    assert change.action is Action.REPLACE
    assert change.requires_replace == ("name",)
    # b references a.id, which becomes unknown, so b is updated
    assert actions(plan)["fake_thing.b"] is Action.UPDATE
    state = ws.apply()
    new_a = state.current(InstanceAddr.parse("fake_thing.a"))
    assert new_a is not None and new_a.attributes["id"] != old_id
    assert state.current(InstanceAddr.parse("fake_thing.b")).attributes["ref"] == new_a.attributes["id"]  # type: ignore[union-attr]
    # destroy-first: the delete of a came before its create
    calls = [c for c in ws.cloud.calls if c[1] in ("a", "a2") and c[0] != "read"]
    assert calls.index(("delete", "a")) < calls.index(("create", "a2"))


def test_create_before_destroy_orders_create_first(ws: Workspace) -> None:
    cbd = BASE.replace("size = 1\n}", "size = 1\n  lifecycle {\n    create_before_destroy = true\n  }\n}", 1)
    ws.write(cbd)
    ws.apply()
    ws.write(cbd.replace('name = "a"', 'name = "a2"'))
    plan = ws.plan()
    change = next(c for c in plan.changes if str(c.addr) == "fake_thing.a")
    assert change.create_first
    ws.apply()
    calls = [c for c in ws.cloud.calls if c[0] != "read"]
    assert calls.index(("create", "a2")) < calls.index(("delete", "a"))
    assert calls.index(("update", "b")) < calls.index(("delete", "a"))
    assert len(ws.cloud.objects) == 2


def test_orphan_is_deleted(ws: Workspace) -> None:
    ws.write(BASE)
    ws.apply()
    ws.write(BASE.split('resource "fake_thing" "b"')[0])
    plan = ws.plan()
    assert actions(plan) == {"fake_thing.b": Action.DELETE}
    ws.apply()
    assert len(ws.cloud.objects) == 1


def test_replace_flag(ws: Workspace) -> None:
    ws.write(BASE)
    ws.apply()
    plan = ws.plan(replace=("fake_thing.b",))
    assert actions(plan) == {"fake_thing.b": Action.REPLACE}
    assert plan.changes[-1].reason == "as requested" or any(c.reason == "as requested" for c in plan.changes)


def test_deleted_outside_is_recreated_and_dependents_replanned(ws: Workspace) -> None:
    ws.write(BASE)
    state = ws.apply()
    a_id = state.current(InstanceAddr.parse("fake_thing.a")).attributes["id"]  # type: ignore[union-attr]
    del ws.cloud.objects[a_id]
    plan = ws.plan()
    assert [d.kind for d in plan.drift] == ["deleted"]
    assert actions(plan) == {"fake_thing.a": Action.CREATE, "fake_thing.b": Action.UPDATE}
    state = ws.apply()
    new_id = state.current(InstanceAddr.parse("fake_thing.a")).attributes["id"]  # type: ignore[union-attr]
    assert new_id != a_id
    assert state.current(InstanceAddr.parse("fake_thing.b")).attributes["ref"] == new_id  # type: ignore[union-attr]


def test_prevent_destroy_in_config_refuses(ws: Workspace) -> None:
    protected = BASE.replace("size = 1\n}", "size = 1\n  lifecycle {\n    prevent_destroy = true\n  }\n}", 1)
    ws.write(protected)
    ws.apply()
    ws.write(protected.replace('name = "a"', 'name = "zz"'))
    _, diags = ws.engine().plan(PlanOptions())
    assert any(d.summary == "Instance cannot be destroyed" for d in diags)


def test_prevent_destroy_recorded_in_state_survives_block_removal(ws: Workspace) -> None:
    protected = BASE.replace("size = 1\n}", "size = 1\n  lifecycle {\n    prevent_destroy = true\n  }\n}", 1)
    ws.write(protected)
    state = ws.apply()
    assert state.current(InstanceAddr.parse("fake_thing.a")).prevent_destroy  # type: ignore[union-attr]
    ws.write('resource "fake_thing" "b" {\n  name = "b"\n}\n')
    _, diags = ws.engine().plan(PlanOptions())
    refusal = [d for d in diags if d.summary == "Instance cannot be destroyed"]
    assert refusal and "removed {" in refusal[0].detail and "relight state rm" in refusal[0].detail
    # the way out: a removed block forgets it without destroying
    ws.write(
        'resource "fake_thing" "b" {\n  name = "b"\n}\nremoved {\n  from = fake_thing.a\n  lifecycle {\n    destroy = false\n  }\n}\n'
    )
    plan = ws.plan()
    assert actions(plan)["fake_thing.a"] is Action.FORGET
    ws.apply()
    assert ws.state().get(InstanceAddr.parse("fake_thing.a")) is None
    assert len(ws.cloud.objects) == 2  # nothing destroyed


def test_moved_block_renames_without_replacing(ws: Workspace) -> None:
    ws.write(BASE)
    ws.apply()
    renamed = BASE.replace('"fake_thing" "b"', '"fake_thing" "c"')
    ws.write(renamed + "\nmoved {\n  from = fake_thing.b\n  to   = fake_thing.c\n}\n")
    plan = ws.plan()
    assert plan.moved == [("fake_thing.b", "fake_thing.c")]
    assert actions(plan) == {}


def test_ignore_changes(ws: Workspace) -> None:
    ign = BASE.replace("size = 1\n}", "size = 1\n  lifecycle {\n    ignore_changes = [size]\n  }\n}", 1)
    ws.write(ign)
    ws.apply()
    ws.write(ign.replace("size = 1", "size = 5"))
    assert actions(ws.plan()) == {}


def test_replace_triggered_by(ws: Workspace) -> None:
    trig = (
        BASE
        + '\nresource "fake_thing" "c" {\n  name = "c"\n  lifecycle {\n    replace_triggered_by = [fake_thing.a]\n  }\n}\n'
    )
    ws.write(trig)
    ws.apply()
    ws.write(trig.replace("size = 1", "size = 3"))
    plan = ws.plan()
    assert actions(plan)["fake_thing.c"] is Action.REPLACE


def test_count_shrink_deletes_extra(ws: Workspace) -> None:
    ws.write('resource "fake_thing" "n" {\n  count = 3\n  name = "n${count.index}"\n}\n')
    ws.apply()
    ws.write('resource "fake_thing" "n" {\n  count = 1\n  name = "n${count.index}"\n}\n')
    plan = ws.plan()
    assert actions(plan) == {"fake_thing.n[1]": Action.DELETE, "fake_thing.n[2]": Action.DELETE}


def test_for_each(ws: Workspace) -> None:
    ws.write('resource "fake_thing" "m" {\n  for_each = {x = 1, y = 2}\n  name = each.key\n  size = each.value\n}\n')
    state = ws.apply()
    assert state.current(InstanceAddr.parse('fake_thing.m["y"]')).attributes["size"] == 2  # type: ignore[union-attr]


def test_target_limits_plan(ws: Workspace) -> None:
    ws.write(BASE + '\nresource "fake_thing" "z" {\n  name = "z"\n}\n')
    plan = ws.plan(targets=("fake_thing.b",))
    assert set(actions(plan)) == {"fake_thing.a", "fake_thing.b"}


def test_refresh_false_skips_reads(ws: Workspace) -> None:
    ws.write(BASE)
    ws.apply()
    before = ws.cloud.counts.get("read", 0)
    ws.plan(refresh=False)
    assert ws.cloud.counts.get("read", 0) == before


def test_refresh_only_records_drift_without_actions(ws: Workspace) -> None:
    ws.write(BASE)
    state = ws.apply()
    a_id = state.current(InstanceAddr.parse("fake_thing.a")).attributes["id"]  # type: ignore[union-attr]
    ws.cloud.objects[a_id]["size"] = 9
    plan = ws.plan(mode=PlanMode.REFRESH_ONLY)
    assert actions(plan) == {} and plan.drift and plan.has_changes
    state = ws.apply(mode=PlanMode.REFRESH_ONLY)
    assert state.current(InstanceAddr.parse("fake_thing.a")).attributes["size"] == 9  # type: ignore[union-attr]


def test_destroy_mode_deletes_in_reverse_order(ws: Workspace) -> None:
    ws.write(BASE)
    ws.apply()
    plan = ws.plan(mode=PlanMode.DESTROY)
    assert actions(plan) == {"fake_thing.a": Action.DELETE, "fake_thing.b": Action.DELETE}
    ws.apply(mode=PlanMode.DESTROY)
    deletes = [c[1] for c in ws.cloud.calls if c[0] == "delete"]
    assert deletes == ["b", "a"]
    assert ws.cloud.objects == {} and len(ws.state()) == 0


def test_failure_stops_only_dependents(ws: Workspace) -> None:
    ws.write(BASE + '\nresource "fake_thing" "z" {\n  name = "z"\n}\n')
    ws.cloud.fail_on["create"] = {1}
    engine = ws.engine()
    with engine.lock("apply"):
        plan, _ = engine.plan(PlanOptions(parallelism=1))
        state, diags = engine.apply(plan, parallelism=1)
    assert diags.has_errors
    names = {s.current.attributes["name"] for s in state if s.current is not None}
    assert "b" not in names  # b depends on a, which failed
    assert len(names) == 1  # the independent one was created
    # the next run converges
    ws.apply()
    assert {o["name"] for o in ws.cloud.objects.values()} == {"a", "b", "z"}


def test_saved_plan_applies_exactly_and_refuses_when_stale(ws: Workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ws.write(BASE)
    engine = ws.engine()
    plan, _ = engine.plan(PlanOptions())
    write_plan(plan, str(tmp_path / "p.plan"))
    saved = read_plan(str(tmp_path / "p.plan"))
    state, diags = ws.engine().apply(saved)
    assert not diags.has_errors and len(state) == 2
    with pytest.raises(PlanError, match="stale"):
        ws.engine().apply(read_plan(str(tmp_path / "p.plan")))


def test_saved_plan_refused_when_config_changed(ws: Workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ws.write(BASE)
    plan, _ = ws.engine().plan(PlanOptions())
    write_plan(plan, str(tmp_path / "p.plan"))
    ws.write(BASE.replace("size = 1", "size = 7"))
    with pytest.raises(PlanError, match="configuration files changed"):
        ws.engine().apply(read_plan(str(tmp_path / "p.plan")))


def test_cycle_is_a_diagnostic(ws: Workspace) -> None:
    ws.write(
        'resource "fake_thing" "a" {\n  name = fake_thing.b.id\n}\nresource "fake_thing" "b" {\n  name = fake_thing.a.id\n}\n'
    )
    _, diags = ws.engine().plan(PlanOptions())
    cyc = [d for d in diags if d.summary.startswith("Cycle")]
    assert cyc and cyc[0].subject is not None and cyc[0].subject.start.line in (1, 4)


def test_a_deposed_object_left_by_a_failed_create_before_destroy_is_destroyed_next_run(ws: Workspace) -> None:
    cbd = BASE.replace("size = 1\n}", "size = 1\n  lifecycle {\n    create_before_destroy = true\n  }\n}", 1)
    ws.write(cbd)
    ws.apply()
    old_id = ws.state().current(InstanceAddr.parse("fake_thing.a")).attributes["id"]  # type: ignore[union-attr]
    ws.write(cbd.replace('name = "a"', 'name = "a2"'))
    ws.cloud.fail_on = {"delete": {1}}  # the old object's delete fails: it stays deposed
    engine = ws.engine()
    with engine.lock("apply"):
        plan, _ = engine.plan()
        _, diags = engine.apply(plan)
    assert diags.has_errors
    inst = ws.state().get(InstanceAddr.parse("fake_thing.a"))
    assert inst is not None and len(inst.deposed) == 1
    key = next(iter(inst.deposed))
    assert old_id in ws.cloud.objects

    plan = ws.plan()
    deposed = [c for c in plan.changes if c.deposed]
    assert [(str(c.addr), c.action, c.deposed, c.reason) for c in deposed] == [("fake_thing.a", Action.DELETE, key, "deposed")]
    from relight.runs import render_plan

    assert f"# fake_thing.a (deposed object {key}) will be destroyed" in render_plan(plan)
    ws.apply()
    assert old_id not in ws.cloud.objects and len(ws.cloud.objects) == 2
    assert not ws.state().get(InstanceAddr.parse("fake_thing.a")).deposed  # type: ignore[union-attr]
