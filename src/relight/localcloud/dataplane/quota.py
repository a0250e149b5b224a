"""Volume sizes, enforced roughly: a volume cannot hold much more than its size.

A volume is a directory on the host's filesystem, which has no per-directory limit, so the data
plane checks instead: about every second (less often for volumes with many files) it adds up
what each mounted volume takes on disk. A volume found over its size is made read-only inside
its instance: the processes writing to it get ``SIGXFSZ`` (as a process exceeding its file-size
limit does), and its mount point is remounted read-only, so further writes fail with "Read-only
file system". The instance's root can clean up after ``mount -o remount,rw,bind MOUNT_POINT``;
the next check catches a volume that is still too big. What was written stays: nothing is ever
truncated or deleted. The overshoot is what the instance writes between two checks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
from pathlib import Path

__all__ = ["GIB", "volume_files", "writers"]

GIB = 1024**3


def volume_files(path: Path) -> set[tuple[int, int]]:
    """(device, inode) of every regular file in a volume's tree."""
    out: set[tuple[int, int]] = set()
    for dirpath, _, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(dirpath, name))
                if stat.S_ISREG(st.st_mode):
                    out.add((st.st_dev, st.st_ino))
    return out


def writers(sandbox_pid: int, files: set[tuple[int, int]]) -> list[int]:
    """Host pids of the sandbox's processes that have one of ``files`` open for writing."""
    try:
        namespace = os.readlink(f"/proc/{sandbox_pid}/ns/pid")
    except OSError:
        return []
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{entry}/ns/pid") != namespace:
                continue
            if any(_writes(entry, fd, files) for fd in os.listdir(f"/proc/{entry}/fd")):
                found.append(int(entry))
    return found


def _writes(pid: str, fd: str, files: set[tuple[int, int]]) -> bool:
    try:
        st = os.stat(f"/proc/{pid}/fd/{fd}")
        if (st.st_dev, st.st_ino) not in files:
            return False
        flags = next(
            int(line.split()[1], 8) for line in Path(f"/proc/{pid}/fdinfo/{fd}").read_text().splitlines()
            if line.startswith("flags:")
        )  # fmt: skip
    except (OSError, StopIteration, ValueError):
        return False
    return flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR)


def stop_writers(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGXFSZ)
