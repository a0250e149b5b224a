"""Server-rendered pages (Jinja2): workspaces, runs, a run with its plan and live log, state
versions with differences and rollback, the audit log, and signing in.

Signing in: "Sign in with GitHub" (OAuth, when ``client_id``/``client_secret`` are set) or an
API token pasted into the form (local users made by ``relight server token create``). Every
page needs a session; every form posts the session's CSRF token. The log streams as
server-sent events from ``/runs/ID/events`` (our own few lines of JavaScript in
``static/run.js``), and is kept in the database for good.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from relight import __version__
from relight.errors import StateError
from relight.server.auth import Identity
from relight.server.github import GitHubError
from relight.server.healthcheck import due_at, incidents_of
from relight.server.services import Services, remote_of, workspace_backend
from relight.server.store import FINAL, iso
from relight.state import dumps

__all__ = ["page_routes"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_STATIC = os.path.join(_HERE, "static")
_env = Environment(loader=FileSystemLoader(os.path.join(_HERE, "templates")), autoescape=select_autoescape(),
                   trim_blocks=True, lstrip_blocks=True)


def _plan_html(text: str) -> Markup:
    """The plan text with its +/-/~ lines tinted, as the CLI's colours do."""
    out = []
    for line in text.splitlines():
        body = line.lstrip()
        cls = ""
        if body.startswith("-/+") or body.startswith("+/-"):
            cls = "replace"
        elif body.startswith("+"):
            cls = "add"
        elif body.startswith("-"):
            cls = "del"
        elif body.startswith("~"):
            cls = "change"
        elif "# forces replacement" in line or "(data safety:" in line:
            cls = "warn"
        out.append(f'<span class="{cls}">{escape(line)}</span>' if cls else str(escape(line)))
    return Markup("\n".join(out))


_env.filters["plan_html"] = _plan_html
_env.filters["iso"] = iso
_env.globals["version"] = __version__


def _render(template: str, who: Identity | None, status: int = 200, **values: Any) -> HTMLResponse:
    html = _env.get_template(template).render(who=who, **values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store",
                                                            "X-Frame-Options": "DENY",
                                                            "Content-Security-Policy": "default-src 'self'; "
                                                            "frame-ancestors 'none'"})


Page = Callable[[Request, Services, Identity], Awaitable[Response]]


def page(handler: Page) -> Callable[[Request], Awaitable[Response]]:
    """Pages need a session (or a token); without one, go to the sign-in page and come back."""

    async def endpoint(request: Request) -> Response:
        svc: Services = request.app.state.services
        who = await run_in_threadpool(svc.auth.identify, request)
        if who is None:
            back = urllib.parse.quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
            return RedirectResponse(f"/login?next={back}", status_code=303)
        return await handler(request, svc, who)

    return endpoint


def form_page(handler: Callable[[Request, Services, Identity, Any], Awaitable[Response]]) -> Callable[
        [Request], Awaitable[Response]]:
    """A POSTed form: needs a session and its CSRF token."""

    async def endpoint(request: Request) -> Response:
        svc: Services = request.app.state.services
        who = await run_in_threadpool(svc.auth.identify, request)
        if who is None:
            return RedirectResponse("/login", status_code=303)
        form = await request.form()
        csrf = form.get("csrf")
        if not svc.auth.csrf_ok(who, csrf if isinstance(csrf, str) else None):
            return _render("error.html", who, 403, message="The form expired or did not come from this site "
                           "(CSRF check failed). Go back, reload the page and try again.")
        return await handler(request, svc, who, form)

    return endpoint


