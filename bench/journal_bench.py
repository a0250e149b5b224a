#!/usr/bin/env python3
"""Journal benchmark: durable records per second from 1 and 10 threads, and a 1,000-instance commit.

Prints figures only (no targets); ``python bench/journal_bench.py [--records N]``. Each record
is an fsync-backed journal entry; group commit lets concurrent writers share fsyncs, which the
"fsyncs" column shows.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from relight.addrs import ResourceAddr
from relight.state import LocalBackend, ObjectState

NODE = ResourceAddr.managed("terraform_data", "r")


def record_from_threads(journal: Any, threads: int, per_thread: int) -> None:
    start = threading.Barrier(threads)

    def work(t: int) -> None:
        start.wait()
        for k in range(per_thread):
            i = t * per_thread + k
            journal.set(NODE.instance(i), "terraform", ObjectState({"id": f"id-{i}", "input": i}))

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    records = parser.parse_args().records
    with tempfile.TemporaryDirectory() as scratch:
        for threads in (1, 10):
            folder = Path(scratch) / f"t{threads}"
            folder.mkdir()
            backend = LocalBackend(folder / "relight.tfstate")
            journal = backend.open_journal(backend.read())
            began = time.perf_counter()
            record_from_threads(journal, threads=threads, per_thread=records // threads)
            took = time.perf_counter() - began
            print(
                f"journal: {records} durable records from {threads:2d} thread(s): {took * 1000:7.1f} ms, "
                f"{journal.fsyncs} fsyncs, {records / took:8.0f} records/s"
            )
            state = backend.read()
            commit_began = time.perf_counter()
            journal.commit(state)
            print(f"journal: commit of {records} instances: {(time.perf_counter() - commit_began) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
