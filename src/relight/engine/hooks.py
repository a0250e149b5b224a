"""One event stream for everything that watches a run: CLI progress, server logs, notifications.

The engine calls these methods from worker threads; implementations must be thread-safe. The
engine wraps whatever hook it is given in :class:`SafeHook`, so a hook that raises never breaks a
run: the failure is kept (the first one) for the caller to report once, and the hook is not
called again.
"""

from __future__ import annotations

import threading

from relight.addrs import InstanceAddr
from relight.diagnostics import Diagnostics
from relight.engine.plan import Action

__all__ = ["Hook", "SafeHook"]


class Hook:
    """Override what you need; every method defaults to doing nothing."""

    def refresh_start(self, addr: InstanceAddr) -> None:
        """Reading ``addr`` from its provider has begun."""

    def refresh_done(self, addr: InstanceAddr, gone: bool) -> None:
        """Reading ``addr`` finished; ``gone`` when the object no longer exists."""

    def apply_start(self, addr: InstanceAddr, action: Action, destroying: bool) -> None:
        """A provider call for ``addr`` has begun (``destroying`` for the delete half)."""

    def apply_done(
        self,
        addr: InstanceAddr,
        action: Action,
        destroying: bool,
        elapsed: float,
        object_id: str | None,
        diagnostics: Diagnostics,
    ) -> None:
        """A provider call for ``addr`` finished; errors are in ``diagnostics``."""

    def apply_skipped(self, addr: InstanceAddr, reason: str) -> None:
        """``addr`` was not applied because something it depends on failed (or the run was
        canceled)."""

    def message(self, text: str) -> None:
        """A line of information for people watching (snapshots taken, locks taken over...)."""


class SafeHook(Hook):
    """Forwards to ``inner`` and swallows what it raises: watching a run must never break it.

    After the first failure the inner hook is no longer called (a broken watcher would fail
    again on every event); ``failure`` describes that first failure, for the run's result.
    """

    def __init__(self, inner: Hook) -> None:
        self.inner = inner
        self.failure: str | None = None
        self._lock = threading.Lock()

    def _call(self, name: str, *args: object) -> None:
        if self.failure is not None:
            return
        try:
            getattr(self.inner, name)(*args)
        except Exception as exc:
            with self._lock:
                if self.failure is None:
                    self.failure = f"{type(self.inner).__name__}.{name} raised {type(exc).__name__}: {exc}"

    def refresh_start(self, addr: InstanceAddr) -> None:
        self._call("refresh_start", addr)

    def refresh_done(self, addr: InstanceAddr, gone: bool) -> None:
        self._call("refresh_done", addr, gone)

    def apply_start(self, addr: InstanceAddr, action: Action, destroying: bool) -> None:
        self._call("apply_start", addr, action, destroying)

    def apply_done(
        self,
        addr: InstanceAddr,
        action: Action,
        destroying: bool,
        elapsed: float,
        object_id: str | None,
        diagnostics: Diagnostics,
    ) -> None:
        self._call("apply_done", addr, action, destroying, elapsed, object_id, diagnostics)

    def apply_skipped(self, addr: InstanceAddr, reason: str) -> None:
        self._call("apply_skipped", addr, reason)

    def message(self, text: str) -> None:
        self._call("message", text)
