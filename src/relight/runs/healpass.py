"""A heal pass as a run: detect what vanished, recover it if the policy allows, verify.

1. Load the configuration (it may have changed since the last pass) and its heal policy
   (:mod:`relight.runs.healpolicy`); tell the sink (:class:`HealPolicyLoaded`).
2. Take the state lock without waiting. If another run holds it, the pass is ``skipped``.
3. Refresh and plan. No changes: ``clean``.
4. Plan again without refresh: a change there comes from edited configuration, not from the
   cloud (see :mod:`relight.runs.classify`).
5. Classify, decide whether the policy allows applying (a recovery under ``mode = "auto"``,
   drift only with ``revert_drift``, within ``max_recoveries_per_hour``), and tell the sink
   (:class:`HealFinding`) before acting: the scheduler opens incidents and notifies from it.
6. Apply when allowed, holding drift reverts back (an engine option) unless ``revert_drift``.
7. Verify: plan again; the recovery is verified when everything reads back as planned.

The outcome is in ``result.heal`` (:class:`~relight.runs.result.HealReport`). Incidents,
notifications and back-off belong to the scheduler (:mod:`relight.heal`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC

from relight.diagnostics import Diagnostics
from relight.engine import Action, Engine, Plan, PlanOptions, ResourceChange
from relight.engine.adopt import adoption_check
from relight.errors import StateLockedError
from relight.runs.classify import Classification, PassKind, classify, summarize, summarize_change
from relight.runs.events import HealFinding, HealPolicyLoaded, Message
from relight.runs.healpolicy import HealPolicy, load_policy
from relight.runs.notices import backend_check
from relight.runs.result import HealReport, RunResult, RunStatus
from relight.runs.scope import RunScope

__all__ = ["first_error", "may_apply", "run"]


def run(scope: RunScope) -> RunResult:
    checked = scope.load_checked()
    if checked is None:
        return _report(scope, HealReport("error", message=_config_error(scope.diags)))
    loaded, values = checked
    policy, d = load_policy(loaded.config, values, scope.context.inputs, scope.request.heal.mode, scope.context.files)
    scope.diags.extend(d)
    if d.has_errors:
        return _report(scope, HealReport("error", message=_config_error(scope.diags)))
    scope.sink.emit(HealPolicyLoaded(policy))
    if policy.mode == "off":
        return _report(scope, HealReport("off", message="heal mode is off: nothing checked", policy=policy))
    engine = scope.engine(loaded, values)
    found = adoption_check(loaded.config, scope.context.directory, engine.backend)
    found.extend(backend_check(loaded.config, engine.backend))
    scope.diags.extend(found)
    if found.has_errors:  # Terraform still manages the stack: a pass would "recover" all of it
        message = f"{found.errors[0].summary}: adopt it with 'relight state push' first; nothing was planned"
        return _report(scope, HealReport("error", message=message, policy=policy))
    try:
        with scope.lock(engine, "heal", timeout=0.0):
            report = _plan_and_act(scope, engine, policy)
    except StateLockedError as exc:
        holder = exc.info
        who = f"{holder.get('Operation', '?')} by {holder.get('Who', '?')}" if holder else "another run"
        report = HealReport(
            "skipped", message=f"skipped this pass: the state is locked ({who}); will try again", lock_holder=who
        )
    report = _with_policy(report, policy)
    return _report(scope, report)


def _plan_and_act(scope: RunScope, engine: Engine, policy: HealPolicy) -> HealReport:
    plan, diags = engine.plan(PlanOptions())
    detected = time.monotonic()
    cloud0 = scope.clock.snapshot()[0]  # the recovery's cloud time counts from detection
    scope.diags.extend(diags)
    if diags.has_errors:
        return HealReport("error", message=f"could not plan ({first_error(diags)}); nothing was applied")
    baseline = None
    if any(c.changes_anything for c in plan.changes):
        baseline, d = engine.plan(PlanOptions(refresh=False))
        if d.has_errors:
            baseline = None
    known = frozenset(scope.request.heal.known_vanished)
    verdict = classify(plan, baseline, lambda c: _holds_data(engine, c), known)
    if verdict.kind is PassKind.CLEAN:
        return HealReport("clean", message="no changes: everything matches the configuration")
    allowed, why_not = may_apply(policy, verdict, scope.request.heal.recoveries_last_hour)
    held = () if policy.revert_drift else verdict.held_back
    finding = _finding(verdict, plan, held, allowed)
    scope.sink.emit(finding)
    report = HealReport(
        "needs-person",
        kind=verdict.kind.value,
        vanished=verdict.vanished,
        drifted=verdict.drifted,
        changed=verdict.changed_attributes,
        reasons=tuple(verdict.reasons),
        plan_lines=finding.plan_lines,
        held_back=held,
        why_not=why_not,
        message=finding.summary,
        detected=detected,
    )
    if not allowed:
        return report
    return _recover(scope, engine, plan, report, verdict, cloud0)


def _recover(
    scope: RunScope, engine: Engine, plan: Plan, report: HealReport, verdict: Classification, cloud0: float
) -> HealReport:
    started = time.monotonic()
    notes: list[str] = []
    held = frozenset(report.held_back)
    if held:
        note = (
            "held back (revert_drift is off; a person decides): undoing changes made outside relight to "
            + "; ".join(f"{a} ({', '.join(verdict.changed_attributes.get(a, [])) or 'changed'})" for a in sorted(held))
        )
        notes.append(note)
        scope.sink.emit(Message(note))
    scope.sink.emit(Message(f"applying the {verdict.kind.value} (mode auto)"))
    applied_at = scope.context.now().astimezone(UTC).isoformat()
    hold = frozenset(c.addr for c in plan.changes if str(c.addr) in held)
    _state, diags = engine.apply(plan, hold_back=hold, cancel=scope.context.cancel)
    scope.diags.extend(diags)
    base = _replace(report, applied_at=applied_at, apply_started=started, notes=tuple(notes))
    if diags.has_errors:
        return _replace(base, outcome="failed", error=first_error(diags))
    check, d = engine.plan(PlanOptions())
    remaining = [summarize_change(c) for c in check.changes if c.action is not Action.NOOP and str(c.addr) not in held]
    drift = [f"{x.addr} {x.kind}" for x in check.drift if str(x.addr) not in held]
    verified = not d.has_errors and not remaining and not drift
    checked = sum(1 for inst in check.refreshed_state if inst.current is not None) if check.refreshed_state else 0
    verification = {"ok": verified, "objects_read_back": checked, "remaining": remaining, "drift": drift}
    if not verified:
        error = "verification failed: " + ("; ".join(remaining + drift) or first_error(d))
        return _replace(base, outcome="failed", error=error, verification=verification)
    cloud = scope.clock.snapshot()[0] - cloud0
    return _replace(
        base, outcome="recovered", verification=verification, recovered=time.monotonic(), cloud_seconds=cloud
    )


def may_apply(policy: HealPolicy, verdict: Classification, recoveries_last_hour: int) -> tuple[bool, str]:
    """Whether the loop may apply this plan by itself, and if not, why (for people)."""
    if verdict.kind is PassKind.OTHER:
        return False, "a person must look at this plan: " + "; ".join(verdict.reasons)
    if verdict.kind is PassKind.DRIFT and not policy.revert_drift:
        return False, "objects were changed outside relight (" + ", ".join(
            verdict.drifted
        ) + "); revert_drift is off, so a person decides"
    if policy.mode != "auto":
        return False, f'heal mode is "{policy.mode}": run `relight apply` or `relight heal --mode auto`'
    if recoveries_last_hour >= policy.max_recoveries_per_hour:
        return False, (
            f"{recoveries_last_hour} recoveries in the last hour reached max_recoveries_per_hour "
            f"({policy.max_recoveries_per_hour}); something keeps undoing what relight recovers, so a "
            "person should look before the next one"
        )
    return True, ""


def _finding(verdict: Classification, plan: Plan, held: tuple[str, ...], allowed: bool) -> HealFinding:
    return HealFinding(
        classification=verdict.kind.value,
        vanished=verdict.vanished,
        drifted=verdict.drifted,
        changed=dict(verdict.changed_attributes),
        reasons=tuple(verdict.reasons),
        plan_lines=tuple(summarize(plan)),
        held_back=held,
        summary=_what(verdict, plan),
        will_apply=allowed,
    )


def _what(verdict: Classification, plan: Plan) -> str:
    """One sentence for people: what vanished (with its id) or what changed outside relight."""
    parts = []
    ids = {str(d.addr): (d.before or {}).get("id") for d in plan.drift}
    if verdict.vanished:
        parts.append("vanished: " + ", ".join(f"{a} ({ids.get(a)})" if ids.get(a) else a for a in verdict.vanished))
    if verdict.drifted:
        parts.append(
            "changed outside relight: "
            + ", ".join(
                f"{a} ({'; '.join(verdict.changed_attributes.get(a, [])) or 'changed'})" for a in verdict.drifted
            )
        )
    if not parts:
        parts.append("the plan has changes: " + ", ".join(summarize(plan)[:5]))
    return "; ".join(parts)


def _holds_data(engine: Engine, change: ResourceChange) -> bool:
    schema = engine.schema_of(change.provider, change.addr.resource.type)
    return bool(schema is not None and schema.holds_data)


def first_error(diags: Diagnostics) -> str:
    """The first error as one line: "address: summary (first line of detail)"."""
    for d in diags.errors:
        where = f"{d.address}: " if d.address else ""
        return f"{where}{d.summary}" + (f" ({d.detail.splitlines()[0]})" if d.detail else "")
    return "unknown error"


def _config_error(diags: Diagnostics) -> str:
    return f"the configuration has errors ({first_error(diags)}); nothing was planned"


def _with_policy(report: HealReport, policy: HealPolicy) -> HealReport:
    return _replace(report, policy=policy)


def _replace(report: HealReport, **changes: object) -> HealReport:
    return replace(report, **changes)  # type: ignore[arg-type]


def _report(scope: RunScope, report: HealReport) -> RunResult:
    status = RunStatus.ERRORED if report.outcome in ("error", "failed") else RunStatus.SUCCEEDED
    result = scope.result(status)
    result.heal = report
    return result
