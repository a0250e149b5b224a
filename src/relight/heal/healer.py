"""The heal loop: notice vanished objects, recover them when the policy allows, record it all.

One pass (``relight heal``; ``relight watch`` repeats it):

1. Load the configuration again (it may have changed since the last pass) and its policy.
2. Take the state lock without waiting. If another run holds it, skip the pass and say who.
3. Refresh and plan. No changes: close any open incident as resolved, done.
4. Plan again without refresh: a change there comes from edited configuration, not from the
   cloud, and makes the pass "other" (see :mod:`relight.heal.classify`).
5. Open an incident (or continue the open one) and notify on first detection.
6. Apply when allowed: a recovery under ``mode = "auto"`` (drift also with ``revert_drift``),
   within ``max_recoveries_per_hour`` and not while backing off after failures. Otherwise the
   incident is marked ``needs-person`` and people are told once.
7. Verify: plan again; the recovery is verified when everything reads back as planned (no
   changes and no drift left). Record the outcome and the time to recover; notify.

Failures never lose the state (the engine journals every step) and never loop hot: after a
failed recovery the loop waits ``interval * 2**failures`` (at most 10 minutes) before the next
pass, and says so. Notifications are sent in the background and never delay a recovery.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from relight.diagnostics import Diagnostics
from relight.engine import Engine, PlanOptions
from relight.engine.hooks import Hook
from relight.engine.plan import Action, Plan, ResourceChange
from relight.engine.workspace import load_checked, state_path
from relight.errors import StateLockedError
from relight.heal.classify import Classification, PassKind, classify, summarize
from relight.heal.events import Event, EventKind
from relight.heal.incidents import Incident, IncidentLog, now_iso
from relight.heal.notify import Notifier
from relight.heal.policy import HealPolicy, load_policy
from relight.lang import Config, collect_variable_values
from relight.providers.clock import CLOCK
from relight.providers.registry import ProviderRegistry
from relight.state import LocalBackend

__all__ = ["Healer", "PassResult"]

Status = Literal["clean", "recovered", "failed", "needs-person", "skipped", "error", "off", "backing-off"]
MAX_BACKOFF = 600.0


@dataclass
class PassResult:
    """What one pass found and did. Times are ``time.monotonic()`` values (None if not reached)."""

    status: Status
    message: str = ""
    incident: Incident | None = None
    detected: float | None = None
    apply_started: float | None = None
    recovered: float | None = None
    diagnostics: Diagnostics = field(default_factory=Diagnostics)


class Healer:
    """Runs heal passes over the configuration in ``directory`` (the current one by default).

    ``say`` receives one line per thing worth telling; ``hook`` (optional) sees the engine's
    progress during a recovery apply; ``print_diags`` renders diagnostics for people;
    ``announce`` hears the policy once, before the first pass acts on it.
    """

    def __init__(
        self,
        directory: str = ".",
        mode: str | None = None,
        var_args: list[tuple[str, str]] | None = None,
        env: Mapping[str, str] | None = None,
        say: Callable[[str], None] = print,
        hook: Hook | None = None,
        registry: ProviderRegistry | None = None,
        print_diags: Callable[[Diagnostics, Mapping[str, str]], None] | None = None,
        announce: Callable[[HealPolicy], None] | None = None,
    ) -> None:
        self.directory = directory
        self.mode = mode
        self.var_args = list(var_args or [])
        self.env = dict(os.environ if env is None else env)
        self.say = say
        self.hook = hook or Hook()
        self.registry = registry or ProviderRegistry()
        self.print_diags = print_diags or self._say_diags
        self.failures = 0  # failed recoveries in a row
        self.errors = 0  # passes in a row that could not check anything (config, cloud, credentials)
        self._last_error = ""
        self.passes = 0
        self._notifier: Notifier | None = None
        self._notifier_key: tuple[str | None, str | None] = (None, None)
        self.last_policy: HealPolicy | None = None
        self.announce = announce  # told the policy once, before the first pass acts on it

    def _report_error(self, diags: Diagnostics, sources: Mapping[str, str], notifier: Notifier | None) -> str:
        """Show a pass's errors the first time only (a watcher must not flood its log with the
        same failure every pass); tell people once the loop has been blind for 3 passes."""
        self.errors += 1
        first = _first_error(diags)
        if first != self._last_error:
            self.print_diags(diags, sources)
            self._last_error = first
        if self.errors == 3 and notifier is not None and notifier.enabled:
            notifier.send(
                Event(
                    kind="blind",
                    incident_id="-",
                    stack=os.path.basename(os.path.abspath(self.directory)),
                    what_happened=f"3 heal passes in a row could not check the stack: {first}",
                    what_was_done="nothing: relight keeps trying, with longer waits between passes",
                    at=now_iso(),
                )
            )
        return first

    def _say_diags(self, diags: Diagnostics, sources: Mapping[str, str]) -> None:
        for d in diags:
            self.say(f"{d.severity.value}: {d.summary}" + (f": {d.detail}" if d.detail else ""))

    # -- the pass -----------------------------------------------------------------------
    def run_pass(self) -> PassResult:
        self.passes += 1
        config, variables, policy, diags = self._load()
        if config is None or policy is None or variables is None:
            first = self._report_error(diags, config.sources if config else {}, None)
            return PassResult(
                "error", f"the configuration has errors ({first}); nothing was planned", diagnostics=diags
            )
        if diags:
            self.print_diags(diags, config.sources)
        if self.announce is not None and self.last_policy is None:
            self.announce(policy)
        self.last_policy = policy
        if policy.mode == "off":
            return PassResult("off", "heal mode is off: nothing checked")
        notifier = self._notifier_for(policy)
        backend = LocalBackend(state_path(config, self.directory))
        log = IncidentLog(backend.path)
        engine = Engine(config, backend, self.registry, variables, self.hook)
        try:
            with engine.lock("heal", 0.0):
                return self._plan_and_act(engine, config, policy, log, notifier)
        except StateLockedError as exc:
            holder = exc.info
            who = f"{holder.get('Operation', '?')} by {holder.get('Who', '?')}" if holder else "another run"
            return PassResult("skipped", f"skipped this pass: the state is locked ({who}); will try again")

    def _plan_and_act(
        self, engine: Engine, config: Config, policy: HealPolicy, log: IncidentLog, notifier: Notifier
    ) -> PassResult:
        plan, diags = engine.plan(PlanOptions())
        detected = time.monotonic()
        cloud0, _ = CLOCK.snapshot()  # the recovery's cloud time counts from detection
        if diags.has_errors:
            first = self._report_error(diags, config.sources, notifier)
            return PassResult("error", f"could not plan ({first}); nothing was applied", diagnostics=diags)
        if self.errors:
            self.say(f"the stack can be checked again after {self.errors} failed passes")
            self.errors, self._last_error = 0, ""
        baseline = None
        if any(c.action is not Action.NOOP for c in plan.changes):
            baseline, d = engine.plan(PlanOptions(refresh=False))
            if d.has_errors:
                baseline = None
        current = log.current()
        known = frozenset(current.vanished) if current is not None else frozenset()
        verdict = classify(plan, baseline, lambda c: _holds_data(engine, c), known)
        if verdict.kind is PassKind.CLEAN:
            if current is not None:
                done = log.update(
                    current,
                    outcome="resolved",
                    resolved_at=now_iso(),
                    notes=(
                        *current.notes,
                        f"{now_iso()}: nothing left to do (fixed by a person or undone outside relight)",
                    ),
                )
                self._notify(notifier, "resolved", done, "nothing is left to do", "closed the incident")
                return PassResult("clean", f"incident {current.id} resolved: nothing left to do")
            return PassResult("clean", "no changes: everything matches the configuration")
        incident, fresh = self._incident(log, current, verdict, plan, config)
        if fresh:
            if verdict.vanished:  # drift alone is told once, below, with what a person should do
                self._notify(notifier, "detected", incident, _what(verdict, plan), "")
            self.say(f"incident {incident.id} opened: {incident.kind}; {_what(verdict, plan)}")
            for line in incident.plan:
                self.say(f"  {line}")
        allowed, why_not = self._allowed(policy, verdict, log)
        if not allowed:
            note = f"not applied: {why_not}"
            if incident.outcome != "needs-person":
                incident = log.update(incident, outcome="needs-person", notes=(*incident.notes, f"{now_iso()}: {note}"))
                kind: EventKind = "drift" if verdict.kind is PassKind.DRIFT else "blocked"
                self._notify(notifier, kind, incident, _what(verdict, plan), note)
            return PassResult("needs-person", f"incident {incident.id}: {note}", incident, detected)
        return self._recover(engine, plan, incident, log, notifier, verdict, detected, cloud0)

    def _recover(
        self,
        engine: Engine,
        plan: Plan,
        incident: Incident,
        log: IncidentLog,
        notifier: Notifier,
        verdict: Classification,
        detected: float,
        cloud0: float,
    ) -> PassResult:
        started = time.monotonic()
        incident = log.update(incident, outcome="open", applied_at=now_iso())
        revert = self.last_policy is not None and self.last_policy.revert_drift
        held = set() if revert else set(verdict.held_back)
        if held:
            # Leave the held-back objects as recorded, so the next pass still sees their drift.
            refreshed = plan.refreshed_state.copy()
            stored = engine.backend.read()
            for inst in list(refreshed):
                if str(inst.addr) in held:
                    refreshed.set_current(inst.addr, inst.provider, stored.current(inst.addr))
            plan = replace(
                plan, changes=[c for c in plan.changes if str(c.addr) not in held], refreshed_state=refreshed
            )
            note = (
                "held back (revert_drift is off; a person decides): undoing changes made outside relight to "
                + "; ".join(
                    f"{a} ({', '.join(verdict.changed_attributes.get(a, [])) or 'changed'})" for a in sorted(held)
                )
            )
            incident = log.update(incident, notes=(*incident.notes, f"{now_iso()}: {note}"))
            self.say(note)
        self.say(f"applying the {verdict.kind.value} (mode auto)")
        _state, diags = engine.apply(plan)
        if diags.has_errors:
            return self._failed(incident, log, notifier, verdict, plan, detected, started, _first_error(diags))
        check, d = engine.plan(PlanOptions())
        remaining = [line for line in summarize(check) if line.split(" ")[1] not in held]
        drift = [f"{x.addr} {x.kind}" for x in check.drift if str(x.addr) not in held]
        verified = not d.has_errors and not remaining and not drift
        checked = sum(1 for inst in check.refreshed_state if inst.current is not None) if check.refreshed_state else 0
        verification = {"ok": verified, "objects_read_back": checked, "remaining": remaining, "drift": drift}
        if not verified:
            error = "verification failed: " + ("; ".join(remaining + drift) or _first_error(d))
            incident = log.update(incident, verification=verification)
            return self._failed(incident, log, notifier, verdict, plan, detected, started, error)
        done = time.monotonic()
        cloud = CLOCK.snapshot()[0] - cloud0
        took = done - _to_monotonic(incident.detected_at, detected)
        incident = log.update(
            incident,
            outcome="recovered",
            recovered_at=now_iso(),
            time_to_recover=round(took, 3),
            cloud_seconds=round(cloud, 3),
            relight_seconds=round(max((done - detected) - cloud, 0.0), 3),
            verification=verification,
        )
        self.failures = 0
        n = len(incident.plan) - len(held)
        what_done = (
            f"re-created and re-wired {n} object{'s' if n != 1 else ''}; "
            f"verified: {checked} objects read back as planned"
            + (f"; held back for a person: {', '.join(sorted(held))}" if held else "")
        )
        self._notify(notifier, "recovered", incident, _what(verdict, plan), what_done)
        own = max((done - detected) - cloud, 0.0)
        self.say(
            f"recovered in {took:.2f}s after detection (cloud API {cloud:.2f}s, relight {own:.2f}s); "
            f"verified: {checked} objects read back as planned"
        )
        return PassResult("recovered", f"incident {incident.id} recovered", incident, detected, started, done)

    def _failed(
        self,
        incident: Incident,
        log: IncidentLog,
        notifier: Notifier,
        verdict: Classification,
        plan: Plan,
        detected: float,
        started: float,
        error: str,
    ) -> PassResult:
        self.failures += 1
        incident = log.update(incident, outcome="failed", error=error)
        wait = self.backoff_seconds(1.0)
        self._notify(notifier, "failed", incident, _what(verdict, plan), f"the recovery failed: {error}")
        msg = f"incident {incident.id}: the recovery failed ({error}); failure {self.failures} in a row"
        return PassResult(
            "failed",
            msg + f", backing off (next pass at least {wait:.0f} intervals later)",
            incident,
            detected,
            started,
        )

    # -- policy and bookkeeping ---------------------------------------------------------
    def _allowed(self, policy: HealPolicy, verdict: Classification, log: IncidentLog) -> tuple[bool, str]:
        if verdict.kind is PassKind.OTHER:
            return False, "a person must look at this plan: " + "; ".join(verdict.reasons)
        if verdict.kind is PassKind.DRIFT and not policy.revert_drift:
            return False, "objects were changed outside relight (" + ", ".join(
                verdict.drifted
            ) + "); revert_drift is off, so a person decides"
        if policy.mode != "auto":
            return False, f'heal mode is "{policy.mode}": run `relight apply` or `relight heal --mode auto`'
        done = log.recoveries_since(1.0)
        if done >= policy.max_recoveries_per_hour:
            return False, (
                f"{done} recoveries in the last hour reached max_recoveries_per_hour "
                f"({policy.max_recoveries_per_hour}); something keeps undoing what relight recovers, so a "
                "person should look before the next one"
            )
        return True, ""

    def backoff_seconds(self, interval: float) -> float:
        """How long to wait before the next pass: ``interval``, doubled per failure in a row."""
        wait: float = min(interval * (2**self.failures), max(MAX_BACKOFF, interval))
        return wait

    def _incident(
        self, log: IncidentLog, current: Incident | None, verdict: Classification, plan: Plan, config: Config
    ) -> tuple[Incident, bool]:
        lines = tuple(summarize(plan))
        same = current is not None and set(current.vanished) == set(verdict.vanished)
        if current is not None and (same or current.outcome == "failed"):
            return log.update(current, passes=current.passes + 1, plan=lines, changed=verdict.changed_attributes), False
        if current is not None:
            log.update(
                current, outcome="superseded", resolved_at=now_iso(), notes=(*current.notes, f"{now_iso()}: superseded")
            )
        incident = log.open(
            stack=os.path.basename(os.path.abspath(self.directory)),
            kind=verdict.kind.value,
            detected_at=now_iso(),
            vanished=verdict.vanished,
            drifted=verdict.drifted,
            plan=lines,
            reasons=tuple(verdict.reasons),
            config_revision=config_revision(self.directory),
            held_back=verdict.held_back,
            changed=verdict.changed_attributes,
        )
        return incident, True

    def _notify(self, notifier: Notifier, kind: EventKind, incident: Incident, happened: str, done: str) -> None:
        if not notifier.enabled:
            return
        notifier.send(
            Event(
                kind=kind,
                incident_id=incident.id,
                stack=incident.stack,
                what_happened=happened,
                what_was_done=done or "nothing yet: " + ("reported for a person" if kind != "detected" else "planning"),
                at=now_iso(),
                addresses=incident.vanished or incident.drifted,
                time_to_recover=incident.time_to_recover if kind == "recovered" else None,
                config_revision=incident.config_revision,
                details={"plan": list(incident.plan), "reasons": list(incident.reasons), "outcome": incident.outcome},
            )
        )

    def _notifier_for(self, policy: HealPolicy) -> Notifier:
        key = (policy.slack_url, policy.webhook_url)
        if self._notifier is None or key != self._notifier_key:
            if self._notifier is not None:
                self._notifier.close(timeout=2.0)
            self._notifier = Notifier(slack_url=key[0], webhook_url=key[1], log=self.say)
            self._notifier_key = key
        return self._notifier

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is still queued (bounded by ``timeout``), then stop the sender."""
        if self._notifier is not None:
            self._notifier.close(timeout=timeout)

    def _load(self) -> tuple[Config | None, dict[str, Any] | None, HealPolicy | None, Diagnostics]:
        config, diags = load_checked(self.directory)
        if config is None or diags.has_errors:
            return config, None, None, diags
        variables, d = collect_variable_values(config, self.var_args, self.env)
        diags.extend(d)
        if diags.has_errors:
            return config, None, None, diags
        policy, d = load_policy(config, variables, self.env, self.mode)
        diags.extend(d)
        if diags.has_errors:
            return config, None, None, diags
        return config, variables, policy, diags

    # -- the loop -----------------------------------------------------------------------
    def watch(
        self,
        interval: float,
        stop: threading.Event,
        max_passes: int | None = None,
        on_pass: Callable[[PassResult], None] | None = None,
    ) -> None:
        """Run passes every ``interval`` seconds until ``stop`` is set (the current pass always
        finishes) or ``max_passes`` ran. Backs off after failed recoveries."""
        while not stop.is_set():
            result = self.run_pass()
            if on_pass is not None:
                on_pass(result)
            if max_passes is not None and self.passes >= max_passes:
                return
            wait = interval
            if result.status == "failed":
                wait = self.backoff_seconds(interval)
                self.say(f"backing off after {self.failures} failed recoveries in a row: next pass in {wait:.0f}s")
            elif result.status == "error" and self.errors > 1:
                wait = min(interval * (2 ** min(self.errors - 1, 10)), max(MAX_BACKOFF, interval))
            stop.wait(wait)


def _holds_data(engine: Engine, change: ResourceChange) -> bool:
    schema = engine.schema_of(change.provider, change.addr.resource.type)
    return bool(schema is not None and schema.holds_data)


def _what(verdict: Classification, plan: Plan) -> str:
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


def _first_error(diags: Diagnostics) -> str:
    for d in diags:
        if d.severity.value == "error":
            where = f"{d.address}: " if d.address else ""
            return f"{where}{d.summary}" + (f" ({d.detail.splitlines()[0]})" if d.detail else "")
    return "unknown error"


def _to_monotonic(iso: str, fallback: float) -> float:
    """The monotonic time matching a wall-clock ISO stamp (for incidents opened earlier)."""
    try:
        ago = (datetime.now(UTC) - datetime.fromisoformat(iso)).total_seconds()
    except ValueError:
        return fallback
    return min(time.monotonic() - ago, fallback)


def config_revision(directory: str) -> str | None:
    """The git commit of ``directory`` ("+dirty" when .tf files have local edits), if any."""
    try:
        head = subprocess.run(
            ["git", "-C", directory, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", directory, "status", "--porcelain", "--", "*.tf", "*.tfvars"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    rev = head.stdout.strip()
    return rev + ("+dirty" if dirty.stdout.strip() else "")
