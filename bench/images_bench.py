"""Image builds and rehearsals on the local cloud: where the time goes, and how many AWS calls.

    .venv/bin/python bench/images_bench.py [--runs 5] [--with-packer]

Prints, for ``examples/ghe-image`` built on the embedded local cloud (``LocalCloud``, data plane
on), over ``--runs`` forced builds: wall time split into the cloud's time (inside AWS calls and
waits, as the builder measures it) and relight's own time (the rest), as median and range; the
AWS calls of one build by operation, counted both by the builder and at the local cloud's
endpoint (``/_relight/stats``). Then ``--runs`` rehearsals of ``examples/github-enterprise`` on
a copy of its data, per phase (apply, checks, destroy; the apply's cloud time).

``--with-packer`` also builds with the ``packer`` binary (Debian's 1.6.6) against the same
endpoint and counts its calls there, side by side with relight's. Packer 1.6.6 cannot reach an
instance through SSM and the local cloud's instances have no network, so that comparison uses
the template with ``communicator = "none"`` and no provisioners, for both tools (the same
amazon-ebs steps without the provisioning).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from relight.images import BuildRequest, run_builds  # noqa: E402
from relight.images.rehearsal import RehearsalRequest, rehearse  # noqa: E402
from relight.localcloud import LocalCloud  # noqa: E402
from relight.runs import Approval, ListSink, Operation, RunContext, Runner, RunRequest  # noqa: E402

BARE = """
variable "endpoint" {
  type = string
}

variable "prefix" {
  type    = string
  default = "relight"
}

source "amazon-ebs" "bare" {
  region                     = "us-east-1"
  custom_endpoint_ec2        = var.endpoint
  skip_region_validation     = true
  skip_credential_validation = true
  skip_metadata_api_check    = true
  ami_name                   = "${var.prefix}-bare-${regex_replace(timestamp(), "[- TZ:]", "")}"
  instance_type              = "t3.micro"
  source_ami                 = "ami-0a17e2170c0ffee02"
  communicator               = "none"
  tags = {
    Name = "bare"
  }
}

