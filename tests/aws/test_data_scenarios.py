"""The three failure scenarios again, now proven on the data itself.

The stand-in GitHub Enterprise in the example's image keeps its data on the data volume; a random
token is written into it through SSM (as a person or a test would act inside the node on AWS),
and read back from the service's ``GET /status`` at the node's host address after each recovery:

1. the node is terminated behind relight's back; a run (and ``relight watch --mode auto``)
   brings a node that serves the same token;
2. revert to an older snapshot: the data is that snapshot's, and the data it replaced is in the
   snapshot taken before the replacement (recorded in the state's ``retained`` list);
3. recycle (``-replace``, and terminate + run): the same data.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from relight.localcloud import LocalCloud
from relight.state import LocalBackend

from ..localcloud.machines import Machines
from .stack import Cloud, copy_example, relight


class Node:
    """The example's node as its users see it: its service's status and data, through SSM."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.m = Machines(cloud)
        self.view = Cloud()

    @property
    def instance(self) -> str:
        [node] = self.view.instances()
        return str(node["InstanceId"])

    def write_token(self) -> str:
        token = secrets.token_hex(8)
        self.m.status(self.instance)  # the service is up and its data volume mounted
        self.m.sh(self.instance, f"echo {token} > /data/ghe/token")
        return token

    def token(self) -> str | None:
        status = self.m.status(self.instance)
        assert self.m.view(self.instance)["host_address"] == "127.0.1.10"  # the fixed IP's host address
        return status["data_token"]  # type: ignore[no-any-return]


@pytest.fixture
def stack(dataplane: LocalCloud, tmp_path: Path) -> Path:
    workdir = copy_example("github-enterprise", tmp_path)
    first = relight(workdir, "apply", "-auto-approve")
    assert first.code == 0, first.text
    return workdir


@pytest.fixture
def node(dataplane: LocalCloud) -> Node:
    return Node(dataplane)


def _apply(workdir: Path, *args: str) -> str:
    res = relight(workdir, "apply", "-auto-approve", *args)
    assert res.code == 0, res.text
    return res.out


def test_scenario_1_a_terminated_node_comes_back_with_the_same_data(stack: Path, node: Node) -> None:
    token = node.write_token()
    old = node.instance
    node.view.terminate(old)
    _apply(stack)
    assert node.instance != old
    assert node.token() == token


def test_scenario_1_with_the_watch_loop_in_auto_mode(stack: Path, node: Node) -> None:
    token = node.write_token()
    old = node.instance
    proc = subprocess.Popen(
        [sys.executable, "-m", "relight", f"-chdir={stack}", "watch", "--mode", "auto", "--interval", "0.3s"],
        env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not any("no changes" in line for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)
        node.view.terminate(old)
        while not any("recovered in" in line for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=5)
    assert node.instance != old
    assert node.token() == token


def test_scenario_2_revert_to_an_older_snapshot_and_the_replaced_data_is_kept(
    stack: Path, node: Node, dataplane: LocalCloud
) -> None:
    nightly_token = node.write_token()
    volume = node.view.volumes()
    data_volume = next(v["VolumeId"] for v in volume if v["Size"] == 100)
    nightly = node.view.ec2.create_snapshot(VolumeId=data_volume, Description="nightly")["SnapshotId"]
    todays_token = node.write_token()
    assert node.token() == todays_token

    out = _apply(stack, f"-var=snapshot_id={nightly}")
    assert node.token() == nightly_token  # the data is the snapshot's

    state = LocalBackend(str(stack / "relight.tfstate")).read()
    [kept] = [r for r in state.retained if r["volume_id"] == data_volume]
    assert kept["snapshot_id"] in out
    content = dataplane.data_plane.store.snapshot_path(kept["snapshot_id"])
    assert (content / "ghe" / "token").read_text() == f"{todays_token}\n"  # what it replaced is safe

    restored = node.m.volume(size=100, snapshot=kept["snapshot_id"])  # and can be brought back
    node.m.attach(restored, node.instance, "/dev/xvdg")
    node.m.sh(node.instance, "echo '/dev/xvdg /restore ext4 defaults 0 2' >> /etc/fstab")
    assert node.m.sh(node.instance, "cat /restore/ghe/token") == f"{todays_token}\n"


def test_scenario_3_recycled_nodes_keep_the_data(stack: Path, node: Node) -> None:
    token = node.write_token()
    first = node.instance
    _apply(stack, "-replace=aws_instance.ghe_node")
    second = node.instance
    assert second != first and node.token() == token
    node.view.terminate(second)
    _apply(stack)
    assert node.instance not in (first, second) and node.token() == token
