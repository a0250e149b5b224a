"""``python worker_proc.py CONFIG``: ``relight worker`` with the ``slow`` provider, for fault tests.

``WORKER_LOST_AFTER`` and ``WORKER_HEARTBEAT`` (seconds) shorten the worker-fault timings so
tests need not wait the production 30 s; ``WORKER_CONCURRENCY`` sets runs at a time.
"""

from __future__ import annotations

import os
import sys

from relight.diagnostics import render
from relight.providers.registry import ProviderRegistry
from relight.server.config import load_server_config
from relight.server.worker import Worker
from tests.server.slow_server import SlowProvider


def main(path: str) -> int:
    config, diags, sources = load_server_config(path, dict(os.environ), need_secrets=False)
    if config is None:
        print(render(diags, sources), file=sys.stderr)
        return 1
    worker = Worker(config, dict(os.environ), registry=ProviderRegistry({"slow": SlowProvider}),
                    concurrency=int(os.environ.get("WORKER_CONCURRENCY", "1")),
                    lost_after=float(os.environ.get("WORKER_LOST_AFTER", "30")),
                    heartbeat=float(os.environ.get("WORKER_HEARTBEAT", "5")),
                    drain=float(os.environ.get("WORKER_DRAIN", "10")))
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
