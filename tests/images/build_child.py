"""A build in a child process that stops at a named step, for the kill tests.

    python -m tests.images.build_child TEMPLATE REGISTRY BASE STEP

Prints ``AT <step>`` when the build reaches STEP, then waits there: until it is killed
(SIGKILL), or until SIGTERM/SIGINT, which cancel the build as the CLI does (it cleans up and
exits 130). The environment (AWS_*) points at the test's local cloud.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from relight.images import BuildRequest, run_builds


def main() -> int:
    template, registry, base, stop_at = sys.argv[1:5]
    cancel = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: cancel.set())

    def hook(build: str, step: str) -> None:
        if step == stop_at:
            print(f"AT {step}", flush=True)
            cancel.wait(120)

    run = run_builds(BuildRequest(template, registry=registry, base=base), dict(os.environ), None, cancel, hook)
    statuses = [r.status for r in run.results]
    left = [x for r in run.results for x in r.left_behind]
    print(f"DONE {statuses} {left}", flush=True)
    return 130 if cancel.is_set() else (0 if run.ok else 1)


if __name__ == "__main__":
    sys.exit(main())
