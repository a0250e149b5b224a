"""Drive the relight CLI (in this process) against the local cloud, and look at the cloud."""

from __future__ import annotations

import contextlib
import io
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from relight.cli.main import main
from relight.localcloud import ACCOUNT
from relight.runs import Runner, RunResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass
class Result:
    code: int
    out: str
    err: str
    seconds: float
    cloud_seconds: float
    calls: int

    @property
    def text(self) -> str:
        return self.out + self.err


def relight(workdir: Path, *args: str) -> Result:
    """Run ``relight -chdir=workdir ARGS`` in-process; capture output and the cloud-time split
    (from the results of the runs the command made)."""
    out, err = io.StringIO(), io.StringIO()
    results: list[RunResult] = []
    execute = Runner.execute

    def recording(self: Runner, *a: Any, **kw: Any) -> RunResult:
        result = execute(self, *a, **kw)
        results.append(result)
        return result

    started = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _patched(Runner, "execute", recording):
        code = main([f"-chdir={workdir}", *args])
    seconds = time.monotonic() - started
    cloud = sum(r.timings.cloud for r in results)
    calls = sum(r.timings.calls for r in results)
    return Result(code, out.getvalue(), err.getvalue(), seconds, cloud, calls)


@contextlib.contextmanager
def _patched(owner: Any, name: str, value: Any) -> Any:
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def copy_example(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("relight.tfstate*", ".relight*", "*.lock*"))
    return target


class Cloud:
    """What is really in the (local) cloud, through boto3."""

    def __init__(self) -> None:
        self.ec2: Any = boto3.client("ec2")
        self.cloudwatch: Any = boto3.client("cloudwatch")
        self.route53: Any = boto3.client("route53")

    def instances(self, state: str | None = "running") -> list[dict[str, Any]]:
        filters = [{"Name": "instance-state-name", "Values": [state]}] if state else []
        out = self.ec2.describe_instances(Filters=filters)
        return [i for r in out["Reservations"] for i in r["Instances"]]

    def volume(self, volume_id: str) -> dict[str, Any]:
        vol: dict[str, Any] = self.ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
        return vol

    def volumes(self) -> list[dict[str, Any]]:
        vols: list[dict[str, Any]] = self.ec2.describe_volumes()["Volumes"]
        return vols

    def snapshots(self) -> list[dict[str, Any]]:
        snaps: list[dict[str, Any]] = self.ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
        # The emulator also lists its images' own snapshots; keep the ones made from volumes.
        return [
            s for s in snaps if s["OwnerId"] == ACCOUNT and not s.get("Description", "").startswith("Auto-created")
        ]

    def alarms(self) -> dict[str, dict[str, Any]]:
        return {a["AlarmName"]: a for a in self.cloudwatch.describe_alarms()["MetricAlarms"]}

    def a_records(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for zone in self.route53.list_hosted_zones()["HostedZones"]:
            sets = self.route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
            for rs in sets:
                if rs["Type"] == "A":
                    out[rs["Name"].rstrip(".")] = [r["Value"] for r in rs.get("ResourceRecords", [])]
        return out

    def terminate(self, instance_id: str) -> None:
        self.ec2.terminate_instances(InstanceIds=[instance_id])
