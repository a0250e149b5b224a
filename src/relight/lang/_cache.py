"""A parse cache: the compiled body of a file, keyed by its exact text, name and relight version.

Parsing dominates relight's own time on small and medium configurations (python-hcl2 builds a
full syntax tree); unpickling a compiled body is about forty times faster. Entries live in
memory for the process (a long-running ``relight watch`` parses once) and on disk under
``$XDG_CACHE_HOME/relight/parse`` (default ``~/.cache``), like ``__pycache__``: owned by the
user, never inside the project, written atomically, and ignored when unreadable.
``RELIGHT_PARSE_CACHE=off`` turns the disk cache off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import threading
from collections.abc import Callable

from relight import __version__
from relight.diagnostics import Diagnostics
from relight.lang.body import Body

__all__ = ["cached_parse"]

Parsed = tuple[Body | None, Diagnostics]

_MEMORY: dict[str, Parsed] = {}
_LOCK = threading.Lock()
_MAX_MEMORY = 4096


def _cache_dir() -> str | None:
    if os.environ.get("RELIGHT_PARSE_CACHE", "").lower() in ("off", "0", "false"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "relight", "parse", __version__)


def cached_parse(text: str, filename: str, parse: Callable[[str, str], Parsed]) -> Parsed:
    """``parse(text, filename)``, or its cached result for this exact text and name."""
    key = hashlib.sha256(f"{__version__}\0{filename}\0{text}".encode()).hexdigest()
    with _LOCK:
        hit = _MEMORY.get(key)
    if hit is not None:
        return hit
    directory = _cache_dir()
    result = _read(directory, key) if directory else None
    if result is None:
        result = parse(text, filename)
        if directory:
            _write(directory, key, result)
    with _LOCK:
        if len(_MEMORY) >= _MAX_MEMORY:
            _MEMORY.clear()
        _MEMORY[key] = result
    return result


def _read(directory: str, key: str) -> Parsed | None:
    try:
        with open(os.path.join(directory, key[:2], key), "rb") as fh:
            loaded = pickle.load(fh)
    except Exception:  # a missing, torn or stale entry is only a cache miss
        return None
    if isinstance(loaded, tuple) and len(loaded) == 2 and isinstance(loaded[1], Diagnostics):
        body, diags = loaded
        if body is None or isinstance(body, Body):
            return body, diags
    return None


def _write(directory: str, key: str, result: Parsed) -> None:
    target = os.path.join(directory, key[:2])
    try:
        os.makedirs(target, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, os.path.join(target, key))
    except Exception:  # a read-only home or a full disk must not fail the run
        return
