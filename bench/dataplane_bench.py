"""The local cloud's data plane, measured: a fleet against the physical limit, and bytes copied.

1. **Fleet**: the local cloud runs as its own process with ``--latency 50ms`` (every API call
   answers 50 ms late, as a real cloud's do). ``relight apply`` creates N independent
   ``aws_instance`` objects at ``-parallelism`` P (each boots in its sandbox). The physical
   limit of such an apply is ``N x calls-per-object x latency / P``: each object needs its
   calls one after the other, P objects at a time. calls-per-object is counted by the local
   cloud (``GET /_relight/stats``). Printed: relight's wall time (its own 'Took' line: load,
   plan and apply), the limit, and how far above it relight is (target: within 10 %).
2. **Bytes**: a volume holding ``--volume-gib`` GiB of random data (written inside an instance
   through SSM): CreateSnapshot and CreateVolume-from-snapshot throughput through the API
   (the latency is subtracted), with a temporary data directory (no fsync) and with
   ``--data-dir`` (everything fsynced); and, on the same filesystem, what the alternatives
   cost: a reflink clone (``cp --reflink=always``), hard links (``cp -al``), a plain copy.

Usage: .venv/bin/python bench/dataplane_bench.py [--instances 200] [--parallelism 10,50]
       [--latency 50ms] [--volume-gib 1] [--skip-fleet] [--skip-bytes]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from _local_cloud import local_cloud_process

from relight.cli.args import parse_duration

IMAGE = "ami-760aaa0f"  # a public image of the emulator's: an empty root filesystem, a cheap boot
TOOK = re.compile(r"Took ([\d.]+)s: ([\d.]+)s waiting on the cloud API, ([\d.]+)s in relight\.")
FLEET = """
provider "aws" {{}}

