"""The state lock for file backends: one lock-info file that exists while a run holds the lock.

Acquiring publishes a fully written info file with ``os.link`` (atomic, and it fails if the
name exists), so a reader never sees a half-written lock. A lock left by a run that was killed
on this host (its pid is gone, or now belongs to another process or an earlier boot) is taken
over and reported through :attr:`LockInfo.took_over_from`. A holder on another host, or one that
is alive, is waited for until the timeout, then named in :class:`StateLockedError`.

Take-over and release re-check the file under ``flock`` on a guard file next to it, so two runs
cannot both take over the same dead lock, and a release never deletes someone else's lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from relight import __version__
from relight.errors import StateError, StateLockedError

__all__ = ["LockInfo", "force_unlock", "hold_lock", "holder_is_dead", "lock_error_message"]

_FIRST_DELAY = 0.05
_MAX_DELAY = 1.0


@dataclass(frozen=True, slots=True)
class LockInfo:
    """Who holds the state lock. ``took_over_from`` is set when a dead run's lock was taken."""

    id: str
    operation: str
    who: str
    version: str
    created: str
    path: str
    pid: int
    host: str
    boot_id: str = ""
    process_start: str = ""
    took_over_from: LockInfo | None = None

    @classmethod
    def new(cls, operation: str, path: str) -> LockInfo:
        host = socket.gethostname()
        pid = os.getpid()
        return cls(
            id=str(uuid.uuid4()),
            operation=operation,
            who=f"{_user()}@{host}",
            version=__version__,
            created=datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            path=path,
            pid=pid,
            host=host,
            boot_id=_boot_id(),
            process_start=_process_start(pid) or "",
        )

    def to_json(self) -> dict[str, Any]:
        """Terraform's lock-info keys, plus what is needed to detect a dead holder."""
        return {
            "ID": self.id,
            "Operation": self.operation,
            "Who": self.who,
            "Version": self.version,
            "Created": self.created,
            "Path": self.path,
            "Info": "",
            "Pid": self.pid,
            "Host": self.host,
            "BootID": self.boot_id,
            "ProcessStart": self.process_start,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> LockInfo:
        return cls(
            id=str(doc.get("ID", "")),
            operation=str(doc.get("Operation", "")),
            who=str(doc.get("Who", "")),
            version=str(doc.get("Version", "")),
            created=str(doc.get("Created", "")),
            path=str(doc.get("Path", "")),
            pid=int(doc.get("Pid", 0)),
            host=str(doc.get("Host", "")),
            boot_id=str(doc.get("BootID", "")),
            process_start=str(doc.get("ProcessStart", "")),
        )


def lock_error_message(holder: LockInfo, lock_path: str, waited: float) -> str:
    """Terraform's wording, naming the holder and the two ways out."""
    return "\n".join(
        [
            "Error acquiring the state lock",
            "",
            f"Error message: the state is locked by another run (waited {waited:.1f}s); "
            f"lock file {lock_path}",
            "Lock Info:",
            f"  ID:        {holder.id}",
            f"  Path:      {holder.path}",
            f"  Operation: {holder.operation}",
            f"  Who:       {holder.who}",
            f"  Version:   {holder.version}",
            f"  Created:   {holder.created}",
            f"  Process:   pid {holder.pid} on {holder.host}",
            "",
            "relight acquires a state lock to protect the state from being written by multiple "
            "users at once. Retry with -lock-timeout=DURATION to wait for it, or if you are sure "
            f"the holder is gone: relight force-unlock {holder.id}",
        ]
    )


@contextlib.contextmanager
def hold_lock(
    lock_path: str, state_path: str, operation: str, timeout: float = 0.0
) -> Iterator[LockInfo]:
    """Hold the lock for the ``with`` body; released on exit only if it is still ours.

    Retries with backoff for up to ``timeout`` seconds, then raises :class:`StateLockedError`
    whose ``info`` is the holder's record.
    """
    info = _acquire(lock_path, state_path, operation, timeout)
    try:
        yield info
    finally:
        _release(lock_path, info.id)


def force_unlock(lock_path: str, lock_id: str) -> None:
    """Remove the lock if it carries ``lock_id``; otherwise raise naming the real holder."""
    with _guard(lock_path):
        holder = _read_holder(lock_path)
        if holder is None:
            raise StateError(f"the state is not locked ({lock_path} does not exist)")
        if holder.id != lock_id:
            raise StateError(
                f"lock ID {lock_id!r} does not match the lock on the state: it is held by "
                f"{holder.who} (ID {holder.id}, operation {holder.operation}, "
                f"created {holder.created})"
            )
        os.unlink(lock_path)


# -- acquiring -----------------------------------------------------------------------------


def _acquire(lock_path: str, state_path: str, operation: str, timeout: float) -> LockInfo:
    info = LockInfo.new(operation, state_path)
    tmp = f"{lock_path}.{info.id}.tmp"
    _write_file(tmp, json.dumps(info.to_json(), indent=2).encode())
    started = time.monotonic()
    delay = _FIRST_DELAY
    try:
        while True:
            if _publish(tmp, lock_path):
                return info
            holder = _read_holder(lock_path)
            if holder is not None and _is_dead(holder):
                taken = _take_over(tmp, lock_path, holder)
                if taken:
                    return replace(info, took_over_from=holder)
                continue
            waited = time.monotonic() - started
            if holder is not None and waited >= timeout:
                raise StateLockedError(
                    lock_error_message(holder, lock_path, waited), holder.to_json()
                )
            if holder is None and waited >= max(timeout, 1.0):
                raise StateLockedError(
                    f"Error acquiring the state lock: {lock_path} exists but cannot be read. "
                    f"If no run is active, delete it by hand."
                )
            time.sleep(min(delay, max(timeout - waited, 0.01)))
            delay = min(delay * 2, _MAX_DELAY)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _publish(tmp: str, lock_path: str) -> bool:
    try:
        os.link(tmp, lock_path)
    except FileExistsError:
        return False
    return True


def _take_over(tmp: str, lock_path: str, dead: LockInfo) -> bool:
    """Replace a dead holder's lock with ours; False if someone else got there first."""
    with _guard(lock_path):
        holder = _read_holder(lock_path)
        if holder is None or holder.id != dead.id:
            return False
        os.unlink(lock_path)
        return _publish(tmp, lock_path)


def _release(lock_path: str, lock_id: str) -> None:
    with _guard(lock_path):
        holder = _read_holder(lock_path)
        if holder is not None and holder.id == lock_id:
            os.unlink(lock_path)


def _read_holder(lock_path: str) -> LockInfo | None:
    """The holder's record; None when there is no lock file or it cannot be parsed."""
    try:
        with open(lock_path, "rb") as fh:
            doc = json.loads(fh.read())
        return LockInfo.from_json(doc) if isinstance(doc, dict) else None
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):
        return None


@contextlib.contextmanager
def _guard(lock_path: str) -> Iterator[None]:
    # The guard file is never deleted: unlinking a flock'ed file lets two processes each lock
    # a different inode under the same name.
    fd = os.open(lock_path + ".guard", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_file(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


# -- is the holder alive? ------------------------------------------------------------------


def holder_is_dead(holder: LockInfo) -> bool:
    """True only when we can be sure: same host, and its process is gone or was replaced.

    Shared with the server's SQL backend, which applies the same take-over rule to lock rows.
    """
    return _is_dead(holder)


def _is_dead(holder: LockInfo) -> bool:
    if holder.host != socket.gethostname() or holder.pid <= 0:
        return False
    if holder.boot_id and holder.boot_id != _boot_id():
        return True
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, owned by another user
    start = _process_start(holder.pid)
    if start == "zombie":
        return True
    return bool(holder.process_start and start and start != holder.process_start)


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell reused pids apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 20:
        return None
    return "zombie" if fields[0] in ("Z", "X") else fields[19]


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"
