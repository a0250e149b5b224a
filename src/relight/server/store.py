"""Runs, their plans and logs, webhook deliveries and PR comments in the database.

Run statuses are spelled as HCP Terraform spells them. An apply-kind run moves
``pending -> planning -> planned -> confirmed -> applying -> applied`` (or ends
``planned_and_finished`` with no changes, ``errored``, ``discarded`` or ``canceled``); a
speculative run moves ``pending -> planning -> planned_and_finished | errored | canceled``.

The queue rule is one SQL condition (:func:`_eligible`), used by :meth:`Store.claim_next` (the
embedded queue), :meth:`Store.claim_run` and :meth:`Store.eligible` (the distributed queue),
each in a claiming transaction: a workspace's changes (plan and rollback runs) go one at a time
in arrival order, and a plan that waits for confirmation holds the workspace as in HCP
Terraform; its heal passes form a second lane that waits only for runs actually planning or
applying; a confirmed run is applied first; speculative runs never wait.
Every status change is a compare-and-set (:meth:`Store.transition`): two people pressing
Confirm, or a confirm racing a discard, cannot both win.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from relight.server.config import WorkspaceSettings
from relight.server.db import Database
from relight.server.schema import (
    deliveries,
    pr_comments,
    run_events,
    run_plans,
    run_reports,
    runs,
    settings,
    workspaces,
)

__all__ = [
    "ACTIVE_APPLY",
    "FINAL",
    "UNQUEUED_KINDS",
    "Eligible",
    "Job",
    "NewRun",
    "Operation",
    "PlanRecord",
    "Run",
    "RunKind",
    "RunStatus",
    "Store",
]

RunKind = Literal["speculative", "apply", "image", "rehearsal"]
Operation = Literal["plan", "rollback", "heal", "build", "promote", "rehearse"]
# Kinds that never wait in the queue and hold nothing: they take no state lock and write no state
# (image builds and promotions, rehearsals on a throwaway copy, speculative plans).
UNQUEUED_KINDS: tuple[RunKind, ...] = ("speculative", "image", "rehearsal")
RunStatus = Literal[
    "pending",
    "planning",
    "planned",
    "confirmed",
    "applying",
    "applied",
    "planned_and_finished",
    "errored",
    "discarded",
    "canceled",
]
STATUSES: tuple[str, ...] = get_args(RunStatus)
ACTIVE_APPLY: tuple[RunStatus, ...] = ("planning", "planned", "confirmed", "applying")
FINAL: tuple[RunStatus, ...] = ("applied", "planned_and_finished", "errored", "discarded", "canceled")


def now() -> datetime:
    return datetime.now(UTC)


def iso(when: datetime | None) -> str | None:
    """The one spelling of a time in the API: ISO 8601 in UTC with a Z."""
    if when is None:
        return None
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class NewRun:
    """What a trigger asks for: one run to queue."""

    workspace: str
    kind: RunKind
    commit_sha: str
    ref: str
    clone_url: str
    trigger: str
    operation: Operation = "plan"
    pr_number: int | None = None
    base_sha: str | None = None
    delivery_id: str | None = None
    rollback_serial: int | None = None
    confirm_required: bool = False  # waits for a person even in an auto_apply workspace
    image_dir: str | None = None  # image runs: the template directory they build


@dataclass(frozen=True, slots=True)
class Run:
    """One run as stored; :meth:`to_json` is the API's shape."""

    id: int
    workspace: str
    workspace_id: int
    kind: RunKind
    operation: str
    status: RunStatus
    commit_sha: str
    ref: str
    pr_number: int | None
    base_sha: str | None
    clone_url: str
    trigger: str
    delivery_id: str | None
    rollback_serial: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    confirmed_by: str | None
    confirmed_at: datetime | None
    discarded_by: str | None
    apply_started_at: datetime | None
    counts: tuple[int, int, int] | None
    error: str | None
    followed_by: int | None
    confirm_required: bool = False
    claimed_by: str | None = None
    image_dir: str | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "workspace": self.workspace,
            "commit_sha": self.commit_sha,
            "kind": self.kind,
            "status": self.status,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "operation": self.operation,
            "ref": self.ref,
            "pull_request": self.pr_number,
            "trigger": self.trigger,
            "confirmed_by": self.confirmed_by,
            "discarded_by": self.discarded_by,
            "error": self.error,
            "followed_by": self.followed_by,
            "confirm_required": self.confirm_required,
        }
        if self.image_dir is not None:
            doc["image_dir"] = self.image_dir
        if self.counts is not None:
            doc["plan"] = dict(zip(("add", "change", "destroy"), self.counts, strict=True))
        return doc


