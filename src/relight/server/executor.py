"""Running one claimed job: the plan phase of a pending run, or the apply phase of a confirmed one.

The same code runs under every queue (the embedded one here; procrastinate later): a queue
claims a :class:`~relight.server.store.Job` and calls :meth:`Executor.execute`, which never
raises. Each phase: tell GitHub (a pending commit status), fetch the code at the commit, run the
operation through :mod:`relight.server.operations` with the log streamed into the database, store
the plan, move the run to its next status (compare-and-set), then tell GitHub, the PR and Slack.
Calls back to GitHub and Slack are best effort: their failures are logged in the run, never
change its outcome. A plan gone stale at apply time errors the run and queues a fresh plan.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from relight.providers.registry import ProviderRegistry
from relight.server import healthcheck, imageruns, operations, rollback
from relight.server.accounts import Accounts
from relight.server.checkout import CheckoutError, checkout
from relight.server.config import ServerConfig, WorkspaceSettings
from relight.server.db import StoreError
from relight.server.github import GitHubClient, GitHubError, StatusState
from relight.server.imagestore import SqlRegistry
from relight.server.slack import RunNotices, counts_text
from relight.server.sqlstate import SqlStateBackend
from relight.server.store import FINAL, Job, NewRun, Run, RunStatus, Store, now

__all__ = ["Executor", "RunLog"]

_COMMENT_BUDGET = 60_000


class RunLog:
    """The run's event sink: events are buffered and written to the database every ``interval``
    seconds by a background thread (and at :meth:`close`), so pages see them while the run goes
    on and a killed server loses at most the last interval. Never raises to the run."""

    def __init__(self, store: Store, run_id: int, interval: float = 0.25) -> None:
        self.store = store
        self.run_id = run_id
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(interval,), daemon=True, name=f"run-{run_id}-log")
        self._thread.start()

    def __call__(self, event: Mapping[str, Any]) -> None:
        with self._lock:
            self._buffer.append(dict(event))

    def text(self, line: str, kind: str = "message") -> None:
        self({"type": kind, "text": line})

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            events, self._buffer = self._buffer, []
        if not events:
            return
        try:
            self.store.add_events(self.run_id, events)
        except Exception:  # the database is gone: keep the events for the next try
            with self._lock:
                self._buffer[:0] = events

    def close(self) -> None:
        """Stop the writer and write what is left (waiting for the database if it is restarting)."""
        self._stop.set()
        self._thread.join(5.0)
        with self._lock:
            events, self._buffer = self._buffer, []
        if events:
            with contextlib.suppress(StoreError):
                self.store.db.retrying(lambda: self.store.add_events(self.run_id, events))


@dataclass(frozen=True, slots=True)
class _Context:
    run: Run
    ws: WorkspaceSettings
    log: RunLog
    store: Store
    cancel: threading.Event

    def move(self, from_: RunStatus, to: RunStatus, **values: Any) -> bool:
        """Change the run's status, after writing its log so far (a page that sees the new status
        already shows every line that led to it)."""
        self.log.flush()
        return self.store.transition(self.run.id, [from_], to, **values)

    @property
    def status_context(self) -> str:
        """Plans and applies (image runs post one status per image, rehearsals their own)."""
        prefix = {"speculative": "relight/plan", "rehearsal": "relight/rehearsal"}.get(self.run.kind, "relight/apply")
        return f"{prefix}: {self.ws.name}"


class Executor:
    """Executes jobs; ``wake`` is called after queueing a fresh run so a worker picks it up."""

    def __init__(self, *, config: ServerConfig, store: Store, accounts: Accounts, github: GitHubClient | None,
                 notices: RunNotices, registry: ProviderRegistry, env: Mapping[str, str],
                 wake: Callable[[], None] = lambda: None, log: Callable[[str], None] = print,
                 keep_checkouts: bool = True) -> None:
        self.config = config
        self.store = store
        self.accounts = accounts
        self.github = github
        self.notices = notices
        self.registry = registry
        self.env = dict(env)
        self.wake = wake
        self.log = log
        self.runs_dir = os.path.join(config.server.data_dir, "runs")
        self.cache_dir = os.path.join(config.server.data_dir, "repos")
        self.images = SqlRegistry(store.db, os.path.join(config.server.data_dir, "images"))
        # Between a plan and its apply the checkout is kept for the apply (one process); with
        # workers on several machines the apply may run elsewhere, so each phase cleans up.
        self.keep_checkouts = keep_checkouts
        self._cancels: dict[int, threading.Event] = {}
        self._cancels_lock = threading.Lock()

    def run_url(self, run_id: int) -> str:
        return f"{self.config.server.public_url}/runs/{run_id}"

    # -- entry points ----------------------------------------------------------------------

    def execute(self, job: Job) -> None:
        """Run ``job`` to its next status; never raises (a bug errors the run, with its traceback logged)."""
        run = self.store.get_run(job.run_id)
        if run is None:
            return
        log = RunLog(self.store, run.id)
        cancel = threading.Event()
        with self._cancels_lock:
            self._cancels[run.id] = cancel
        try:
            ws = self.config.workspaces.get(run.workspace)
            if ws is None:
                log.text(f"Workspace {run.workspace!r} is no longer in the server's configuration.", "error")
                self.store.transition(run.id, [run.status], "errored", error="workspace not configured")
                return
            ctx = _Context(run, ws, log, self.store, cancel)
            if job.phase == "plan" and run.kind == "image" and run.operation == "promote":
                imageruns.promote_phase(self, ctx)
            elif job.phase == "plan" and run.kind == "image":
                imageruns.build_phase(self, ctx)
            elif job.phase == "plan" and run.kind == "rehearsal":
                imageruns.rehearse_phase(self, ctx)
            elif job.phase == "plan" and run.operation == "heal":
                self._heal_phase(ctx)
            elif job.phase == "plan":
                self._plan_phase(ctx)
            else:
                self._apply_phase(ctx)
        except Exception as exc:
            self.log(f"relight serve: run {run.id} failed inside the server:\n{traceback.format_exc()}")
            log.text(f"Internal error in the server: {type(exc).__name__}: {exc}", "error")
            self.store.transition(run.id, ["planning", "applying", "confirmed"], "errored",
                                  error=f"internal error: {type(exc).__name__}")
        finally:
            with self._cancels_lock:
                self._cancels.pop(run.id, None)
            log.close()
            self._clean_if_final(run.id)

    def in_flight(self) -> int:
        """How many runs this process is executing now."""
        with self._cancels_lock:
            return len(self._cancels)

    def cancel_all(self) -> int:
        """Ask every run in flight here to stop at its next safe point (a shutdown's drain ran
        out): an apply stops between actions, its run ends errored and a fresh plan is queued.
        Returns how many runs were asked."""
        with self._cancels_lock:
            events = list(self._cancels.values())
        for event in events:
            event.set()
        return len(events)

    def recover_interrupted(self) -> list[int]:
        """At start-up (one process with SQLite): runs a dead server left planning or applying end
        ``errored`` (logs kept), and a fresh plan is queued for each; the state journal they wrote
        is replayed on the next read. Returns the fresh runs' ids."""
        fresh_ids: list[int] = []
        for run in self.store.interrupted():
            phase = "planning" if run.status == "planning" else "applying"
            fresh = self.end_cut_off(run, f"server stopped while {phase}",
                                     f"The server stopped while this run was {phase}")
            if fresh is not None:
                fresh_ids.append(fresh)
        return fresh_ids

    def end_cut_off(self, run: Run, error: str, what: str) -> int | None:
        """End ``run``, cut off while planning or applying (its process died, or its worker was
        lost): ``errored`` with ``error``, its log kept, what completed recorded in the state;
        never retried as it was: a fresh plan is queued (it waits for a person unless the
        workspace auto-applies) and people are told. None if the run had moved on meanwhile."""
        phase = "planning" if run.status == "planning" else "applying"
        fresh = self.store.end_with_fresh(
            run.id, [run.status], error, self._fresh_run(run, f"fresh plan after run {run.id} was cut off"),
            lambda new: f"{what}; what completed is recorded in the state. A fresh plan was queued: run {new}.")
        if fresh is None:
            return None
        self.wake()
        ws = self.config.workspaces.get(run.workspace)
        if ws is not None:
            ctx = _Context(run, ws, RunLog(self.store, run.id), self.store, threading.Event())
            self._status(ctx, "error", f"{what}; a fresh plan is run {fresh}."[:140])
            ctx.log.close()
            if run.kind == "apply":
                self.notices.interrupted(ws.name, run.id, phase, fresh, self.run_url(run.id))
        self._clean_if_final(run.id)
        return fresh

    # -- the plan phase --------------------------------------------------------------------

    def _plan_phase(self, ctx: _Context) -> None:
        run, ws, log = ctx.run, ctx.ws, ctx.log
        log.text(f"Run {run.id} ({run.kind}, {run.trigger}) of {ws.name} at commit {run.commit_sha[:12]}.")
        if run.kind == "speculative" and run.pr_number is not None and not self._pr_touches(ctx):
            reason = f"pull request #{run.pr_number} changes no file in {ws.dir or 'the repository'}/"
            log.text(f"Nothing to plan: {reason}.")
            ctx.move("planning", "canceled", error=reason)
            imageruns.after_pull_request_run(self, run)
            return
        self._status(ctx, "pending", "Planning\u2026")
        backend = SqlStateBackend(self.store.db, run.workspace_id, ws.name, run.id)
        if run.operation == "rollback":
            assert run.rollback_serial is not None
            outcome = rollback.plan_rollback(backend, run.rollback_serial, log)
        else:
            directory = self._checkout(ctx)
            if directory is None:
                return
            outcome = operations.plan(directory, backend, speculative=run.kind == "speculative", env=self.env,
                                      registry=self.registry, sink=log, root=self._checkout_root(run.id))
        self.store.save_plan(run.id, outcome.plan_file, outcome.plan_json, outcome.plan_text)
        self.store.update_run(run.id, to_add=outcome.counts[0], to_change=outcome.counts[1],
                              to_destroy=outcome.counts[2])
        if outcome.status == "errored":
            self._plan_failed(ctx, outcome)
        elif run.kind == "speculative":
            ctx.move("planning", "planned_and_finished")
            self._status(ctx, "success", _plan_line(outcome))
            self._comment(ctx, outcome)
            imageruns.after_pull_request_run(self, run)
        elif outcome.status == "planned_and_finished":
            ctx.move("planning", "planned_and_finished")
            self._status(ctx, "success", "No changes: nothing to apply.")
            self.notices.no_changes(ws.name, run.id, self.run_url(run.id))
        elif ws.auto_apply and not run.confirm_required:
            ctx.move("planning", "confirmed", confirmed_by="auto-apply")
            saved = self.store.get_plan(run.id)
            self.accounts.audit("auto-apply", "confirm", "server", workspace=ws.name, run_id=run.id,
                                plan_digest=saved.digest if saved is not None else None)
            self._status(ctx, "pending", f"{_plan_line(outcome)} Applying automatically.")
            self.wake()
        else:
            ctx.move("planning", "planned")
            self._status(ctx, "pending", f"{_plan_line(outcome)[:-1]}; waiting for confirmation.")
            self.notices.waiting(ws.name, run.id, outcome.counts, self.run_url(run.id))

    def _heal_phase(self, ctx: _Context) -> None:
        """A health check: one heal pass at the commit last applied (see :mod:`.healthcheck`)."""
        run, ws, log = ctx.run, ctx.ws, ctx.log
        log.text(f"Run {run.id} ({run.trigger}) of {ws.name}: a heal pass at commit {run.commit_sha[:12]}, the "
                 "configuration last applied.")
        directory = self._checkout(ctx)
        if directory is None:
            return
        backend = SqlStateBackend(self.store.db, run.workspace_id, ws.name, run.id)
        incidents = healthcheck.SqlIncidents(self.store.db, run.workspace_id, run.id)

        def applying() -> None:
            ctx.move("planning", "applying", apply_started_at=now())

        outcome = healthcheck.heal_pass(
            directory, backend, store_incidents=incidents, stack=ws.name, env=self.env, registry=self.registry,
            sink=log, say=log.text, on_apply=applying, slack_url=self.config.slack.webhook_url,
            root=self._checkout_root(run.id), cancel=ctx.cancel)
        current = self.store.get_run(run.id)
        phase: RunStatus = current.status if current is not None and current.status == "applying" else "planning"
        self.store.update_run(run.id, to_add=outcome.counts[0], to_change=outcome.counts[1],
                              to_destroy=outcome.counts[2])
        log.text(outcome.summary)
        if outcome.status == "errored":
            ctx.move(phase, "errored", error=outcome.error[:500])
        else:
            ctx.move(phase, outcome.status)  # type: ignore[arg-type]
        if outcome.open_run:
            fresh = self._queue_fresh(run, f"health check run {run.id} found what a person must confirm",
                                      confirm_required=True, operation="plan")
            log.text(f"Not applied by itself: a plan that waits for Confirm & Apply was queued: run {fresh}.")

    def _plan_failed(self, ctx: _Context, outcome: operations.Outcome) -> None:
        ctx.log.text(outcome.diagnostics_text or outcome.error, "error")
        ctx.move("planning", "errored", error=outcome.error)
        self._status(ctx, "failure", f"Plan failed: {outcome.error}")
        if ctx.run.kind == "speculative":
            self._comment(ctx, outcome)
            imageruns.after_pull_request_run(self, ctx.run)
        else:
            self.notices.failed(ctx.ws.name, ctx.run.id, "plan", outcome.seconds, outcome.error,
                                self.run_url(ctx.run.id))

    # -- the apply phase -------------------------------------------------------------------

    def _apply_phase(self, ctx: _Context) -> None:
        run, ws, log = ctx.run, ctx.ws, ctx.log
        started = time.monotonic()
        who = run.confirmed_by or "?"
        log.text(f"Confirmed by {who}; applying the saved plan of run {run.id}.")
        self._status(ctx, "pending", "Applying\u2026")
        saved = self.store.get_plan(run.id)
        backend = SqlStateBackend(self.store.db, run.workspace_id, ws.name, run.id)
        if saved is None or saved.plan_file is None:
            outcome = operations.Outcome(status="errored", error="no saved plan")
        elif run.operation == "rollback":
            outcome = rollback.apply_rollback(backend, saved.plan_file, log)
        else:
            directory = self._checkout(ctx, phase="applying")
            if directory is None:
                return
            prior = saved.plan_json.get("prior_state")
            planned_serial = prior.get("serial") if isinstance(prior, dict) else None
            outcome = operations.apply(directory, backend, saved.plan_file, env=self.env, registry=self.registry,
                                       sink=log, planned_serial=planned_serial, root=self._checkout_root(run.id),
                                       cancel=ctx.cancel)
        seconds = time.monotonic() - started
        if outcome.canceled:
            log.text(outcome.diagnostics_text or "The apply was stopped between actions by a shutdown.", "error")
            fresh = self._end_with_fresh(ctx, "stopped by a shutdown while applying",
                                         f"fresh plan after run {run.id} was stopped by a shutdown")
            if fresh is None:
                return
            log.text(f"What completed is recorded in the state. A fresh plan was queued: run {fresh}.")
            self._status(ctx, "error", f"Stopped by a shutdown; a fresh plan is run {fresh}.")
            self.notices.interrupted(ws.name, run.id, "applying", fresh, self.run_url(run.id))
        elif outcome.stale:
            log.text(outcome.diagnostics_text, "error")
            fresh = self._end_with_fresh(ctx, "the plan was stale", f"fresh plan after run {run.id}'s plan went stale")
            if fresh is None:
                return
            log.text(f"Nothing was changed. A fresh plan was queued: run {fresh}.")
            self._status(ctx, "failure", f"The plan was stale; a fresh plan was queued (run {fresh}).")
            self.notices.stale(ws.name, run.id, fresh, self.run_url(fresh))
        elif outcome.status == "errored":
            log.text(outcome.diagnostics_text or outcome.error, "error")
            ctx.move("applying", "errored", error=outcome.error)
            self._status(ctx, "failure", f"Apply failed: {outcome.error}")
            self.notices.failed(ws.name, run.id, "apply", seconds, outcome.error, self.run_url(run.id))
        else:
            ctx.move("applying", "applied")
            add, change, gone = outcome.counts
            self._status(ctx, "success", f"Applied: {add} added, {change} changed, {gone} destroyed.")
            self.notices.applied(ws.name, run.id, outcome.counts, seconds, self.run_url(run.id))

    # -- helpers ---------------------------------------------------------------------------

    def _end_with_fresh(self, ctx: _Context, error: str, why: str) -> int | None:
        """End the applying run ``errored`` and queue its fresh plan, in one transaction (so
        whoever sees it errored also sees what follows it)."""
        ctx.log.flush()
        fresh = self.store.end_with_fresh(ctx.run.id, ["applying"], error, self._fresh_run(ctx.run, why))
        self.wake()
        return fresh

    def _fresh_run(self, run: Run, why: str, *, confirm_required: bool | None = None,
                   operation: str | None = None) -> NewRun:
        """A fresh run of what ``run`` was for (never a retry of it: it plans again; an image or
        rehearsal run starts over, sweeping what the cut-off one left)."""
        if run.kind in ("image", "rehearsal"):
            return NewRun(workspace=run.workspace, kind=run.kind, commit_sha=run.commit_sha, ref=run.ref,
                          clone_url=run.clone_url, trigger=why, operation=run.operation,  # type: ignore[arg-type]
                          pr_number=run.pr_number, base_sha=run.base_sha, delivery_id=run.delivery_id,
                          image_dir=run.image_dir)
        op = operation or run.operation
        return NewRun(
            workspace=run.workspace, kind=run.kind, commit_sha=run.commit_sha, ref=run.ref, clone_url=run.clone_url,
            trigger=why, operation=op if op in ("plan", "rollback", "heal") else "plan",  # type: ignore[arg-type]
            pr_number=run.pr_number, base_sha=run.base_sha, rollback_serial=run.rollback_serial,
            confirm_required=run.confirm_required if confirm_required is None else confirm_required)

    def _queue_fresh(self, run: Run, why: str, *, confirm_required: bool | None = None,
                     operation: str | None = None) -> int:
        fresh = self.store.create_run(self._fresh_run(run, why, confirm_required=confirm_required,
                                                      operation=operation))
        self.store.update_run(run.id, followed_by=fresh)
        self.wake()
        return fresh

    def _checkout_root(self, run_id: int) -> str:
        return os.path.join(self.runs_dir, str(run_id), "src")

    def _checkout(self, ctx: _Context, phase: RunStatus = "planning") -> str | None:
        run, ws = ctx.run, ctx.ws
        src = self._checkout_root(run.id)
        if not os.path.isdir(src):
            try:
                needs_token = self.github is not None and run.clone_url.startswith("https://")
                token = self.github.clone_token(ws.repo) if self.github is not None and needs_token else ""
                checkout(run.clone_url, run.commit_sha, src, self.cache_dir, token)
            except (CheckoutError, GitHubError) as exc:
                ctx.log.text(f"Cannot fetch the code: {exc}", "error")
                ctx.move(phase, "errored", error="cannot fetch the code")
                self._status(ctx, "error", "Cannot fetch the code at this commit.")
                return None
        directory = os.path.join(src, ws.dir) if ws.dir else src
        ctx.log.text(f"Fetched {ws.repo} at {run.commit_sha[:12]}; configuration in {ws.dir or '.'}/.")
        return directory

    def _pr_touches(self, ctx: _Context) -> bool:
        """Whether the PR changes a file in the workspace's dir; True when that cannot be known."""
        run, ws = ctx.run, ctx.ws
        if not ws.dir or self.github is None or run.pr_number is None:
            return True
        try:
            files = self.github.pr_files(ws.repo, run.pr_number)
        except GitHubError as exc:
            ctx.log.text(f"Could not list the pull request's files ({exc}); planning anyway.")
            return True
        return any(ws.touches(p) for p in files)

    def _status(self, ctx: _Context, state: StatusState, description: str) -> None:
        if ctx.run.kind == "image":  # an image run posts one status per image (relight/image: NAME)
            return
        self._post_status(ctx, state, description, ctx.status_context)

    def _post_status(self, ctx: _Context, state: StatusState, description: str, context: str) -> None:
        """Post a commit status on the run's commit (best effort: a failure is logged in the run)."""
        if self.github is None or not ctx.run.commit_sha or ctx.run.operation == "heal":  # a rollback has no
            # commit; a health check is not about its commit
            return
        try:
            self.github.set_status(ctx.ws.repo, ctx.run.commit_sha, state, description[:140], context,
                                   self.run_url(ctx.run.id))
        except GitHubError as exc:
            ctx.log.text(f"Could not post the commit status: {exc}")

    def _comment(self, ctx: _Context, outcome: operations.Outcome) -> None:
        run, ws = ctx.run, ctx.ws
        if self.github is None or not self.config.github.pr_comments or run.pr_number is None:
            return
        body = _comment_body(ws.name, run, outcome, self.run_url(run.id))
        try:
            known = self.store.comment_id(ws.repo, run.pr_number, ws.name)
            new_id = self.github.upsert_comment(ws.repo, run.pr_number, known, body)
            if new_id != known:
                self.store.set_comment_id(ws.repo, run.pr_number, ws.name, new_id)
        except GitHubError as exc:
            ctx.log.text(f"Could not update the pull request comment: {exc}")

    def _clean_if_final(self, run_id: int) -> None:
        run = self.store.get_run(run_id)
        if run is not None and (run.status in FINAL or not self.keep_checkouts):
            shutil.rmtree(os.path.join(self.runs_dir, str(run_id)), ignore_errors=True)


def _plan_line(outcome: operations.Outcome) -> str:
    if not outcome.has_changes:
        return "No changes. Your infrastructure matches the configuration."
    return f"Plan: {counts_text(outcome.counts)}."


def _comment_body(ws: str, run: Run, outcome: operations.Outcome, url: str) -> str:
    head = f"### relight plan: `{ws}` at {run.commit_sha[:12]}\n\n"
    if outcome.status == "errored":
        summary = f"**Plan failed:** {outcome.error}. [Open run {run.id}]({url})\n\n"
        text = outcome.diagnostics_text
    else:
        summary = f"**{_plan_line(outcome)}** [Open run {run.id}]({url})\n\n"
        text = outcome.plan_text
    if len(text) > _COMMENT_BUDGET:
        text = text[:_COMMENT_BUDGET] + "\n\n(cut here: the whole plan is on the run's page)"
    fence = "````" if "```" in text else "```"
    details = f"<details><summary>Show the plan</summary>\n\n{fence}\n{text.strip()}\n{fence}\n</details>\n"
    return head + summary + details
