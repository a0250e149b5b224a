"""Image runs and rehearsal runs: the plan phase of runs of kind ``image`` and ``rehearsal``.

- ``image``/``build`` (a pull request): if the PR changes the template directory, build it
  through :func:`relight.images.run_builds` (the same code as ``relight image build``), images
  recorded in the server's registry (:class:`~relight.server.imagestore.SqlRegistry`); a commit
  status ``relight/image: NAME`` per build (NAME as the registry names the image), pending then
  success or failure, linking to the run's page (its log is the build log). Ends
  ``planned_and_finished`` (every build made or found its image) or ``errored``.
- ``image``/``promote`` (a push to the workspace's branch): the same build at the merged commit
  (normally ``up-to-date``: the PR's image, found by its digest), then each image promoted to the
  workspace's ``channel`` (:func:`relight.images.promote`: the cloud's tag and the registry),
  audited and told to Slack; when every promotion of the push is done, the workspace's plan is
  queued (an apply-kind run that waits for Confirm & Apply unless the workspace auto-applies).
- ``rehearsal``: :func:`relight.images.rehearsal.rehearse` of the PR's configuration on a copy of
  the workspace's data (state read from the database, never locked or written), commit status
  ``relight/rehearsal: WORKSPACE`` linking to the run's page, where the report is shown.

A PR's rehearsal is queued by whichever of its plan and builds ends last
(:func:`after_pull_request_run`, decided by :mod:`relight.server.imagepolicy`).

Cancellation: a newer push to the PR marks these runs ``canceled`` while they run; a watcher
sees it within a second and sets the run's cancel event, so the build stops at its next step
and runs its cleanup stack (the rehearsal destroys its stack). A run cut off by a lost worker
or a dead server leaves its build's objects tagged with its build id: its fresh run sweeps them
(:func:`relight.images.sweep`) before it builds.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from relight.diagnostics import render
from relight.images import (
    BuildArtifact,
    BuildFinished,
    BuildOutput,
    BuildRequest,
    BuildStarted,
    BuildStep,
    CallError,
    Cloud,
    RegistryError,
    RehearsalCheck,
    RehearsalStarted,
    RehearsalStep,
    promote,
    run_builds,
    sweep,
)
from relight.images.rehearsal import RehearsalRequest, cleanup_rehearsal, rehearse
from relight.images.template import Template
from relight.runs import Event, RunContext
from relight.server import imagepolicy, operations
from relight.server.sqlstate import SqlStateBackend
from relight.server.store import FINAL, NewRun, Run

if TYPE_CHECKING:
    from relight.server.executor import Executor, _Context

__all__ = ["after_pull_request_run", "build_phase", "promote_phase", "rehearse_phase"]

_WATCH_EVERY = 1.0


class _Sink:
    """Image and rehearsal events as the run's log lines (and the run layer's, as the CLI words them)."""

    def __init__(self, ctx: _Context, on_started: Any = None) -> None:
        self.ctx = ctx
        self.on_started = on_started
        self.inner = operations.LogSink(ctx.log)

    def emit(self, event: Event) -> None:
        text = _event_text(event)
        if text is None:
            self.inner.emit(event)
            return
        doc = event.to_json()
        doc["text"] = text
        self.ctx.log(doc)
        if isinstance(event, BuildStarted) and self.on_started is not None:
            self.on_started(event.build)


def _event_text(event: Event) -> str | None:
    if isinstance(event, BuildStarted):
        return f"==> {event.build}: build {event.build_id} started"
    if isinstance(event, BuildStep):
        return f"==> {event.build}: {event.message}"
    if isinstance(event, BuildOutput):
        return f"    {event.build}: {event.line}"
    if isinstance(event, BuildArtifact):
        return f"==> {event.build}: {'up to date: ' if event.up_to_date else ''}{event.artifact_id}"
    if isinstance(event, BuildFinished):
        tail = f": {event.error}" if event.error else ""
        return (f"==> {event.build}: {event.status} in {event.seconds:.1f}s ({event.cloud_seconds:.1f}s cloud, "
                f"{event.aws_calls} AWS calls){tail}")
    if isinstance(event, RehearsalStarted):
        return f"==> rehearsal {event.rehearsal_id} started (its own state: {event.directory})"
    if isinstance(event, RehearsalStep):
        return f"==> {event.message}"
    if isinstance(event, RehearsalCheck):
        return f"    {'ok  ' if event.passed else 'FAIL'} {event.name}: {event.detail}"
    return None


class _CancelWatch:
    """Sets ``ctx.cancel`` when the run is no longer ``planning`` (a newer push canceled it)."""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name=f"run-{ctx.run.id}-watch")

    def __enter__(self) -> _CancelWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5.0)

    def _loop(self) -> None:
        while not self._stop.wait(_WATCH_EVERY):
            try:
                current = self.ctx.store.get_run(self.ctx.run.id)
            except Exception:  # the database is restarting: look again later
                continue
            if current is not None and current.status != "planning":
                self.ctx.log.text(f"The run was {current.status} ({current.error or 'by a newer event'}): "
                                  "stopping and cleaning up.")
                self.ctx.cancel.set()
                return


def _build_env(env: Mapping[str, str]) -> dict[str, str]:
    environment, secrets = operations.run_environment(env)
    return {**environment, **secrets, "PATH": env.get("PATH", "/usr/bin:/bin")}


def _status_name(run: Run) -> str:
    return os.path.basename((run.image_dir or "image").rstrip("/")) or "image"


# -- builds --------------------------------------------------------------------------------------


def build_phase(ex: Executor, ctx: _Context) -> None:
    """A PR's image build (see the module docstring)."""
    run, log = ctx.run, ctx.log
    directory = run.image_dir or ""
    log.text(f"Run {run.id} (image build, {run.trigger}) of {directory}/ at commit {run.commit_sha[:12]}.")
    if run.pr_number is not None and not _pr_changes(ex, ctx, directory):
        reason = f"pull request #{run.pr_number} changes no file in {directory}/"
        log.text(f"Nothing to build: {reason}.")
        ctx.move("planning", "canceled", error=reason)
        after_pull_request_run(ex, run)
        return
    doc = _build(ex, ctx)
    if doc is None:
        after_pull_request_run(ex, run)
        return
    ok = doc["ok"]
    moved = ctx.move("planning", "planned_and_finished" if ok else "errored",
                     **({} if ok else {"error": doc["error"][:500]}))
    _final_statuses(ex, ctx, doc)  # after the run ended: a status never runs ahead of its run
    if moved:
        after_pull_request_run(ex, run)


