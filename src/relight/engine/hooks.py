"""One event stream for everything that watches a run: CLI progress, server logs, notifications.

The engine calls these methods from worker threads; implementations must be thread-safe. A hook
must never raise: the engine catches and ignores hook failures so that watching a run cannot
break it.
"""

from __future__ import annotations

from collections.abc import Sequence

from relight.addrs import InstanceAddr
from relight.diagnostics import Diagnostics
from relight.engine.plan import Action

__all__ = ["Hook", "MultiHook"]


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
        """``addr`` was not applied because something it depends on failed."""

    def message(self, text: str) -> None:
        """A line of information for people watching (snapshots taken, locks taken over...)."""


class MultiHook(Hook):
    """Fan one event out to several hooks; a failing hook is ignored."""

    def __init__(self, hooks: Sequence[Hook]) -> None:
        self.hooks = list(hooks)

    def _each(self, name: str, *args: object) -> None:
        for hook in self.hooks:
            try:
                getattr(hook, name)(*args)
            except Exception:  # a watcher must never break the run
                continue

    def refresh_start(self, addr: InstanceAddr) -> None:
        self._each("refresh_start", addr)

    def refresh_done(self, addr: InstanceAddr, gone: bool) -> None:
        self._each("refresh_done", addr, gone)

    def apply_start(self, addr: InstanceAddr, action: Action, destroying: bool) -> None:
        self._each("apply_start", addr, action, destroying)

    def apply_done(
        self,
        addr: InstanceAddr,
        action: Action,
        destroying: bool,
        elapsed: float,
        object_id: str | None,
        diagnostics: Diagnostics,
    ) -> None:
        self._each("apply_done", addr, action, destroying, elapsed, object_id, diagnostics)

    def apply_skipped(self, addr: InstanceAddr, reason: str) -> None:
        self._each("apply_skipped", addr, reason)

    def message(self, text: str) -> None:
        self._each("message", text)
