"""Structured logs for the server and the workers: one JSON object per line.

Each line has ``time`` (UTC, ISO 8601), ``level``, ``component`` (``server`` or ``worker``),
``msg`` (for people) and, for the lines other programs act on, ``event`` (``run.start``,
``run.end``, ``run.worker_lost``, ``webhook``, ``queue.db_down``...) with its fields (``run``,
``workspace``, ``status``, ``seconds``...). Secrets are never passed in: callers log ids,
names and counts. A :class:`Logger` is also a plain ``Callable[[str], None]`` (the older
``log(line)`` seam), which logs the line as ``msg`` at level info.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["Logger", "stderr_lines"]


def stderr_lines(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Logger:
    """Writes structured lines to ``sink`` (stderr by default); never raises."""

    def __init__(self, sink: Callable[[str], None] = stderr_lines, component: str = "server") -> None:
        self.sink = sink
        self.component = component

    def __call__(self, line: str) -> None:
        self.info(line)

    def info(self, msg: str, **fields: Any) -> None:
        self._write("info", msg, fields)

    def warning(self, msg: str, **fields: Any) -> None:
        self._write("warning", msg, fields)

    def error(self, msg: str, **fields: Any) -> None:
        self._write("error", msg, fields)

    def _write(self, level: str, msg: str, fields: dict[str, Any]) -> None:
        doc = {"time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"), "level": level,
               "component": self.component, "msg": msg, **fields}
        try:
            self.sink(json.dumps(doc, default=str))
        except Exception:  # a log that cannot be written must never break a run
            return
