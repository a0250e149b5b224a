"""Where the bytes live: volumes, snapshots and image contents as directories under the data dir.

Layout (all on one filesystem, so moves are renames)::

    DATA/volumes/vol-x/               a volume that is detached, or is an instance's root
    DATA/instances/i-x/attached/vol-y a data volume while it is attached to i-x (the sandbox sees
                                      this directory; see instances.py)
    DATA/snapshots/snap-x/            a snapshot's content
    DATA/images/ami-x/                a shipped image's root filesystem, built on first use
    DATA/trash/                       deleted content, purged once the deletion is durable
    DATA/orphans/                     content found without an object on load; never deleted

A volume or snapshot without a directory is empty: the emulator creates (and deletes) many
volumes nobody writes to (one per public image), so directories are made on first use.

Copies (snapshots, volumes from snapshots, image roots) are point-in-time copies of the files:
each regular file is cloned (``FICLONE``, copy-on-write on btrfs/XFS) where the filesystem allows
and copied in the kernel (``sendfile``) otherwise. Hard links were measured and refused: a write
into a hard-linked file would change the snapshot too. With ``durable=True`` every copied file
and directory is fsynced before the copy returns. A copy that fails removes its partial target
and raises :class:`StoreError`; the source is never changed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import stat
import threading
import uuid
from pathlib import Path

__all__ = ["Store", "StoreError", "copy_tree", "tree_usage"]

_FICLONE = 0x40049409  # linux/fs.h; fcntl.FICLONE from Python 3.12


class StoreError(OSError):
    """A copy or move of volume content failed; nothing was half-changed."""


class Store:
    """The data directory's content, keyed by volume, snapshot and image id.

    Thread-safe: moves and index updates happen under one lock; copies run outside it (two
    copies from the same source may run at once)."""

    def __init__(self, root: Path, durable: bool = False) -> None:
        self.root = root
        self.durable = durable
        self._lock = threading.Lock()
        self._volumes: dict[str, Path] = {}
        for sub in ("volumes", "instances", "snapshots", "images", "trash", "orphans"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self._scan()

    # -- volumes ----------------------------------------------------------------------------
    def volume_path(self, volume_id: str, create: bool = False) -> Path | None:
        """The volume's directory, or None when it has none yet (it is empty)."""
        with self._lock:
            path = self._volumes.get(volume_id)
            if path is None and create:
                path = self.root / "volumes" / volume_id
                path.mkdir(exist_ok=True)
                self._volumes[volume_id] = path
            return path

    def create_volume(self, volume_id: str, snapshot_id: str | None) -> None:
        """Give a new volume its content: a copy of the snapshot's, or nothing (empty)."""
        source = self.snapshot_path(snapshot_id) if snapshot_id else None
        if source is None:
            return
        target = self.root / "volumes" / volume_id
        copy_tree(source, target, self.durable)
        with self._lock:
            self._volumes[volume_id] = target

    def seed_volume(self, volume_id: str, source: Path) -> None:
        """Fill an empty volume with a copy of ``source`` (an image's root filesystem)."""
        target = self.root / "volumes" / volume_id
        with self._lock:
            if volume_id in self._volumes:
                raise StoreError(errno.EEXIST, f"volume {volume_id} already has content")
        copy_tree(source, target, self.durable)
        with self._lock:
            self._volumes[volume_id] = target

    def delete_volume(self, volume_id: str) -> Path | None:
        """Move the volume's content to the trash; returns the trash entry (to purge later)."""
        with self._lock:
            path = self._volumes.pop(volume_id, None)
            if path is None:
                return None
            return self._to_trash(path)

    def move_volume(self, volume_id: str, instance_id: str | None) -> Path:
        """Move a volume under ``instance_id``'s attached directory (None: back to volumes/).

        Creates the directory of an empty volume. Returns the new path."""
        with self._lock:
            if instance_id is None:
                target = self.root / "volumes" / volume_id
            else:
                target = self.attached_dir(instance_id) / volume_id
                target.parent.mkdir(parents=True, exist_ok=True)
            current = self._volumes.get(volume_id)
            if current is None:
                target.mkdir()
            elif current != target:
                os.rename(current, target)
                self._fsync_dir(target.parent)
            self._volumes[volume_id] = target
            return target

    def attached_dir(self, instance_id: str) -> Path:
        return self.root / "instances" / instance_id / "attached"

    def forget_instance(self, instance_id: str) -> None:
        """Remove a terminated instance's directory. Volumes still under it go back first."""
        with self._lock:
            left = [v for v, p in self._volumes.items() if p.parent == self.attached_dir(instance_id)]
        for volume_id in left:
            self.move_volume(volume_id, None)
        path = self.root / "instances" / instance_id
        if path.exists():
            with self._lock:
                trashed = self._to_trash(path)
            shutil.rmtree(trashed, ignore_errors=True)

    # -- snapshots and images ---------------------------------------------------------------
    def snapshot_path(self, snapshot_id: str | None) -> Path | None:
        if not snapshot_id:
            return None
        path = self.root / "snapshots" / snapshot_id
        return path if path.is_dir() else None

    def create_snapshot(self, snapshot_id: str, volume_id: str) -> None:
        """Copy the volume's content as it is now; an empty volume makes an empty snapshot."""
        source = self.volume_path(volume_id)
        if source is None:
            return
        copy_tree(source, self.root / "snapshots" / snapshot_id, self.durable)

    def copy_snapshot(self, snapshot_id: str, source: Path) -> None:
        """Make ``source`` (a root filesystem, e.g. for a new image) the snapshot's content."""
        copy_tree(source, self.root / "snapshots" / snapshot_id, self.durable)

    def delete_snapshot(self, snapshot_id: str) -> Path | None:
        path = self.snapshot_path(snapshot_id)
        if path is None:
            return None
        with self._lock:
            return self._to_trash(path)

    def image_path(self, ami_id: str, files: dict[str, tuple[int, bytes]]) -> Path:
        """A shipped image's root filesystem, written from ``files`` on first use."""
        path = self.root / "images" / ami_id
        if path.is_dir():
            return path
        partial = self.root / "images" / f".{ami_id}.{uuid.uuid4().hex[:8]}"
        for rel, (mode, content) in files.items():
            target = partial / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            target.chmod(mode)
        partial.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(partial, path)
        except OSError:  # another thread built it first
            shutil.rmtree(partial, ignore_errors=True)
        return path

    # -- trash and orphans ------------------------------------------------------------------
    def purge(self, entries: list[Path]) -> None:
        """Delete trash entries for good (call once the deletion is durable)."""
        for entry in entries:
            shutil.rmtree(entry, ignore_errors=True)

    def purge_all_trash(self) -> None:
        for entry in (self.root / "trash").iterdir():
            shutil.rmtree(entry, ignore_errors=True)

    def keep_only(self, volumes: set[str], snapshots: set[str], instances: set[str]) -> list[str]:
        """After loading saved objects: move content that belongs to none of them to orphans/.

        Returns what was moved (for one log line). Nothing is deleted."""
        moved: list[str] = []
        with self._lock:
            for volume_id, path in list(self._volumes.items()):
                if volume_id not in volumes:
                    self._volumes.pop(volume_id)
                    moved.append(self._to_orphans(path, f"volume-{volume_id}"))
            for path in (self.root / "snapshots").iterdir():
                if path.name not in snapshots:
                    moved.append(self._to_orphans(path, f"snapshot-{path.name}"))
            for path in (self.root / "instances").iterdir():
                if path.name not in instances and not any((path / "attached").glob("*")):
                    shutil.rmtree(path, ignore_errors=True)
        return moved

    def wipe(self) -> None:
        """Forget everything (the emulator was reset)."""
        with self._lock:
            self._volumes.clear()
            for sub in ("volumes", "instances", "snapshots", "trash"):
                shutil.rmtree(self.root / sub, ignore_errors=True)
                (self.root / sub).mkdir()

    # -- internals --------------------------------------------------------------------------
    def _scan(self) -> None:
        for path in (self.root / "volumes").iterdir():
            if path.is_dir():
                self._volumes[path.name] = path
        for attached in (self.root / "instances").glob("*/attached"):
            for path in attached.iterdir():
                if path.is_dir():
                    self._volumes[path.name] = path

    def _to_trash(self, path: Path) -> Path:
        target = self.root / "trash" / f"{path.name}.{uuid.uuid4().hex[:8]}"
        os.rename(path, target)
        return target

    def _to_orphans(self, path: Path, name: str) -> str:
        target = self.root / "orphans" / f"{name}.{uuid.uuid4().hex[:8]}"
        os.rename(path, target)
        return str(target)

    def _fsync_dir(self, path: Path) -> None:
        if self.durable:
            _fsync_path(path)


