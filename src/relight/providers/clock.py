"""Time spent waiting on remote APIs, so a run can report its cloud time against its own.

Providers wrap every remote call and every wait in ``clock.enter()`` / ``clock.leave()`` on the
clock of the run they serve (``ProviderContext.clock``; one per run, never per process). The
clock keeps the union of the intervals during which at least one was in flight: with ten calls
in parallel for one second, the cloud time is one second, not ten. What remains of a run's wall
time is relight's own (parsing, planning, journaling).
"""

from __future__ import annotations

import threading
import time

__all__ = ["CloudClock"]


class CloudClock:
    """Union of the intervals during which any cloud call or wait was in flight (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._since = 0.0
        self.busy = 0.0
        self.calls = 0

    def enter(self) -> None:
        with self._lock:
            if self._active == 0:
                self._since = time.monotonic()
            self._active += 1
            self.calls += 1

    def leave(self) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0:
                self.busy += time.monotonic() - self._since

    def snapshot(self) -> tuple[float, int]:
        """(seconds busy so far, calls so far), counting an interval still open up to now."""
        with self._lock:
            extra = time.monotonic() - self._since if self._active else 0.0
            return self.busy + extra, self.calls

