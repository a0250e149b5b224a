"""The local cloud as a user runs it: `relight local-cloud` in its own process, relight in another."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import boto3

from .stack import copy_example


def start(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "relight", "local-cloud", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    exports: dict[str, str] = {}
    for line in proc.stdout:
        found = re.match(r"\s+export (\w+)=(\S+)", line)
        if found:
            exports[found.group(1)] = found.group(2)
        if "Press Ctrl-C" in line:
            break
    return proc, exports


def test_a_real_local_cloud_process_serves_relight_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    proc, exports = start("--port", "0")
    try:
        assert set(exports) >= {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | exports
        work = copy_example("seed-2015", tmp_path)
        apply = subprocess.run(
            [sys.executable, "-m", "relight", f"-chdir={work}", "apply", "-auto-approve"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )
        assert apply.returncode == 0, apply.stdout + apply.stderr
        assert "Apply complete! Resources: 6 added" in apply.stdout
        ec2 = boto3.client(
            "ec2",
            endpoint_url=exports["AWS_ENDPOINT_URL"],
            region_name=exports["AWS_DEFAULT_REGION"],
            aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
        )
        running = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
        assert [i["ImageId"] for r in running["Reservations"] for i in r["Instances"]] == ["ami-347c015e"]
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "Local cloud stopped" in rest


def test_a_port_in_use_is_a_clear_error() -> None:
    first, exports = start("--port", "0")
    try:
        port = exports["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]
        second = subprocess.run(
            [sys.executable, "-m", "relight", "local-cloud", "--port", port],
            capture_output=True, text=True, timeout=30, check=False,
        )
        assert second.returncode == 1
        assert f"Port {port} on 127.0.0.1 is already in use" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=20)
