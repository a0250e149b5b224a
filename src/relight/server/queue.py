"""The run queue seam, and the embedded queue: in-process worker threads over the database.

A queue only decides *when* and *where* a job runs; *which* job may run next is the store's
claim rule (:meth:`relight.server.store.Store.claim_next`) and *how* it runs is
:meth:`relight.server.executor.Executor.execute`, the same under every queue. Issue 11's
procrastinate queue implements :class:`RunQueue` with workers in other processes calling the
same two functions.

The embedded queue's workers poll the database (once a second, and at once when woken after a
run was queued or confirmed), so runs queued before a restart are picked up after it. One more
thread keeps house every few seconds (``housekeeping``: queueing due health checks). Stopping
lets in-flight jobs finish for up to the timeout, then asks them to stop between actions
(``cancel``); a job cut off by the process ending is found by
:meth:`~relight.server.executor.Executor.recover_interrupted` at the next start.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Protocol

from relight.server.db import StoreError
from relight.server.store import Job, Store

__all__ = ["EmbeddedQueue", "RunQueue"]


class RunQueue(Protocol):
    def start(self) -> None:
        """Start taking jobs."""

    def wake(self) -> None:
        """A run was queued or confirmed: look for work now. Never blocks, never raises."""

    def stop(self, timeout: float = 30.0) -> None:
        """Take no new jobs; wait up to ``timeout`` seconds for jobs in flight."""


class EmbeddedQueue:
    """``workers`` threads in this process, each claiming and executing one job at a time."""

    def __init__(self, store: Store, execute: Callable[[Job], None], workers: int = 2, poll: float = 1.0,
                 log: Callable[[str], None] = print, housekeeping: Callable[[], object] | None = None,
                 cancel: Callable[[], int] = lambda: 0, every: float = 2.0) -> None:
        self.store = store
        self.execute = execute
        self.poll = poll
        self.log = log
        self.instance = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._count = max(1, workers)
        self._housekeeping = housekeeping
        self._cancel = cancel
        self._every = every
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for n in range(self._count):
            thread = threading.Thread(target=self._work, args=(f"{self.instance}/{n}",), daemon=True,
                                      name=f"relight-worker-{n}")
            thread.start()
            self._threads.append(thread)
        if self._housekeeping is not None:
            house = threading.Thread(target=self._keep_house, daemon=True, name="relight-housekeeping")
            house.start()
            self._threads.append(house)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        if any(t.is_alive() for t in self._threads):
            asked = self._cancel()
            self.log(f"relight serve: {asked} run(s) still in flight after {timeout:.0f}s: asked to stop between "
                     "actions")
            for thread in self._threads:
                thread.join(30.0)

    def _keep_house(self) -> None:
        assert self._housekeeping is not None
        while not self._stopping.wait(self._every):
            try:
                if self._housekeeping():
                    self._wake.set()
            except StoreError as exc:
                self.log(f"relight serve: housekeeping cannot reach the database: {exc}")

    def _work(self, worker: str) -> None:
        while not self._stopping.is_set():
            try:
                job = self.store.claim_next(worker)
            except StoreError as exc:
                self.log(f"relight serve: {worker} cannot claim work: {exc}")
                job = None
            if job is not None:
                self.execute(job)
                continue
            self._wake.wait(self.poll)
            self._wake.clear()
