"""The parse cache: a file's compiled body, keyed by its exact text, name and relight version.

Parsing is most of relight's own time on small and medium configurations; reading a compiled
body back is many times faster. A :class:`ParseCache` is an explicit value the caller passes to
``load_config(directory, cache=...)`` (``None``: parse every time); nothing here reads the
environment (:meth:`ParseCache.from_env` takes the mapping from the shell).

Entries live in the instance's memory (a long-running ``relight watch`` parses once) and, when
the cache has a directory, on disk. The disk format is pickle, which must never be read from a
file another user could have written, so an entry is trusted only when all of this holds:

* the cache root is a real directory (not a symlink) owned by this user with no group or other
  permissions (it is created 0700); another user can neither enter it nor plant files in it;
* the entry is a regular file owned by this user, mode 0600 (opened with ``O_NOFOLLOW``);
* the entry starts with an HMAC-SHA256 of the rest under a per-user key (32 random bytes in
  ``key`` inside the root, 0600); a copied, torn or truncated entry fails the check.

Anything that fails a check is a cache miss (and is replaced by the next write); a cache that
cannot be written (read-only home, full disk) never fails a run.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import pwd
import secrets
import stat
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from relight import __version__
from relight.diagnostics import Diagnostics
from relight.lang.body import Body

__all__ = ["CacheStats", "ParseCache"]

Parsed = tuple[Body | None, Diagnostics]

_OFF = ("off", "0", "false", "no")
_KEY_BYTES = 32
_MAC_BYTES = 32


@dataclass
class CacheStats:
    """Counters for benchmarks and tests: where each lookup was answered."""

    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0
    rejected: int = 0  # disk entries present but refused by a check


@dataclass
class ParseCache:
    """A parse cache in memory and, when ``directory`` is given, on disk under it.

    ``directory`` is the cache root (``$XDG_CACHE_HOME/relight/parse``); entries go under a
    sub-directory per relight version. ``memory_entries`` bounds the in-memory map (it is
    cleared when full). Safe to share between threads.
    """

    directory: str | None
    memory_entries: int = 4096
    stats: CacheStats = field(default_factory=CacheStats)
    _memory: dict[str, Parsed] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _key: bytes | None = field(default=None, repr=False)

    @classmethod
    def memory_only(cls) -> ParseCache:
        return cls(None)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ParseCache:
        """The CLI's cache: on disk under ``$XDG_CACHE_HOME/relight/parse`` (default
        ``~/.cache``), memory only when ``RELIGHT_PARSE_CACHE`` is off/0/false/no."""
        if env.get("RELIGHT_PARSE_CACHE", "").strip().lower() in _OFF:
            return cls.memory_only()
        base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or _home(), ".cache")
        return cls(os.path.join(base, "relight", "parse"))

    def parse(self, text: str, filename: str, parse: Callable[[str, str], Parsed]) -> Parsed:
        """``parse(text, filename)``, or its cached result for this exact text and name."""
        key = hashlib.sha256(f"{__version__}\0{filename}\0{text}".encode()).hexdigest()
        with self._lock:
            hit = self._memory.get(key)
        if hit is not None:
            self.stats.memory_hits += 1
            return hit
        result = self._read(key) if self.directory else None
        if result is None:
            self.stats.misses += 1
            result = parse(text, filename)
            if self.directory:
                self._write(key, result)
        else:
            self.stats.disk_hits += 1
        with self._lock:
            if len(self._memory) >= self.memory_entries:
                self._memory.clear()
            self._memory[key] = result
        return result

    # -- the disk side ----------------------------------------------------------------------

    def _root(self, create: bool) -> str | None:
        """The cache root if it is ours and private (created when ``create``), else None."""
        assert self.directory is not None
        root = self.directory
        if create:
            try:
                os.makedirs(root, mode=0o700, exist_ok=True)
            except OSError:
                return None
        try:
            info = os.lstat(root)
            if create and stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and info.st_mode & 0o077:
                os.chmod(root, 0o700)  # ours but left open by an older relight: close it first
                info = os.lstat(root)
        except OSError:
            return None
        return root if _private(info, stat.S_ISDIR) else None

    def _mac_key(self, root: str, create: bool) -> bytes | None:
        if self._key is not None:
            return self._key
        path = os.path.join(root, "key")
        key = _read_private(path)
        if key is None and create:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            except OSError:
                return None
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(_KEY_BYTES))
            key = _read_private(path)
        if key is None or len(key) != _KEY_BYTES:
            return None
        self._key = key
        return key

    def _entry(self, root: str, key: str) -> str:
        return os.path.join(root, __version__, key[:2], key)

    def _read(self, key: str) -> Parsed | None:
        root = self._root(create=False)
        mac_key = self._mac_key(root, create=False) if root else None
        if root is None or mac_key is None:
            return None
        data = _read_private(self._entry(root, key))
        if data is None:
            return None
        mac, payload = data[:_MAC_BYTES], data[_MAC_BYTES:]
        if not hmac.compare_digest(mac, hmac.new(mac_key, payload, hashlib.sha256).digest()):
            self.stats.rejected += 1
            return None
        try:
            loaded = pickle.loads(payload)  # authenticated above: written by this user, intact
        except Exception:  # an entry from an incompatible build is only a miss
            return None
        if isinstance(loaded, tuple) and len(loaded) == 2 and isinstance(loaded[1], Diagnostics):
            body, diags = loaded
            if body is None or isinstance(body, Body):
                return body, diags
        return None

    def _write(self, key: str, result: Parsed) -> None:
        root = self._root(create=True)
        mac_key = self._mac_key(root, create=True) if root else None
        if root is None or mac_key is None:
            return
        target = os.path.dirname(self._entry(root, key))
        try:
            payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            os.makedirs(target, mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target, prefix=".tmp-")  # created 0600
            with os.fdopen(fd, "wb") as fh:
                fh.write(hmac.new(mac_key, payload, hashlib.sha256).digest() + payload)
            os.replace(tmp, self._entry(root, key))
        except Exception:  # a read-only home or a full disk must not fail the run
            return


def _private(info: os.stat_result, is_kind: Callable[[int], bool]) -> bool:
    """Owned by this user, of the expected kind, no group or other permission bits."""
    return is_kind(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077


def _read_private(path: str) -> bytes | None:
    """A private regular file's bytes (see :func:`_private`), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not _private(os.fstat(fh.fileno()), stat.S_ISREG):
            return None
        return fh.read()


def _home() -> str:
    return pwd.getpwuid(os.getuid()).pw_dir
