"""The distributed run queue: procrastinate over PostgreSQL, workers on any machine.

With ``database = "postgresql://..."`` the server and every ``relight worker`` process share
one database. The ``runs`` table stays the truth about what is queued (a webhook's runs are
committed before it is answered); procrastinate (pinned, 3.10.0) carries the work: its jobs
table, ``FOR UPDATE SKIP LOCKED`` claims and ``LISTEN/NOTIFY`` wake-ups, its worker heartbeats
and its stalled-jobs query. One job per run phase, task ``relight.run`` with
``{"run_id": N, "phase": "plan" | "apply"}``:

- **Dispatch** (:meth:`DistributedQueue.dispatch`): every run the queue rule lets start now
  (:meth:`relight.server.store.Store.eligible`) gets a job, with the workspace as the job
  ``lock`` for apply-kind runs (one at a time per workspace, in order) and none for speculative
  plans, and ``queueing_lock = "run-N-PHASE"`` so a run never has two jobs waiting. Dispatch is
  idempotent and runs after every change that can free a workspace, and every few seconds in
  every process, so a run committed just before a process died still starts.
- **Executing**: a worker's job claims its run with a compare-and-set
  (:meth:`~relight.server.store.Store.claim_run`: still pending or confirmed, and the queue rule
  still lets it start), records ``job:ID@HOST:PID`` as the claimer, and calls
  :meth:`relight.server.executor.Executor.execute`, the same code as the embedded queue. A job
  whose run has moved on does nothing, so a duplicate job never runs a run twice.
- **Worker faults**: workers send heartbeats every ``heartbeat`` seconds. A job whose worker has
  been silent for ``lost_after`` seconds is stalled (procrastinate's query); the housekeeping of
  any live process then ends its run ``errored`` ("worker lost"), its log kept, releases the
  state lock the run held (the journal it wrote replays on the next read; a worker that comes
  back finds its lock gone and can record nothing more), queues a fresh plan (never a blind
  retry) and marks the job failed. Housekeeping only judges heartbeats after it has itself
  reached the database for ``lost_after`` seconds in a row, so a database restart never makes
  live workers look lost.
- **Database restarts**: procrastinate stops a worker when one of its side tasks fails; an apply
  may take an hour and must outlive a PostgreSQL restart, so the job manager here retries its
  calls instead (fetching, heartbeats, finishing a job, listening), and the run's own writes
  retry through :meth:`relight.server.db.Database.retrying`.
- **Health checks**: the same housekeeping queues due heal runs
  (:func:`relight.server.healthcheck.schedule_due`), and once an hour deletes procrastinate's
  jobs finished more than a week ago (the ``runs`` table keeps the history).

:meth:`DistributedQueue.stop` stops taking jobs, lets runs in flight finish for up to the drain
timeout, then asks the rest to stop between actions (their runs end ``errored`` with a fresh
plan queued) before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
from procrastinate import App, JobContext, PsycopgConnector, exceptions, manager
from procrastinate import jobs as pjobs
from procrastinate import schema as pschema

from relight.server import healthcheck
from relight.server.config import ServerConfig
from relight.server.db import Database, StoreError
from relight.server.executor import Executor
from relight.server.logs import Logger
from relight.server.sqlstate import release_run_locks
from relight.server.store import Eligible, Store

__all__ = ["TASK", "DistributedQueue", "ensure_schema", "libpq_url"]

TASK = "relight.run"
T = TypeVar("T")
_SCHEMA_LOCK_KEY = 0x72656C6A  # serialises creating procrastinate's tables
_PRUNE_AFTER = 3600.0  # procrastinate deletes worker rows silent this long (garbage only)
_CLEAN_EVERY = 3600.0  # seconds between deletions of old finished jobs
_KEEP_JOBS_HOURS = 24 * 7


def libpq_url(url: str) -> str:
    """A plain ``postgresql://`` URL (procrastinate's psycopg pool) from the configured one."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


def ensure_schema(db: Database) -> None:
    """Create procrastinate's tables and functions in ``db`` unless they exist (one transaction,
    serialised across processes by an advisory lock)."""
    with db.write() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK_KEY})
        if conn.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
            conn.exec_driver_sql(pschema.SchemaManager.get_schema().replace("%", "%%"))