def _build(ex: Executor, ctx: _Context) -> dict[str, Any] | None:
    """Check out, sweep what a cut-off predecessor left, build; the report (also stored), or
    None when the code could not be fetched (the run is ended)."""
    run = ctx.run
    if ex._checkout(ctx) is None:
        return None
    template_dir = os.path.join(ex._checkout_root(run.id), run.image_dir or "")
    env = _build_env(ex.env)
    _sweep_predecessors(ex, ctx, env)
    posted: set[str] = set()
    names: dict[str, str] = {}  # a build's name -> the image name the registry uses

    def started(build: str) -> None:
        name = names.get(build, build)
        if name not in posted:
            posted.add(name)
            _image_status(ex, ctx, name, "pending", "Building\u2026")

    def registry_names(template: Template) -> None:
        names.update({spec.name: spec.build_name or spec.source.name for spec in template.select((), ())})

    request = BuildRequest(directory=template_dir, registry=ex.images.directory, base=template_dir)
    with _CancelWatch(ctx):
        result = run_builds(request, env, _Sink(ctx, started), ctx.cancel, registry=ex.images,
                            git_commit_id=run.commit_sha, on_template=registry_names)
    builds = [{"name": names.get(r.name, r.name), "build": r.name, "status": r.status, "image_id": r.image_id,
               "artifact_id": r.artifact_id,
               "build_id": r.build_id, "error": r.error, "seconds": round(r.seconds, 3),
               "left_behind": r.left_behind} for r in result.results]
    diagnostics = render(result.diagnostics, result.sources) if len(result.diagnostics) else ""
    if diagnostics:
        ctx.log.text(diagnostics, "error" if result.diagnostics.has_errors else "message")
    errors = [f"{b['name']}: {b['error'] or b['status']}" for b in builds
              if b["status"] not in ("built", "up-to-date")]
    if result.diagnostics.has_errors:
        errors.insert(0, result.diagnostics.errors[0].summary)
    doc: dict[str, Any] = {"kind": "image", "image_dir": run.image_dir, "builds": builds, "ok": result.ok,
                           "error": "; ".join(errors), "diagnostics": diagnostics}
    ctx.store.save_report(run.id, doc)
    return doc


