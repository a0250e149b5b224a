"""Health checks in the server: scheduled heal passes that run as runs, with incidents in the database.

A workspace with ``health_check = "5m"`` gets a heal run (an apply-kind run with operation
``heal``) every five minutes, queued by :func:`schedule_due` from whichever process keeps the
queue's housekeeping (the server, or a worker). The run checks out the configuration that was
last applied (the newest apply-kind run that ended ``applied`` or ``planned_and_finished``) and
runs one pass of the heal scheduler (:class:`relight.heal.Healer`) over the run layer, with the
workspace's state in the database and its incidents in the ``incidents`` table
(:class:`SqlIncidents`, the database side of :class:`relight.heal.incidents.IncidentStore`).

What a pass may do is the heal policy of the configuration (``relight { heal { ... } }``): a
recovery under ``mode = "auto"`` applies in the pass itself; anything else (another mode, drift,
a plan a person must read) is reported once, when the incident first needs a person, and opens
an apply-kind run that waits for Confirm & Apply (:attr:`HealOutcome.open_run`). Later passes
that find the same thing continue the incident without telling anyone again. Notices go to the
policy's targets, or to the server's Slack when the policy names none.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from relight.diagnostics import Diagnostics, render
from relight.heal.healer import Healer
from relight.heal.incidents import Incident, IncidentRecords
from relight.providers.registry import ProviderRegistry
from relight.runs import ApplyStarted, Event
from relight.server import operations
from relight.server.config import ServerConfig
from relight.server.db import Database
from relight.server.schema import incidents, runs, workspaces
from relight.server.store import NewRun, Store, now
from relight.state import StateBackend

__all__ = ["HealOutcome", "SqlIncidents", "heal_pass", "incidents_of", "schedule_due"]

_CHECKING = ("pending", "planning", "applying")


class SqlIncidents(IncidentRecords):
    """One workspace's incidents in the database (the :class:`IncidentStore` of the server).

    Each incident is one row holding the whole incident as JSON, rewritten on each change in a
    transaction that is retried while PostgreSQL restarts; ``run_id`` names the heal run that
    opened it.
    """

    def __init__(self, db: Database, workspace_id: int, run_id: int | None = None) -> None:
        self.db = db
        self.workspace_id = workspace_id
        self.run_id = run_id

    def write(self, incident: Incident) -> None:
        doc = json.dumps(incident.to_json(), sort_keys=True)

        def upsert() -> None:
            with self.db.write() as conn:
                values = {"outcome": incident.outcome, "doc": doc, "updated_at": now()}
                done = conn.execute(sa.update(incidents).where(incidents.c.id == incident.id).values(**values))
                if not done.rowcount:
                    conn.execute(sa.insert(incidents).values(id=incident.id, workspace_id=self.workspace_id,
                                                             detected_at=incident.detected_at, run_id=self.run_id,
                                                             **values))

        self.db.retrying(upsert)

    def all(self) -> list[Incident]:
        """Every incident of the workspace, oldest first."""
        with self.db.read() as conn:
            rows = conn.execute(sa.select(incidents.c.doc).where(incidents.c.workspace_id == self.workspace_id)
                                .order_by(incidents.c.detected_at, incidents.c.id)).all()
        return [Incident.from_json(json.loads(r.doc)) for r in rows]



def incidents_of(db: Database, workspace_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The workspace's incidents for the API and the page, newest first, each with its run."""
    with db.read() as conn:
        rows = conn.execute(sa.select(incidents.c.doc, incidents.c.run_id)
                            .where(incidents.c.workspace_id == workspace_id)
                            .order_by(incidents.c.detected_at.desc(), incidents.c.id.desc()).limit(limit)).all()
    return [{**json.loads(r.doc), "run_id": r.run_id} for r in rows]


# -- scheduling ------------------------------------------------------------------------------


def schedule_due(store: Store, config: ServerConfig, at: datetime | None = None) -> list[int]:
    """Queue a heal run for each workspace whose health check is due; returns the new runs' ids.

    One claiming transaction, so several processes calling this at once queue each check once.
    A workspace whose heal run is still pending or running gets none (its next check is still
    moved on), nor does one with nothing applied yet.
    """
    when = at or now()
    wanted = {ws.name: ws.health_check for ws in config.workspaces.values() if ws.health_check}
    if not wanted:
        return []
    queued: list[NewRun] = []
    with store.db.write(claim=True) as conn:
        rows = conn.execute(sa.select(workspaces.c.id, workspaces.c.name, workspaces.c.next_health_check_at)
                            .where(workspaces.c.name.in_(list(wanted)))).all()
        for row in rows:
            if row.next_health_check_at is not None and row.next_health_check_at > when:
                continue
            interval = wanted[row.name]
            assert interval is not None
            conn.execute(sa.update(workspaces).where(workspaces.c.id == row.id)
                         .values(next_health_check_at=when + timedelta(seconds=interval)))
            new = _heal_run(conn, row.id, row.name, interval)
            if new is not None:
                queued.append(new)
        return store.insert_runs(conn, queued) if queued else []