def copy_tree(source: Path, target: Path, durable: bool = False) -> None:
    """Copy a directory tree to ``target`` (which must not exist) as of now.

    Regular files are cloned or copied in the kernel; symlinks, directories, FIFOs and hard
    links inside the tree are reproduced; sockets and device nodes are skipped (they are not
    data). Modes and times are kept, ownership where permitted. The copy is built under a
    temporary name and renamed into place, so ``target`` is complete or absent."""
    partial = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        _copy_dir(source, partial, {}, durable)
        os.rename(partial, target)
        if durable:
            _fsync_path(target.parent)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise StoreError(exc.errno or errno.EIO, f"copying {source} to {target} failed: {exc}") from exc


def _copy_dir(source: Path, target: Path, links: dict[tuple[int, int], Path], durable: bool) -> None:
    os.mkdir(target)
    with os.scandir(source) as entries:
        for entry in entries:
            src, dst = Path(entry.path), target / entry.name
            st = entry.stat(follow_symlinks=False)
            mode = st.st_mode
            if stat.S_ISLNK(mode):
                os.symlink(os.readlink(src), dst)
                continue
            if stat.S_ISDIR(mode):
                _copy_dir(src, dst, links, durable)
            elif stat.S_ISREG(mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in links:
                    os.link(links[key], dst)
                    continue
                _copy_file(src, dst, durable)
                links[key] = dst
            elif stat.S_ISFIFO(mode):
                os.mkfifo(dst)
            else:
                continue  # sockets and device nodes are runtime objects, not data
            _copy_meta(dst, st)
    _copy_meta(target, os.stat(source))
    if durable:
        _fsync_path(target)


def _copy_file(source: Path, target: Path, durable: bool) -> None:
    with open(source, "rb") as fin, open(target, "wb") as fout:
        try:
            fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
        except OSError:
            size = os.fstat(fin.fileno()).st_size
            offset = 0
            while offset < size:
                sent = os.sendfile(fout.fileno(), fin.fileno(), offset, size - offset)
                if sent == 0:
                    break
                offset += sent
        if durable:
            os.fsync(fout.fileno())


def _copy_meta(path: Path, st: os.stat_result) -> None:
    with contextlib.suppress(PermissionError):
        os.chown(path, st.st_uid, st.st_gid, follow_symlinks=False)
    os.chmod(path, stat.S_IMODE(st.st_mode))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def tree_usage(path: Path) -> int:
    """Bytes a directory tree takes on disk (each inode counted once)."""
    seen: set[int] = set()
    total = 0
    stack = [str(path)]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append(entry.path)
            elif st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_blocks * 512
    return total
