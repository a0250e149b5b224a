"""Time to recover under the heal loop: 20 terminations of the node, ``watch`` every 1 s.

The local cloud runs as its own process (``relight local-cloud``). The heal loop runs in this
process (the same ``Healer.watch`` that ``relight watch`` runs), so each pass's moments are read
on one clock: when the node was terminated, when a pass detected it, when the recovery apply
started, and when the recovery was verified. For each recovery the engine's own share is the
time from detection to verified recovery minus the time any cloud call or wait was in flight.

Usage: .venv/bin/python bench/heal_bench.py [--kills 20] [--interval 1]
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import boto3
from _local_cloud import local_cloud_process

from relight.cli.main import main as relight_main
from relight.heal.healer import Healer, PassResult
from relight.runs import RunContext

ROOT = Path(__file__).resolve().parents[1]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def _settled(passes: list[PassResult], since: int) -> bool:
    return any(r.status in ("recovered", "failed", "needs-person") for r in passes[since:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--interval", type=float, default=1.0)
    opts = parser.parse_args()
    with local_cloud_process():
        run(opts.kills, opts.interval)


def run(kills: int, interval: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="relight-heal-bench-"))
    work = tmp / "github-enterprise"
    shutil.copytree(ROOT / "examples" / "github-enterprise", work, ignore=shutil.ignore_patterns("relight.tfstate*"))
    heal = work / "heal.tf"
    heal.write_text(heal.read_text().replace("max_recoveries_per_hour = 3", f"max_recoveries_per_hour = {kills + 5}"))
    if relight_main([f"-chdir={work}", "apply", "-auto-approve", "-no-color"]) != 0:
        raise SystemExit("stand-up apply failed")
    os.chdir(ROOT)
    ec2 = boto3.client("ec2")
    results: list[PassResult] = []
    got = threading.Condition()

    def on_pass(result: PassResult) -> None:
        with got:
            results.append(result)
            got.notify_all()

    healer = Healer(RunContext(str(work), environment=dict(os.environ)), mode="auto", say=lambda line: None)
    stop = threading.Event()
    loop = threading.Thread(target=healer.watch, args=(interval, stop), kwargs={"on_pass": on_pass}, daemon=True)
    loop.start()
    detect, start, recover, share = [], [], [], []
    rng = random.Random(7)
    try:
        for n in range(kills):
            time.sleep(rng.uniform(0.0, interval))  # kill at a random moment of the cycle
            out = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
            node = out["Reservations"][0]["Instances"][0]["InstanceId"]
            seen = len(results)
            killed = time.monotonic()
            ec2.terminate_instances(InstanceIds=[node])
            with got:
                ok = got.wait_for(functools.partial(_settled, results, seen), 60)
            if not ok:
                raise SystemExit(f"kill {n + 1}: no recovery within 60 s")
            r = next(r for r in results[seen:] if r.status in ("recovered", "failed", "needs-person"))
            if r.status != "recovered" or r.incident is None:
                raise SystemExit(f"kill {n + 1}: {r.status}: {r.message}")
            assert r.detected is not None and r.apply_started is not None and r.recovered is not None
            detect.append(r.detected - killed)
            start.append(r.apply_started - r.detected)
            recover.append(r.recovered - r.detected)
            own = r.incident.relight_seconds or 0.0
            share.append(100 * own / (r.recovered - r.detected))
            print(
                f"kill {n + 1:>2}: detected after {detect[-1]:.2f}s, recovery started {start[-1] * 1000:.0f} ms "
                f"after detection, recovered {recover[-1]:.2f}s after detection (relight {share[-1]:.0f}%)",
                flush=True,
            )
    finally:
        stop.set()
        loop.join(timeout=30)
        healer.close()
    print(f"\n{kills} terminations, watch interval {interval:g}s, local cloud in its own process\n")
    print(f"{'':<36} {'p50':>8} {'p95':>8}")
    for name, values, unit in (
        ("detection delay (kill -> detected)", detect, "s"),
        ("recovery start (detected -> apply)", [v * 1000 for v in start], "ms"),
        ("time to recover (detected -> verified)", recover, "s"),
        ("relight's own share of recovery", share, "%"),
    ):
        print(f"{name:<36} {pct(values, 50):>7.2f}{unit} {pct(values, 95):>7.2f}{unit}")
    print(f"\nmean relight share: {statistics.mean(share):.1f}%")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
