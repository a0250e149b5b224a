"""The local cloud's HTTP front: moto's WSGI application behind a thin layer of our own.

For every request, in order:

1. ``/_relight/...`` is the local cloud's own API (read-only JSON, documented in
   docs/local-cloud.md): ``GET /_relight/data-plane``, ``GET /_relight/instances``,
   ``GET /_relight/instances/<id>`` (the host address and port map), ``GET /_relight/stats``
   (API calls answered, by action, and the seconds the emulator was busy handling them;
   ``POST /_relight/stats/reset`` zeroes them).
2. ``--latency``: the request waits that long before it is handled (every AWS API call, not
   the emulator's own ``/moto-api`` or ``/_relight`` paths), to rehearse a real cloud's timing.
3. The call is handled under the emulator lock (moto is not thread-safe; see locks.py). With a
   data directory, also under the persistence lock, and a call that changes something is
   answered once the change is saved (persist.py).
4. ``POST /moto-api/reset`` also stops every instance and deletes all data-plane content.

Every answer to an AWS API call carries the header ``x-relight-local-cloud`` (the emulator and
its version, e.g. ``moto 5.2.5``): that is how the aws provider knows it talks to the local
cloud, and says which settings the emulator cannot apply (docs/local-cloud.md).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from relight.localcloud.dataplane.plane import DataPlane
from relight.localcloud.locks import EmulatorLock
from relight.localcloud.persist import Persistence

__all__ = ["MARK_HEADER", "Gateway", "action_of", "changes_something", "emulator_name"]

MARK_HEADER = "x-relight-local-cloud"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
_INSTANCE_PATH = re.compile(r"^/_relight/instances/(i-[0-9a-f]+)$")
_READ_ONLY = ("Describe", "List", "Get")


def emulator_name() -> str:
    """What the local cloud's answers say it is, e.g. "moto 5.2.5"."""
    from importlib.metadata import version

    return f"moto {version('moto')}"


def action_of(environ: dict[str, Any]) -> str:
    """The AWS action a request calls (``DescribeInstances``), or the HTTP method for REST
    services. Reads (and puts back) a form body when the action is in it."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    path = str(environ.get("PATH_INFO", ""))
    if "/operation/" in path:  # Smithy RPC v2 (CBOR)
        return path.rstrip("/").rsplit("/", 1)[-1]
    query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")))
    if "Action" in query:
        return query["Action"][0]
    if str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        form = urllib.parse.parse_qs(body.decode(errors="replace"))
        if "Action" in form:
            return str(form["Action"][0])
    return str(environ.get("REQUEST_METHOD", "GET"))


def changes_something(action: str) -> bool:
    return not (action == "GET" or action == "HEAD" or action.startswith(_READ_ONLY))


class Gateway:
    """The WSGI application the server runs (see the module docstring)."""

    def __init__(
        self,
        inner: WsgiApp,
        latency: float,
        plane: Callable[[], DataPlane | None],
        persistence: Persistence | None,
        describe: Callable[[], dict[str, Any]],
        reset: Callable[[], None],
        emulator: EmulatorLock,
    ) -> None:
        self._inner = inner
        self._emulator = emulator
        self.latency = latency
        self._plane = plane
        self._persistence = persistence
        self._describe = describe
        self._reset = reset
        self._stats: Counter[str] = Counter()
        self._busy = 0.0  # seconds the emulator spent handling API calls (under its lock)
        self._stats_lock = threading.Lock()
        self._name = emulator_name()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/_relight/"):
            return self._own(environ, path, start_response)
        if path.startswith("/moto-api/"):
            with contextlib.ExitStack() as stack:
                if self._persistence is not None:  # a reset changes everything: saved like any change
                    stack.enter_context(self._persistence.request(True))
                with self._emulator.held():
                    result = list(self._inner(environ, start_response))
                if path == "/moto-api/reset":
                    self._reset()
            return result
        action = action_of(environ)
        if self.latency > 0:
            time.sleep(self.latency)
        with self._stats_lock:
            self._stats[action] += 1
        if self._persistence is None:
            return self._handle(environ, start_response)
        with self._persistence.request(changes_something(action)):
            return self._handle(environ, start_response)

    def _handle(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        mark = (MARK_HEADER, self._name)

        def marked(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            return start_response(status, [*headers, mark], *rest)

        with self._emulator.held():
            started = time.monotonic()
            try:
                return list(self._inner(environ, marked))
            finally:
                busy = time.monotonic() - started
                with self._stats_lock:
                    self._busy += busy

    def _own(self, environ: dict[str, Any], path: str, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        plane = self._plane()
        body: Any
        if path == "/_relight/stats" and method == "GET":
            with self._stats_lock:
                body = {"requests": dict(self._stats), "total": sum(self._stats.values()),
                        "emulator_busy_seconds": round(self._busy, 4)}  # fmt: skip
        elif path == "/_relight/stats/reset" and method == "POST":
            with self._stats_lock:
                self._stats.clear()
                self._busy = 0.0
            body = {"requests": {}, "total": 0, "emulator_busy_seconds": 0.0}
        elif path == "/_relight/data-plane":
            body = self._describe()
        elif path == "/_relight/instances" and plane is not None:
            body = {"instances": [v for i in sorted(plane.records) if (v := plane.instance_view(i))]}
        elif (found := _INSTANCE_PATH.match(path)) and plane is not None:
            body = plane.instance_view(found.group(1))
            if body is None:
                return _json(start_response, 404, {"error": f"no running data plane instance {found.group(1)}"})
        else:
            return _json(start_response, 404, {"error": f"unknown path {path}"})
        return _json(start_response, 200, body)


def _json(start_response: StartResponse, code: int, body: Any) -> list[bytes]:
    data = json.dumps(body, indent=1, sort_keys=True).encode()
    reason = {200: "OK", 404: "Not Found"}[code]
    start_response(f"{code} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
