"""What people (through the API or the pages) and GitHub (through webhooks) can ask the server to do.

Each action checks, records and queues, then returns an :class:`Answer` (an HTTP status and a
JSON body); none runs anything itself. Confirm, discard and rollback need an approver of the
workspace (403 otherwise) and write an audit entry with the plan's digest and where the request
came from. A webhook delivery is recorded with what it led to, in the same transaction as the
runs it queues, so a redelivery (same ``X-GitHub-Delivery``) queues nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from relight.server.accounts import Accounts
from relight.server.config import ServerConfig
from relight.server.queue import RunQueue
from relight.server.schema import audit_log
from relight.server.sqlstate import SqlStateBackend
from relight.server.store import NewRun, Run, Store, now
from relight.server.webhooks import decide

__all__ = ["Actions", "Answer"]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status < 400


class Actions:
    def __init__(self, config: ServerConfig, store: Store, accounts: Accounts, queue: RunQueue) -> None:
        self.config = config
        self.store = store
        self.accounts = accounts
        self.queue = queue

    def run_url(self, run_id: int) -> str:
        return f"{self.config.server.public_url}/runs/{run_id}"

    # -- webhooks --------------------------------------------------------------------------

    def webhook(self, event: str, delivery_id: str, payload: Mapping[str, Any], remote: str) -> Answer:
        """Record the delivery and queue what :func:`~relight.server.webhooks.decide` says."""
        decision = decide(event, payload, list(self.config.workspaces.values()), delivery_id)
        action = payload.get("action") if isinstance(payload.get("action"), str) else ""
        repo = payload.get("repository", {}).get("full_name", "") if isinstance(payload.get("repository"), dict) else ""
        with self.store.db.write() as conn:
            if not self.store.insert_delivery(conn, delivery_id, event, str(action), str(repo), decision.summary):
                return Answer(200, {"delivery": delivery_id, "duplicate": True,
                                    "note": "this delivery was received before; nothing was queued again"})
            canceled = [rid for ws, pr in decision.cancel
                        for rid in self.store.cancel_superseded(conn, ws, pr, "superseded by a newer event")]
            ids = self.store.insert_runs(conn, decision.runs)
            detail = {"delivery": delivery_id, "event": event, "action": action, "repo": repo, "runs": ids,
                      "canceled": canceled, "note": decision.summary}
            conn.execute(sa.insert(audit_log).values(
                at=now(), actor="github", action="webhook", workspace=None, run_id=None, plan_digest=None,
                remote=remote[:100], detail=json.dumps(detail)))
        if ids:
            self.queue.wake()
        return Answer(202 if ids else 200, {"delivery": delivery_id, "runs": ids, "canceled": canceled,
                                            "note": decision.summary})

    # -- people ----------------------------------------------------------------------------

    def confirm(self, run_id: int, login: str, remote: str) -> Answer:
        """Confirm a planned run: it will apply exactly its saved plan. A plan already stale
        (the state moved on since it was made) is refused at once and a fresh plan queued."""
        run, refusal = self._approvable(run_id, login, "confirm")
        if refusal is not None:
            return refusal
        assert run is not None
        saved = self.store.get_plan(run.id)
        digest = saved.digest if saved is not None else None
        planned_serial = _planned_serial(saved.plan_json if saved is not None else {})
        current = SqlStateBackend(self.store.db, run.workspace_id, run.workspace).read()
        if planned_serial is not None and planned_serial != current.serial:
            if not self.store.transition(run.id, ["planned"], "errored", error="the plan was stale at confirmation"):
                return self._conflict(run.id, "confirm")
            fresh = self._requeue(run, f"fresh plan after run {run.id}'s plan went stale")
            self.store.add_events(run.id, [{"type": "error", "text": (
                f"{login} pressed Confirm, but the state moved on (serial {planned_serial} -> {current.serial}) "
                f"since this plan was made: nothing was applied. A fresh plan was queued: run {fresh}.")}])
            self.accounts.audit(login, "confirm-refused-stale", remote, workspace=run.workspace, run_id=run.id,
                                plan_digest=digest, detail={"fresh_run": fresh})
            return Answer(409, {"error": "the plan is stale: the state changed since it was made",
                                "run": run.id, "fresh_run": fresh, "fresh_run_url": self.run_url(fresh)})
        if not self.store.transition(run.id, ["planned"], "confirmed", confirmed_by=login, confirmed_at=now()):
            return self._conflict(run.id, "confirm")
        self.accounts.audit(login, "confirm", remote, workspace=run.workspace, run_id=run.id, plan_digest=digest)
        self.queue.wake()
        return Answer(202, self._run_doc(run.id))

    def discard(self, run_id: int, login: str, remote: str) -> Answer:
        run, refusal = self._approvable(run_id, login, "discard")
        if refusal is not None:
            return refusal
        assert run is not None
        saved = self.store.get_plan(run.id)
        if not self.store.transition(run.id, ["planned"], "discarded", discarded_by=login):
            return self._conflict(run.id, "discard")
        self.store.add_events(run.id, [{"type": "message", "text": f"Discarded by {login}; nothing was applied."}])
        self.accounts.audit(login, "discard", remote, workspace=run.workspace, run_id=run.id,
                            plan_digest=saved.digest if saved is not None else None)
        self.queue.wake()  # the workspace's queue moves on
        return Answer(200, self._run_doc(run.id))

    def rollback(self, workspace: str, serial: int, login: str, remote: str) -> Answer:
        """Queue a run that shows what rolling the state back to ``serial`` would do (it waits
        for Confirm & Apply like any other)."""
        ws = self.config.workspaces.get(workspace)
        if ws is None:
            return Answer(404, {"error": f"no workspace {workspace!r}"})
        if not ws.may_confirm(login):
            return Answer(403, {"error": f"{login} is not an approver of workspace {workspace}"})
        ws_id = self.store.workspace_id(workspace)
        assert ws_id is not None
        if serial not in {v.serial for v in SqlStateBackend(self.store.db, ws_id, workspace).history()}:
            return Answer(404, {"error": f"workspace {workspace} has no state version {serial}"})
        run_id = self.store.create_run(NewRun(workspace=workspace, kind="apply", commit_sha="", ref="",
                                              clone_url="", trigger=f"rollback to serial {serial} by {login}",
                                              operation="rollback", rollback_serial=serial))
        self.accounts.audit(login, "rollback", remote, workspace=workspace, run_id=run_id, detail={"serial": serial})
        self.queue.wake()
        return Answer(202, self._run_doc(run_id))

    # -- helpers ---------------------------------------------------------------------------

    def _approvable(self, run_id: int, login: str, verb: str) -> tuple[Run | None, Answer | None]:
        run = self.store.get_run(run_id)
        if run is None:
            return None, Answer(404, {"error": f"no run {run_id}"})
        ws = self.config.workspaces.get(run.workspace)
        if ws is None or not ws.may_confirm(login):
            return None, Answer(403, {"error": f"{login} is not an approver of workspace {run.workspace}"})
        if run.status != "planned":
            done = "confirmed" if verb == "confirm" else "discarded"
            return None, Answer(409, {"error": f"run {run.id} is {run.status}: only a planned run can be {done}",
                                      "status": run.status})
        return run, None

    def _conflict(self, run_id: int, verb: str) -> Answer:
        run = self.store.get_run(run_id)
        status = run.status if run is not None else "gone"
        return Answer(409, {"error": f"run {run_id} changed to {status} meanwhile; cannot {verb} it", "status": status})

    def _requeue(self, run: Run, why: str) -> int:
        fresh = self.store.create_run(NewRun(workspace=run.workspace, kind=run.kind, commit_sha=run.commit_sha,
                                             ref=run.ref, clone_url=run.clone_url, trigger=why,
                                             operation="plan" if run.operation == "plan" else "rollback",
                                             rollback_serial=run.rollback_serial,
                                             confirm_required=run.confirm_required))
        self.store.update_run(run.id, followed_by=fresh)
        self.queue.wake()
        return fresh

    def _run_doc(self, run_id: int) -> dict[str, Any]:
        run = self.store.get_run(run_id)
        assert run is not None
        return {**run.to_json(), "url": self.run_url(run_id)}


def _planned_serial(plan_json: Mapping[str, Any]) -> int | None:
    """The state serial a plan was made against (engine plans and rollback plans)."""
    prior = plan_json.get("prior_state")
    if isinstance(prior, dict) and isinstance(prior.get("serial"), int):
        return int(prior["serial"])
    base = plan_json.get("base_serial")
    return base if isinstance(base, int) else None
