"""The heal scheduler: heal passes over the run layer, with incidents, notifications, back-off.

A pass is one run (``Operation.HEAL``, see :mod:`relight.runs.healpass`): it detects, decides
under the policy and recovers. This module keeps what lasts between passes:

* incidents (:mod:`relight.heal.incidents`): opened when a pass reports a finding, continued
  across passes, closed as recovered, resolved or superseded;
* notifications (:mod:`relight.heal.notify`): detection, recovery, failure, drift, blocked,
  resolved, and "blind" after 3 passes in a row that could not check anything; sent in the
  background, never delaying a recovery;
* back-off: after a failed recovery the loop waits ``interval * 2**failures`` (at most 10
  minutes), and says so; passes that keep failing to check back off the same way.

Failures never lose the state (the engine journals every step) and never loop hot.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from relight.diagnostics import Diagnostics
from relight.heal.events import Event as Notice
from relight.heal.events import EventKind
from relight.heal.incidents import Incident, IncidentLog, IncidentStore, now_iso
from relight.heal.notify import Notifier
from relight.runs import (
    DiagnosticEvent,
    Event,
    EventSink,
    HealFinding,
    HealOptions,
    HealPolicy,
    HealPolicyLoaded,
    HealReport,
    Message,
    Operation,
    RunContext,
    Runner,
    RunRequest,
    VarInput,
    first_error,
    locate_state,
)

__all__ = ["Healer", "PassResult"]

Status = Literal["clean", "recovered", "failed", "needs-person", "skipped", "error", "off"]
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
    first_report: bool = False  # needs-person: this pass reported it (earlier passes did not)


class Healer:
    """Runs heal passes over the configuration of ``context``.

    ``say`` receives one line per thing worth telling; ``view`` (optional) sees the run's
    progress events (a recovery's creates); ``print_diags`` renders diagnostics for people;
    ``announce`` hears the policy's description once, before the first pass acts on it.
    ``incidents`` is where incidents are kept (default: the file beside the stack's state);
    ``fallback_slack`` is the Slack webhook told when the policy names none (the server's);
    ``stack`` names the stack in incidents and notices (default: the directory's name).
    """

    def __init__(
        self,
        context: RunContext,
        mode: str | None = None,
        variables: tuple[VarInput, ...] = (),
        say: Callable[[str], None] = print,
        view: EventSink | None = None,
        print_diags: Callable[[Diagnostics, Mapping[str, str]], None] | None = None,
        announce: Callable[[str], None] | None = None,
        incidents: IncidentStore | None = None,
        fallback_slack: str | None = None,
        stack: str | None = None,
    ) -> None:
        self.context = context
        self._stack = stack
        self.incidents = incidents
        self.fallback_slack = fallback_slack
        self.mode = mode
        self.variables = variables
        self.say = say
        self.view = view
        self.print_diags = print_diags or self._say_diags
        self.announce = announce
        self.failures = 0  # failed recoveries in a row
        self.errors = 0  # passes in a row that could not check anything (config, cloud, credentials)
        self._last_error = ""
        self.passes = 0
        self.last_policy: HealPolicy | None = None
        self._notifier: Notifier | None = None
        self._notifier_key: tuple[str | None, str | None] = (None, None)
        self.runner = Runner()

    @property
    def stack(self) -> str:
        """The stack's name in incidents and notices: given, or the directory's name."""
        return self._stack or os.path.basename(os.path.abspath(self.context.directory))

    # -- the pass -----------------------------------------------------------------------
    def run_pass(self) -> PassResult:
        self.passes += 1
        log = self.incidents if self.incidents is not None else IncidentLog(locate_state(self.context))
        current = log.current()
        request = RunRequest(
            Operation.HEAL,
            variables=self.variables,
            heal=HealOptions(
                mode=self.mode,
                recoveries_last_hour=log.recoveries_since(1.0),
                known_vanished=current.vanished if current is not None else (),
            ),
        )
        sink = _PassSink(self, log, current)
        result = self.runner.execute(request, self.context, sink)
        report = result.heal or HealReport("error", message="the heal pass could not run")
        if report.outcome == "error":
            first = self._report_error(result.diagnostics, result.sources, sink.policy_loaded)
            return PassResult("error", report.message or first, diagnostics=result.diagnostics)
        if result.diagnostics:
            self.print_diags(result.diagnostics, result.sources)
        if report.outcome in ("off", "skipped"):
            return PassResult(report.outcome, report.message)  # type: ignore[arg-type]
        if self.errors:
            self.say(f"the stack can be checked again after {self.errors} failed passes")
            self.errors, self._last_error = 0, ""
        if report.outcome == "clean":
            return self._clean(log, current)
        incident = sink.incident
        assert incident is not None  # a finding opened or continued it
        if report.outcome == "needs-person":
            return self._needs_person(log, incident, report)
        if report.outcome == "failed":
            return self._failed(log, incident, report)
        return self._recovered(log, incident, report)

    def _clean(self, log: IncidentStore, current: Incident | None) -> PassResult:
        if current is None:
            return PassResult("clean", "no changes: everything matches the configuration")
        done = log.update(
            current,
            outcome="resolved",
            resolved_at=now_iso(),
            notes=(*current.notes, f"{now_iso()}: nothing left to do (fixed by a person or undone outside relight)"),
        )
        self._notify("resolved", done, "nothing is left to do", "closed the incident")
        return PassResult("clean", f"incident {current.id} resolved: nothing left to do")

    def _needs_person(self, log: IncidentStore, incident: Incident, report: HealReport) -> PassResult:
        note = f"not applied: {report.why_not}"
        first = incident.outcome != "needs-person"
        if first:
            incident = log.update(incident, outcome="needs-person", notes=(*incident.notes, f"{now_iso()}: {note}"))
            kind: EventKind = "drift" if report.kind == "drift" else "blocked"
            self._notify(kind, incident, report.message, note)
        return PassResult("needs-person", f"incident {incident.id}: {note}", incident, report.detected,
                          first_report=first)

    def _failed(self, log: IncidentStore, incident: Incident, report: HealReport) -> PassResult:
        self.failures += 1
        changes: dict[str, object] = {"outcome": "failed", "error": report.error}
        if report.verification is not None:
            changes["verification"] = dict(report.verification)
        incident = log.update(incident, notes=self._notes(incident, report), **changes)
        wait = self.backoff_seconds(1.0)
        self._notify("failed", incident, report.message, f"the recovery failed: {report.error}")
        msg = f"incident {incident.id}: the recovery failed ({report.error}); failure {self.failures} in a row"
        return PassResult(
            "failed",
            msg + f", backing off (next pass at least {wait:.0f} intervals later)",
            incident,
            report.detected,
            report.apply_started,
        )

    def _recovered(self, log: IncidentStore, incident: Incident, report: HealReport) -> PassResult:
        assert report.detected is not None and report.recovered is not None
        done, detected = report.recovered, report.detected
        took = done - _to_monotonic(incident.detected_at, detected)
        own = max((done - detected) - report.cloud_seconds, 0.0)
        incident = log.update(
            incident,
            outcome="recovered",
            recovered_at=now_iso(),
            time_to_recover=round(took, 3),
            cloud_seconds=round(report.cloud_seconds, 3),
            relight_seconds=round(own, 3),
            verification=dict(report.verification or {}),
            notes=self._notes(incident, report),
        )
        self.failures = 0
        checked = (report.verification or {}).get("objects_read_back", 0)
        held = report.held_back
        n = len(incident.plan) - len(held)
        what_done = (
            f"re-created and re-wired {n} object{'s' if n != 1 else ''}; "
            f"verified: {checked} objects read back as planned"
            + (f"; held back for a person: {', '.join(sorted(held))}" if held else "")
        )
        self._notify("recovered", incident, report.message, what_done)
        self.say(
            f"recovered in {took:.2f}s after detection (cloud API {report.cloud_seconds:.2f}s, relight {own:.2f}s); "
            f"verified: {checked} objects read back as planned"
        )
        return PassResult(
            "recovered", f"incident {incident.id} recovered", incident, detected, report.apply_started, done
        )

    @staticmethod
    def _notes(incident: Incident, report: HealReport) -> tuple[str, ...]:
        return (*incident.notes, *(f"{now_iso()}: {n}" for n in report.notes))

    # -- incidents, called from the pass's sink ------------------------------------------
    def on_finding(self, log: IncidentStore, current: Incident | None, finding: HealFinding) -> Incident:
        """Open (or continue) the incident for a pass's finding, tell people on first detection."""
        lines = finding.plan_lines
        same = current is not None and set(current.vanished) == set(finding.vanished)
        if current is not None and (same or current.outcome == "failed"):
            incident = log.update(current, passes=current.passes + 1, plan=lines, changed=dict(finding.changed))
        else:
            if current is not None:
                log.update(
                    current,
                    outcome="superseded",
                    resolved_at=now_iso(),
                    notes=(*current.notes, f"{now_iso()}: superseded"),
                )
            incident = log.open(
                stack=self.stack,
                kind=finding.classification,
                detected_at=now_iso(),
                vanished=finding.vanished,
                drifted=finding.drifted,
                plan=lines,
                reasons=finding.reasons,
                config_revision=config_revision(self.context.directory),
                held_back=finding.held_back,
                changed=dict(finding.changed),
            )
            if finding.vanished:  # drift alone is told once, later, with what a person should do
                self._notify("detected", incident, finding.summary, "")
            self.say(f"incident {incident.id} opened: {incident.kind}; {finding.summary}")
            for line in incident.plan:
                self.say(f"  {line}")
        if finding.will_apply:
            incident = log.update(incident, outcome="open", applied_at=now_iso())
        return incident

    def on_policy(self, policy: HealPolicy) -> None:
        if self.announce is not None and self.last_policy is None:
            self.announce(policy.describe())
        self.last_policy = policy

    # -- policy and bookkeeping ---------------------------------------------------------
    def _report_error(self, diags: Diagnostics, sources: Mapping[str, str], can_notify: bool) -> str:
        """Show a pass's errors the first time only (a watcher must not flood its log with the
        same failure every pass); tell people once the loop has been blind for 3 passes (when the
        policy, which names whom to tell, could be read)."""
        self.errors += 1
        first = first_error(diags)
        if first != self._last_error:
            self.print_diags(diags, sources)
            self._last_error = first
        notifier = self._notifier_for(self.last_policy) if can_notify else None
        if self.errors == 3 and notifier is not None and notifier.enabled:
            notifier.send(
                Notice(
                    kind="blind",
                    incident_id="-",
                    stack=self.stack,
                    what_happened=f"3 heal passes in a row could not check the stack: {first}",
                    what_was_done="nothing: relight keeps trying, with longer waits between passes",
                    at=now_iso(),
                )
            )
        return first

    def _say_diags(self, diags: Diagnostics, sources: Mapping[str, str]) -> None:
        for d in diags:
            self.say(f"{d.severity.value}: {d.summary}" + (f": {d.detail}" if d.detail else ""))

    def backoff_seconds(self, interval: float) -> float:
        """How long to wait before the next pass: ``interval``, doubled per failure in a row."""
        wait: float = min(interval * (2**self.failures), max(MAX_BACKOFF, interval))
        return wait

    def _notify(self, kind: EventKind, incident: Incident, happened: str, done: str) -> None:
        notifier = self._notifier_for(self.last_policy)
        if notifier is None or not notifier.enabled:
            return
        notifier.send(
            Notice(
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

    def _notifier_for(self, policy: HealPolicy | None) -> Notifier | None:
        if policy is None:
            return self._notifier
        key = (policy.slack_url or self.fallback_slack, policy.webhook_url)
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


class _PassSink:
    """One pass's events: the policy and the finding drive incidents; messages are said;
    diagnostics are left to the pass's end (shown once); the rest goes to the view."""

    def __init__(self, healer: Healer, log: IncidentStore, current: Incident | None) -> None:
        self.healer = healer
        self.log = log
        self.current = current
        self.incident: Incident | None = None
        self.policy_loaded = False

    def emit(self, event: Event) -> None:
        if isinstance(event, HealPolicyLoaded):
            self.policy_loaded = True
            self.healer.on_policy(event.policy)
        elif isinstance(event, HealFinding):
            self.incident = self.healer.on_finding(self.log, self.current, event)
        elif isinstance(event, Message):
            self.healer.say(event.text)
        elif isinstance(event, DiagnosticEvent):
            return
        elif self.healer.view is not None:
            self.healer.view.emit(event)


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
