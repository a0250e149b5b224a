"""Prometheus metrics at ``GET /metrics`` (prometheus-client, text format 0.0.4).

What the runs table knows is read from the database at each scrape, so every server in front of
the same database reports the same numbers whichever process ran the runs:

- ``relight_runs{status}``: runs by status (a gauge: runs move between statuses);
- ``relight_queue_depth{workspace}``: runs waiting to start (pending, or confirmed and not yet
  applying) per workspace;
- ``relight_run_duration_seconds{kind}``: a histogram of finished runs, from ``started_at`` to
  ``finished_at``;
- ``relight_worker_heartbeat_age_seconds{worker}`` and ``relight_workers``: each registered
  worker's seconds since its last heartbeat (procrastinate's workers table on PostgreSQL; this
  process's own workers with SQLite), and how many there are;
- ``relight_webhook_seconds{event}``: how long answering a GitHub webhook took (this process).

Nothing here holds secrets: names, counts and times. A scrape that cannot reach the database
answers without the database's metrics rather than failing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from relight.server.db import Database, StoreError
from relight.server.schema import runs, workspaces
from relight.server.store import STATUSES

__all__ = ["CONTENT_TYPE", "DURATION_BUCKETS", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
_WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _StoreCollector(Collector):
    def __init__(self, db: Database, local_workers: int) -> None:
        self.db = db
        self.local_workers = local_workers
        self.started = time.time()

    def collect(self) -> Iterator[Metric]:
        try:
            with self.db.read() as conn:
                yield from self._runs(conn)
                yield from self._workers(conn)
        except StoreError:
            return

    def _runs(self, conn: sa.Connection) -> Iterator[Metric]:
        by_status = GaugeMetricFamily("relight_runs", "Runs by status.", labels=["status"])
        counts: dict[str, int] = {s: n for s, n in conn.execute(
            sa.select(runs.c.status, sa.func.count()).group_by(runs.c.status)).all()}
        for status in STATUSES:
            by_status.add_metric([status], float(counts.get(status, 0)))
        yield by_status
        depth = GaugeMetricFamily("relight_queue_depth", "Runs waiting to start, per workspace.", labels=["workspace"])
        waiting = sa.or_(runs.c.status == "pending", runs.c.status == "confirmed")
        rows = conn.execute(
            sa.select(workspaces.c.name, sa.func.count(runs.c.id))
            .select_from(workspaces.outerjoin(runs, sa.and_(runs.c.workspace_id == workspaces.c.id, waiting)))
            .group_by(workspaces.c.name)
        ).all()
        for name, n in rows:
            depth.add_metric([name], float(n))
        yield depth
        yield self._durations(conn)

    def _durations(self, conn: sa.Connection) -> Metric:
        hist = HistogramMetricFamily("relight_run_duration_seconds", "Finished runs, from start to finish.",
                                     labels=["kind"])
        rows = conn.execute(sa.select(runs.c.kind, runs.c.started_at, runs.c.finished_at).where(
            runs.c.started_at.is_not(None), runs.c.finished_at.is_not(None))).all()
        for kind in ("speculative", "apply"):
            seconds = [max((r.finished_at - r.started_at).total_seconds(), 0.0) for r in rows if r.kind == kind]
            buckets = [(str(b), float(sum(1 for s in seconds if s <= b))) for b in DURATION_BUCKETS]
            buckets.append(("+Inf", float(len(seconds))))
            hist.add_metric([kind], buckets, sum_value=sum(seconds))
        return hist

    def _workers(self, conn: sa.Connection) -> Iterator[Metric]:
        age = GaugeMetricFamily("relight_worker_heartbeat_age_seconds", "Seconds since each worker's last heartbeat.",
                                labels=["worker"])
        count = GaugeMetricFamily("relight_workers", "Workers registered.")
        if self.db.is_sqlite:  # the embedded queue's workers are threads of this process
            for n in range(self.local_workers):
                age.add_metric([f"embedded-{n}"], 0.0)
            count.add_metric([], float(self.local_workers))
        else:
            present = conn.execute(sa.text("SELECT to_regclass('procrastinate_workers')")).scalar()
            rows = conn.execute(sa.text(
                "SELECT id, EXTRACT(EPOCH FROM (now() - last_heartbeat)) AS age FROM procrastinate_workers "
                "ORDER BY id")).all() if present else []
            for row in rows:
                age.add_metric([str(row.id)], float(row.age))
            count.add_metric([], float(len(rows)))
        yield age
        yield count


class Metrics:
    """One registry per server (tests start several in one process)."""

    def __init__(self, db: Database, local_workers: int) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_StoreCollector(db, local_workers))
        self.webhook_seconds = Histogram("relight_webhook_seconds", "Time to answer a GitHub webhook.",
                                         labelnames=["event"], buckets=_WEBHOOK_BUCKETS, registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
