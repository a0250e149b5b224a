"""The local cloud's two locks.

* :class:`EmulatorLock`: moto's models are not thread-safe (two concurrent launches into one
  subnet run the same IP generator at once and fail with an HTTP 500; a describe iterating a
  dict another request grows fails the same way). The server handles requests on many threads,
  so every call into moto holds this lock: API requests while moto handles them, and the data
  plane's background threads while they read moto's objects. The latency (``--latency``) is
  spent outside it, so calls still overlap as on a real cloud. Long copies of content
  (snapshots, volumes from snapshots, images) release it while they copy.
* :class:`RWLock`: requests against the durable save (see persist.py).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

__all__ = ["EmulatorLock", "RWLock"]


class EmulatorLock:
    """One holder at a time; reentrant per thread; :meth:`released` lets go for a while."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            self._lock.acquire()
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                self._lock.release()

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        """Let other threads into the emulator while this one copies (no-op if not holding)."""
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            yield
            return
        self._local.depth = 0
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self._local.depth = depth


class RWLock:
    """Shared holders (requests, background changes) and one exclusive holder (the saver).

    Shared holds are reentrant per thread; a waiting exclusive holder blocks new shared holds
    from other threads, so a save cannot starve."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0
        self._local = threading.local()

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            with self._cond:
                self._cond.wait_for(lambda: not self._exclusive and not self._waiting)
                self._shared += 1
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                with self._cond:
                    self._shared -= 1
                    self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            self._cond.wait_for(lambda: not self._exclusive and self._shared == 0)
            self._waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()
