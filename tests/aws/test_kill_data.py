"""Fault tests on bytes: SIGKILL a real ``relight`` process while it replaces or destroys the
data volume; every byte written before the kill must then be on the current volume or in a
snapshot recorded in the state (its ``retained`` list), once one more run has converged.

Data is written through SSM into the node's data volume between runs (random chunks with their
SHA-256), and looked for afterwards in the content of the volume and snapshots the state names.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from relight.addrs import InstanceAddr
from relight.localcloud import LocalCloud
from relight.state import LocalBackend

from ..localcloud.machines import Machines

CONFIG = """
provider "aws" {}

resource "aws_vpc" "v" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_subnet" "s" {
  vpc_id            = aws_vpc.v.id
  cidr_block        = "10.0.1.0/24"
  availability_zone = "us-east-1a"
}

resource "aws_instance" "node" {
  ami           = "ami-0a17e2170c0ffee02"
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.s.id
  private_ip    = "10.0.1.10"
}

resource "aws_ebs_volume" "data" {
  availability_zone = "us-east-1a"
  size              = 1
}

resource "aws_volume_attachment" "data" {
  device_name = "/dev/xvdf"
  volume_id   = aws_ebs_volume.data.id
  instance_id = aws_instance.node.id
}
"""
REPLACE = ("apply", "-auto-approve", "-replace=aws_ebs_volume.data")
DESTROY = ("destroy", "-auto-approve")
RUNS = int(os.environ.get("RELIGHT_KILL_RUNS", "50"))


@dataclass(frozen=True)
class Chunk:
    name: str
    sha256: str
    size: int


class Stack:
    """The stack in a directory, driven by real ``relight`` processes."""

    def __init__(self, cloud: LocalCloud, workdir: Path) -> None:
        self.cloud = cloud
        self.workdir = workdir
        self.m = Machines(cloud)
        workdir.mkdir(exist_ok=True)
        (workdir / "main.tf").write_text(CONFIG)

    def command(self, args: tuple[str, ...]) -> list[str]:
        return [sys.executable, "-m", "relight", f"-chdir={self.workdir}", *args, "-no-color"]

    def run(self, *args: str) -> str:
        done = subprocess.run(self.command(args), capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def kill_after(self, args: tuple[str, ...], delay: float) -> bool:
        """Start ``relight ARGS``; SIGKILL it after ``delay`` s. True if it was still running."""
        proc = subprocess.Popen(self.command(args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=delay)
            return False
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True

    def state(self) -> Any:
        return LocalBackend(str(self.workdir / "relight.tfstate")).read()

    def node(self) -> str | None:
        obj = self.state().current(InstanceAddr.parse("aws_instance.node"))
        return None if obj is None else str(obj.attributes["id"])

    def write_chunk(self, n: int, size: int) -> Chunk:
        node = self.node()
        assert node is not None
        name = f"chunk-{n:03d}"
        out = self.m.sh(node, f"head -c {size} /dev/urandom > /data/{name} && sync && sha256sum /data/{name}")
        return Chunk(name, out.split()[0], size)

    def places(self) -> list[Path]:
        """The content of the volume and of every snapshot the state names."""
        store = self.cloud.data_plane.store
        state = self.state()
        found: list[Path] = []
        vol = state.current(InstanceAddr.parse("aws_ebs_volume.data"))
        if vol is not None and (path := store.volume_path(str(vol.attributes["id"]))) is not None:
            found.append(path)
        for record in state.retained:
            if (path := store.snapshot_path(str(record.get("snapshot_id") or record.get("id")))) is not None:
                found.append(path)
        return found


def _lost(chunks: list[Chunk], places: list[Path]) -> list[Chunk]:
    def kept(chunk: Chunk) -> bool:
        for place in places:
            path = place / chunk.name
            if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == chunk.sha256:
                return True
        return False

    return [c for c in chunks if not kept(c)]


@pytest.fixture
def stack(dataplane: LocalCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    monkeypatch.setattr(dataplane, "latency", 0.02)  # spread the run's calls out, as a real cloud does
    return Stack(dataplane, tmp_path / "stack")


@pytest.mark.slow
def test_randomized_sigkills_during_volume_replace_or_destroy_lose_no_byte(stack: Stack) -> None:
    seed = int(os.environ.get("RELIGHT_KILL_SEED", str(random.randrange(1 << 30))))
    rng = random.Random(seed)
    stack.run("apply", "-auto-approve")
    started = time.monotonic()
    stack.run(*REPLACE)
    span = time.monotonic() - started  # how long an uninterrupted replace takes
    chunks: list[Chunk] = []
    checked = lost = interrupted = 0
    for n in range(RUNS):
        if stack.node() is None:
            stack.run("apply", "-auto-approve")  # the last run destroyed everything
        chunks.append(stack.write_chunk(n, rng.choice((4096, 65536, 300_000))))
        action = REPLACE if rng.random() < 0.7 else DESTROY
        interrupted += stack.kill_after(action, rng.uniform(0.0, span))
        stack.run(*(DESTROY if action == DESTROY else ("apply", "-auto-approve")))  # converge
        missing = _lost(chunks, stack.places())
        checked += sum(c.size for c in chunks)
        lost += sum(c.size for c in missing)
        assert not missing, f"run {n} (seed {seed}, {action[0]}): lost {[c.name for c in missing]}"
    print(
        f"\nkill test (seed {seed}): {RUNS} runs, {interrupted} killed mid-run, "
        f"{checked} bytes checked, {lost} bytes lost"
    )
    assert interrupted >= RUNS // 2, "most kills must land while relight runs"


def test_a_kill_right_after_the_volume_is_deleted_keeps_its_final_snapshot_in_state(stack: Stack) -> None:
    """The narrowest window: the final snapshot exists, the volume is gone, the run dies before
    it hears back. The snapshot must be in the state all the same."""
    from moto.ec2.models.elastic_block_store import EBSBackend

    stack.run("apply", "-auto-approve")
    chunk = stack.write_chunk(0, 8192)
    deleted = threading.Event()
    original = EBSBackend.delete_volume

    def delete_volume(self: Any, volume_id: str) -> Any:
        result = original(self, volume_id)
        deleted.set()
        time.sleep(0.5)  # the answer is late: the run is killed before it hears that the volume is gone
        return result

    proc = subprocess.Popen(stack.command(REPLACE), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        setattr(EBSBackend, "delete_volume", delete_volume)  # noqa: B010
        assert deleted.wait(60), "the replace never deleted the volume"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        setattr(EBSBackend, "delete_volume", original)  # noqa: B010
    stack.run("apply", "-auto-approve")
    assert _lost([chunk], stack.places()) == []