class _JobManager(manager.JobManager):
    """procrastinate's job manager, made to ride out a database restart: a failed fetch finds
    no job (the worker polls again), heartbeats and listening keep trying, and finishing a job
    is retried until the database answers (a job left ``doing`` would hold its workspace)."""

    def __init__(self, connector: PsycopgConnector, log: Logger) -> None:
        super().__init__(connector=connector)
        self.log = log

    async def fetch_job(self, queues: Any, worker_id: int) -> pjobs.Job | None:
        try:
            return await super().fetch_job(queues, worker_id)
        except exceptions.ConnectorException as exc:
            self.log.warning("cannot fetch jobs", event="queue.db_down", error=str(exc))
            await asyncio.sleep(1.0)
            return None

    async def update_heartbeat(self, worker_id: int) -> None:
        try:
            await super().update_heartbeat(worker_id)
        except exceptions.ConnectorException as exc:
            self.log.warning("cannot send a heartbeat", event="queue.db_down", worker_id=worker_id, error=str(exc))

    async def finish_job(self, job: pjobs.Job, status: pjobs.Status, delete_job: bool) -> None:
        await self._retried(lambda: super(_JobManager, self).finish_job(job, status, delete_job))

    async def unregister_worker(self, worker_id: int) -> None:
        with contextlib.suppress(exceptions.ConnectorException):
            await super().unregister_worker(worker_id)

    async def listen_for_jobs(self, *, on_notification: Any, queues: Any = None) -> None:
        while True:
            try:
                await super().listen_for_jobs(on_notification=on_notification, queues=queues)
            except Exception as exc:  # the connection was lost: polling covers until it is back
                self.log.warning("lost the LISTEN connection", event="queue.db_down", error=str(exc))
            await asyncio.sleep(2.0)

    async def _retried(self, call: Callable[[], Awaitable[T]], timeout: float = 600.0) -> T:
        deadline = time.monotonic() + timeout
        delay = 0.5
        while True:
            try:
                return await call()
            except exceptions.ConnectorException as exc:
                lost = isinstance(exc.__cause__, psycopg.OperationalError | psycopg.InterfaceError)
                if not lost or time.monotonic() + delay > deadline:
                    raise  # refused for a reason of its own (say the job was ended as lost meanwhile)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