def _final_statuses(ex: Executor, ctx: _Context, doc: Mapping[str, Any]) -> None:
    """A build run's ``relight/image: NAME`` statuses, one per build, from its report."""
    for b in doc["builds"]:
        said = {"built": f"Built {b['image_id']}", "up-to-date": f"Up to date: {b['image_id']}"}.get(
            b["status"], f"Build {b['status']}: {b['error']}")
        _image_status(ex, ctx, b["name"], "success" if b["status"] in ("built", "up-to-date") else "failure", said)
    if not doc["builds"]:
        said = f"No image built: {doc['error'] or 'nothing selected'}"
        _image_status(ex, ctx, _status_name(ctx.run), "failure", said)


def _destroy_cut_off_rehearsals(ctx: _Context, production: RunContext) -> None:
    """Destroy the stacks of the rehearsals of the runs this one follows (they were cut off: a
    lost worker or a dead server never destroyed them), from the state each kept on its machine.
    A stack whose state is on another machine is named in the log with the command that destroys
    it there."""
    for prior in ctx.store.predecessors(ctx.run.id):
        for _seq, event in ctx.store.events(prior):
            rid, directory = event.get("rehearsal_id"), event.get("directory")
            if event.get("kind") != "rehearsal_started" or not isinstance(rid, str) or not isinstance(directory, str):
                continue
            if not os.path.isdir(directory):
                ctx.log.text(f"Rehearsal {rid} of run {prior} kept its state on another machine ({directory}): "
                             f"destroy its stack there with `relight rehearse --cleanup {rid}`.", "error")
                continue
            done = cleanup_rehearsal(production, os.path.dirname(directory), rid)
            if done.left_behind or done.error:
                ctx.log.text(f"Could not destroy rehearsal {rid} of run {prior}: "
                             f"{done.error or ', '.join(done.left_behind)}", "error")
            else:
                ctx.log.text(f"Destroyed what rehearsal {rid} of run {prior} made (it was cut off).")


def _sweep_predecessors(ex: Executor, ctx: _Context, env: Mapping[str, str]) -> None:
    """Remove what builds of the run this one follows left (it was cut off: no cleanup ran)."""
    for prior in ctx.store.predecessors(ctx.run.id):
        for _seq, event in ctx.store.events(prior):
            if event.get("kind") != "build_started" or not event.get("build_id"):
                continue
            try:
                report = sweep(Cloud(env), str(event["build_id"]))
            except CallError as exc:
                ctx.log.text(f"Could not sweep build {event['build_id']} of run {prior}: {exc}")
                continue
            if report.removed:
                ctx.log.text(f"Removed what build {event['build_id']} of run {prior} left: "
                             f"{', '.join(report.removed)}.")


def _image_status(ex: Executor, ctx: _Context, name: str, state: Any, description: str) -> None:
    ex._post_status(ctx, state, description, f"relight/image: {name}")


def _pr_changes(ex: Executor, ctx: _Context, directory: str) -> bool:
    run, ws = ctx.run, ctx.ws
    if ex.github is None or run.pr_number is None:
        return True
    try:
        files = ex.github.pr_files(ws.repo, run.pr_number)
    except Exception as exc:  # GitHubError: build anyway
        ctx.log.text(f"Could not list the pull request's files ({exc}); building anyway.")
        return True
    return any(p == directory or p.startswith(directory + "/") for p in files)


# -- promotions ----------------------------------------------------------------------------------