def _safe_next(value: str | None) -> str:
    """Only local paths: a sign-in link must not send people elsewhere."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


# -- signing in ------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    svc: Services = request.app.state.services
    token = svc.auth.login_csrf_token(request)
    response = _render("login.html", None, next=_safe_next(request.query_params.get("next")),
                       oauth=svc.config.github.oauth_enabled, error=request.query_params.get("error"), csrf=token)
    svc.auth.set_login_csrf(response, token)
    return response


async def login_submit(request: Request) -> Response:
    svc: Services = request.app.state.services
    form = await request.form()
    token, csrf, nxt = form.get("token"), form.get("csrf"), form.get("next")
    if not svc.auth.login_csrf_ok(request, csrf if isinstance(csrf, str) else None):
        return RedirectResponse("/login?error=expired", status_code=303)
    login = await run_in_threadpool(svc.accounts.authenticate, token.strip() if isinstance(token, str) else "")
    if login is None:
        return RedirectResponse("/login?error=token", status_code=303)
    response = RedirectResponse(_safe_next(nxt if isinstance(nxt, str) else None), status_code=303)
    svc.auth.start_session(response, login)
    await run_in_threadpool(svc.accounts.audit, login, "sign-in", remote_of(request), detail={"via": "token"})
    return response


async def github_login(request: Request) -> Response:
    svc: Services = request.app.state.services
    if not svc.config.github.oauth_enabled or svc.github is None:
        return RedirectResponse("/login?error=oauth", status_code=303)
    response = RedirectResponse("about:blank", status_code=303)
    state = svc.auth.oauth_state(response, _safe_next(request.query_params.get("next")))
    response.headers["location"] = svc.github.authorize_url(state, _callback_url(svc))
    return response


async def github_callback(request: Request) -> Response:
    svc: Services = request.app.state.services
    nxt = svc.auth.check_oauth_state(request, request.query_params.get("state", ""))
    code = request.query_params.get("code", "")
    if nxt is None or not code or svc.github is None:
        return RedirectResponse("/login?error=oauth", status_code=303)
    try:
        user = await run_in_threadpool(svc.github.sign_in, code, _callback_url(svc))
    except GitHubError as exc:
        svc.log(f"relight serve: GitHub sign-in failed: {exc}")
        return RedirectResponse("/login?error=oauth", status_code=303)
    await run_in_threadpool(svc.accounts.ensure_user, user.login, user.github_id)
    await run_in_threadpool(svc.accounts.audit, user.login, "sign-in", remote_of(request), detail={"via": "github"})
    response = RedirectResponse(_safe_next(nxt), status_code=303)
    svc.auth.start_session(response, user.login)
    return response


def _callback_url(svc: Services) -> str:
    return f"{svc.config.server.public_url}/auth/github/callback"


async def logout(request: Request, svc: Services, who: Identity, form: Any) -> Response:
    response = RedirectResponse("/login", status_code=303)
    svc.auth.end_session(response)
    return response


# -- workspaces and runs -----------------------------------------------------------------------


async def index(request: Request, svc: Services, who: Identity) -> Response:
    rows = await run_in_threadpool(svc.store.workspace_summaries)
    configured = svc.config.workspaces
    return _render("index.html", who, rows=rows, configured=configured)


async def workspace(request: Request, svc: Services, who: Identity) -> Response:
    name = request.path_params["name"]
    backend = await run_in_threadpool(workspace_backend, svc, name)
    if backend is None:
        return _render("error.html", who, 404, message=f"There is no workspace {name!r}.")
    runs = await run_in_threadpool(svc.store.list_runs, name, 200)
    holder = await run_in_threadpool(backend.holder)
    found = await run_in_threadpool(incidents_of, svc.store.db, backend.workspace_id, 50)
    due = await run_in_threadpool(due_at, svc.store.db, name)
    return _render("workspace.html", who, name=name, ws=svc.config.workspaces.get(name), runs=runs, holder=holder,
                   incidents=found, next_check=iso(due))


async def run_page(request: Request, svc: Services, who: Identity) -> Response:
    text = request.path_params["id"]
    run = await run_in_threadpool(svc.store.get_run, int(text)) if text.isdigit() else None
    if run is None:
        return _render("error.html", who, 404, message=f"There is no run {text}.")
    saved = await run_in_threadpool(svc.store.get_plan, run.id)
    report = await run_in_threadpool(svc.store.get_report, run.id)
    events = await run_in_threadpool(svc.store.events, run.id)
    ws = svc.config.workspaces.get(run.workspace)
    approver = ws is not None and ws.may_confirm(who.login)
    return _render("run.html", who, run=run, saved=saved, report=report, events=events, approver=approver,
                   last_seq=events[-1][0] if events else 0, final=run.status in FINAL)


async def run_events(request: Request, svc: Services, who: Identity) -> Response:
    """The run's log as server-sent events, from ``after``, until the run is final."""
    text = request.path_params["id"]
    run_id = int(text) if text.isdigit() else 0
    after = int(request.query_params.get("after", "0") or 0)

    async def stream() -> AsyncIterator[str]:
        seq = after
        status = ""
        for _ in range(7200):  # at most an hour per connection; the page reconnects
            events = await run_in_threadpool(svc.store.events, run_id, seq)
            for seq, event in events:
                if event.get("text"):
                    yield f"id: {seq}\nevent: log\ndata: {_one_line(str(event['text']))}\n\n"
            run = await run_in_threadpool(svc.store.get_run, run_id)
            if run is None:
                return
            if run.status != status:
                status = run.status
                yield f"event: status\ndata: {status}\n\n"
            if run.status in FINAL and not events:
                yield "event: end\ndata: end\n\n"
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.5)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


