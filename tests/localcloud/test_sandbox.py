"""The sandbox without root: bwrap and nsenter as an ordinary user (where user namespaces allow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import relight.localcloud.dataplane.sandbox as sandbox


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None, reason="needs root to become nobody")
def test_a_sandbox_starts_and_is_entered_as_an_unprivileged_user() -> None:
    if sandbox.probe() is not None:
        pytest.skip(f"no sandboxes here at all: {sandbox.probe()}")
    tmp_path = Path(tempfile.mkdtemp(prefix="relight-unprivileged-"))  # pytest's own is root's only
    tmp_path.chmod(0o755)
    try:
        _probe_as_nobody(tmp_path)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def _probe_as_nobody(tmp_path: Path) -> None:
    module = tmp_path / "sandbox_probe.py"
    shutil.copy(sandbox.__file__, module)  # standard library only: runs with the system's python3
    module.chmod(0o644)
    done = subprocess.run(
        ["runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c",
         "import sandbox_probe; print(sandbox_probe.probe())"],
        cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.stdout.strip() == "None", done.stdout + done.stderr
