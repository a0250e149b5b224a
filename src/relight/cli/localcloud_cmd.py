"""``relight local-cloud``: the AWS API emulator in the foreground, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from types import FrameType

__all__ = ["run_local_cloud"]


def run_local_cloud(host: str, port: int) -> int:
    """Serve until interrupted; print the exports first. Returns the exit code."""
    from relight.localcloud import LocalCloud, LocalCloudUnavailable

    try:
        cloud = LocalCloud(port=port, host=host).start()
    except LocalCloudUnavailable as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"relight local cloud: an AWS API emulator on {cloud.endpoint} (region {cloud.region})")
        print("Point relight (or any AWS tool) at it from another shell:\n")
        for key, value in cloud.env().items():
            print(f"  export {key}={value}")
        print("\nObjects live in memory while this runs. Press Ctrl-C to stop.", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        cloud.stop()
    with contextlib.suppress(OSError):  # the terminal may be gone already
        print("\nLocal cloud stopped; its objects are gone.", flush=True)
    return 0
