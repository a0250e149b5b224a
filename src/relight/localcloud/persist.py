"""Keeping the emulator's objects across restarts (``relight local-cloud --data-dir DIR``).

moto holds its objects in memory. With a data directory, the local cloud saves them (every
backend in use, pickled, with the data plane's own records) to ``DIR/objects.pickle`` and loads
them at the next start, so volumes, snapshots, images and instances (with their bytes) are all
still there; instances that were running boot again (not a first boot: user data does not run
twice).

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

import collections
import contextlib
import copy
import io
import logging
import os
import pickle
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from relight.localcloud.locks import RWLock

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
        with open(self.path, "rb") as f:
            doc = pickle.load(f)  # our own file, in the user's own data directory
        if doc.get("format") != FORMAT:
            raise ValueError(f"{self.path} was written by another version of the local cloud")
        from moto.backends import get_backend

        lookup: Any = get_backend
        for service, account, region, backend in doc["backends"]:
            registry = lookup(service)
            dict.__setitem__(registry[account], region, backend)
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
            data = _dumps({"format": FORMAT, "backends": _backends(), "extra": self._export_extra()})
        _write_atomically(self.path, data)
        with self._cond:
            self._saved = max(self._saved, seq)
            self._cond.notify_all()
        self._committed()


class _EmptyLike:
    """A picklable ``default_factory``: a fresh copy of an empty sample (for moto's lambdas)."""

    def __init__(self, sample: Any) -> None:
        self.sample = sample

    def __call__(self) -> Any:
        return copy.deepcopy(self.sample)


class _Pickler(pickle.Pickler):
    """moto's objects, with what plain pickle refuses: ``defaultdict(lambda: ...)`` keeps its
    behaviour through :class:`_EmptyLike`; subclasses of defaultdict with their own
    constructor are rebuilt without calling it; locks are recreated unlocked."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, collections.defaultdict):
            factory = obj.default_factory
            if _is_local(factory):
                factory = _EmptyLike(factory())  # type: ignore[misc]
            state = getattr(obj, "__dict__", None) or None
            return _rebuild_defaultdict, (type(obj), factory), state, None, iter(obj.items())
        if isinstance(obj, _LOCK_TYPES):
            return _new_lock, (type(obj).__name__,)
        return NotImplemented


def _rebuild_defaultdict(cls: Any, factory: Any) -> Any:
    obj = cls.__new__(cls)
    collections.defaultdict.__init__(obj, factory)
    return obj


_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def _new_lock(kind: str) -> Any:
    return threading.RLock() if "RLock" in kind else threading.Lock()


def _is_local(func: Any) -> bool:
    """A function pickle cannot name (a lambda, or one defined inside another)."""
    name = getattr(func, "__qualname__", "")
    return callable(func) and ("<lambda>" in name or "<locals>" in name)


def _dumps(doc: Any) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(doc)
    return buffer.getvalue()


def _backends() -> list[tuple[str, str, str, Any]]:
    from moto.backends import get_backend
    from moto.core.base_backend import BackendDict

    out: list[tuple[str, str, str, Any]] = []
    lookup: Any = get_backend
    for registry in list(getattr(BackendDict, "_instances")):  # noqa: B009 - moto's registry of live backends
        try:
            same = lookup(registry.service_name) is registry
        except Exception:
            same = False
        if not same:
            continue
        for account, region, backend in registry.iter_backends():
            out.append((registry.service_name, account, region, backend))
    return out


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