def promote_phase(ex: Executor, ctx: _Context) -> None:
    """A merge's promotion (see the module docstring)."""
    run, ws, log = ctx.run, ctx.ws, ctx.log
    log.text(f"Run {run.id} (image promotion, {run.trigger}) of {run.image_dir}/ at commit {run.commit_sha[:12]}: "
             f"build (or find) the image, then promote it to {ws.name}'s channel {ws.channel!r}.")
    doc = _build(ex, ctx)
    if doc is None:
        return
    promoted: list[dict[str, Any]] = []
    error = doc["error"] if not doc["ok"] else ""
    for b in doc["builds"] if doc["ok"] else []:
        try:
            record, previous = promote(Cloud(_build_env(ex.env)), ex.images, b["image_id"], ws.channel,
                                       f"run {run.id}")
        except (RegistryError, CallError) as exc:
            error = f"promoting {b['image_id']} failed: {exc}"
            log.text(error, "error")
            break
        promoted.append({"name": record.name, "image_id": record.image_id, "previous": previous})
        log.text(f"Promoted {record.name} {record.image_id} to {ws.channel} (it was {previous or 'empty'}).")
        ex.accounts.audit("server", "image-promote", "server", workspace=ws.name, run_id=run.id,
                          detail={"image": record.name, "image_id": record.image_id, "channel": ws.channel,
                                  "previous": previous, "commit": run.commit_sha})
        ex.notices.promoted(ws.name, record.name, record.image_id, ws.channel, previous, ex.run_url(run.id))
    ctx.store.save_report(run.id, {**doc, "promoted": promoted, "channel": ws.channel, "error": error})
    if error:
        log.text(f"Not promoted: {error}. The workspace's plan is not queued; push a fix to try again.", "error")
        ctx.move("planning", "errored", error=error[:500])
        ex.notices.failed(ws.name, run.id, "image promotion", 0.0, error, ex.run_url(run.id))
        return
    if not ctx.move("planning", "planned_and_finished"):
        return
    plan = NewRun(workspace=ws.name, kind="apply", commit_sha=run.commit_sha, ref=run.ref, clone_url=run.clone_url,
                  trigger=f"{run.trigger}: after the image promotion of run {run.id}", delivery_id=run.delivery_id)

    def last_promotion(siblings: list[Run]) -> bool:
        mine = [s for s in siblings if s.workspace == ws.name]
        waiting = [s for s in mine if s.kind == "image" and s.operation == "promote" and s.status not in FINAL]
        failed = [s for s in mine if s.kind == "image" and s.operation == "promote"
                  and s.delivery_id == run.delivery_id and s.status in FINAL
                  and s.status != "planned_and_finished" and s.followed_by is None]
        queued = [s for s in mine if s.kind == "apply" and s.operation == "plan" and s.delivery_id == run.delivery_id]
        return not waiting and not failed and not queued

    fresh = ctx.store.queue_once(plan, last_promotion)
    if fresh is not None:
        ctx.store.update_run(run.id, followed_by=fresh)
        log.text(f"Every image of this push is promoted: the plan of {ws.name} was queued, run {fresh}.")
        ex.wake()


# -- rehearsals ----------------------------------------------------------------------------------


def after_pull_request_run(ex: Executor, run: Run) -> None:
    """Called when a PR's plan or image build ends: for each workspace it concerns, if nothing
    of the PR at this commit is still running for it, queue its rehearsal when
    :func:`~relight.server.imagepolicy.rehearsal_decision` says the image it uses changed."""
    if run.pr_number is None:
        return
    for ws in ex.config.workspaces.values():
        concerned = ws.name == run.workspace if run.kind == "speculative" else run.image_dir in ws.images
        if not concerned or ws.repo.lower() != ex.config.workspaces[run.workspace].repo.lower():
            continue
        new = NewRun(workspace=ws.name, kind="rehearsal", operation="rehearse", commit_sha=run.commit_sha,
                     ref=run.ref, clone_url=run.clone_url, trigger=f"pull request #{run.pr_number}",
                     pr_number=run.pr_number, base_sha=run.base_sha)
        decided: list[imagepolicy.RehearsalDecision] = []

        def decide(siblings: list[Run], ws_name: str = ws.name, images: tuple[str, ...] = ws.images,
                   decided: list[imagepolicy.RehearsalDecision] = decided) -> bool:
            rows = [{"id": s.id, "workspace": s.workspace, "kind": s.kind, "image_dir": s.image_dir,
                     "final": s.status in FINAL} for s in siblings]
            if imagepolicy.waiting_on(rows, ws_name, images):
                return False
            if any(s.kind == "rehearsal" and s.workspace == ws_name for s in siblings):
                return False
            decision = _decision(ex, ws_name, images, siblings)
            decided.append(decision)
            return decision.rehearse

        fresh = ex.store.queue_once(new, decide)
        if fresh is not None:
            ex.store.save_report(fresh, {"kind": "rehearsal", "why": decided[-1].reason, "image": decided[-1].image})
            ex.store.add_events(fresh, [{"type": "message", "text": f"Queued because {decided[-1].reason}."}])
            ex.wake()


