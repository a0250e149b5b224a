"""The local file backend: a snapshot, a journal beside it, a lock file and a history folder.

For a state at ``dir/relight.tfstate``:

- ``dir/relight.tfstate`` - the snapshot, replaced atomically (temp file, fsync, rename, fsync
  of the folder), never rewritten in place and never overwritten when it is unreadable;
- ``dir/relight.tfstate.journal`` - changes since that snapshot, one durable line each;
- ``dir/.relight.tfstate.lock.info`` - exists while a run holds the lock (see ``locks``);
- ``dir/.relight/history/relight.tfstate/00000042.json`` - every snapshot ever written.

All files are created readable by the owner only: state holds secrets.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Literal

from relight.errors import StateCorruptError, StateError
from relight.state import codec
from relight.state.backend import VersionInfo
from relight.state.journal import (
    JournalScan,
    LocalJournal,
    apply_records,
    fsync_dir,
    header_line,
    scan_journal,
)
from relight.state.locks import LockInfo, force_unlock, hold_lock
from relight.state.model import UNASSIGNED_LINEAGE, State

__all__ = ["DEFAULT_STATE_FILE", "LocalBackend"]

DEFAULT_STATE_FILE = "relight.tfstate"

_Relation = Literal["none", "live", "stale"]


class LocalBackend:
    """A :class:`relight.state.backend.StateBackend` over files next to ``path``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.path.abspath(os.fspath(path))
        folder, name = os.path.split(self.path)
        self.journal_path = self.path + ".journal"
        self.lock_path = os.path.join(folder, f".{name}.lock.info")
        self.history_dir = os.path.join(folder, ".relight", "history", name)

    def __repr__(self) -> str:
        return f"LocalBackend({self.path!r})"

    # -- reading ---------------------------------------------------------------------------

    def read(self) -> State:
        """The latest state: the snapshot plus any journal left by an interrupted run.

        A missing snapshot is a new empty state: serial 0 and lineage ``""`` (none yet; the
        first durable write assigns one, so two reads of a new state agree, as a saved plan
        needs). An unreadable snapshot or journal raises :class:`StateCorruptError` and is
        left untouched.
        """
        snapshot = self._read_snapshot()
        scan = self._scan_journal()
        relation = self._relation(snapshot, scan)
        if relation != "live" or scan is None:
            return snapshot if snapshot is not None else State(UNASSIGNED_LINEAGE)
        state = snapshot if snapshot is not None else State(scan.lineage)
        apply_records(state, scan.records, self.journal_path, self._restore_hint())
        return state

    def read_version(self, serial: int) -> State:
        """The snapshot stored in history at ``serial``; StateError if there is none."""
        path = self._history_path(serial)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise StateError(f"no stored state version {serial} in {self.history_dir}") from None
        return codec.loads(data, path, "another version in " + self.history_dir)

    def history(self) -> list[VersionInfo]:
        """Every stored snapshot, oldest first. Unreadable entries raise StateCorruptError."""
        try:
            names = sorted(n for n in os.listdir(self.history_dir) if _is_version_name(n))
        except FileNotFoundError:
            return []
        versions = []
        for name in names:
            path = os.path.join(self.history_dir, name)
            with open(path, "rb") as fh:
                state = codec.loads(fh.read(), path, "another version in " + self.history_dir)
            written = datetime.fromtimestamp(os.stat(path).st_mtime, UTC)
            versions.append(VersionInfo(state.serial, state.lineage, written, path, len(state)))
        return versions

    # -- writing ---------------------------------------------------------------------------

    def open_journal(self, state: State) -> LocalJournal:
        """Start recording changes to ``state``, which must be what :meth:`read` returned.

        Raises StateError if the snapshot on disk moved on since ``state`` was read. A journal
        left by an interrupted run on the same snapshot is continued (its records are already
        in ``state``), so a second crash loses nothing either; its torn tail is cut off first.
        """
        snapshot = self._read_snapshot()
        self._check_not_moved(state, snapshot)
        scan = self._scan_journal()
        if self._relation(snapshot, scan) == "live" and scan is not None:
            if scan.lineage != state.lineage:
                raise StateError(
                    f"{self.journal_path} belongs to lineage {scan.lineage}, not "
                    f"{state.lineage}; read the state before opening a journal"
                )
            if scan.torn_tail:
                _truncate_durably(self.journal_path, scan.good_length)
            return LocalJournal(self.journal_path, state, self._install, len(scan.records))
        base = _with_lineage(state)
        _atomic_write(self.journal_path, header_line(base.lineage, base.serial))
        return LocalJournal(self.journal_path, base, self._install)

    def write(self, state: State, *, force: bool = False) -> State:
        """Store ``state`` whole as the next snapshot (``state rm``/``mv``/``push``).

        Refuses, unless ``force``, a state of another lineage or one older than the stored
        serial. The written serial is above both ``state.serial`` and the stored one; the
        written state is returned. A journal on disk is moved into history, not replayed again.
        """
        current = self._read_snapshot()
        if current is not None and not force:
            if current.lineage != state.lineage:
                raise StateError(
                    f"refusing to write lineage {state.lineage} over {self.path}, which has "
                    f"lineage {current.lineage}: they are different states. Use -force if you "
                    f"really mean to replace it"
                )
            if state.serial < current.serial:
                raise StateError(
                    f"refusing to write serial {state.serial} over {self.path}, which is "
                    f"newer (serial {current.serial}). Read it again, or use -force"
                )
        result = _with_lineage(state)
        result.serial = max(state.serial, current.serial if current is not None else 0) + 1
        self._install(result)
        self._archive_journal(result.serial)
        return result

    # -- locking ---------------------------------------------------------------------------

    def lock(self, operation: str, timeout: float = 0.0) -> contextlib.AbstractContextManager[
        LockInfo
    ]:
        """Hold the state lock for a ``with`` block; see :mod:`relight.state.locks`."""
        return hold_lock(self.lock_path, self.path, operation, timeout)

    def force_unlock(self, lock_id: str) -> None:
        """Remove the lock if its ID is ``lock_id``; StateError naming the real ID otherwise."""
        force_unlock(self.lock_path, lock_id)

    # -- internals -------------------------------------------------------------------------

    def _read_snapshot(self) -> State | None:
        try:
            with open(self.path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            return None
        return codec.loads(data, self.path, self._restore_hint())

    def _scan_journal(self) -> JournalScan | None:
        try:
            with open(self.journal_path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            return None
        return scan_journal(data, self.journal_path, self._restore_hint())

    def _relation(self, snapshot: State | None, scan: JournalScan | None) -> _Relation:
        """Whether the journal extends the snapshot, was already compacted into it, or neither.

        A journal on an older serial is left over from a compaction that finished writing the
        snapshot but not deleting the journal. Any other mismatch means files were moved or
        restored by hand, and guessing could lose data, so it is refused.
        """
        if scan is None:
            return "none"
        serial = snapshot.serial if snapshot is not None else 0
        if scan.base_serial < serial:
            return "stale"
        if scan.base_serial == serial and (snapshot is None or snapshot.lineage == scan.lineage):
            return "live"
        found = f"serial {serial} lineage {snapshot.lineage}" if snapshot is not None else "no snapshot"
        raise StateCorruptError(
            codec.corrupt_message(
                self.journal_path,
                f"the journal continues serial {scan.base_serial} of lineage {scan.lineage}, "
                f"but {self.path} has {found} (was the snapshot restored or replaced by hand? "
                f"then move the journal aside)",
                self._restore_hint(),
            )
        )

    def _check_not_moved(self, state: State, snapshot: State | None) -> None:
        serial = snapshot.serial if snapshot is not None else 0
        lineage = snapshot.lineage if snapshot is not None else state.lineage
        if (lineage, serial) != (state.lineage, state.serial):
            raise StateError(
                f"{self.path} changed since it was read (now serial {serial}, lineage "
                f"{lineage}; read serial {state.serial}, lineage {state.lineage}). "
                f"Another run wrote it; read the state again and re-plan"
            )

    def _install(self, state: State) -> None:
        """Write ``state`` to history, then make it the snapshot. Both steps are atomic."""
        data = codec.dumps(state)
        os.makedirs(self.history_dir, mode=0o700, exist_ok=True)
        _atomic_write(self._history_path(state.serial), data)
        _atomic_write(self.path, data)

    def _archive_journal(self, serial: int) -> None:
        """Move a pending journal into history as ``before-<serial>.journal``, unparsed."""
        target = os.path.join(self.history_dir, f"before-{serial:08d}.journal")
        try:
            os.replace(self.journal_path, target)
        except FileNotFoundError:
            return
        fsync_dir(os.path.dirname(self.path))

    def _history_path(self, serial: int) -> str:
        return os.path.join(self.history_dir, f"{serial:08d}.json")

    def _restore_hint(self) -> str:
        """The newest stored version, for error messages about unreadable files."""
        with contextlib.suppress(OSError):
            names = sorted(n for n in os.listdir(self.history_dir) if _is_version_name(n))
            if names:
                return os.path.join(self.history_dir, names[-1])
        return f"a backup (no history in {self.history_dir})"


def _with_lineage(state: State) -> State:
    """A copy of ``state`` with a lineage, assigning a fresh one to a never-written state."""
    twin = state.copy()
    twin.lineage = state.lineage or str(uuid.uuid4())
    return twin


def _is_version_name(name: str) -> bool:
    return name.endswith(".json") and name[:-5].isdigit()


def _atomic_write(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with _closing_fd(fd):
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(folder)


def _truncate_durably(path: str, length: int) -> None:
    fd = os.open(path, os.O_WRONLY)
    with _closing_fd(fd):
        os.ftruncate(fd, length)
        os.fsync(fd)


@contextlib.contextmanager
def _closing_fd(fd: int) -> Iterator[None]:
    try:
        yield
    finally:
        os.close(fd)
