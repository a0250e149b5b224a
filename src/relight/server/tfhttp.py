"""Terraform's ``http`` state backend protocol, for each workspace's state: ``/tfstate/NAME``.

Terraform (``terraform { backend "http" { address = ".../tfstate/ghe" ... } }``) and the relight
CLI's ``backend "http"`` keep their state in the server, in the same versions and under the same
lock as the server's own runs::

    GET    /tfstate/NAME          the current state in Terraform's format (204: none yet)
    POST   /tfstate/NAME?ID=LOCK  store the sent state (Terraform's format, or relight's)
    LOCK   /tfstate/NAME          take the lock; the body is Terraform's lock info JSON
    UNLOCK /tfstate/NAME          release it (the body names the lock ID)

A lock held by anyone else answers ``423 Locked`` with the holder's lock info (Terraform prints
it), as does a POST whose ``ID`` is not the holder's. Requests authenticate with an API token:
HTTP basic auth with the token as the password (Terraform's ``username``/``password``; the user
name is not checked) or ``Authorization: Bearer``. Reading needs a signed-in user; writing and
locking an approver of the workspace. A state that cannot be converted is refused with the
reasons (400) and nothing is written.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from relight.diagnostics import render
from relight.errors import StateError
from relight.runs import RunContext, state_from_bytes, terraform_state
from relight.server.operations import run_environment
from relight.server.services import Services, workspace_backend
from relight.server.sqlstate import SqlStateBackend
from relight.state import LockInfo

__all__ = ["METHODS", "tfhttp_routes"]

METHODS = ["GET", "POST", "LOCK", "UNLOCK"]
_MAX_STATE = 64 * 1024 * 1024
_LOCK_KEYS = ("ID", "Operation", "Info", "Who", "Version", "Created", "Path")


def _context(svc: Services) -> RunContext:
    environment, secrets = run_environment(svc.env)
    return RunContext(directory=svc.config.server.data_dir, environment=environment, secrets=secrets,
                      registry=svc.registry)


def _locked(holder: LockInfo) -> JSONResponse:
    doc = holder.to_json()
    return JSONResponse({k: doc.get(k, "") for k in _LOCK_KEYS}, status_code=423)


def _lock_info(body: bytes) -> LockInfo | None:
    """Terraform's lock info from a LOCK/UNLOCK body; None when it is not one."""
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("ID"), str) or not doc["ID"]:
        return None
    clean: dict[str, Any] = {k: str(doc.get(k, "")) for k in _LOCK_KEYS}
    return LockInfo.from_json(clean)


async def tfstate(request: Request) -> Response:
    svc: Services = request.app.state.services
    name = request.path_params["name"]
    identity = await run_in_threadpool(svc.auth.identify, request)
    if identity is None:
        return PlainTextResponse("sign in: HTTP basic auth with an API token as the password (relight server token "
                                 "create USER)", status_code=401, headers={"WWW-Authenticate": 'Basic realm="relight"'})
    ws = svc.config.workspaces.get(name)
    backend = await run_in_threadpool(workspace_backend, svc, name)
    if ws is None or backend is None:
        return PlainTextResponse(f"no workspace {name!r}", status_code=404)
    if request.method == "GET":
        return await run_in_threadpool(_get, svc, backend)
    if not ws.may_confirm(identity.login):
        return PlainTextResponse(f"{identity.login} is not an approver of workspace {name}", status_code=403)
    body = await request.body()
    if len(body) > _MAX_STATE:
        return PlainTextResponse("state larger than 64 MB", status_code=413)
    if request.method == "POST":
        return await run_in_threadpool(_post, svc, backend, body, request.query_params.get("ID", ""))
    info = _lock_info(body)
    if info is None:
        return PlainTextResponse('send Terraform\'s lock info as JSON: {"ID": "...", ...}', status_code=400)
    if request.method == "LOCK":
        holder = await run_in_threadpool(backend.lock_as, info)
        svc.log(f"relight serve: {identity.login} locked the state of {name} over http (lock {info.id})"
                if holder is None else f"relight serve: {identity.login} found the state of {name} locked")
        return _locked(holder) if holder is not None else PlainTextResponse("locked")
    holder = await run_in_threadpool(backend.unlock_as, info.id)
    return _locked(holder) if holder is not None else PlainTextResponse("unlocked")


def _get(svc: Services, backend: SqlStateBackend) -> Response:
    try:
        if not backend.history():
            return Response(status_code=204)
        state = backend.read()
    except StateError as exc:
        return PlainTextResponse(str(exc), status_code=500)
    data, diags = terraform_state(state, _context(svc))
    if data is None:
        return PlainTextResponse(render(diags, {}), status_code=500)
    return Response(data, media_type="application/json")


def _post(svc: Services, backend: SqlStateBackend, body: bytes, lock_id: str) -> Response:
    holder = backend.holder()
    if holder is not None and holder.id != lock_id:
        return _locked(holder)
    state, diags = state_from_bytes(body, "the state sent over http", _context(svc))
    if state is None:
        return PlainTextResponse(render(diags, {}), status_code=400)
    try:
        written = backend.put(state)
    except StateError as exc:
        return PlainTextResponse(str(exc), status_code=409)
    svc.log(f"relight serve: state of {backend.name} written over http (serial {written.serial})")
    return PlainTextResponse("ok")


def tfhttp_routes() -> list[BaseRoute]:
    return [Route("/tfstate/{name}", tfstate, methods=METHODS)]
