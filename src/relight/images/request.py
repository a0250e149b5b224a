"""What ``relight image build`` is asked and what it returns (shared by the builder's runner and
the ``packer`` binary's), and the git commit a template directory is at."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field

from relight.diagnostics import Diagnostics
from relight.images.builder import BuildResult
from relight.images.template import Template
from relight.runs import VarInput

__all__ = ["BuildRequest", "BuildRun", "git_commit"]


@dataclass(frozen=True)
class BuildRequest:
    """What ``relight image build`` was asked. Relative paths (var files, manifest outputs) are
    relative to ``base`` (the CLI's directory); ``registry`` is the registry directory."""

    directory: str
    registry: str
    base: str = "."
    variables: tuple[VarInput, ...] = ()
    only: tuple[str, ...] = ()
    except_: tuple[str, ...] = ()
    force: bool = False
    on_error: str = "cleanup"
    with_packer: bool = False
    packer_binary: str = "packer"


@dataclass
class BuildRun:
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    results: list[BuildResult] = field(default_factory=list)
    sources: Mapping[str, str] = field(default_factory=dict)
    manifests: list[str] = field(default_factory=list)
    template: Template | None = None

    @property
    def ok(self) -> bool:
        return not self.diagnostics.has_errors and all(r.ok for r in self.results)


def git_commit(directory: str) -> str:
    """The commit the template directory is at (``+dirty`` with uncommitted changes), or ""."""
    try:
        head = subprocess.run(
            ["git", "-C", directory, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(
            ["git", "-C", directory, "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