class DistributedQueue:
    """The :class:`~relight.server.queue.RunQueue` over procrastinate; ``workers`` jobs at a time
    in this process (0: it only dispatches and keeps house). ``name`` names this process in logs."""

    def __init__(self, store: Store, executor: Executor, config: ServerConfig, *, workers: int, log: Logger,
                 heartbeat: float = 5.0, lost_after: float = 30.0, housekeeping: float = 2.0,
                 poll: float = 5.0, name: str = "") -> None:
        self.store = store
        self.executor = executor
        self.config = config
        self.workers = workers
        self.log = log
        self.heartbeat = heartbeat
        self.lost_after = lost_after
        self.housekeeping = housekeeping
        self.poll = poll
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.connector = PsycopgConnector(conninfo=libpq_url(config.server.database_url),
                                          kwargs={"application_name": "relight"})
        self.app = App(connector=self.connector)
        self.app.job_manager = _JobManager(self.connector, log)
        self.app.task(name=TASK, pass_context=True)(self._run_job)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._kick: asyncio.Event | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._stopping = threading.Event()
        self._db_up_since: float | None = None
        self._cleaned_at = 0.0
        self.reaped = 0

    # -- RunQueue ----------------------------------------------------------------------------

    def start(self) -> None:
        ensure_schema(self.store.db)
        self._thread = threading.Thread(target=self._thread_main, daemon=True, name="relight-queue")
        self._thread.start()
        if not self._started.wait(30.0):
            raise StoreError("the run queue did not start within 30s (is PostgreSQL reachable?)", transient=True)

    def wake(self) -> None:
        loop, kick = self._loop, self._kick
        if loop is not None and kick is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(kick.set)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking jobs; runs in flight may finish for ``timeout`` seconds, then are asked to
        stop between actions (and get up to 30 s more to do so)."""
        if self._thread is None or self._stopping.is_set():
            return
        self._stopping.set()
        loop, worker = self._loop, self._worker_task
        if loop is not None and worker is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(worker.cancel)
        deadline = time.monotonic() + timeout
        while self.executor.in_flight() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.executor.in_flight():
            asked = self.executor.cancel_all()
            self.log.info("drain timed out: asking runs to stop between actions", event="queue.cancel", runs=asked)
        self.wake()
        self._thread.join(timeout + 30.0)

    # -- the event loop ------------------------------------------------------------------------

    def _thread_main(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._kick = asyncio.Event()
        async with self.app.open_async():
            self._started.set()
            house = asyncio.create_task(self._housekeeping_loop(), name="relight-housekeeping")
            try:
                if self.workers > 0:
                    await self._work()
                else:
                    while not self._stopping.is_set():
                        await asyncio.sleep(0.2)
            finally:
                house.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await house

    async def _work(self) -> None:
        """Run procrastinate's worker until stopped (cancelling it stops it gracefully: it takes
        no new job and waits for those in flight); start it again if it fails (say the database
        was down when it registered)."""
        while not self._stopping.is_set():
            worker = asyncio.create_task(self.app.run_worker_async(
                concurrency=self.workers, name=self.name, install_signal_handlers=False, wait=True,
                update_heartbeat_interval=self.heartbeat, stalled_worker_timeout=_PRUNE_AFTER,
                fetch_job_polling_interval=self.poll, listen_notify=True))
            self._worker_task = worker
            try:
                await worker
            except asyncio.CancelledError:
                if not self._stopping.is_set():
                    raise
                return
            except Exception as exc:
                self.log.warning("the worker stopped; starting it again", event="queue.worker_restart",
                                 error=str(exc))
                await asyncio.sleep(2.0)

    async def _housekeeping_loop(self) -> None:
        assert self._kick is not None
        while True:
            await self._housekeep()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.housekeeping)
            self._kick.clear()

    async def _housekeep(self) -> None:
        try:
            await asyncio.to_thread(healthcheck.schedule_due, self.store, self.config)
            await self.reap()
            await self.dispatch()
            if time.monotonic() - self._cleaned_at > _CLEAN_EVERY:
                self._cleaned_at = time.monotonic()  # finished jobs: the runs table keeps the history
                await self.app.job_manager.delete_old_jobs(nb_hours=_KEEP_JOBS_HOURS, include_failed=True,
                                                           include_cancelled=True, include_aborted=True)
            if self._db_up_since is None:
                self._db_up_since = time.monotonic()
        except (StoreError, exceptions.ConnectorException) as exc:
            if self._db_up_since is not None:
                self.log.warning("cannot reach the database", event="queue.db_down", error=str(exc))
            self._db_up_since = None
        except Exception as exc:  # a bug: say so, keep the loop alive
            self.log.error("housekeeping failed", event="queue.bug", error=f"{type(exc).__name__}: {exc}")

    # -- dispatch, jobs, reaping ---------------------------------------------------------------

    async def dispatch(self) -> int:
        """Give every run that may start now a job (see the module docstring); returns how many
        jobs were deferred."""
        deferred = 0
        for e in await asyncio.to_thread(self.store.eligible):
            lock = f"ws-{e.workspace}" if e.kind == "apply" else None
            deferrer = self.app.configure_task(TASK, lock=lock, queueing_lock=_queueing_lock(e))
            try:
                await deferrer.defer_async(run_id=e.run_id, phase=e.phase)
                deferred += 1
            except exceptions.AlreadyEnqueued:
                continue
        return deferred

    def _run_job(self, context: JobContext, run_id: int, phase: str) -> None:
        """The task: claim the run (compare-and-set), execute it, then dispatch what it frees."""
        assert phase in ("plan", "apply")
        claimer = f"job:{context.job.id}@{self.name}"
        job = self.store.claim_run(run_id, "apply" if phase == "apply" else "plan", claimer)
        if job is None:
            self.log.info("job found its run moved on; nothing to do", event="run.skip", run=run_id, phase=phase)
            return
        self.log.info("run started", event="run.start", run=run_id, phase=phase, worker=self.name, job=context.job.id)
        started = time.monotonic()
        self.executor.execute(job)
        run = self.store.get_run(run_id)
        self.log.info("run phase ended", event="run.end", run=run_id, phase=phase, worker=self.name,
                      status=run.status if run else None, seconds=round(time.monotonic() - started, 3))
        self.wake()

    async def reap(self) -> int:
        """End the runs of lost workers (see the module docstring); returns how many."""
        up = self._db_up_since
        if up is None or time.monotonic() - up < self.lost_after:
            return 0
        stalled = await self.app.job_manager.get_stalled_jobs(task_name=TASK, seconds_since_heartbeat=self.lost_after)
        ended = 0
        for job in stalled:
            assert job.id is not None
            raw = job.task_kwargs.get("run_id")
            run_id = raw if isinstance(raw, int) else 0
            if await asyncio.to_thread(self._end_lost, run_id, job.id):
                ended += 1
            with contextlib.suppress(exceptions.ConnectorException):
                await manager.JobManager.finish_job_by_id_async(self.app.job_manager, job.id, pjobs.Status.FAILED,
                                                                delete_job=False)
        if ended:
            self.reaped += ended
            self.wake()
        return ended

    def _end_lost(self, run_id: int, job_id: int) -> bool:
        run = self.store.get_run(run_id)
        claimer = (run.claimed_by or "") if run is not None else ""
        if run is None or run.status not in ("planning", "applying") or claimer.split("@")[0] != f"job:{job_id}":
            return False
        phase = "planning" if run.status == "planning" else "applying"
        fresh = self.executor.end_cut_off(
            run, "worker lost", f"The worker running this run was lost while {phase} (no heartbeat for "
            f"{self.lost_after:.0f}s)")
        if fresh is None:
            return False
        released = release_run_locks(self.store.db, run.id)
        self.log.warning("worker lost: run ended errored, fresh plan queued", event="run.worker_lost", run=run.id,
                         job=job_id, phase=phase, fresh_run=fresh, locks_released=released)
        return True


def _queueing_lock(e: Eligible) -> str:
    return f"run-{e.run_id}-{e.phase}"
