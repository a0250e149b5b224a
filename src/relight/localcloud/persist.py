"""Keeping the emulator's objects across restarts (``relight local-cloud --data-dir DIR``).

moto holds its objects in memory. With a data directory, the local cloud saves them (every
backend in use, pickled, with the data plane's own records) to ``DIR/objects.pickle`` and loads
them at the next start, so volumes, snapshots, images and instances (with their bytes) are all
still there; instances that were running boot again (not a first boot: user data does not run
twice).

The pickling itself (moto's objects, and the emulator's own images written as references) is
in pickling.py.

Durability: a call that changes something is answered only once a save that includes it is on
disk (written to a temporary file, fsynced, renamed over the old one; the directory fsynced).
Saves are group commits: one save covers every change made while the previous one was being
written, so concurrent callers share the cost. Requests hold a shared lock while moto handles
them and the saver takes it exclusively while it pickles, so a save never sees half a change.
A crash (SIGKILL) loses no answered change; content written for a change that was not yet
answered may be left without an object, and is moved to ``DIR/orphans/`` at the next start
(never deleted).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from relight.localcloud.locks import RWLock
from relight.localcloud.pickling import dumps, install_backends, live_backends, loads

__all__ = ["Persistence"]

log = logging.getLogger("relight.localcloud")
FORMAT = 1
_WAIT = 60.0


class Persistence:
    """Saves and loads the emulator's objects; see the module docstring for the contract."""

    def __init__(
        self,
        directory: Path,
        export_extra: Callable[[], Any],
        committed: Callable[[], None],
    ) -> None:
        self.path = directory / "objects.pickle"
        self.lock = RWLock()
        self._export_extra = export_extra
        self._committed = committed
        self._cond = threading.Condition()
        self._changed = 0  # sequence number of the latest change
        self._saved = 0  # sequence number the file on disk includes
        self._stop = False
        self._thread: threading.Thread | None = None

    # -- loading ----------------------------------------------------------------------------
    def load(self) -> Any | None:
        """Put the saved backends back into moto; returns the saved extra (None: nothing saved)."""
        if not self.path.exists():
            return None
        doc = loads(self.path.read_bytes())  # our own file, in the user's own data directory
        if doc.get("format") != FORMAT:
            raise ValueError(f"{self.path} was written by another version of the local cloud")
        install_backends(doc["backends"])
        return doc.get("extra")

    # -- changes ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def request(self, changes: bool) -> Iterator[None]:
        """Around one API call: shared lock while it runs; if it ``changes`` something, the
        caller leaves only once the change is on disk."""
        seq = 0
        with self.lock.shared():
            try:
                yield
            finally:
                if changes:
                    seq = self._note_change()
        if changes:
            self._wait_saved(seq)

    @contextlib.contextmanager
    def mutation(self) -> Iterator[None]:
        """A change made outside an API call (a boot, an SSM result): saved soon, not awaited."""
        with self.lock.shared():
            try:
                yield
            finally:
                self._note_change()

    def _note_change(self) -> int:
        with self._cond:
            self._changed += 1
            self._cond.notify_all()
            return self._changed

    def _wait_saved(self, seq: int) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._saved >= seq or self._stop, _WAIT):
                log.error("the local cloud could not save its objects within %.0fs", _WAIT)

    # -- the saver --------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="relight-localcloud-save", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Save what is left, then stop the saver."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
        self.save_now()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._changed > self._saved or self._stop)
                if self._stop:
                    return
            try:
                self.save_now()
            except Exception:
                log.exception("saving the local cloud's objects failed; retrying")
                with self._cond:
                    self._cond.wait(1.0)

    def save_now(self) -> None:
        with self.lock.exclusive():
            with self._cond:
                seq = self._changed
            data = dumps({"format": FORMAT, "backends": live_backends(), "extra": self._export_extra()})
        _write_atomically(self.path, data)
        with self._cond:
            self._saved = max(self._saved, seq)
            self._cond.notify_all()
        self._committed()


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