def _heal_run(conn: sa.Connection, ws_id: int, name: str, interval: float) -> NewRun | None:
    busy = conn.execute(sa.select(runs.c.id).where(runs.c.workspace_id == ws_id, runs.c.operation == "heal",
                                                   runs.c.status.in_(_CHECKING)).limit(1)).first()
    if busy is not None:
        return None
    deployed = conn.execute(
        sa.select(runs.c.commit_sha, runs.c.ref, runs.c.clone_url)
        .where(runs.c.workspace_id == ws_id, runs.c.kind == "apply", runs.c.operation == "plan",
               runs.c.commit_sha != "", runs.c.status.in_(("applied", "planned_and_finished")))
        .order_by(runs.c.id.desc()).limit(1)
    ).first()
    if deployed is None:
        return None
    return NewRun(workspace=name, kind="apply", operation="heal", commit_sha=deployed.commit_sha, ref=deployed.ref,
                  clone_url=deployed.clone_url, trigger=f"health check (every {_every(interval)})")


def _every(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


# -- the pass ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HealOutcome:
    """What one heal run found and did, for the run's status and what follows it."""

    status: str  # applied | planned_and_finished | errored
    summary: str
    error: str = ""
    open_run: bool = False  # a person must decide: queue an apply-kind run that waits for them
    counts: tuple[int, int, int] = (0, 0, 0)


_STATUS = {"clean": "planned_and_finished", "recovered": "applied", "needs-person": "planned_and_finished",
           "skipped": "planned_and_finished", "off": "planned_and_finished", "failed": "errored", "error": "errored"}


class _View:
    """The pass's progress events, into the run's log; the first apply step marks the run applying."""

    def __init__(self, sink: operations.EventSink, on_apply: Callable[[], None]) -> None:
        self.log = operations.LogSink(sink)
        self.on_apply = on_apply
        self.applying = False

    def emit(self, event: Event) -> None:
        if isinstance(event, ApplyStarted) and not self.applying:
            self.applying = True
            self.on_apply()
        self.log.emit(event)


def heal_pass(directory: str, backend: StateBackend, *, store_incidents: SqlIncidents, stack: str,
              env: Mapping[str, str], registry: ProviderRegistry, sink: operations.EventSink,
              say: Callable[[str], None], on_apply: Callable[[], None], slack_url: str,
              root: str | None = None, cancel: threading.Event | None = None) -> HealOutcome:
    """One heal pass over ``directory`` with ``backend``; never raises for what the pass finds.

    Incidents go to ``store_incidents``; ``say`` gets the scheduler's lines, ``sink`` the run's
    events; ``on_apply`` is called once, when the pass starts applying a recovery.
    """
    context = operations.run_context(directory, backend, env, registry, root, cancel)
    printed: list[str] = []

    def print_diags(diags: Diagnostics, sources: Mapping[str, str]) -> None:
        text = render(diags, sources)
        printed.append(text)
        say(text)

    healer = Healer(context, say=say, view=_View(sink, on_apply), print_diags=print_diags,
                    incidents=store_incidents, fallback_slack=slack_url or None, stack=stack)
    try:
        result = healer.run_pass()
    finally:
        healer.close(timeout=5.0)
    status = _STATUS.get(result.status, "errored")
    incident = result.incident
    plan = len(incident.plan) if incident is not None else 0
    counts = (plan, 0, 0) if result.status == "recovered" else (0, 0, 0)
    summary = result.message or result.status
    return HealOutcome(status=status, summary=summary, error=summary if status == "errored" else "",
                       open_run=result.status == "needs-person" and result.first_report, counts=counts)


def due_at(db: Database, name: str) -> datetime | None:
    """When workspace ``name``'s next health check is due (None: never scheduled yet)."""
    with db.read() as conn:
        when = conn.execute(sa.select(workspaces.c.next_health_check_at).where(workspaces.c.name == name)).scalar()
    return when.astimezone(UTC) if isinstance(when, datetime) else None
