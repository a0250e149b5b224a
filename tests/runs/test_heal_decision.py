"""What the heal loop applies unattended: classify (pure) + may_apply, as one table.

Each row is a pass's plan (built from ResourceChange/Drift values, no cloud), a policy, and the
recoveries already made this hour; the columns say how the pass is classified, whether the loop
may apply it, and what it holds back for a person.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from relight.addrs import InstanceAddr
from relight.engine import Action, Drift, Plan, PlanMode, ResourceChange
from relight.runs import HealPolicy, PassKind, classify
from relight.runs.healpass import may_apply

NODE = "aws_instance.node"
ATTACH = "aws_volume_attachment.data"
ALARM = "aws_cloudwatch_metric_alarm.cpu"
VOLUME = "aws_ebs_volume.data"
SG = "aws_security_group.sg"


def change(addr: str, action: Action, deps: tuple[str, ...] = (), reason: str = "") -> ResourceChange:
    before = None if action is Action.CREATE else {"id": "x"}
    return ResourceChange(InstanceAddr.parse(addr), action, "aws", before, {"id": "y"}, dependencies=deps, reason=reason)


def deleted(addr: str) -> Drift:
    return Drift(InstanceAddr.parse(addr), "deleted", {"id": "old"}, None)


def updated(addr: str) -> Drift:
    return Drift(InstanceAddr.parse(addr), "updated", {"id": "x", "tags": {"Name": "a"}}, {"id": "x", "tags": {"Name": "b"}})


def plan(changes: list[ResourceChange], drift: list[Drift]) -> Plan:
    return Plan(PlanMode.NORMAL, "lineage", 1, changes, drift)


@dataclass(frozen=True)
class Case:
    name: str
    plan: Plan
    baseline: Plan | None  # the same plan without refresh: edits show here
    kind: PassKind


# The shapes of plans a heal pass meets.
RECOVERY = Case(
    "node vanished: re-create it, re-wire attachment and alarm",
    plan(
        [
            change(NODE, Action.CREATE, reason="deleted outside relight"),
            change(ATTACH, Action.REPLACE, deps=(NODE,)),
            change(ALARM, Action.UPDATE, deps=(NODE,)),
        ],
        [deleted(NODE)],
    ),
    plan([], []),
    PassKind.RECOVERY,
)
DRIFT = Case("a tag changed by hand", plan([change(SG, Action.UPDATE)], [updated(SG)]), plan([], []), PassKind.DRIFT)
RECOVERY_AND_DRIFT = Case(
    "node vanished and a tag changed elsewhere",
    plan(
        [change(NODE, Action.CREATE, reason="deleted outside relight"), change(SG, Action.UPDATE)],
        [deleted(NODE), updated(SG)],
    ),
    plan([], []),
    PassKind.RECOVERY,
)
DATA_VANISHED = Case(
    "the data volume vanished: re-creating it would start empty",
    plan([change(VOLUME, Action.CREATE, reason="deleted outside relight")], [deleted(VOLUME)]),
    plan([], []),
    PassKind.OTHER,
)
DATA_REPLACED = Case(
    "the data volume would be replaced",
    plan([change(NODE, Action.CREATE), change(VOLUME, Action.REPLACE, deps=(NODE,))], [deleted(NODE)]),
    plan([], []),
    PassKind.OTHER,
)
EDITED = Case(
    "configuration edited and never applied",
    plan([change(SG, Action.UPDATE)], []),
    plan([change(SG, Action.UPDATE)], []),
    PassKind.OTHER,
)
DELETE = Case(
    "a delete (block removed)",
    plan([change(NODE, Action.CREATE), change(SG, Action.DELETE)], [deleted(NODE)]),
    plan([change(SG, Action.DELETE)], []),
    PassKind.OTHER,
)

AUTO = HealPolicy(mode="auto")
AUTO_REVERT = HealPolicy(mode="auto", revert_drift=True)
NOTIFY = HealPolicy(mode="notify")
NOTIFY_REVERT = HealPolicy(mode="notify", revert_drift=True)
CAPPED = HealPolicy(mode="auto", max_recoveries_per_hour=0)
CAP3 = HealPolicy(mode="auto", max_recoveries_per_hour=3)

# (case, policy, recoveries this hour) -> (applies unattended, held back for a person)
TABLE = [
    (RECOVERY, AUTO, 0, True, ()),
    (RECOVERY, NOTIFY, 0, False, ()),
    (RECOVERY, CAPPED, 0, False, ()),
    (RECOVERY, CAP3, 2, True, ()),
    (RECOVERY, CAP3, 3, False, ()),
    (RECOVERY, AUTO_REVERT, 0, True, ()),
    (DRIFT, AUTO, 0, False, ()),
    (DRIFT, AUTO_REVERT, 0, True, ()),
    (DRIFT, NOTIFY_REVERT, 0, False, ()),
    (DRIFT, HealPolicy(mode="auto", revert_drift=True, max_recoveries_per_hour=0), 0, False, ()),
    (RECOVERY_AND_DRIFT, AUTO, 0, True, (SG,)),
    (RECOVERY_AND_DRIFT, AUTO_REVERT, 0, True, (SG,)),  # classify names it; the pass applies it with revert_drift
    (RECOVERY_AND_DRIFT, NOTIFY, 0, False, (SG,)),
    (DATA_VANISHED, AUTO, 0, False, ()),
    (DATA_VANISHED, AUTO_REVERT, 0, False, ()),
    (DATA_REPLACED, AUTO, 0, False, ()),
    (EDITED, AUTO, 0, False, ()),
    (EDITED, AUTO_REVERT, 0, False, ()),
    (DELETE, AUTO, 0, False, ()),
]


def holds_data(c: ResourceChange) -> bool:
    return c.addr.resource.type in ("aws_ebs_volume", "aws_ebs_snapshot")


@pytest.mark.parametrize(
    ("case", "policy", "done", "applies", "held"),
    TABLE,
    ids=[f"{c.name} | {p.mode} revert={p.revert_drift} cap={p.max_recoveries_per_hour} done={n}" for c, p, n, _, _ in TABLE],
)
def test_what_the_heal_loop_applies_unattended(
    case: Case, policy: HealPolicy, done: int, applies: bool, held: tuple[str, ...]
) -> None:
    verdict = classify(case.plan, case.baseline, holds_data)
    assert verdict.kind is case.kind, verdict.reasons
    allowed, why_not = may_apply(policy, verdict, done)
    assert allowed is applies
    assert bool(why_not) is not applies  # a refusal always says why
    assert verdict.held_back == held


def test_a_clean_plan_is_clean_whatever_the_policy() -> None:
    verdict = classify(plan([change(NODE, Action.NOOP)], []), None, holds_data)
    assert verdict.kind is PassKind.CLEAN


def test_an_object_an_open_incident_found_vanished_still_counts_as_vanished() -> None:
    # After a failed recovery the node is no longer in state: the plan is a plain create.
    again = plan([change(NODE, Action.CREATE)], [])
    assert classify(again, plan([change(NODE, Action.CREATE)], []), holds_data).kind is PassKind.OTHER
    known = frozenset({NODE})
    assert classify(again, plan([change(NODE, Action.CREATE)], []), holds_data, known).kind is PassKind.RECOVERY
