"""Plan and apply runs: ``plan`` (also -destroy and -refresh-only), ``apply`` with its three
approvals (auto, confirm, ask), and the apply of a saved plan."""

from __future__ import annotations

from relight.diagnostics import Diagnostics
from relight.engine import Engine, Plan, PlanMode, PlanOptions, decode_plan, encode_plan
from relight.engine.adopt import adoption_check
from relight.errors import PlanError
from relight.runs.events import PlanReady
from relight.runs.load import Loaded
from relight.runs.notices import applied_with_targets, backend_check, target_notices
from relight.runs.request import Approval, Operation
from relight.runs.result import RunResult, RunStatus
from relight.runs.scope import RunScope

__all__ = ["apply_saved", "plan_and_maybe_apply"]


def plan_and_maybe_apply(run: RunScope) -> RunResult:
    """Plan; a plan run ends there (``planned_and_finished``), and so does an apply with nothing
    to do. An apply then stops for confirmation (``planned``, with the saved plan), asks, or
    applies at once, all while holding the lock."""
    req = run.request
    checked = run.load_checked()
    if checked is None:
        return run.result(RunStatus.ERRORED)
    loaded, values = checked
    engine = run.engine(loaded, values)
    if _still_terraforms(run, loaded, engine):
        return run.result(RunStatus.ERRORED)
    options = PlanOptions(req.mode, req.refresh, req.targets, req.replace, max(1, req.parallelism))
    operation = "plan" if req.operation is Operation.PLAN else "destroy" if req.mode is PlanMode.DESTROY else "apply"
    with run.lock(engine, operation):
        plan, d = engine.plan(options)
        if req.operation is Operation.APPLY and req.approval is Approval.AUTO and not d.has_errors and plan.has_changes:
            # The apply checks the check blocks again: report what it finds, not this too.
            d = Diagnostics(x for x in d if x not in plan.check_diagnostics)
        run.diags.extend(d)
        if d.has_errors:
            return run.result(RunStatus.ERRORED)
        run.diags.extend(target_notices(loaded.config, plan, plan.refreshed_state, req.targets, req.replace))
        run.sink.emit(PlanReady(plan))
        saved = encode_plan(plan) if req.save_plan or req.approval is Approval.CONFIRM else None
        if req.operation is Operation.PLAN or not plan.has_changes:
            result = run.result(RunStatus.PLANNED_AND_FINISHED, plan=plan, plan_file=saved)
            if req.operation is Operation.APPLY:
                result.outputs = engine.backend.read().outputs
            return result
        if req.approval is Approval.CONFIRM:
            return run.result(RunStatus.PLANNED, plan=plan, plan_file=saved)
        if req.approval is Approval.ASK and not run.approved(plan):
            return run.result(RunStatus.DISCARDED, plan=plan)
        return _apply(run, engine, plan)


def apply_saved(run: RunScope, data: bytes) -> RunResult:
    """Apply exactly the saved plan ``data``; a stale one is refused (nothing changes)."""
    try:
        plan = decode_plan(data, run.request.source or "the saved plan")
    except PlanError as exc:
        return run.failed("Failed to load the saved plan", str(exc))
    loaded = run.load()
    if loaded is None:
        return run.result(RunStatus.ERRORED)
    engine = run.engine(loaded, plan.variables)
    if _still_terraforms(run, loaded, engine):
        return run.result(RunStatus.ERRORED)
    with run.lock(engine, "apply"):
        return _apply(run, engine, plan)


def _still_terraforms(run: RunScope, loaded: Loaded, engine: Engine) -> bool:
    """True (with the way out in the diagnostics) when Terraform still manages this stack and
    relight has no state: planning would create every object again next to the real ones."""
    found = adoption_check(loaded.config, run.context.directory, engine.backend)
    found.extend(backend_check(loaded.config, engine.backend))
    run.diags.extend(found)
    return found.has_errors


def _apply(run: RunScope, engine: Engine, plan: Plan) -> RunResult:
    cancel = run.context.cancel
    if cancel.is_set():
        run.diags.warning("Run canceled", "The run was canceled before anything was applied.")
        return run.result(RunStatus.CANCELED, plan=plan)
    state, d = engine.apply(plan, parallelism=max(1, run.request.parallelism), cancel=cancel)
    run.diags.extend(d)
    if plan.targets:
        run.diags.extend(applied_with_targets())
    status = RunStatus.ERRORED if d.has_errors else RunStatus.APPLIED
    skipped = tuple(run.hook.canceled)
    if skipped:
        status = RunStatus.CANCELED
        run.diags.warning(
            "Run canceled",
            f"{len(skipped)} action(s) were not started: {', '.join(skipped)}. Everything that "
            "finished is recorded in the state; run apply again to finish.",
        )
    result = run.result(status, plan=plan)
    result.lineage, result.serial, result.outputs, result.skipped = state.lineage, state.serial, state.outputs, skipped
    return result
