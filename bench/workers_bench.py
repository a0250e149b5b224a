"""The distributed queue's figures: runs per minute with 1, 2 and 4 workers, webhook answers at
20 requests per second, and the time from a worker's death to its run marked lost.

Everything runs on this machine: a PostgreSQL cluster started in a temporary directory, the
server in this process (``server { workers = 0 }``: it only serves and keeps house), ``relight
worker`` processes, the stand-in GitHub API and a local git repository.

1. Throughput: for each worker count, ``--workspaces`` auto-applying workspaces of a few
   ``terraform_data`` resources each get ``--pushes`` signed pushes; the clock runs from the
   first webhook until every run is ``applied`` (each run is two jobs: plan, then apply).
2. Webhook answers: signed pushes at ``--rate`` per second for ``--seconds`` while 2 workers
   execute what they queue; latency is measured by the client (p50, p99, max).
3. Worker death: a worker is SIGKILLed in the middle of a slow apply, with the production
   timings (heartbeat every 5 s, lost after 30 s without one, housekeeping every 2 s); the time
   until the run is ``errored`` ("worker lost") is printed, for ``--deaths`` kills.

Usage: .venv/bin/python bench/workers_bench.py [--workers 1,2,4] [--workspaces 8] [--pushes 5]
       [--rate 20] [--seconds 15] [--deaths 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' PostgreSQL cluster, git repository and webhook sender

from tests.server.conftest import PgCluster, free_port  # noqa: E402
from tests.server.fakes import GitRepo, Hooks  # noqa: E402

from relight.server.config import parse_server_config  # noqa: E402
from relight.server.server import Server  # noqa: E402
from relight.server.standin import StandInGitHub  # noqa: E402
from relight.server.store import Store  # noqa: E402

SECRET = "bench-secret"
SLOW_WORKER = ROOT / "tests" / "server" / "worker_proc.py"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [float(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int, children: bool = True) -> float:
    """CPU seconds of process ``pid`` (with its waited-for children: git, PostgreSQL backends)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    own = float(fields[11]) + float(fields[12])
    return (own + (float(fields[13]) + float(fields[14]) if children else 0.0)) / _TICK


def _postgres_cpu(pg: PgCluster) -> float:
    """CPU seconds of the cluster: the postmaster, its finished backends and its live ones."""
    try:
        postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    total = _proc_cpu(postmaster)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == postmaster:
                total += _proc_cpu(int(entry))
    return total


