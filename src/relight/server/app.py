"""The ASGI application (Starlette): the GitHub webhook, the JSON API, and the pages.

Routes (names are contracts)::

    POST /webhooks/github                  signed by GitHub; 401 when the signature is missing or wrong
    GET  /api/runs?workspace=NAME          newest first
    GET  /api/runs/ID                      one run; /api/runs/ID/log, /plan and /report too
    POST /api/runs/ID/confirm              Authorization: Bearer TOKEN; 401 / 403 / 409
    POST /api/runs/ID/discard
    GET  /api/workspaces/NAME/state        the current state as `relight state pull` prints it
                                           (?serial=N: a stored version)
    GET  /api/workspaces                   and /api/workspaces/NAME/states (versions), /api/audit
    POST /api/workspaces/NAME/rollback     {"serial": N}: queue a rollback run
    GET  /api/workspaces/NAME/incidents    what the workspace's health checks found, newest first
    GET|POST|LOCK|UNLOCK /tfstate/NAME     Terraform's http backend protocol (server/tfhttp.py)
    GET  /healthz                          the process answers (liveness)
    GET  /readyz                           the database answers and the queue runs (readiness)
    GET  /metrics                          Prometheus metrics (server/metrics.py)

Every API route needs a signed-in user (an API token, or the pages' session with the
``X-CSRF-Token`` header on writes): state and plans hold secrets. Handlers only verify, parse,
record and answer; runs happen in the queue's workers.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from relight.errors import StateError
from relight.server.actions import Answer
from relight.server.auth import Identity
from relight.server.healthcheck import incidents_of
from relight.server.metrics import CONTENT_TYPE
from relight.server.pages import page_routes
from relight.server.services import Services, remote_of, workspace_backend
from relight.server.tfhttp import tfhttp_routes
from relight.server.webhooks import verify_signature
from relight.state import dumps

__all__ = ["MAX_PAYLOAD", "create_app"]

MAX_PAYLOAD = 25 * 1024 * 1024  # GitHub's own limit for webhook payloads


def _json(answer: Answer) -> JSONResponse:
    return JSONResponse(answer.body, status_code=answer.status)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


# -- the webhook -----------------------------------------------------------------------------


async def github_webhook(request: Request) -> Response:
    svc: Services = request.app.state.services
    started = time.perf_counter()
    response = await _github_webhook(request, svc)
    event = request.headers.get("x-github-event", "") or "none"
    svc.metrics.webhook_seconds.labels(event=event[:32]).observe(time.perf_counter() - started)
    return response


async def _github_webhook(request: Request, svc: Services) -> Response:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_PAYLOAD:
        return _error(413, "payload larger than 25 MB")
    body = await request.body()
    if len(body) > MAX_PAYLOAD:
        return _error(413, "payload larger than 25 MB")
    signature = request.headers.get("x-hub-signature-256")
    if not verify_signature(svc.config.github.webhook_secret, body, signature):
        svc.log(f"relight serve: refused a webhook from {remote_of(request)}: "
                f"{'wrong' if signature else 'missing'} X-Hub-Signature-256")
        return _error(401, "missing or wrong X-Hub-Signature-256")
    event = request.headers.get("x-github-event", "")
    delivery = request.headers.get("x-github-delivery", "")
    if not delivery or len(delivery) > 100:
        return _error(400, "missing X-GitHub-Delivery")
    try:
        payload = json.loads(body)
    except ValueError:
        return _error(400, "the body is not JSON (set the webhook's content type to application/json)")
    if not isinstance(payload, dict):
        return _error(400, "the body is not a JSON object")
    answer = await run_in_threadpool(svc.actions.webhook, event, delivery, payload, remote_of(request))
    return _json(answer)


# -- the API ---------------------------------------------------------------------------------

Handler = Callable[[Request, Services, Identity], Awaitable[Response]]


def api(handler: Handler, write: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """Wrap an API handler: 401 without a user; writes by session also need the CSRF header."""

    async def endpoint(request: Request) -> Response:
        svc: Services = request.app.state.services
        identity = await run_in_threadpool(svc.auth.identify, request)
        if identity is None:
            return JSONResponse({"error": "sign in: send Authorization: Bearer TOKEN (relight server token create "
                                 "USER)"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        if write and not svc.auth.csrf_ok(identity, request.headers.get("x-csrf-token")):
            return _error(403, "missing or wrong X-CSRF-Token for a session request")
        return await handler(request, svc, identity)

    return endpoint


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


async def list_runs(request: Request, svc: Services, who: Identity) -> Response:
    workspace = request.query_params.get("workspace")
    if workspace is not None and workspace not in svc.config.workspaces and \
            await run_in_threadpool(svc.store.workspace_id, workspace) is None:
        return _error(404, f"no workspace {workspace!r}")
    limit = min(_int(request.query_params.get("limit", "100")) or 100, 1000)
    runs = await run_in_threadpool(svc.store.list_runs, workspace, limit)
    return JSONResponse([{**r.to_json(), "url": svc.actions.run_url(r.id)} for r in runs])


async def get_run(request: Request, svc: Services, who: Identity) -> Response:
    run_id = _int(request.path_params["id"])
    run = await run_in_threadpool(svc.store.get_run, run_id) if run_id is not None else None
    if run is None:
        return _error(404, f"no run {request.path_params['id']}")
    saved = await run_in_threadpool(svc.store.get_plan, run.id)
    doc = {**run.to_json(), "url": svc.actions.run_url(run.id), "plan_digest": saved.digest if saved else None}
    return JSONResponse(doc)


async def run_log(request: Request, svc: Services, who: Identity) -> Response:
    run_id = _int(request.path_params["id"]) or 0
    after = _int(request.query_params.get("after", "0")) or 0
    events = await run_in_threadpool(svc.store.events, run_id, after)
    return JSONResponse([{"seq": seq, **event} for seq, event in events])


async def run_plan(request: Request, svc: Services, who: Identity) -> Response:
    run_id = _int(request.path_params["id"]) or 0
    saved = await run_in_threadpool(svc.store.get_plan, run_id)
    if saved is None:
        return _error(404, f"run {run_id} has no plan (yet)")
    return JSONResponse({"run": run_id, "digest": saved.digest, "plan": saved.plan_json, "text": saved.plan_text})


async def run_report(request: Request, svc: Services, who: Identity) -> Response:
    """An image run's builds or a rehearsal's report (checks, log, what it made and left)."""
    run_id = _int(request.path_params["id"]) or 0
    doc = await run_in_threadpool(svc.store.get_report, run_id)
    if doc is None:
        return _error(404, f"run {run_id} has no report (yet)")
    return JSONResponse(doc)


def _action(verb: str) -> Handler:
    async def handler(request: Request, svc: Services, who: Identity) -> Response:
        run_id = _int(request.path_params["id"])
        if run_id is None:
            return _error(404, f"no run {request.path_params['id']}")
        fn = svc.actions.confirm if verb == "confirm" else svc.actions.discard
        return _json(await run_in_threadpool(fn, run_id, who.login, remote_of(request)))

    return handler


async def workspace_state(request: Request, svc: Services, who: Identity) -> Response:
    backend = await run_in_threadpool(workspace_backend, svc, request.path_params["name"])
    if backend is None:
        return _error(404, f"no workspace {request.path_params['name']!r}")
    serial = request.query_params.get("serial")
    try:
        if serial is not None:
            if _int(serial) is None:
                return _error(400, "serial must be a number")
            state = await run_in_threadpool(backend.read_version, int(serial))
        else:
            state = await run_in_threadpool(backend.read)
    except StateError as exc:
        return _error(404 if serial is not None else 500, str(exc))
    return Response(dumps(state), media_type="application/json")


async def workspace_states(request: Request, svc: Services, who: Identity) -> Response:
    backend = await run_in_threadpool(workspace_backend, svc, request.path_params["name"])
    if backend is None:
        return _error(404, f"no workspace {request.path_params['name']!r}")
    versions = await run_in_threadpool(backend.history)
    return JSONResponse([{"serial": v.serial, "lineage": v.lineage, "written_at": v.written_at.isoformat(),
                          "resource_count": v.resource_count} for v in reversed(versions)])


async def list_workspaces(request: Request, svc: Services, who: Identity) -> Response:
    return JSONResponse([{"name": w.name, "repo": w.repo, "dir": w.dir, "branch": w.branch,
                          "approvers": list(w.approvers), "auto_apply": w.auto_apply}
                         for w in svc.config.workspaces.values()])


async def rollback(request: Request, svc: Services, who: Identity) -> Response:
    try:
        doc = await request.json()
    except ValueError:
        return _error(400, 'send {"serial": N}')
    serial = doc.get("serial") if isinstance(doc, dict) else None
    if not isinstance(serial, int) or isinstance(serial, bool):
        return _error(400, 'send {"serial": N}')
    return _json(await run_in_threadpool(svc.actions.rollback, request.path_params["name"], serial, who.login,
                                         remote_of(request)))


async def workspace_incidents(request: Request, svc: Services, who: Identity) -> Response:
    ws_id = await run_in_threadpool(svc.store.workspace_id, request.path_params["name"])
    if ws_id is None:
        return _error(404, f"no workspace {request.path_params['name']!r}")
    limit = min(_int(request.query_params.get("limit", "200")) or 200, 1000)
    return JSONResponse(await run_in_threadpool(incidents_of, svc.store.db, ws_id, limit))


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    svc: Services = request.app.state.services
    problem = await run_in_threadpool(svc.ready)
    return PlainTextResponse(problem or "ready", status_code=503 if problem else 200)


async def metrics(request: Request) -> Response:
    svc: Services = request.app.state.services
    return Response(await run_in_threadpool(svc.metrics.render), media_type=CONTENT_TYPE)


async def audit(request: Request, svc: Services, who: Identity) -> Response:
    entries = await run_in_threadpool(svc.accounts.audit_entries, 500, request.query_params.get("workspace"))
    return JSONResponse([e.to_json() for e in entries])


def api_routes() -> list[BaseRoute]:
    return [
        Route("/webhooks/github", github_webhook, methods=["POST"]),
        Route("/api/runs", api(list_runs)),
        Route("/api/runs/{id}", api(get_run)),
        Route("/api/runs/{id}/log", api(run_log)),
        Route("/api/runs/{id}/plan", api(run_plan)),
        Route("/api/runs/{id}/report", api(run_report)),
        Route("/api/runs/{id}/confirm", api(_action("confirm"), write=True), methods=["POST"]),
        Route("/api/runs/{id}/discard", api(_action("discard"), write=True), methods=["POST"]),
        Route("/api/workspaces", api(list_workspaces)),
        Route("/api/workspaces/{name}/state", api(workspace_state)),
        Route("/api/workspaces/{name}/states", api(workspace_states)),
        Route("/api/workspaces/{name}/rollback", api(rollback, write=True), methods=["POST"]),
        Route("/api/workspaces/{name}/incidents", api(workspace_incidents)),
        Route("/api/audit", api(audit)),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        *tfhttp_routes(),
    ]


def create_app(services: Services, on_start: Callable[[], None], on_stop: Callable[[], None]) -> Starlette:
    """The application; ``on_start``/``on_stop`` run in its lifespan (start and stop the queue)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(on_start)
        try:
            yield
        finally:
            await run_in_threadpool(on_stop)

    app = Starlette(routes=[*api_routes(), *page_routes()], lifespan=lifespan)
    app.state.services = services
    return app