def _one_line(text: str) -> str:
    # SSE data lines cannot hold newlines: each is sent as its own data line.
    return "\ndata: ".join(text.splitlines() or [""])


async def run_action(request: Request, svc: Services, who: Identity, form: Any) -> Response:
    text, verb = request.path_params["id"], request.path_params["verb"]
    if not text.isdigit() or verb not in ("confirm", "discard"):
        return _render("error.html", who, 404, message="No such action.")
    fn = svc.actions.confirm if verb == "confirm" else svc.actions.discard
    answer = await run_in_threadpool(fn, int(text), who.login, remote_of(request))
    if not answer.ok:
        return _render("error.html", who, answer.status, message=answer.body.get("error", "refused"),
                       back=f"/runs/{text}", fresh=answer.body.get("fresh_run"))
    return RedirectResponse(f"/runs/{text}", status_code=303)


# -- state versions ----------------------------------------------------------------------------


async def states(request: Request, svc: Services, who: Identity) -> Response:
    name = request.path_params["name"]
    backend = await run_in_threadpool(workspace_backend, svc, name)
    if backend is None:
        return _render("error.html", who, 404, message=f"There is no workspace {name!r}.")
    versions = list(reversed(await run_in_threadpool(backend.history)))
    ws = svc.config.workspaces.get(name)
    return _render("states.html", who, name=name, versions=versions,
                   approver=ws is not None and ws.may_confirm(who.login))


async def state_diff(request: Request, svc: Services, who: Identity) -> Response:
    name = request.path_params["name"]
    backend = await run_in_threadpool(workspace_backend, svc, name)
    q = request.query_params
    if backend is None or not q.get("from", "").isdigit() or not q.get("to", "").isdigit():
        return _render("error.html", who, 400, message="Choose two state versions to compare.")
    try:
        old = await run_in_threadpool(backend.read_version, int(q["from"]))
        new = await run_in_threadpool(backend.read_version, int(q["to"]))
    except StateError as exc:
        return _render("error.html", who, 404, message=str(exc))
    lines = difflib.unified_diff(dumps(old).decode().splitlines(), dumps(new).decode().splitlines(),
                                 f"serial {q['from']}", f"serial {q['to']}", lineterm="", n=3)
    return _render("diff.html", who, name=name, diff="\n".join(lines), a=q["from"], b=q["to"])


async def state_version(request: Request, svc: Services, who: Identity) -> Response:
    name, serial = request.path_params["name"], request.path_params["serial"]
    backend = await run_in_threadpool(workspace_backend, svc, name)
    if backend is None or not serial.isdigit():
        return _render("error.html", who, 404, message="No such state version.")
    try:
        state = await run_in_threadpool(backend.read_version, int(serial))
    except StateError as exc:
        return _render("error.html", who, 404, message=str(exc))
    return _render("diff.html", who, name=name, diff=dumps(state).decode(), a=serial, b=None)


async def rollback(request: Request, svc: Services, who: Identity, form: Any) -> Response:
    name, serial = request.path_params["name"], request.path_params["serial"]
    if not serial.isdigit():
        return _render("error.html", who, 404, message="No such state version.")
    answer = await run_in_threadpool(svc.actions.rollback, name, int(serial), who.login, remote_of(request))
    if not answer.ok:
        return _render("error.html", who, answer.status, message=answer.body.get("error", "refused"))
    return RedirectResponse(f"/runs/{answer.body['id']}", status_code=303)


async def audit_page(request: Request, svc: Services, who: Identity) -> Response:
    entries = await run_in_threadpool(svc.accounts.audit_entries, 500, request.query_params.get("workspace"))
    return _render("audit.html", who, entries=entries)


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ("app.css", "run.js"):
        return Response(status_code=404)
    return FileResponse(os.path.join(_STATIC, name), headers={"Cache-Control": "max-age=300"})


def page_routes() -> list[BaseRoute]:
    return [
        Route("/", page(index)),
        Route("/login", login_page),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", form_page(logout), methods=["POST"]),
        Route("/auth/github", github_login),
        Route("/auth/github/callback", github_callback),
        Route("/workspaces/{name}", page(workspace)),
        Route("/workspaces/{name}/states", page(states)),
        Route("/workspaces/{name}/states/diff", page(state_diff)),
        Route("/workspaces/{name}/states/{serial}", page(state_version)),
        Route("/workspaces/{name}/states/{serial}/rollback", form_page(rollback), methods=["POST"]),
        Route("/runs/{id}", page(run_page)),
        Route("/runs/{id}/events", page(run_events)),
        Route("/runs/{id}/{verb}", form_page(run_action), methods=["POST"]),
        Route("/audit", page(audit_page)),
        Route("/static/{name}", static),
    ]