resource "aws_instance" "fleet" {{
  count         = {n}
  ami           = "{image}"
  instance_type = "t3.micro"
  subnet_id     = "{subnet}"
  tags          = {{ Name = "fleet-${{count.index}}" }}
}}
"""


def _post(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url, method="POST", data=b""), timeout=60).close()


def _stats(endpoint: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{endpoint}/_relight/stats", timeout=10) as resp:
        return dict(json.load(resp))


def fleet(endpoint: str, n: int, parallelism: int, latency: float) -> dict[str, float]:
    """One apply of ``n`` instances; the figures of the report."""
    _post(f"{endpoint}/moto-api/reset")
    ec2: Any = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/20", AvailabilityZone="us-east-1a")["Subnet"]
    work = Path(tempfile.mkdtemp(prefix="relight-fleet-"))
    (work / "main.tf").write_text(FLEET.format(n=n, image=IMAGE, subnet=subnet["SubnetId"]))
    _post(f"{endpoint}/_relight/stats/reset")
    done = subprocess.run(
        [sys.executable, "-m", "relight", f"-chdir={work}", "apply", "-auto-approve", f"-parallelism={parallelism}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0 or f"{n} added" not in done.stdout:
        raise SystemExit(f"the fleet apply failed:\n{done.stdout}\n{done.stderr}")
    found = TOOK.search(done.stdout)
    assert found is not None, done.stdout
    wall, cloud, own = (float(g) for g in found.groups())
    stats = _stats(endpoint)
    calls = stats["requests"]
    per_object = sum(calls.values()) / n
    limit = n * per_object * latency / parallelism
    shutil.rmtree(work, ignore_errors=True)
    return {"wall": wall, "cloud": cloud, "relight": own, "calls_per_object": per_object, "limit": limit,
            "busy": stats["emulator_busy_seconds"], "calls": calls}  # type: ignore[dict-item]  # fmt: skip


def _run(ssm: Any, instance: str, *commands: str, timeout: int = 600) -> str:
    out = ssm.send_command(InstanceIds=[instance], DocumentName="AWS-RunShellScript",
                           Parameters={"commands": list(commands), "executionTimeout": [str(timeout)]})  # fmt: skip
    command_id = out["Command"]["CommandId"]
    ssm.get_waiter("command_executed").wait(
        CommandId=command_id, InstanceId=instance, WaiterConfig={"Delay": 1, "MaxAttempts": timeout}
    )
    return str(ssm.get_command_invocation(CommandId=command_id, InstanceId=instance)["StandardOutputContent"])


def bytes_through_the_api(gib: int, latency: float) -> dict[str, float]:
    """Snapshot and restore of a volume holding ``gib`` GiB, timed through the API."""
    ec2: Any = boto3.client("ec2")
    ssm: Any = boto3.client("ssm")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    node = ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0]["InstanceId"]
    volume = ec2.create_volume(Size=gib + 1, AvailabilityZone="us-east-1a")["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=node, Device="/dev/xvdf")
    _run(ssm, node, "echo '/dev/xvdf /data ext4 defaults 0 2' >> /etc/fstab")
    _run(ssm, node, f"head -c {gib * 1024**3} /dev/urandom > /data/big && sync")
    started = time.monotonic()
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    snap_s = time.monotonic() - started - latency
    started = time.monotonic()
    ec2.create_volume(SnapshotId=snapshot, AvailabilityZone="us-east-1a")
    restore_s = time.monotonic() - started - latency
    return {"snapshot": snap_s, "restore": restore_s, "gib": gib}


def alternatives(gib: int) -> dict[str, float | str]:
    """The same bytes on the same filesystem: reflink, hard links, and a plain copy."""
    from relight.localcloud.dataplane.store import copy_tree

    base = Path(tempfile.mkdtemp(prefix="relight-copies-", dir=Path(tempfile.gettempdir())))
    (base / "src").mkdir()
    with open(base / "src" / "big", "wb") as f:
        for _ in range(gib * 64):
            f.write(bytes(16 * 1024**2))  # zeros are fine: nothing here compresses or dedups
    subprocess.run(["sync"], check=False)
    out: dict[str, float | str] = {}
    for name, argv in (("reflink", ["cp", "-a", "--reflink=always"]), ("hardlinks", ["cp", "-al"])):
        started = time.monotonic()
        done = subprocess.run([*argv, str(base / "src"), str(base / name)], capture_output=True, text=True, check=False)
        out[name] = time.monotonic() - started if done.returncode == 0 else done.stderr.strip().splitlines()[-1]
    started = time.monotonic()
    copy_tree(base / "src", base / "plain")
    out["plain copy"] = time.monotonic() - started
    started = time.monotonic()
    copy_tree(base / "src", base / "plain-durable", durable=True)
    out["plain copy, fsynced"] = time.monotonic() - started
    shutil.rmtree(base, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--parallelism", default="10,50")
    parser.add_argument("--latency", default="50ms,500ms", help="one or more latencies; the first is used for bytes")
    parser.add_argument("--volume-gib", type=int, default=1)
    parser.add_argument("--skip-fleet", action="store_true")
    parser.add_argument("--skip-bytes", action="store_true")
    opts = parser.parse_args()
    latencies = opts.latency.split(",")
    if not opts.skip_fleet:
        print(f"Fleet: {opts.instances} independent aws_instance; relight's wall time (its 'Took' line)")
        print(f"  {'latency':>7} {'par.':>4} {'relight':>8} {'own':>6} {'limit':>7} {'over':>6} {'emu busy':>8} "
              f"{'over floor':>10}  calls/object")  # fmt: skip
        for text in latencies:
            latency = parse_duration(text)
            with local_cloud_process(f"--latency={text}") as endpoint:
                for p in (int(x) for x in opts.parallelism.split(",")):
                    r = fleet(endpoint, opts.instances, p, latency)
                    over = (r["wall"] / r["limit"] - 1) * 100
                    floor = max(r["limit"], r["busy"])  # the emulator handles one call at a time
                    verdict = "PASS" if over <= 10 else "FAIL"
                    print(f"  {text:>7} {p:>4} {r['wall']:>7.2f}s {r['relight']:>5.2f}s {r['limit']:>6.2f}s "
                          f"{over:>5.0f}% {r['busy']:>7.2f}s {(r['wall'] / floor - 1) * 100:>9.0f}%  "
                          f"{r['calls_per_object']:.2f}  {verdict}")  # fmt: skip
        print("  limit = N x calls-per-object x latency / parallelism (target: relight within 10% of it); own = "
              "relight's own time\n  (its 'Took' line); emu busy = seconds the emulator spent handling the calls, "
              "one at a time;\n  over floor = relight above max(limit, emu busy), the best this emulator allows.")
    latency = parse_duration(latencies[0])
    opts.latency = latencies[0]
    if not opts.skip_bytes:
        gib = opts.volume_gib
        print(f"\nBytes: a volume holding {gib} GiB of random data (API time, latency subtracted)")
        for label, args in (("temporary data dir", ()), ("--data-dir (fsynced)", ("--data-dir", tempfile.mkdtemp()))):
            with local_cloud_process(f"--latency={opts.latency}", *args):
                r = bytes_through_the_api(gib, latency)
            print(f"  {label:<22} snapshot {r['snapshot']:.2f}s ({gib / r['snapshot']:.2f} GiB/s), "
                  f"restore {r['restore']:.2f}s ({gib / r['restore']:.2f} GiB/s)")  # fmt: skip
            if args:
                shutil.rmtree(args[1], ignore_errors=True)
        print(f"\nThe alternatives, {gib} GiB on this filesystem ({_fstype()}):")
        for name, value in alternatives(gib).items():
            shown = f"{value:.2f}s" if isinstance(value, float) else f"not possible: {value}"
            print(f"  {name:<20} {shown}")


def _fstype() -> str:
    done = subprocess.run(["df", "--output=fstype", tempfile.gettempdir()], capture_output=True, text=True, check=False)
    return done.stdout.split()[-1] if done.returncode == 0 else "unknown"


if __name__ == "__main__":
    main()