def _decision(ex: Executor, ws_name: str, images: tuple[str, ...],
              siblings: list[Run]) -> imagepolicy.RehearsalDecision:
    ws = ex.config.workspaces[ws_name]
    plan = next((s for s in reversed(siblings) if s.kind == "speculative" and s.workspace == ws_name), None)
    saved = ex.store.get_plan(plan.id) if plan is not None and plan.status == "planned_and_finished" else None
    changes = imagepolicy.image_changes(saved.plan_json) if saved is not None else []
    built: list[imagepolicy.BuiltImage] = []
    for s in siblings:
        if s.kind != "image" or s.image_dir not in images:
            continue
        for b in (ex.store.get_report(s.id) or {}).get("builds", []):
            try:
                current = ex.images.channel(str(b["name"]), ws.channel)
            except RegistryError:
                current = None
            built.append(imagepolicy.BuiltImage(s.image_dir or "", str(b["name"]), str(b["image_id"]),
                                                str(b["status"]), current.image_id if current else None))
    return imagepolicy.rehearsal_decision(changes, built, images)


def rehearse_phase(ex: Executor, ctx: _Context) -> None:
    """A PR's rehearsal (see the module docstring)."""
    run, ws, log = ctx.run, ctx.ws, ctx.log
    context = f"relight/rehearsal: {ws.name}"
    queued = ctx.store.get_report(run.id) or {}
    image = queued.get("image") if isinstance(queued.get("image"), str) else None
    log.text(f"Run {run.id} (rehearsal, {run.trigger}) of {ws.name} at commit {run.commit_sha[:12]}: "
             f"{queued.get('why', 'the image changes')}.")
    ex._post_status(ctx, "pending", "Rehearsing on a copy of the data\u2026", context)
    directory = ex._checkout(ctx)
    if directory is None:
        return
    backend = operations.ReadOnlyBackend(SqlStateBackend(ctx.store.db, run.workspace_id, ws.name, run.id))
    production = operations.run_context(directory, backend, ex.env, ex.registry, ex._checkout_root(run.id),
                                        ctx.cancel)
    rehearsals = os.path.join(ex.config.server.data_dir, "rehearsals")
    _destroy_cut_off_rehearsals(ctx, production)
    with _CancelWatch(ctx):
        report = rehearse(RehearsalRequest(image=image), production, rehearsals, sink=_Sink(ctx), cancel=ctx.cancel)
    doc = {**report.to_json(), "kind": "rehearsal", "why": queued.get("why", ""), "log_lines": report.log,
           "diagnostics_text": render(report.diagnostics, report.sources) if len(report.diagnostics)
           else ""}
    ctx.store.save_report(run.id, doc)
    if doc["diagnostics_text"]:
        log.text(doc["diagnostics_text"], "error" if report.diagnostics.has_errors else "message")
    checks = sum(1 for c in report.checks if c.passed)
    if report.passed:
        ctx.move("planning", "planned_and_finished")
        ex._post_status(ctx, "success", f"Rehearsal passed: {checks}/{len(report.checks)} checks.", context)
        return
    error = report.error or f"{len(report.checks) - checks} of {len(report.checks)} checks failed"
    if ctx.move("planning", "errored", error=f"rehearsal {report.status}: {error}"[:500]):
        ex._post_status(ctx, "failure", f"Rehearsal {report.status}: {error}"[:140], context)
