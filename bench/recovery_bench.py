"""Recovery runs of the three failure scenarios on the local cloud: where does the time go?

The local cloud runs as its own process (``relight local-cloud``), as a user would run it, so
its work does not compete with relight for this process's interpreter. Each scenario's failure
is made with boto3, then the recovery ``relight apply`` runs in this process; the wall time is
split into the time during which at least one cloud call or wait was in flight (the cloud's
share) and the rest (relight's own: parsing, planning, journaling, Python overhead).

Usage: .venv/bin/python bench/recovery_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import boto3
from _local_cloud import local_cloud_process

from relight.addrs import InstanceAddr
from relight.runs import Approval, Operation, RunContext, Runner, RunRequest, VarInput

ROOT = Path(__file__).resolve().parents[1]


def run(workdir: Path, *args: str) -> tuple[float, float]:
    """Apply in-process through the run layer (``args``: -var and -replace flags, as the CLI
    takes them); return (wall seconds, cloud seconds) from the run's own timings."""
    request = RunRequest(Operation.APPLY, approval=Approval.AUTO, variables=_vars(args), replace=_replace(args))
    result = Runner().execute(request, RunContext(str(workdir), environment=dict(os.environ)))
    if not result.ok:
        raise SystemExit(f"relight apply {' '.join(args)} failed: {[d.summary for d in result.diagnostics]}")
    return result.timings.wall, result.timings.cloud


def _vars(args: tuple[str, ...]) -> tuple[VarInput, ...]:
    return tuple(("var", a.split("=", 1)[1]) for a in args if a.startswith("-var="))


def _replace(args: tuple[str, ...]) -> tuple[InstanceAddr, ...]:
    return tuple(InstanceAddr.parse(a.split("=", 1)[1]) for a in args if a.startswith("-replace="))


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    with local_cloud_process():
        bench(opts.runs)


def bench(runs: int) -> None:
    ec2 = boto3.client("ec2")
    tmp = Path(tempfile.mkdtemp(prefix="relight-bench-"))
    workdir = tmp / "github-enterprise"
    shutil.copytree(ROOT / "examples" / "github-enterprise", workdir, ignore=shutil.ignore_patterns("relight.tfstate*"))
    wall, cloud = run(workdir, "apply", "-auto-approve")
    print(f"stand-up apply (10 resources): {wall:.2f}s wall, {cloud:.2f}s cloud")

    def node_id() -> str:
        out = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
        return str(out["Reservations"][0]["Instances"][0]["InstanceId"])

    def volume_id() -> str:
        out = ec2.describe_volumes(
            Filters=[{"Name": "size", "Values": ["100"]}, {"Name": "status", "Values": ["in-use"]}]
        )
        return str(out["Volumes"][0]["VolumeId"])

    snapshot: dict[str, str] = {}

    def terminate() -> list[str]:
        ec2.terminate_instances(InstanceIds=[node_id()])
        return ["apply", "-auto-approve", *vars_()]

    def revert() -> list[str]:
        snapshot["id"] = ec2.create_snapshot(VolumeId=volume_id())["SnapshotId"]
        return ["apply", "-auto-approve", *vars_()]

    def recycle() -> list[str]:
        return ["apply", "-auto-approve", "-replace=aws_instance.ghe_node", *vars_()]

    def vars_() -> list[str]:
        return [f"-var=snapshot_id={snapshot['id']}"] if snapshot else []

    scenarios: list[tuple[str, Callable[[], list[str]]]] = [
        ("1 terminated instance", terminate),
        ("2 revert to snapshot", revert),
        ("3 recycle (-replace)", recycle),
    ]
    print(f"\nrecovery runs on the local cloud (median of {runs}; `relight local-cloud` in its own process)\n")
    print(f"{'scenario':<24} {'wall':>8} {'cloud API':>10} {'relight':>8} {'relight share':>14}")
    for name, prepare in scenarios:
        walls, clouds = [], []
        for _ in range(runs):
            args = prepare()
            wall, cloud = run(workdir, *args)
            walls.append(wall)
            clouds.append(cloud)
        w, c = statistics.median(walls), statistics.median(clouds)
        share = 100 * (w - c) / w
        print(f"{name:<24} {w:>7.2f}s {c:>9.2f}s {w - c:>7.2f}s {share:>13.0f}%")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main_bench()
