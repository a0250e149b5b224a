"""``relight local-cloud``: the AWS API emulator in the foreground, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relight.localcloud import LocalCloud

__all__ = ["run_local_cloud"]


def run_local_cloud(host: str, port: int, data_dir: str | None = None, latency: str = "0s") -> int:
    """Serve until interrupted; print the exports first. Returns the exit code."""
    from relight.cli.args import parse_duration
    from relight.localcloud import LocalCloud, LocalCloudUnavailable

    try:
        delay = parse_duration(latency)
    except ValueError as exc:
        print(f"Error: --latency: {exc}", file=sys.stderr)
        return 1
    try:
        cloud = LocalCloud(port=port, host=host, data_dir=data_dir, latency=delay).start()
    except LocalCloudUnavailable as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"relight local cloud: an AWS API emulator on {cloud.endpoint} (region {cloud.region})")
        _describe(cloud, data_dir)
        print("Point relight (or any AWS tool) at it from another shell:\n")
        for key, value in cloud.env().items():
            print(f"  export {key}={value}")
        print("\nPress Ctrl-C to stop.", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        cloud.stop()
    with contextlib.suppress(OSError):  # the terminal may be gone already
        if data_dir:
            print(f"\nLocal cloud stopped; its objects are kept in {data_dir}.", flush=True)
        else:
            print("\nLocal cloud stopped; its objects are gone.", flush=True)
    return 0


def _describe(cloud: LocalCloud, data_dir: str | None) -> None:
    if cloud.data_plane is not None:
        print("Data plane: on (volumes hold bytes; instances run in sandboxes; SSM Run Command works).")
        print(f"Instances' services: GET {cloud.endpoint}/_relight/instances/<id> tells their host address.")
    else:
        print(f"Data plane: off ({cloud.data_plane_reason}); objects are metadata only.")
    if data_dir:
        print(f"Objects and their bytes are kept in {data_dir} across restarts.")
    else:
        print("Objects live only while this runs (use --data-dir DIR to keep them).")
    if cloud.latency:
        print(f"Every API call takes {cloud.latency * 1000:.0f} ms longer (--latency).")
