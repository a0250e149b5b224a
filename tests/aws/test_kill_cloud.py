"""Fault test: SIGKILL an apply of 50 instances midway; the re-run ends with exactly 50.

The emulator is slowed so that each RunInstances answers 0.3 s after the instance exists: at
the kill, several instances exist whose creation the killed run never heard about. Without the
journaled create tokens they would be orphans (and the re-run would launch 50 more).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from moto.ec2.models.instances import InstanceBackend

from relight.localcloud import LocalCloud
from relight.state import LocalBackend

from .stack import Cloud

N = 50


def test_sigkill_mid_apply_of_50_instances_leaves_no_orphans(
    cloud: LocalCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = InstanceBackend.run_instances

    def slow_answer(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        with cloud.emulator_lock.released():  # other calls go on meanwhile, as on a real cloud
            time.sleep(0.3)  # the instance exists; the caller has not heard yet
        return result

    monkeypatch.setattr(InstanceBackend, "run_instances", slow_answer)
    view = Cloud()
    vpc = view.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = view.ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/20", AvailabilityZone="us-east-1a")
    (tmp_path / "main.tf").write_text(
        f"""
provider "aws" {{}}
resource "aws_instance" "fleet" {{
  count         = {N}
  ami           = "ami-0a17e2170c0ffee02"
  instance_type = "t3.micro"
  subnet_id     = "{subnet["Subnet"]["SubnetId"]}"
  tags          = {{ Name = "fleet-${{count.index}}" }}
}}
"""
    )
    cmd = [sys.executable, "-m", "relight", f"-chdir={tmp_path}", "apply", "-auto-approve", "-parallelism=10"]
    env = dict(os.environ)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(view.instances(state=None)) < N // 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    launched = {i["InstanceId"] for i in view.instances(state=None)}
    assert N // 2 <= len(launched) < N, "the kill must land mid-apply"
    recorded = LocalBackend(str(tmp_path / "relight.tfstate")).read()
    in_state = {i.current.attributes["id"] for i in recorded if i.current is not None}
    assert in_state < launched, "some instances must exist that the killed run never recorded"
    assert recorded.intents, "their create tokens were journaled before the calls"

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "adopted into state" in rerun.stdout

    everything = view.instances(state=None)
    assert len(everything) == N, "no orphans and none lost: exactly 50 instances exist"
    assert all(i["State"]["Name"] == "running" for i in everything)
    final = LocalBackend(str(tmp_path / "relight.tfstate")).read()
    ids = {i.current.attributes["id"] for i in final if i.current is not None}
    assert ids == {i["InstanceId"] for i in everything}
    assert launched <= ids and not final.intents
