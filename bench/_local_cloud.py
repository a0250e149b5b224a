"""Start ``relight local-cloud`` as its own process for a benchmark, as a user would run it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def local_cloud_process(*args: str) -> Iterator[str]:
    """Run the local cloud on a free port (with extra ``relight local-cloud`` arguments, e.g.
    ``--latency 50ms``); point this process's AWS_* environment at it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "relight", "local-cloud", f"--port={port}", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if "Press Ctrl-C" in line:
                break
        endpoint = f"http://127.0.0.1:{port}"
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "relight-local",
                "AWS_SECRET_ACCESS_KEY": "relight-local-secret",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_REGION": "us-east-1",
            }
        )
        yield endpoint
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