@dataclass(frozen=True, slots=True)
class PlanRecord:
    run_id: int
    plan_file: bytes | None
    digest: str | None
    plan_json: dict[str, Any]
    plan_text: str


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed piece of work: plan a pending run (a heal run's pass too), or apply a confirmed one."""

    run_id: int
    phase: Literal["plan", "apply"]


@dataclass(frozen=True, slots=True)
class Eligible:
    """A run the queue rule lets start now, and which phase (for the distributed queue's dispatch)."""

    run_id: int
    workspace: str
    kind: RunKind
    operation: str
    phase: Literal["plan", "apply"]


_RUN_COLUMNS = list(runs.c)


def _run(row: Row[Any]) -> Run:
    m = row._mapping
    counts = None if m["to_add"] is None else (m["to_add"], m["to_change"], m["to_destroy"])
    return Run(
        id=m["id"],
        workspace=m["workspace_name"],
        workspace_id=m["workspace_id"],
        kind=m["kind"],
        operation=m["operation"],
        status=m["status"],
        commit_sha=m["commit_sha"],
        ref=m["ref"],
        pr_number=m["pr_number"],
        base_sha=m["base_sha"],
        clone_url=m["clone_url"],
        trigger=m["trigger"],
        delivery_id=m["delivery_id"],
        rollback_serial=m["rollback_serial"],
        created_at=m["created_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        confirmed_by=m["confirmed_by"],
        confirmed_at=m["confirmed_at"],
        discarded_by=m["discarded_by"],
        apply_started_at=m["apply_started_at"],
        counts=counts,
        error=m["error"],
        followed_by=m["followed_by"],
        confirm_required=bool(m["confirm_required"]),
        claimed_by=m["claimed_by"],
        image_dir=m["image_dir"],
    )


def _select_runs() -> sa.Select[Any]:
    return sa.select(*_RUN_COLUMNS, workspaces.c.name.label("workspace_name")).join(
        workspaces, workspaces.c.id == runs.c.workspace_id
    )


def _eligible() -> sa.ColumnElement[bool]:
    """The queue rule as one SQL condition on ``runs`` (see the module docstring).

    Two lanes per workspace, each first in, first out: changes (plan and rollback runs) and heal
    passes. A change may start when no apply-kind run of its workspace is in flight (a plan
    waiting for a person holds it); a heal pass when none is planning, confirmed or applying (a
    plan waiting for a person does not hold back a recovery: that plan goes stale instead); a
    confirmed run when nothing else of its workspace is planning or applying. Speculative plans
    never wait, nor do image and rehearsal runs (they hold no state lock and write no state).
    """
    other = sa.alias(runs, "other")
    same_ws = sa.and_(other.c.workspace_id == runs.c.workspace_id, other.c.kind == "apply", other.c.id != runs.c.id)

    def busy(*statuses: str) -> sa.ColumnElement[bool]:
        return sa.exists().where(same_ws, other.c.status.in_(statuses))

    def older_in_lane(heal: bool) -> sa.ColumnElement[bool]:
        lane = other.c.operation == "heal" if heal else other.c.operation != "heal"
        return sa.exists().where(same_ws, other.c.status == "pending", other.c.id < runs.c.id, lane)

    pending = runs.c.status == "pending"
    return sa.or_(
        sa.and_(pending, runs.c.kind.in_(UNQUEUED_KINDS)),
        sa.and_(pending, runs.c.kind == "apply", runs.c.operation != "heal", ~older_in_lane(False),
                ~busy(*ACTIVE_APPLY)),
        sa.and_(pending, runs.c.kind == "apply", runs.c.operation == "heal", ~older_in_lane(True),
                ~busy("planning", "confirmed", "applying")),
        sa.and_(runs.c.status == "confirmed", ~busy("planning", "applying")),
    )


class Store:
    """Typed operations over the run tables; each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- workspaces ------------------------------------------------------------------------

    def sync_workspaces(self, configured: Iterable[WorkspaceSettings]) -> None:
        """Make a row for every configured workspace and refresh repo/dir/branch of known ones.

        Workspaces removed from the file keep their rows (their runs and state stay readable).
        """
        with self.db.write() as conn:
            known = {r.name: r.id for r in conn.execute(sa.select(workspaces.c.name, workspaces.c.id))}
            for ws in configured:
                values = {"repo": ws.repo, "dir": ws.dir, "branch": ws.branch}
                if ws.name in known:
                    conn.execute(sa.update(workspaces).where(workspaces.c.id == known[ws.name]).values(**values))
                else:
                    conn.execute(sa.insert(workspaces).values(name=ws.name, created_at=now(), **values))

    def workspace_id(self, name: str) -> int | None:
        with self.db.read() as conn:
            return conn.execute(sa.select(workspaces.c.id).where(workspaces.c.name == name)).scalar()

    # -- creating runs ---------------------------------------------------------------------

    def insert_runs(self, conn: Connection, new: Sequence[NewRun]) -> list[int]:
        """Queue ``new`` inside the caller's write transaction; returns their ids in order."""
        ids = {r.name: r.id for r in conn.execute(sa.select(workspaces.c.name, workspaces.c.id))}
        out: list[int] = []
        for n in new:
            result = conn.execute(
                sa.insert(runs).values(
                    workspace_id=ids[n.workspace],
                    kind=n.kind,
                    operation=n.operation,
                    status="pending",
                    commit_sha=n.commit_sha,
                    ref=n.ref,
                    pr_number=n.pr_number,
                    base_sha=n.base_sha,
                    clone_url=n.clone_url,
                    trigger=n.trigger,
                    delivery_id=n.delivery_id,
                    rollback_serial=n.rollback_serial,
                    confirm_required=n.confirm_required,
                    image_dir=n.image_dir,
                    created_at=now(),
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            out.append(int(key[0]))
        return out

    def create_run(self, new: NewRun) -> int:
        with self.db.write() as conn:
            return self.insert_runs(conn, [new])[0]

    def cancel_superseded(self, conn: Connection, workspace: str, pr_number: int, reason: str) -> list[int]:
        """Cancel one PR's runs in one workspace that a newer push supersedes: its speculative
        plans still pending, and its image and rehearsal runs pending or running (a running one
        sees ``canceled`` within a second and stops, cleaning up what it made)."""
        ws_id = conn.execute(sa.select(workspaces.c.id).where(workspaces.c.name == workspace)).scalar()
        where = sa.and_(
            runs.c.workspace_id == ws_id,
            runs.c.pr_number == pr_number,
            sa.or_(sa.and_(runs.c.kind == "speculative", runs.c.status == "pending"),
                   sa.and_(runs.c.kind.in_(("image", "rehearsal")), runs.c.status.in_(("pending", "planning")))),
        )
        found = [r.id for r in conn.execute(sa.select(runs.c.id).where(where))]
        if found:
            conn.execute(sa.update(runs).where(runs.c.id.in_(found)).values(
                status="canceled", finished_at=now(), error=reason))
        return found

    # -- reading runs ----------------------------------------------------------------------

    def get_run(self, run_id: int) -> Run | None:
        with self.db.read() as conn:
            row = conn.execute(_select_runs().where(runs.c.id == run_id)).first()
        return _run(row) if row is not None else None

    def list_runs(self, workspace: str | None = None, limit: int = 100, offset: int = 0) -> list[Run]:
        """Newest first."""
        query = _select_runs().order_by(runs.c.id.desc()).limit(limit).offset(offset)
        if workspace is not None:
            query = query.where(workspaces.c.name == workspace)
        with self.db.read() as conn:
            return [_run(r) for r in conn.execute(query)]

    def workspace_summaries(self) -> list[dict[str, Any]]:
        """Each workspace with its newest run (for the front page)."""
        with self.db.read() as conn:
            names = [r.name for r in conn.execute(sa.select(workspaces.c.name).order_by(workspaces.c.name))]
        out = []
        for name in names:
            latest = self.list_runs(name, limit=1)
            out.append({"name": name, "latest": latest[0] if latest else None})
        return out

    # -- the queue -------------------------------------------------------------------------

    def claim_next(self, worker: str) -> Job | None:
        """Take the next job by the module's queue rule, marking its run planning/applying."""
        with self.db.write(claim=True) as conn:
            found = conn.execute(
                sa.select(runs.c.id, runs.c.status).where(_eligible())
                .order_by((runs.c.status != "confirmed"), runs.c.id).limit(1)
            ).first()
            if found is None:
                return None
            phase: Literal["plan", "apply"] = "apply" if found.status == "confirmed" else "plan"
            self._mark_claimed(conn, found.id, phase, worker)
            return Job(found.id, phase)

    def claim_run(self, run_id: int, phase: Literal["plan", "apply"], worker: str) -> Job | None:
        """Claim one given run for ``phase`` if the queue rule lets it start now; None otherwise
        (it already started, ended, or must wait): the distributed queue's workers call this."""
        status = "confirmed" if phase == "apply" else "pending"
        with self.db.write(claim=True) as conn:
            found = conn.execute(
                sa.select(runs.c.id).where(runs.c.id == run_id, runs.c.status == status, _eligible())
            ).scalar()
            if found is None:
                return None
            self._mark_claimed(conn, run_id, phase, worker)
            return Job(run_id, phase)

    def eligible(self, limit: int = 200) -> list[Eligible]:
        """Runs the queue rule lets start now, oldest first (confirmed ones first)."""
        query = (
            sa.select(runs.c.id, runs.c.status, runs.c.kind, runs.c.operation, workspaces.c.name)
            .join(workspaces, workspaces.c.id == runs.c.workspace_id)
            .where(_eligible())
            .order_by((runs.c.status != "confirmed"), runs.c.id)
            .limit(limit)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [Eligible(r.id, r.name, r.kind, r.operation, "apply" if r.status == "confirmed" else "plan")
                for r in rows]

    @staticmethod
    def _mark_claimed(conn: Connection, run_id: int, phase: str, worker: str) -> None:
        if phase == "apply":
            values: dict[str, Any] = {"status": "applying", "claimed_by": worker, "apply_started_at": now()}
        else:
            values = {"status": "planning", "claimed_by": worker, "started_at": now()}
        conn.execute(sa.update(runs).where(runs.c.id == run_id).values(**values))

    def transition(self, run_id: int, from_: Iterable[RunStatus], to: RunStatus, **values: Any) -> bool:
        """Set ``to`` (and ``values``) only if the run is in one of ``from_``; False otherwise."""
        if to in FINAL and "finished_at" not in values:
            values["finished_at"] = now()
        tries = 0

        def attempt() -> bool:
            # Retried while PostgreSQL restarts; a retry that finds the run already in ``to`` means
            # the earlier attempt committed before its answer was lost.
            nonlocal tries
            tries += 1
            with self.db.write() as conn:
                result = conn.execute(sa.update(runs).where(runs.c.id == run_id, runs.c.status.in_(list(from_)))
                                      .values(status=to, **values))
                if result.rowcount:
                    return True
                if tries > 1:
                    return conn.execute(sa.select(runs.c.status).where(runs.c.id == run_id)).scalar() == to
                return False

        return self.db.retrying(attempt)

    def end_with_fresh(self, run_id: int, from_: Iterable[RunStatus], error: str, fresh: NewRun,
                       say: Callable[[int], str] | None = None) -> int | None:
        """In one transaction: end the run ``errored`` with ``error`` if it is in one of ``from_``,
        queue ``fresh``, link it as the run's ``followed_by`` and log ``say(fresh id)`` as the run's
        last error line (so whoever sees it ended reads why); the fresh run's id, or None when the
        run had moved on (nothing is queued then)."""

        def attempt() -> int | None:
            with self.db.write() as conn:
                ended = conn.execute(sa.update(runs).where(runs.c.id == run_id, runs.c.status.in_(list(from_)))
                                     .values(status="errored", error=error, finished_at=now()))
                if not ended.rowcount:
                    return None
                [new_id] = self.insert_runs(conn, [fresh])
                conn.execute(sa.update(runs).where(runs.c.id == run_id).values(followed_by=new_id))
                if say is not None:
                    _append_events(conn, run_id, [{"type": "error", "text": say(new_id)}])
                return new_id

        return self.db.retrying(attempt)

    def update_run(self, run_id: int, **values: Any) -> None:
        def attempt() -> None:
            with self.db.write() as conn:
                conn.execute(sa.update(runs).where(runs.c.id == run_id).values(**values))

        self.db.retrying(attempt)

    def predecessors(self, run_id: int) -> list[int]:
        """The runs that ``run_id`` follows (``followed_by``: it is their fresh run)."""
        with self.db.read() as conn:
            return [int(r.id) for r in conn.execute(sa.select(runs.c.id).where(runs.c.followed_by == run_id))]

    def interrupted(self) -> list[Run]:
        """Runs left planning or applying (by a process that died mid-run, or still running)."""
        with self.db.read() as conn:
            return [_run(r) for r in conn.execute(_select_runs().where(runs.c.status.in_(("planning", "applying"))))]

    def deployed_commit(self, workspace: str) -> Run | None:
        """The newest apply-kind run of ``workspace`` from a commit whose configuration was applied
        (or planned with no changes): what a health check checks. None before the first one."""
        query = (
            _select_runs()
            .where(workspaces.c.name == workspace, runs.c.kind == "apply", runs.c.operation == "plan",
                   runs.c.commit_sha != "", runs.c.status.in_(("applied", "planned_and_finished")))
            .order_by(runs.c.id.desc())
            .limit(1)
        )
        with self.db.read() as conn:
            row = conn.execute(query).first()
        return _run(row) if row is not None else None

    # -- plans and logs ----------------------------------------------------------------------

    def save_plan(
        self, run_id: int, plan_file: bytes | None, plan_json: Mapping[str, Any], plan_text: str
    ) -> str | None:
        """Store the run's plan; returns the saved plan file's SHA-256 digest (None without one)."""
        digest = hashlib.sha256(plan_file).hexdigest() if plan_file is not None else None
        values = {"plan_file": plan_file, "digest": digest, "plan_json": json.dumps(plan_json, default=str),
                  "plan_text": plan_text, "created_at": now()}
        with self.db.write() as conn:
            conn.execute(sa.delete(run_plans).where(run_plans.c.run_id == run_id))
            conn.execute(sa.insert(run_plans).values(run_id=run_id, **values))
        return digest

    def get_plan(self, run_id: int) -> PlanRecord | None:
        with self.db.read() as conn:
            row = conn.execute(sa.select(run_plans).where(run_plans.c.run_id == run_id)).first()
        if row is None:
            return None
        return PlanRecord(run_id, row.plan_file, row.digest, json.loads(row.plan_json), row.plan_text)

    def add_events(self, run_id: int, events: Sequence[Mapping[str, Any]]) -> None:
        """Append events to the run's log, numbered after the ones already stored."""
        if not events:
            return
        with self.db.write() as conn:
            _append_events(conn, run_id, events)

    def events(self, run_id: int, after: int = 0) -> list[tuple[int, dict[str, Any]]]:
        """The run's log after sequence number ``after``, oldest first, as (seq, event)."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(run_events.c.seq, run_events.c.event)
                .where(run_events.c.run_id == run_id, run_events.c.seq > after)
                .order_by(run_events.c.seq)
            ).all()
        return [(r.seq, json.loads(r.event)) for r in rows]

    def save_report(self, run_id: int, doc: Mapping[str, Any]) -> None:
        """Store (or replace) the run's report: an image run's builds, a rehearsal's report."""
        text = json.dumps(doc, default=str)

        def attempt() -> None:
            with self.db.write() as conn:
                conn.execute(sa.delete(run_reports).where(run_reports.c.run_id == run_id))
                conn.execute(sa.insert(run_reports).values(run_id=run_id, doc=text, created_at=now()))

        self.db.retrying(attempt)

    def get_report(self, run_id: int) -> dict[str, Any] | None:
        with self.db.read() as conn:
            text = conn.execute(sa.select(run_reports.c.doc).where(run_reports.c.run_id == run_id)).scalar()
        return dict(json.loads(text)) if text is not None else None

    def runs_of_commit(self, workspace: str, commit_sha: str, pr_number: int | None) -> list[Run]:
        """The runs of one workspace at one commit (of one PR when ``pr_number`` is given), oldest first."""
        query = _select_runs().where(workspaces.c.name == workspace, runs.c.commit_sha == commit_sha)
        query = query.where(runs.c.pr_number == pr_number if pr_number is not None else runs.c.pr_number.is_(None))
        with self.db.read() as conn:
            return [_run(r) for r in conn.execute(query.order_by(runs.c.id))]

    def queue_once(self, new: NewRun, decide: Any) -> int | None:
        """In one claiming transaction: ``decide(siblings)`` with the runs of ``new``'s workspace at
        its commit (and PR), and queue ``new`` when it answers True; the new run's id, or None.
        The siblings' last one to finish calls this, so exactly one follow-up is queued."""
        query = _select_runs().where(workspaces.c.name == new.workspace, runs.c.commit_sha == new.commit_sha)
        query = query.where(runs.c.pr_number == new.pr_number if new.pr_number is not None
                            else runs.c.pr_number.is_(None))

        def attempt() -> int | None:
            with self.db.write(claim=True) as conn:
                siblings = [_run(r) for r in conn.execute(query.order_by(runs.c.id))]
                if not decide(siblings):
                    return None
                return self.insert_runs(conn, [new])[0]

        return self.db.retrying(attempt)

    # -- deliveries --------------------------------------------------------------------------

    def insert_delivery(self, conn: Connection, delivery_id: str, event: str, action: str, repo: str,
                        outcome: str) -> bool:
        """Record a delivery in the caller's transaction; False if this id was seen before."""
        seen = conn.execute(sa.select(deliveries.c.id).where(deliveries.c.id == delivery_id)).first()
        if seen is not None:
            return False
        conn.execute(sa.insert(deliveries).values(id=delivery_id, event=event, action=action, repo=repo,
                                                  received_at=now(), outcome=outcome))
        return True

    def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).first()
        return dict(row._mapping) if row is not None else None

    # -- PR comments, settings ---------------------------------------------------------------

    def comment_id(self, repo: str, pr_number: int, workspace: str) -> int | None:
        with self.db.read() as conn:
            return conn.execute(sa.select(pr_comments.c.comment_id).where(
                pr_comments.c.repo == repo, pr_comments.c.pr_number == pr_number,
                pr_comments.c.workspace == workspace)).scalar()

    def set_comment_id(self, repo: str, pr_number: int, workspace: str, comment_id: int) -> None:
        with self.db.write() as conn:
            conn.execute(sa.delete(pr_comments).where(
                pr_comments.c.repo == repo, pr_comments.c.pr_number == pr_number,
                pr_comments.c.workspace == workspace))
            conn.execute(sa.insert(pr_comments).values(repo=repo, pr_number=pr_number, workspace=workspace,
                                                       comment_id=comment_id))

    def secret_setting(self, name: str) -> str:
        """A random secret stored once under ``name`` (the session-signing key), created on first use."""
        with self.db.write() as conn:
            value = conn.execute(sa.select(settings.c.value).where(settings.c.name == name)).scalar()
            if value is None:
                value = secrets.token_urlsafe(48)
                conn.execute(sa.insert(settings).values(name=name, value=value))
            return str(value)


def _append_events(conn: sa.Connection, run_id: int, events: Sequence[Mapping[str, Any]]) -> None:
    """Append ``events`` to the run's log in ``conn``'s transaction, numbered after the stored ones."""
    last = conn.execute(sa.select(sa.func.max(run_events.c.seq)).where(run_events.c.run_id == run_id)).scalar()
    seq = int(last or 0)
    rows = []
    for ev in events:
        seq += 1
        rows.append({"run_id": run_id, "seq": seq, "at": now(), "event": json.dumps(ev, default=str)})
    conn.execute(sa.insert(run_events), rows)
