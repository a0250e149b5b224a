"""`relight watch` as a real process: it recovers a terminated node and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from relight.localcloud import LocalCloud

from ..aws.stack import Cloud, copy_example, relight


def test_watch_process_recovers_then_finishes_its_pass_on_sigterm(cloud: LocalCloud, tmp_path: Path) -> None:
    stack = copy_example("github-enterprise", tmp_path)
    assert relight(stack, "apply", "-auto-approve").code == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "relight", f"-chdir={stack}", "watch", "--interval", "0.3s"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()

    def wait_for(text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in lines):
            assert time.monotonic() < deadline, f"no {text!r} in:\n{''.join(lines)}"
            time.sleep(0.05)

    try:
        wait_for("no changes: everything matches the configuration")
        assert any(f"watching {stack} every 0.3s; policy: mode auto" in line for line in lines)
        view = Cloud()
        old = view.instances()[0]["InstanceId"]
        view.terminate(old)
        wait_for("recovered in")
        [new] = view.instances()
        assert new["InstanceId"] != old and new["PrivateIpAddress"] == "10.0.1.10"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=5)
    assert proc.returncode == 0
    assert any("stopped after" in line and "passes" in line for line in lines), "".join(lines)
    assert "Traceback" not in "".join(lines)
