"""A stand-in "GitHub Enterprise" service: the program inside the local cloud's shipped images.

It runs inside an instance (with the interpreter of the host's ``/usr/bin/python3``, standard
library only) and is never imported by relight. It keeps its data in ``--data`` (``/data/ghe``,
on the data volume) and answers:

* ``GET /status``: ``200`` with ``{"service", "version", "status": "ok", "schema", "data_token",
  "migrated_from"}``; ``503`` with ``status = "no-data-volume"`` while nothing is mounted at the
  data directory's parent; ``409`` with ``status = "data-too-new"`` when the data was written by
  a newer release (as GitHub Enterprise refuses to run on a newer release's data).
* ``GET /token``: the data token (the file ``token`` in the data directory), or ``404``.

Each release has a data schema (its minor version: 2.16 -> 16). On first sight of an empty data
directory it writes its schema; data from an older release is migrated forward (the schema is
raised and the step appended to ``migrations.log``). The data directory is set up as soon as the
volume is mounted (checked every second), and on every request.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Service:
    def __init__(self, data: str, version: str) -> None:
        self.data = data
        self.version = version
        self.schema = int(version.split(".")[1])
        self.migrated_from: int | None = None  # the schema this process migrated the data from
        self._lock = threading.Lock()

    def state(self) -> tuple[int, dict[str, object]]:
        with self._lock:
            return self._state()

    def _state(self) -> tuple[int, dict[str, object]]:
        body: dict[str, object] = {"service": "github-enterprise", "version": self.version}
        mount = os.path.dirname(self.data.rstrip("/")) or "/"
        if not _mounted(mount):
            return 503, {**body, "status": "no-data-volume", "detail": f"nothing is mounted at {mount}"}
        os.makedirs(self.data, exist_ok=True)
        found = self._read("schema")
        if found is None:
            self._write("schema", str(self.schema))
        elif int(found) > self.schema:
            detail = f"the data is from a newer release (schema {found}); restore a snapshot taken by {self.version}"
            return 409, {**body, "status": "data-too-new", "schema": int(found), "detail": detail}
        elif int(found) < self.schema:
            self.migrated_from = int(found)
            self._write("schema", str(self.schema))
            with open(os.path.join(self.data, "migrations.log"), "a") as log:
                log.write(f"schema {found} -> {self.schema} by {self.version}\n")
        token = self._read("token")
        return 200, {**body, "status": "ok", "schema": self.schema, "data_token": token,
                     "migrated_from": self.migrated_from}

    def watch(self) -> None:
        """Set the data up as soon as the data volume is mounted (it may be attached later)."""
        while True:
            with contextlib.suppress(OSError):
                self.state()
            time.sleep(1.0)

    def _read(self, name: str) -> str | None:
        try:
            with open(os.path.join(self.data, name)) as f:
                return f.read().strip()
        except FileNotFoundError:
            return None

    def _write(self, name: str, text: str) -> None:
        path = os.path.join(self.data, name)
        with open(path + ".tmp", "w") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(path + ".tmp", path)


def _mounted(path: str) -> bool:
    """Is something mounted at ``path``? (A bind mount from the same filesystem fools
    ``os.path.ismount``, so ask the kernel's mount table.)"""
    try:
        with open("/proc/self/mountinfo") as f:
            return any(line.split()[4] == path for line in f if len(line.split()) > 4)
    except OSError:
        return os.path.ismount(path)


def handler(service: Service) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code, body = service.state()
            if self.path == "/status":
                self._send(code, json.dumps(body).encode(), "application/json")
            elif self.path == "/token" and body.get("data_token") is not None:
                self._send(200, f"{body['data_token']}\n".encode(), "text/plain")
            else:
                self._send(404, b"not found\n", "text/plain")

        def _send(self, code: int, data: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="stand-in GitHub Enterprise")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--data", default="/data/ghe")
    parser.add_argument("--version", required=True)
    args = parser.parse_args()
    service = Service(args.data, args.version)
    threading.Thread(target=service.watch, daemon=True).start()
    server = ThreadingHTTPServer(("0.0.0.0", args.port), handler(service))
    server.serve_forever()


if __name__ == "__main__":
    main()
