"""Stand-ins for GitHub's API and a Slack incoming webhook, for the demo, tests and benchmarks.

``StandInGitHub`` is a small HTTP server (on 127.0.0.1, any free port) that answers the calls the
pipeline server makes, at ``/api/v3`` as GitHub Enterprise does, and records them: commit
statuses, PR comments (created and edited), PR file lists given by the caller, the GitHub App
endpoints (the JWT's algorithm and app id are checked; installation tokens are handed out), and
the OAuth web flow (``authorize`` redirects straight back with a code for ``oauth_user``,
``access_token`` exchanges it, ``/user`` says whose token it is). It never talks to GitHub.
``SlackReceiver`` records incoming-webhook posts. Neither is used by ``relight serve`` itself.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Comment", "SlackReceiver", "StandInGitHub", "Status"]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = self.headers.get("content-type", "")
        if "json" in ctype and raw:
            return json.loads(raw)
        if raw:
            return dict(urllib.parse.parse_qsl(raw.decode()))
        return {}

    def _send(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.owner.handle(self, "GET")

    def do_POST(self) -> None:
        self.server.owner.handle(self, "POST")

    def do_PATCH(self) -> None:
        self.server.owner.handle(self, "PATCH")


class _Server(ThreadingHTTPServer):
    owner: Any
    daemon_threads = True


class _Base:
    def __init__(self) -> None:
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> Any:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, h: _Handler, method: str) -> None:
        raise NotImplementedError


@dataclass
class Status:
    repo: str
    sha: str
    state: str
    description: str
    context: str
    target_url: str
    token: str


@dataclass
class Comment:
    id: int
    repo: str
    number: int
    body: str
    edits: int = 0


@dataclass
class StandInGitHub(_Base):
    token: str = "ghp_testtoken"
    app_id: str = "4242"
    installation_id: int = 77
    oauth_user: str = "alice"
    statuses: list[Status] = field(default_factory=list)
    comments: dict[int, Comment] = field(default_factory=dict)
    pr_files: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    installation_tokens: list[str] = field(default_factory=list)
    fail_statuses: bool = False

    def __post_init__(self) -> None:
        _Base.__init__(self)
        self._codes: dict[str, str] = {}
        self._user_tokens: dict[str, str] = {}

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v3"

    def _authorized(self, h: _Handler) -> str | None:
        auth = h.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() in ("token", "bearer") and (value == self.token or value in self.installation_tokens):
            return value
        return None

    def handle(self, h: _Handler, method: str) -> None:
        parsed = urllib.parse.urlsplit(h.path)
        path = parsed.path
        with self.lock:
            self.requests.append((method, path))
        if path == "/login/oauth/authorize":
            q = dict(urllib.parse.parse_qsl(parsed.query))
            code = secrets.token_hex(8)
            self._codes[code] = self.oauth_user
            target = f"{q['redirect_uri']}?{urllib.parse.urlencode({'code': code, 'state': q['state']})}"
            h.send_response(302)
            h.send_header("location", target)
            h.send_header("content-length", "0")
            h.end_headers()
            return
        if path == "/login/oauth/access_token" and method == "POST":
            body = h._body()
            user = self._codes.pop(body.get("code", ""), None)
            if user is None:
                h._send(200, {"error": "bad_verification_code"})
                return
            token = "gho_" + secrets.token_hex(8)
            self._user_tokens[token] = user
            h._send(200, {"access_token": token, "token_type": "bearer", "scope": "read:user"})
            return
        if not path.startswith("/api/v3/"):
            h._send(404, {"message": "Not Found"})
            return
        route = path[len("/api/v3"):]
        if route == "/user":
            token = h.headers.get("authorization", "").partition(" ")[2]
            user = self._user_tokens.get(token)
            if user is None:
                h._send(401, {"message": "Bad credentials"})
            else:
                h._send(200, {"login": user, "id": 1000 + len(user), "type": "User"})
            return
        if route.startswith("/repos/") and route.endswith("/installation"):
            if not self._app_jwt_ok(h):
                h._send(401, {"message": "A JSON web token could not be decoded"})
                return
            h._send(200, {"id": self.installation_id, "app_id": int(self.app_id)})
            return
        if route == f"/app/installations/{self.installation_id}/access_tokens" and method == "POST":
            if not self._app_jwt_ok(h):
                h._send(401, {"message": "A JSON web token could not be decoded"})
                return
            token = "ghs_" + secrets.token_hex(8)
            with self.lock:
                self.installation_tokens.append(token)
            h._send(201, {"token": token, "expires_at": "2099-01-01T00:00:00Z", "permissions": {}})
            return
        who = self._authorized(h)
        if who is None:
            h._send(401, {"message": "Bad credentials"})
            return
        parts = route.strip("/").split("/")
        if len(parts) == 5 and parts[0] == "repos" and parts[3] == "statuses" and method == "POST":
            if self.fail_statuses:
                h._send(500, {"message": "Server Error"})
                return
            body = h._body()
            if len(body.get("description", "")) > 140:
                h._send(422, {"message": "description is too long (maximum is 140 characters)"})
                return
            with self.lock:
                self.statuses.append(Status(f"{parts[1]}/{parts[2]}", parts[4], body["state"],
                                            body.get("description", ""), body.get("context", ""),
                                            body.get("target_url", ""), who))
            h._send(201, {"id": len(self.statuses), "state": body["state"], "context": body.get("context")})
            return
        if len(parts) == 6 and parts[3] == "pulls" and parts[5] == "files":
            files = self.pr_files.get((f"{parts[1]}/{parts[2]}", int(parts[4])))
            if files is None:
                h._send(404, {"message": "Not Found"})
                return
            page = int(dict(urllib.parse.parse_qsl(parsed.query)).get("page", "1"))
            items = [{"filename": f, "status": "modified"} for f in files][(page - 1) * 100: page * 100]
            h._send(200, items)
            return
        if len(parts) == 6 and parts[3] == "issues" and parts[5] == "comments" and method == "POST":
            body = h._body()
            with self.lock:
                cid = 9000 + len(self.comments)
                self.comments[cid] = Comment(cid, f"{parts[1]}/{parts[2]}", int(parts[4]), body["body"])
            h._send(201, {"id": cid, "body": body["body"]})
            return
        if len(parts) == 6 and parts[3] == "issues" and parts[4] == "comments" and method == "PATCH":
            body = h._body()
            cid = int(parts[5])
            with self.lock:
                comment = self.comments.get(cid)
                if comment is not None:
                    comment.body = body["body"]
                    comment.edits += 1
            if comment is None:
                h._send(404, {"message": "Not Found"})
            else:
                h._send(200, {"id": cid, "body": comment.body})
            return
        h._send(404, {"message": f"Not Found: {method} {route}"})

    def _app_jwt_ok(self, h: _Handler) -> bool:
        auth = h.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return False
        token = auth.split(" ", 1)[1]
        try:
            header_b64, payload_b64, _sig = token.split(".")
            header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
            payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
        except ValueError:
            return False
        return header.get("alg") == "RS256" and str(payload.get("iss")) == self.app_id

    def statuses_for(self, context: str) -> list[Status]:
        with self.lock:
            return [s for s in self.statuses if s.context == context]

    def wait_status(self, context: str, state: str, timeout: float = 60.0, sha: str | None = None) -> Status:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [s for s in self.statuses_for(context) if (sha is None or s.sha == sha)]
            if found and found[-1].state == state:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no {state} status for {context}: {self.statuses_for(context)}")


@dataclass
class SlackReceiver(_Base):
    messages: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        _Base.__init__(self)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/T000/B000/XXXX"

    def handle(self, h: _Handler, method: str) -> None:
        body = h._body()
        with self.lock:
            self.messages.append(body)
        h.send_response(200)
        h.send_header("content-length", "2")
        h.end_headers()
        h.wfile.write(b"ok")

    def texts(self) -> list[str]:
        with self.lock:
            return [m.get("text", "") for m in self.messages]

    def wait_text(self, fragment: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for text in self.texts():
                if fragment in text:
                    return text
            time.sleep(0.05)
        raise AssertionError(f"no Slack message with {fragment!r}: {self.texts()}")
