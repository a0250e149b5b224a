"""No orphans, ever: a build killed at each of its steps leaves nothing that `relight image gc`
does not remove, and a build stopped by SIGTERM (or Ctrl-C) at each step cleans up by itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from relight.images import Cloud, Registry, collect_garbage
from relight.localcloud import LocalCloud
from tests.images.helpers import copy_example, env_of, leftovers
from tests.localcloud.machines import Machines

ROOT = Path(__file__).resolve().parents[2]
# The steps of an SSM build (key-pair is SSH only, deregister needs force_deregister).
STEPS = ["source-image", "up-to-date", "check-name", "security-group", "launch", "connect", "provision", "stop",
         "create-image", "tag", "cleanup"]  # fmt: skip


def start(cloud: LocalCloud, tmp: Path, step: str) -> subprocess.Popen[str]:
    template = copy_example(tmp)
    env = {**os.environ, **env_of(cloud), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.images.build_child", str(template), str(tmp / "registry"), str(tmp), step],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        if line.startswith("AT "):
            return proc
        assert time.monotonic() < deadline
    proc.wait()
    raise AssertionError(f"the build never reached {step} (exit {proc.returncode})")


def kept_image(ec2: object) -> tuple[str, ...]:
    """A complete image is a build's result, not garbage."""
    images = ec2.describe_images(Owners=["self"])["Images"]  # type: ignore[attr-defined]
    return tuple(
        i["ImageId"] for i in images if {"Key": "relight:build-state", "Value": "complete"} in i.get("Tags", [])
    )


@pytest.mark.parametrize("step", STEPS)
def test_sigkill_at_each_step_then_gc_leaves_nothing(dataplane: LocalCloud, tmp_path: Path, step: str) -> None:
    proc = start(dataplane, tmp_path, step)
    proc.kill()
    proc.wait()
    m = Machines(dataplane)
    report = collect_garbage(Cloud(env_of(dataplane)), Registry(str(tmp_path / "registry")).locks)
    assert report.failures == []
    assert leftovers(m.ec2, keep_images=kept_image(m.ec2)) == {}
    if step in ("tag",):
        assert kept_image(m.ec2) == ()  # an image killed before its last tag was half-made: removed
    if step in ("source-image", "up-to-date", "check-name"):
        assert report.removed == []  # nothing was made yet


def test_gc_from_another_registry_keeps_a_running_build(dataplane: LocalCloud, tmp_path: Path) -> None:
    proc = start(dataplane, tmp_path, "provision")  # the build runs, and waits at its provisioners
    try:
        m = Machines(dataplane)
        before = leftovers(m.ec2)
        assert before.get("instances")
        elsewhere = Registry(str(tmp_path / "another-registry")).locks  # gc run from another directory
        report = collect_garbage(Cloud(env_of(dataplane)), elsewhere, older_than=0)
        assert report.removed == [] and report.kept_running, report
        assert leftovers(m.ec2) == before
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    assert "DONE ['canceled'] []" in out
    assert leftovers(Machines(dataplane).ec2) == {}


@pytest.mark.parametrize("step", ["security-group", "launch", "provision", "create-image", "tag"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow)])
def test_sigterm_or_ctrl_c_at_a_step_cleans_up_by_itself(
    dataplane: LocalCloud, tmp_path: Path, step: str, sig: int
) -> None:
    proc = start(dataplane, tmp_path, step)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert "DONE ['canceled'] []" in out
    assert leftovers(Machines(dataplane).ec2) == {}
