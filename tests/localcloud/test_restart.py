"""``relight local-cloud --data-dir``: objects and their bytes survive a restart, and a SIGKILL;
a deleted volume stays deleted; bytes no object owns are moved aside, never deleted."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from relight.localcloud import data_plane_problem

from .machines import GHE_217, Machines

pytestmark = pytest.mark.skipif(
    data_plane_problem() is not None, reason=f"no data plane on this machine: {data_plane_problem()}"
)


class CloudProcess:
    """``relight local-cloud --data-dir DIR`` in its own process, as a user runs it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.proc: subprocess.Popen[str] | None = None
        self.endpoint = ""

    def start(self) -> Machines:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "relight", "local-cloud", "--port", "0", "--data-dir", str(self.data_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        lines = []
        for line in self.proc.stdout:
            lines.append(line)
            found = re.match(r"\s+export AWS_ENDPOINT_URL=(\S+)", line)
            if found:
                self.endpoint = found.group(1)
            if "Press Ctrl-C" in line:
                break
        assert self.endpoint, "".join(lines)
        assert "Data plane: on" in "".join(lines)
        return Machines(None, self.endpoint)

    def stop(self, sig: int = signal.SIGINT) -> str:
        assert self.proc is not None
        self.proc.send_signal(sig)
        out, _ = self.proc.communicate(timeout=60)
        return out


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "relight-local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "relight-local-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def cloud(tmp_path: Path, env: None) -> Iterator[CloudProcess]:
    proc = CloudProcess(tmp_path / "cloud")
    yield proc
    if proc.proc is not None and proc.proc.poll() is None:
        proc.stop(signal.SIGKILL)


def test_objects_and_their_bytes_are_kept_across_a_restart(cloud: CloudProcess) -> None:
    m = cloud.start()
    node = m.launch(GHE_217, user_data="#!/bin/sh\necho boot >> /root/user-data-runs\n")
    vol = m.volume()
    m.attach(vol, node)
    m.status(node)
    m.sh(node, "echo kept-token > /data/ghe/token")
    snap = m.ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    address = m.view(node)["host_address"]
    gone = m.volume()
    m.attach(gone, node, "/dev/xvdg")
    m.sh(node, "echo '/dev/xvdg /scratch ext4 defaults 0 2' >> /etc/fstab")
    m.sh(node, "echo scratch > /scratch/f")
    m.detach(gone)
    m.ec2.delete_volume(VolumeId=gone)
    running = m.ssm.send_command(InstanceIds=[node], DocumentName="AWS-RunShellScript",
                                 Parameters={"commands": ["sleep 60"]})["Command"]["CommandId"]  # fmt: skip
    assert "kept in" in cloud.stop()
    stray = cloud.data_dir / "volumes" / "vol-0123456789abcdef0"  # bytes no object owns
    stray.mkdir()
    (stray / "found").write_text("keep me")

    m = cloud.start()
    assert not (cloud.data_dir / "volumes" / gone).exists()
    orphans = list((cloud.data_dir / "orphans").iterdir())
    assert [(o / "found").read_text() for o in orphans] == ["keep me"]  # moved aside, not deleted
    died = m.ssm.get_command_invocation(CommandId=running, InstanceId=node)
    assert died["Status"] == "Failed"  # killed with the instance at the stop (or never started)
    assert m.state(node) == "running"
    status = m.status(node)
    assert status["data_token"] == "kept-token"
    assert m.view(node)["host_address"] == address
    assert m.sh(node, "cat /root/user-data-runs") == "boot\n"  # a restart is a reboot, not a first boot
    attached = m.ec2.describe_volumes(VolumeIds=[vol])["Volumes"][0]["Attachments"]
    assert [(a["InstanceId"], a["Device"]) for a in attached] == [(node, "/dev/xvdf")]
    restored = m.volume(snapshot=snap)
    m.detach(vol)
    m.attach(restored, node)
    assert m.sh(node, "cat /data/ghe/token") == "kept-token\n"
    cloud.stop()


def test_an_answered_change_survives_a_sigkill_of_the_cloud(cloud: CloudProcess) -> None:
    m = cloud.start()
    node = m.launch(GHE_217)
    vol = m.volume()
    m.attach(vol, node)
    m.sh(node, "echo written > /data/f")
    snap = m.ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    m.ec2.create_tags(Resources=[snap], Tags=[{"Key": "Name", "Value": "last"}])
    running = m.ssm.send_command(InstanceIds=[node], DocumentName="AWS-RunShellScript",
                                 Parameters={"commands": ["sleep 60"]})["Command"]["CommandId"]  # fmt: skip
    cloud.stop(signal.SIGKILL)

    m = cloud.start()
    snaps = m.ec2.describe_snapshots(SnapshotIds=[snap])["Snapshots"]
    assert snaps[0]["Tags"] == [{"Key": "Name", "Value": "last"}]
    restored = m.volume(snapshot=snap)
    m.detach(vol)
    m.attach(restored, node)
    assert m.sh(node, "cat /data/f") == "written\n"
    assert not list((cloud.data_dir / "orphans").iterdir())
    died = m.ssm.get_command_invocation(CommandId=running, InstanceId=node)
    assert (died["Status"], died["StandardErrorContent"]) == ("Failed", "the local cloud stopped while the command ran\n")
    cloud.stop()
