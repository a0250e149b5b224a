"""Which files a configuration may read: the file access policy of ``file``, ``templatefile``...

A configuration's functions read files (``file``, ``filebase64``, ``filemd5``/``filesha*``,
``fileexists``, ``fileset``, ``templatefile``), and loading reads its ``*.tf`` and ``*.tfvars``
files. Configuration that nobody has reviewed yet (a pull request's branch run by the server)
must not be able to read the server's own files through them, so every such read goes through a
:class:`FilePolicy`:

* ``FilePolicy.unconfined()``: any path the process can read, ``~`` expanded; Terraform's
  behaviour and the CLI's default.
* ``FilePolicy.confined(root, *more)``: only files whose real path (every symlink resolved) lies
  inside one of the roots, normally the configuration directory and its modules' directories.
  ``~`` paths are refused outright; ``..``, absolute paths and symlinks are allowed only while
  the result stays inside a root.

A refusal raises :class:`FileAccessDenied` (a ``PermissionError``); the file functions turn it
into a function error, so the evaluator reports it as a diagnostic at the function call
(file:line) naming the function, and the loader reports it at the file it refused. The check resolves the
path once and then opens the resolved path with ``O_NOFOLLOW``, so a final symlink swapped in
between cannot redirect the read; the configuration itself cannot run code to swap directories
mid-run, which is what a policy for untrusted *configuration* has to hold against.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass

__all__ = ["FileAccessDenied", "FilePolicy"]


class FileAccessDenied(PermissionError):
    """The file access policy refused a path; the message names the path and the rule."""


@dataclass(frozen=True, slots=True)
class FilePolicy:
    """``roots`` None means unconfined; otherwise the real paths that reads must stay inside.

    ``home`` is what ``~`` expands to when unconfined (None: the user's home from the password
    database, never the environment); a confined policy never expands ``~``.
    """

    roots: tuple[str, ...] | None = None
    home: str | None = None

    @classmethod
    def unconfined(cls, home: str | None = None) -> FilePolicy:
        """Today's behaviour: any readable path; ``~`` is ``home`` (default: the user's home)."""
        return cls(None, home)

    @classmethod
    def confined(cls, root: str, *more: str) -> FilePolicy:
        """Only files inside ``root`` (and ``more``), symlinks resolved."""
        return cls(tuple(os.path.realpath(r) for r in (root, *more)))

    @property
    def is_confined(self) -> bool:
        return self.roots is not None

    def home_dir(self) -> str:
        """What ``~`` stands for; raises :class:`FileAccessDenied` when confined."""
        if self.roots is not None:
            raise FileAccessDenied("home directory paths (~) are not allowed by the file access policy")
        if self.home is not None:
            return self.home
        return pwd.getpwuid(os.getuid()).pw_dir

    def expand(self, path: str) -> str:
        """``~`` and ``~/x`` expanded (other ``~user`` forms are left as written, as in Terraform)."""
        if path == "~" or path.startswith("~/"):
            return self.home_dir() + path[1:]
        return path

    def resolve(self, path: str, base_dir: str) -> str:
        """The path to open for ``path`` as written (relative to ``base_dir``).

        Unconfined: ``~`` expanded and joined to ``base_dir``. Confined: the real path, which
        must lie inside a root; raises :class:`FileAccessDenied` otherwise.
        """
        joined = os.path.join(base_dir, self.expand(path))
        if self.roots is None:
            return joined
        real = os.path.realpath(joined)
        if not self.allows(real):
            raise FileAccessDenied(
                f'"{path}" resolves to {real}, outside the configuration directory; the file '
                "access policy allows only files inside " + ", ".join(self.roots)
            )
        return real

    def allows(self, real_path: str) -> bool:
        """Whether an already-resolved path lies inside a root (always, when unconfined)."""
        if self.roots is None:
            return True
        return any(real_path == root or real_path.startswith(root.rstrip(os.sep) + os.sep) for root in self.roots)

    def open_flags(self) -> int:
        """Flags for :func:`os.open`: confined reads refuse a symlink in the last component."""
        return os.O_RDONLY | (os.O_NOFOLLOW if self.roots is not None else 0)

    def read_bytes(self, path: str, base_dir: str) -> bytes:
        """Read a whole file under the policy; OSError for I/O problems, FileAccessDenied for refusals."""
        fd = os.open(self.resolve(path, base_dir), self.open_flags())
        with os.fdopen(fd, "rb") as handle:
            return handle.read()