def our_cpu(pg: PgCluster, workers: list[subprocess.Popen[bytes]]) -> tuple[float, float, float]:
    """CPU seconds so far of (this process: the server and the stand-in GitHub; the workers; PostgreSQL)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime, sum(_proc_cpu(w.pid) for w in workers), _postgres_cpu(pg)


def _tf(ws: int, push: int) -> str:
    return (f'resource "terraform_data" "r" {{\n  count = 5\n  input = "ws{ws}-{push}-${{count.index}}"\n}}\n')


def _slow_tf() -> str:
    return 'resource "slow_thing" "n" {\n  count = 20\n  name  = "n-${count.index}"\n}\n'


class Setup:
    def __init__(self, root: Path, pg: PgCluster, name: str, workspaces: int, github: StandInGitHub) -> None:
        self.pg = pg
        self.root = root / name
        self.root.mkdir()
        self.repo = GitRepo(self.root / "origin")
        files = {f"ws{n}/main.tf": _tf(n, 0) for n in range(workspaces)}
        files["slow/main.tf"] = _slow_tf()
        self.repo.commit(files, "start")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        blocks = "".join(f'workspace "ws{n}" {{\n  repo = "acme/infra"\n  dir = "ws{n}"\n  approvers = ["alice"]\n'
                         f"  auto_apply = true\n}}\n" for n in range(workspaces))
        blocks += 'workspace "slow" {\n  repo = "acme/infra"\n  dir = "slow"\n  auto_apply = true\n}\n'
        database = pg.new_database(name)
        self.config = self.root / "relight-server.hcl"
        self.config.write_text(
            f'server {{\n  listen = "127.0.0.1:{self.port}"\n  data_dir = "{self.root / "data"}"\n'
            f'  database = "{database}"\n  workers = 0\n}}\n'
            f'github {{\n  api_url = "{github.api_url}"\n  webhook_secret = "{SECRET}"\n  token = "{github.token}"\n'
            f"  pr_comments = false\n}}\n{blocks}")
        config, diags = parse_server_config(self.config.read_text(), str(self.config), {})
        assert config is not None, list(diags)
        self.server = Server(config, {}, log=lambda line: None)
        self.uv = uvicorn.Server(self.server.uvicorn_config())
        threading.Thread(target=self.uv.run, daemon=True).start()
        while not self.uv.started:
            time.sleep(0.02)
        self.store: Store = self.server.store
        self.hooks = Hooks(self.url, SECRET, self.repo)
        self.cloud = self.root / "cloud"
        self.cloud.mkdir()
        self.workers: list[subprocess.Popen[bytes]] = []

    def start_workers(self, n: int) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT), SLOW_CLOUD=str(self.cloud), SLOW_DELAY="1.0")
        for _ in range(n):
            self.workers.append(subprocess.Popen([sys.executable, str(SLOW_WORKER), str(self.config)], env=env,
                                                 cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while self._registered() < n and time.monotonic() < deadline:
            time.sleep(0.1)

    def _registered(self) -> int:
        import sqlalchemy as sa

        with self.server.db.read() as conn:
            if conn.execute(sa.text("SELECT to_regclass('procrastinate_workers')")).scalar() is None:
                return 0
            return int(conn.execute(sa.text("SELECT count(*) FROM procrastinate_workers")).scalar() or 0)

    def wait_all_final(self, expected: int, timeout: float = 1800.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.store.list_runs(limit=100_000)
            if len(runs) >= expected and all(r.is_final for r in runs):
                return
            time.sleep(0.1)
        raise SystemExit("runs did not finish in time")

    def close(self) -> None:
        for w in self.workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in self.workers:
            try:
                w.wait(40)
            except subprocess.TimeoutExpired:
                w.kill()
        self.uv.should_exit = True
        time.sleep(0.5)
        self.server.close()


def throughput(root: Path, pg: PgCluster, github: StandInGitHub, counts: list[int], workspaces: int,
               pushes: int) -> None:
    print(f"\n1. Throughput: {workspaces} auto-applying workspaces x {pushes} pushes = {workspaces * pushes} runs "
          "(plan + apply each, 5 terraform_data resources)")
    base_rate = None
    for n in counts:
        s = Setup(root, pg, f"tput{n}", workspaces, github)
        try:
            s.start_workers(n)
            before = s.repo.head()
            shas = []
            for push in range(1, pushes + 1):
                for ws in range(workspaces):
                    shas.append((ws, s.repo.commit({f"ws{ws}/main.tf": _tf(ws, push)}, f"{ws}/{push}")))
            t0 = time.monotonic()
            busy0, total0 = cpu_times()
            ours0 = our_cpu(pg, s.workers)
            for ws, sha in shas:
                assert s.hooks.push(before, sha, files=[f"ws{ws}/main.tf"]).status_code == 202
            s.wait_all_final(len(shas))
            took = time.monotonic() - t0
            busy1, total1 = cpu_times()
            ours = [b - a for a, b in zip(ours0, our_cpu(pg, s.workers), strict=True)]
            cpu = (busy1 - busy0) / max(total1 - total0, 1.0)
            runs = s.store.list_runs(limit=100_000)
            applied = sum(r.status == "applied" for r in runs)
            rate = applied / took * 60
            base_rate = base_rate or rate
            print(f"   {n} worker(s): {applied} applied in {took:.1f} s = {rate:.0f} runs/min "
                  f"({rate / base_rate:.2f}x one worker); machine CPU {cpu * 100:.0f}% busy (all processes, load "
                  f"average {os.getloadavg()[0]:.1f}); "
                  f"ours per run: server {ours[0] / applied:.2f} s, workers {ours[1] / applied:.2f} s, "
                  f"PostgreSQL {ours[2] / applied:.2f} s = {sum(ours) / applied:.2f} CPU-s "
                  f"(ceiling on {os.cpu_count()} idle cores: {60 * (os.cpu_count() or 1) / (sum(ours) / applied):.0f} "
                  "runs/min)")
        finally:
            s.close()


def webhooks(root: Path, pg: PgCluster, github: StandInGitHub, rate: float, seconds: float, workspaces: int) -> None:
    s = Setup(root, pg, "hooks", workspaces, github)
    latencies: list[float] = []
    try:
        s.start_workers(2)
        head = s.repo.head()
        with httpx.Client(base_url=s.url, timeout=10.0):
            started = time.monotonic()
            n = 0
            while time.monotonic() - started < seconds:
                ws = n % workspaces
                t0 = time.perf_counter()
                resp = s.hooks.push(head, head, files=[f"ws{ws}/main.tf"])
                latencies.append(time.perf_counter() - t0)
                assert resp.status_code == 202, resp.text
                n += 1
                time.sleep(max(0.0, started + n / rate - time.monotonic()))
        done = [r for r in s.store.list_runs(limit=100_000) if r.is_final]
        elapsed = time.monotonic() - started
        print(f"\n2. Webhook answers: {n} signed pushes offered at {rate:g}/s over {seconds:g} s ({n / elapsed:.1f}/s "
              f"achieved, one client), 2 workers running what they queue ({len(done)} runs finished meanwhile)")
        print(f"   p50 {pct(latencies, 50) * 1000:.1f} ms   p99 {pct(latencies, 99) * 1000:.1f} ms   "
              f"max {max(latencies) * 1000:.1f} ms   mean {statistics.mean(latencies) * 1000:.1f} ms")
    finally:
        s.close()


def deaths(root: Path, pg: PgCluster, github: StandInGitHub, kills: int) -> None:
    s = Setup(root, pg, "deaths", 1, github)
    noticed: list[float] = []
    try:
        s.start_workers(2)
        before = s.repo.head()
        for k in range(kills):
            sha = s.repo.commit({"slow/main.tf": _slow_tf().replace('"n"', f'"k{k}"')}, f"slow {k}")  # new objects
            run_id = s.hooks.push(before, sha, files=["slow/main.tf"]).json()["runs"][0]
            before = sha
            while (run := s.store.get_run(run_id)) is None or run.status != "applying":
                time.sleep(0.05)
            time.sleep(0.5)
            pid = int((run.claimed_by or "").rsplit(":", 1)[1])
            [victim] = [w for w in s.workers if w.pid == pid]
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            killed = time.monotonic()
            while (run := s.store.get_run(run_id)) is not None and run.status != "errored":
                time.sleep(0.05)
            noticed.append(time.monotonic() - killed)
            s.start_workers(1)  # keep two alive
            assert run is not None and run.followed_by is not None, run
            s.wait_all_final(len(s.store.list_runs(limit=1000)), 300)
        print(f"\n3. Worker death -> run marked lost (heartbeat 5 s, lost after 30 s, {kills} kills mid-apply): "
              + ", ".join(f"{t:.1f} s" for t in noticed))
    finally:
        s.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--workspaces", type=int, default=8)
    ap.add_argument("--pushes", type=int, default=5)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--deaths", type=int, default=2)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="relight-workers-bench-"))
    pg = PgCluster()
    github = StandInGitHub().start()
    print(f"machine: {os.cpu_count()} cores; PostgreSQL in {pg.base}")
    try:
        throughput(root, pg, github, [int(x) for x in args.workers.split(",")], args.workspaces, args.pushes)
        webhooks(root, pg, github, args.rate, args.seconds, args.workspaces)
        if args.deaths:
            deaths(root, pg, github, args.deaths)
    finally:
        github.stop()
        pg.close()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