build {
  sources = ["source.amazon-ebs.bare"]
}
"""


def stats(endpoint: str, reset: bool = False) -> Counter[str]:
    if reset:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/_relight/stats/reset", method="POST")).read()
        return Counter()
    with urllib.request.urlopen(f"{endpoint}/_relight/stats") as resp:
        return Counter(json.load(resp)["requests"])


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):5.2f}s (min {min(values):.2f}, max {max(values):.2f})"


def build_once(env: dict[str, str], template: str, registry: str, variables: tuple[tuple[str, str], ...]) -> Any:
    request = BuildRequest(template, registry, base=template, variables=variables, force=True)
    began = time.monotonic()
    run = run_builds(request, env, ListSink(), None)
    if not run.ok:
        raise SystemExit(f"the build failed: {[r.error for r in run.results]} {list(run.diagnostics)}")
    result = run.results[0]
    result.whole = time.monotonic() - began  # with the template read and the registry written
    return result


def bench_builds(cloud: LocalCloud, env: dict[str, str], work: Path, runs: int) -> Counter[str]:
    template = work / "ghe-image"
    shutil.copytree(ROOT / "examples" / "ghe-image", template)
    registry = str(work / "registry")
    walls, clouds, own, wholes = [], [], [], []
    endpoint_calls: Counter[str] = Counter()
    result = None
    for _ in range(runs):
        stats(cloud.endpoint, reset=True)
        result = build_once(env, str(template), registry, (("var", "ghe_version=2.18.0"),))
        endpoint_calls = stats(cloud.endpoint)
        walls.append(result.seconds)
        wholes.append(result.whole)
        clouds.append(result.cloud_seconds)
        own.append(result.seconds - result.cloud_seconds)
    assert result is not None
    print(f"\nBuild of examples/ghe-image (3 provisioners over SSM), {runs} forced builds:")
    print(f"  command   {spread(wholes)}   (the whole run_builds: template read, registry written)")
    print(f"  build     {spread(walls)}   (the build's own clock)")
    print(f"  cloud     {spread(clouds)}   (inside AWS calls and waits)")
    print(f"  relight   {spread(own)}   (the build's clock minus the cloud's)")
    print(f"  AWS calls per build: {sum(result.calls.values())} counted by the builder, "
          f"{sum(endpoint_calls.values())} at the endpoint")  # fmt: skip
    for op, n in sorted(result.calls.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"    {op:<28} {n:>3}")
    return Counter(result.calls)


def bench_packer(cloud: LocalCloud, env: dict[str, str], work: Path) -> None:
    bare = work / "bare"
    bare.mkdir()
    (bare / "bare.pkr.hcl").write_text(BARE)
    variables = (("var", f"endpoint={cloud.endpoint}"),)
    stats(cloud.endpoint, reset=True)
    ours = build_once(env, str(bare), str(work / "registry"), variables)
    ours_endpoint = stats(cloud.endpoint)
    packer = shutil.which("packer")
    theirs: Counter[str] = Counter()
    packer_seconds = 0.0
    if packer is None:
        print("\n  packer is not installed (apt-get install packer): no side-by-side count.")
    else:
        stats(cloud.endpoint, reset=True)
        began = time.monotonic()
        proc = subprocess.run(
            [packer, "build", "-machine-readable", f"-var=endpoint={cloud.endpoint}", "-var=prefix=packer", "."],
            cwd=bare, env={**env, "PACKER_CHECKPOINT_DISABLE": "1"}, capture_output=True, text=True, check=False,
        )  # fmt: skip
        packer_seconds = time.monotonic() - began
        theirs = stats(cloud.endpoint)
        if proc.returncode != 0:
            print(f"\n  packer failed (exit {proc.returncode}): {proc.stdout[-800:]}{proc.stderr[-400:]}")
    print('\nThe same amazon-ebs build with communicator = "none", no provisioners: calls at the endpoint')
    version = subprocess.run([packer, "version"], capture_output=True, text=True).stdout.strip() if packer else "-"
    print(f"  {'operation':<30} {'relight':>8} {version:>12}")
    for op in sorted(set(ours_endpoint) | set(theirs), key=lambda o: (-(ours_endpoint[o] + theirs[o]), o)):
        print(f"  {op:<30} {ours_endpoint[op]:>8} {theirs[op]:>12}")
    print(f"  {'total':<30} {sum(ours_endpoint.values()):>8} {sum(theirs.values()):>12}")
    print(f"  wall: relight {ours.seconds:.2f}s, packer {packer_seconds:.2f}s (its process start included)")


def production(env: dict[str, str], cloud: LocalCloud, work: Path) -> Path:
    import boto3

    directory = work / "github-enterprise"
    shutil.copytree(ROOT / "examples" / "github-enterprise", directory)
    result = Runner().execute(
        RunRequest(Operation.APPLY, approval=Approval.AUTO), RunContext(str(directory), environment=env)
    )
    if not result.ok:
        raise SystemExit(f"the stack did not apply: {[d.summary for d in result.diagnostics]}")
    ec2, ssm = boto3.client("ec2"), boto3.client("ssm")
    running = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
    node = next(i["InstanceId"] for r in running["Reservations"] for i in r["Instances"])
    time.sleep(1.0)  # the service writes its schema first
    command = ssm.send_command(
        InstanceIds=[node], DocumentName="AWS-RunShellScript", Parameters={"commands": ["echo t > /data/ghe/token"]}
    )["Command"]["CommandId"]
    ssm.get_waiter("command_executed").wait(CommandId=command, InstanceId=node)
    return directory


def bench_rehearsals(cloud: LocalCloud, env: dict[str, str], work: Path, runs: int) -> None:
    directory = production(env, cloud, work)
    phases: dict[str, list[float]] = {}
    for n in range(runs):
        context = RunContext(directory=str(directory), environment=env)
        # The first takes a fresh snapshot of production's data; the others reuse it (the latest).
        request = RehearsalRequest(variables=(("var", "ghe_version=2.18.0"),))  # the image just built
        report = rehearse(request, context, str(directory / ".relight" / "rehearsals"), sink=ListSink())
        if not report.passed:
            raise SystemExit(f"rehearsal {n} failed: {report.error} {[c.to_json() for c in report.checks]}")
        for key, value in report.timings.items():
            phases.setdefault(key, []).append(value)
    print(f"\nRehearsal of examples/github-enterprise on ghe 2.18.0 (8 resources: no DNS; 2 checks), {runs} runs:")
    for key in ("total", "apply", "apply_cloud", "checks", "destroy"):
        if key in phases:
            print(f"  {key:<12} {spread(phases[key])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--with-packer", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="relight-images-bench-"))
    with LocalCloud(port=0) as cloud:
        if cloud.data_plane is None:
            print(f"The data plane is off ({cloud.data_plane_reason}): builds cannot provision here.")
            return 1
        env = {**cloud.env(), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        os.environ.update(cloud.env())
        print(f"Local cloud at {cloud.endpoint}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        bench_builds(cloud, env, work, args.runs)
        if args.with_packer:
            bench_packer(cloud, env, work)
        bench_rehearsals(cloud, env, work, args.runs)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
