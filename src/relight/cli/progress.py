"""Progress lines during apply, as Terraform prints them.

``aws_instance.web: Creating...``, ``Still creating... [10s elapsed]`` every ten seconds, and
``Creation complete after 2s [id=i-123]``.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from relight.addrs import InstanceAddr
from relight.diagnostics import Diagnostics
from relight.engine import Action, Hook

__all__ = ["CliHook"]

_VERBS = {
    Action.CREATE: ("Creating", "Creation", "creating"),
    Action.REPLACE: ("Creating", "Creation", "creating"),
    Action.UPDATE: ("Modifying", "Modifications", "modifying"),
    Action.DELETE: ("Destroying", "Destruction", "destroying"),
    Action.READ: ("Reading", "Read", "reading"),
}


class CliHook(Hook):
    """Writes progress to a stream; a ticker thread reports long-running operations."""

    def __init__(self, out: TextIO | None = None, tick: float = 10.0) -> None:
        self.out = out or sys.stdout
        self._lock = threading.Lock()
        self._inflight: dict[tuple[InstanceAddr, bool], tuple[float, Action, float]] = {}
        self._tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _line(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def _ensure_ticker(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._ticker, daemon=True, name="relight-progress")
            self._thread.start()

    def _ticker(self) -> None:
        while not self._stop.wait(1.0):
            now = time.monotonic()
            with self._lock:
                items = list(self._inflight.items())
            for (addr, destroying), (started, action, last) in items:
                if now - last >= self._tick:
                    verb = _VERBS.get(Action.DELETE if destroying else action, _VERBS[Action.CREATE])[2]
                    self._line(f"{addr}: Still {verb}... [{int(now - started)}s elapsed]")
                    with self._lock:
                        if (addr, destroying) in self._inflight:
                            self._inflight[(addr, destroying)] = (started, action, now)

    def close(self) -> None:
        self._stop.set()

    def refresh_start(self, addr: InstanceAddr) -> None:
        self._line(f"{addr}: Refreshing state...")

    def apply_start(self, addr: InstanceAddr, action: Action, destroying: bool) -> None:
        now = time.monotonic()
        with self._lock:
            self._inflight[(addr, destroying)] = (now, action, now)
        self._ensure_ticker()
        verb = _VERBS.get(Action.DELETE if destroying else action, _VERBS[Action.CREATE])[0]
        self._line(f"{addr}: {verb}...")

    def apply_done(
        self,
        addr: InstanceAddr,
        action: Action,
        destroying: bool,
        elapsed: float,
        object_id: str | None,
        diagnostics: Diagnostics,
    ) -> None:
        with self._lock:
            self._inflight.pop((addr, destroying), None)
        if diagnostics.has_errors:
            return
        noun = _VERBS.get(Action.DELETE if destroying else action, _VERBS[Action.CREATE])[1]
        suffix = f" [id={object_id}]" if object_id and not destroying else ""
        self._line(f"{addr}: {noun} complete after {int(elapsed)}s{suffix}")

    def apply_skipped(self, addr: InstanceAddr, reason: str) -> None:
        self._line(f"{addr}: Skipped because {reason}")

    def message(self, text: str) -> None:
        self._line(text)
