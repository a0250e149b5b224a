"""Fault test: SIGKILL an apply midway, then re-run; the run converges and nothing is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from relight.state import LocalBackend

SCRIPT = str(Path(__file__).with_name("slow_apply.py"))
N = 40
PARALLELISM = 5


def _cloud(tmp_path: Path) -> set[str]:
    return {p.stem for p in (tmp_path / "cloud").glob("*.json")}


def test_sigkill_mid_apply_then_rerun_converges(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        f'resource "slow_thing" "n" {{\n  count = {N}\n  name  = "n-${{count.index}}"\n}}\n'
    )
    env = dict(os.environ, SLOW_DELAY="0.05", SLOW_PARALLELISM=str(PARALLELISM))
    proc = subprocess.Popen([sys.executable, SCRIPT, str(tmp_path)], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_cloud(tmp_path)) < N // 2 if (tmp_path / "cloud").exists() else True:
        time.sleep(0.01)
        if time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    created_before_kill = _cloud(tmp_path)
    assert 0 < len(created_before_kill) < N, "the kill must land mid-apply"

    # What the killed run recorded survives: the journal replays on read.
    recovered = LocalBackend(str(tmp_path / "relight.tfstate")).read()
    recorded = {inst.current.attributes["id"] for inst in recovered if inst.current is not None}
    assert recorded <= created_before_kill
    # Only calls in flight at the kill can be unrecorded (at most one per worker).
    assert len(created_before_kill - recorded) <= PARALLELISM

    # The re-run (taking over the dead run's lock) converges to exactly N objects in state.
    rerun = subprocess.run([sys.executable, SCRIPT, str(tmp_path)], env=env, check=False)
    assert rerun.returncode == 0
    final = LocalBackend(str(tmp_path / "relight.tfstate")).read()
    ids = {inst.current.attributes["id"] for inst in final if inst.current is not None}
    assert len(final) == N and len(ids) == N
    assert ids <= _cloud(tmp_path)
    assert recorded <= ids  # nothing the killed run recorded was re-created
