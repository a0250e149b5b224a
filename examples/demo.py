"""The demo: a stateful node that comes back the same way after any failure, on the local cloud.

Run it with ``make demo``. It starts the embedded local cloud (an AWS API emulator on
127.0.0.1, no account needed), stands up ``examples/github-enterprise`` in a scratch copy, then
plays the seed's three failure scenarios, then the upgrade (a new image built from
``examples/ghe-image``, rehearsed on a copy of the data, promoted and rolled out), then the
pull-request pipeline (``demo_pipeline.py``), the upgrade included.
Each step shows what was done to the cloud, the ``relight`` commands a person (or the robot)
runs and what they print, what was checked afterwards, and how long it took, split into waiting
on the cloud API and relight's own time.

The node runs (the local cloud's data plane): a stand-in GitHub Enterprise keeps its data on the
data volume. A random data token is written into it through SSM, and read back from the
service after each recovery, so the demo shows the data itself surviving.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from demo_pipeline import run as pipeline_story

from relight.localcloud import ACCOUNT, LocalCloud

HERE = os.path.dirname(os.path.abspath(__file__))
IP = "10.0.1.10"
TOOK = re.compile(r"Took ([\d.]+)s: ([\d.]+)s waiting on the cloud API, ([\d.]+)s in relight\.")


@dataclass
class Timing:
    step: str
    wall: float
    cloud: float
    relight: float


TIMINGS: list[Timing] = []


def say(text: str = "") -> None:
    print(text, flush=True)


SHOWN = {
    "progress": (
        "Creating",
        "Destroying",
        "Modifying",
        "complete",
        "kept",
        "Took",
        "adopted",
        "Error",
        "Apply",
        "Enter a value",
    ),
    "build": ("==>", "-->", "AMI", ": ami-", "took", "Error", "left behind"),
    "rehearsal": ("==>", "Rehearsal r-", "  image:", "  data:", "  ok", "  FAIL", "  left behind", "Error"),
    "summary": ("must be replaced", "forces replacement", "will be", "Plan:", "Error", "Do you want", "Enter a value"),
}


def relight(work: str, *args: str, show: str = "all", label: str = "", answer: str | None = None) -> str:
    """Run ``relight ARGS`` as a user would (``answer``: what the person types at its prompt);
    print its output: "all", "none", or only the lines of one of the ``SHOWN`` kinds."""
    say(f"\n  $ {'echo ' + answer.strip() + ' | ' if answer else ''}relight {' '.join(args)}")
    proc = subprocess.run(
        [sys.executable, "-m", "relight", *args],
        cwd=work,
        capture_output=True,
        text=True,
        input=answer if answer is not None else "",
        check=False,
    )
    text = proc.stdout + proc.stderr
    if answer is not None:  # the prompt as the person saw it, with what they typed
        text = text.replace("Enter a value: ", f"Enter a value: {answer.strip()}\n", 1)
    lines = text.rstrip().splitlines()
    if show in SHOWN:
        lines = [ln for ln in lines if any(k in ln for k in SHOWN[show]) and "Refreshing" not in ln]
    if show != "none":
        for line in lines:
            say(f"    {line}")
    if proc.returncode != 0:
        say(f"\ndemo: relight {' '.join(args)} failed (exit {proc.returncode})")
        sys.exit(1)
    found = TOOK.search(text)
    if found and label:
        TIMINGS.append(Timing(label, *(float(g) for g in found.groups())))
    return text


class View:
    """The cloud as boto3 sees it: what a person would check in the console."""

    def __init__(self) -> None:
        self.ec2: Any = boto3.client("ec2")
        self.cloudwatch: Any = boto3.client("cloudwatch")
        self.route53: Any = boto3.client("route53")

    def node(self) -> dict[str, Any]:
        out = self.ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
        running = [i for r in out["Reservations"] for i in r["Instances"]]
        assert len(running) == 1, f"expected one running node, found {len(running)}"
        return dict(running[0])

    def data_volume(self) -> dict[str, Any]:
        vols = self.ec2.describe_volumes(Filters=[{"Name": "tag:Name", "Values": ["github-enterprise-data"]}])
        return dict(vols["Volumes"][0])

    def check(self, volume_id: str) -> str:
        node = self.node()
        iid = node["InstanceId"]
        vol = self.ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
        attached = [(a["InstanceId"], a["Device"]) for a in vol["Attachments"]]
        alarms = self.cloudwatch.describe_alarms()["MetricAlarms"]
        watched = {a["AlarmName"]: a["Dimensions"][0]["Value"] for a in alarms}
        zone = self.route53.list_hosted_zones()["HostedZones"][0]["Id"]
        records = self.route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
        dns = {r["Name"]: [x["Value"] for x in r["ResourceRecords"]] for r in records if r["Type"] == "A"}
        checks = [
            (node["PrivateIpAddress"] == IP, f"node {iid} is running with the private IP {node['PrivateIpAddress']}"),
            (attached == [(iid, "/dev/xvdf")], f"data volume {volume_id} is attached to it at /dev/xvdf"),
            (set(watched.values()) == {iid}, f"alarms {', '.join(sorted(watched))} watch {iid}"),
            (dns.get("ghe.corp.internal.") == [IP], f"DNS ghe.corp.internal -> {IP}"),
        ]
        for ok, text in checks:
            say(f"    {'ok ' if ok else 'FAIL'} {text}")
            if not ok:
                sys.exit(1)
        return str(iid)


class Data:
    """The node's data as its users see it: the stand-in service's /status, and SSM to act inside.

    Everything here is plain AWS API traffic (SSM Run Command) plus HTTP to the node's service at
    the host address the local cloud reports for it (``GET /_relight/instances/<id>``)."""

    def __init__(self, view: View, endpoint: str) -> None:
        self.view = view
        self.endpoint = endpoint
        self.ssm: Any = boto3.client("ssm")

    def run(self, instance: str, *commands: str) -> str:
        out = self.ssm.send_command(
            InstanceIds=[instance], DocumentName="AWS-RunShellScript", Parameters={"commands": list(commands)}
        )
        command_id = out["Command"]["CommandId"]
        self.ssm.get_waiter("command_executed").wait(
            CommandId=command_id, InstanceId=instance, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        return str(self.ssm.get_command_invocation(CommandId=command_id, InstanceId=instance)["StandardOutputContent"])

    def status(self, instance: str) -> tuple[str, dict[str, Any]]:
        """The service's URL and its /status, once it is up with its data volume mounted."""
        deadline = time.monotonic() + 60
        while True:
            with urllib.request.urlopen(f"{self.endpoint}/_relight/instances/{instance}") as resp:
                address = json.load(resp)["ports"].get("80")
            if address:
                url = f"http://{address}/status"
                try:
                    with urllib.request.urlopen(url, timeout=5) as resp:
                        return url, dict(json.load(resp))
                except (urllib.error.URLError, OSError):
                    pass
            if time.monotonic() > deadline:
                say(f"demo: the service of {instance} did not come up")
                sys.exit(1)
            time.sleep(0.2)

    def write_token(self, why: str) -> str:
        instance = self.view.node()["InstanceId"]
        self.status(instance)
        token = secrets.token_hex(6)
        self.run(instance, f"echo {token} > /data/ghe/token")
        say(f"    data token {token} written into the service's data through SSM ({why})")
        return token

    def show(self, moment: str, expected: str) -> None:
        instance = self.view.node()["InstanceId"]
        url, status = self.status(instance)
        token = status.get("data_token")
        ok = token == expected
        say(f"    {'ok ' if ok else 'FAIL'} {moment}: {url} (GitHub Enterprise {status['version']}) "
            f"serves data token {token}")  # fmt: skip
        if not ok:
            sys.exit(1)

    def show_kept(self, snapshot: str, expected: str) -> None:
        """Restore ``snapshot`` to a scratch volume on the node, read its token, clean up."""
        node = self.view.node()
        ec2 = self.view.ec2
        scratch = ec2.create_volume(SnapshotId=snapshot, AvailabilityZone=node["Placement"]["AvailabilityZone"])
        volume = scratch["VolumeId"]
        ec2.attach_volume(VolumeId=volume, InstanceId=node["InstanceId"], Device="/dev/xvdg")
        self.run(
            node["InstanceId"],
            "grep -q xvdg /etc/fstab || echo '/dev/xvdg /restore ext4 defaults,nofail 0 2' >> /etc/fstab",
        )
        token = self.run(node["InstanceId"], "cat /restore/ghe/token").strip()
        ec2.detach_volume(VolumeId=volume)
        ec2.delete_volume(VolumeId=volume)
        ok = token == expected
        say(f"    {'ok ' if ok else 'FAIL'} the data it replaced is in {snapshot}: restored to a scratch volume, "
            f"it holds data token {token}")  # fmt: skip
        if not ok:
            sys.exit(1)


def production_view(view: View, data: Data) -> dict[str, Any]:
    """What the rehearsal must not touch: the node, its image, IP and volumes, the alarms, DNS
    and the data the service serves."""
    node = view.node()
    alarms = view.cloudwatch.describe_alarms()["MetricAlarms"]
    zones = view.route53.list_hosted_zones()["HostedZones"]
    records = [
        (z["Id"], r["Name"], json.dumps(r.get("ResourceRecords")))
        for z in zones
        for r in view.route53.list_resource_record_sets(HostedZoneId=z["Id"])["ResourceRecordSets"]
    ]
    volumes = [(v["VolumeId"], v["State"], tuple(a["InstanceId"] for a in v["Attachments"]))
               for v in view.ec2.describe_volumes()["Volumes"]]  # fmt: skip
    return {
        "node": (node["InstanceId"], node["ImageId"], node["PrivateIpAddress"]),
        "volumes": sorted(volumes),
        "alarms": sorted((a["AlarmName"], json.dumps(a["Dimensions"]), tuple(a["AlarmActions"])) for a in alarms),
        "records": sorted(records),
        "status": data.status(node["InstanceId"])[1],
    }


def upgrade_story(work: str, view: View, data: Data, variables: tuple[str, ...], token: str, volume: str) -> None:
    """A new version is a new image: build it, rehearse it on a copy of the data, promote it,
    and roll the node onto it with a confirmed apply (same IP, same data volume, same data)."""
    started = time.monotonic()
    template = os.path.join(os.path.dirname(work), "ghe-image")
    shutil.copytree(os.path.join(HERE, "ghe-image"), template, dirs_exist_ok=True)
    say("\n[5b] The upgrade: a new version of the service is a new image.")
    say("    Build GitHub Enterprise 2.18.0 from the Packer template examples/ghe-image (on the 2.17.0")
    say("    image: launch, provision over SSM, stop, create the image, clean up what the build made):")
    text = relight(work, "image", "build", "-var=ghe_version=2.18.0", "../ghe-image", show="build")
    found = re.search(r"us-east-1: (ami-[0-9a-f]+)", text)
    if found is None:
        say("demo: the build printed no image id")
        sys.exit(1)
    image = found.group(1)
    relight(work, "image", "list")

    say("\n    Rehearse it before it reaches the node: the same configuration as a throwaway stack,")
    say("    the new image on a copy of production's data (a fresh snapshot), isolated, checked, torn down:")
    before = production_view(view, data)
    relight(work, "rehearse", "-var=ghe_version=2.18.0", *variables, show="rehearsal")
    after = production_view(view, data)
    untouched = before == after
    say(f"    {'ok ' if untouched else 'FAIL'} production untouched: node {after['node'][0]} on {after['node'][1]}, "
        f"its volumes, alarms, DNS and data token {after['status'].get('data_token')} are as before")  # fmt: skip
    if not untouched:
        sys.exit(1)

    say("\n    The rehearsal passed: promote the image, and point the workspace at the production channel")
    say("    (a pull request sets ghe_version = 2.18.0 and image_channel = production).")
    relight(work, "image", "promote", image, "--channel", "production")
    upgrade = ("-var=ghe_version=2.18.0", "-var=image_channel=production", *variables)
    relight(work, "plan", "-no-color", *upgrade, show="summary")
    say("    The node is replaced; the data volume, the IP and DNS are not. A person confirms:")
    relight(work, "apply", "-no-color", *upgrade, show="progress", label="upgrade: node replaced", answer="yes\n")
    node = view.check(volume)
    image_now = view.node()["ImageId"]
    say(f"    {'ok ' if image_now == image else 'FAIL'} node {node} boots {image_now}, the promoted image")
    data.show("after the upgrade", token)
    _, status = data.status(node)
    upgraded = status.get("version") == "2.18.0" and status.get("migrated_from") == 17
    say(f"    {'ok ' if upgraded else 'FAIL'} GitHub Enterprise {status.get('version')} migrated the data "
        f"from schema {status.get('migrated_from')} to {status.get('schema')}")  # fmt: skip
    if image_now != image or not upgraded:
        sys.exit(1)
    say(f"    -> the upgrade story took {time.monotonic() - started:.1f}s.")


def main() -> int:
    say("relight demo: a stateful node that comes back the same way after any failure")
    say("=" * 78)
    started = time.monotonic()
    with LocalCloud() as cloud:
        os.environ.update(cloud.env())
        say(f"\n[0] The embedded local cloud (an AWS API emulator) is up at {cloud.endpoint}")
        say("    Everything below is plain AWS API traffic; point the same config at a real")
        say("    account and only the endpoint changes (see README, 'Real AWS').")
        work = os.path.join(tempfile.mkdtemp(prefix="relight-demo-"), "github-enterprise")
        shutil.copytree(os.path.join(HERE, "github-enterprise"), work)
        say(f"    Working copy of examples/github-enterprise: {work}")
        view = View()

        say("\n[1] Stand up the stack: VPC, subnet, security group, the node from the ghe image with")
        say("    a fixed private IP, a separate 100 GB data volume, its attachment, two alarms and DNS.")
        relight(work, "apply", "-auto-approve", show="progress", label="stand-up")
        volume = view.data_volume()["VolumeId"]
        first = view.check(volume)
        data = Data(view, cloud.endpoint) if cloud.data_plane is not None else None
        if data is None:
            say(f"    (no data plane here: {cloud.data_plane_reason}; the data token checks are skipped)")
        else:
            token = data.write_token("today's data")
            data.show("before the failure", token)

        say("\n[2] Scenario 1: the node dies. Someone terminates it by hand:")
        say(f"      aws ec2 terminate-instances --instance-ids {first}")
        view.ec2.terminate_instances(InstanceIds=[first])
        say("    Recovery is one run. The plan finds the node deleted and re-wires what depends on it:")
        relight(work, "plan", "-no-color")
        relight(work, "apply", "-auto-approve", show="progress", label="scenario 1: node terminated")
        second = view.check(volume)
        if data is not None:
            data.show("after the recovery", token)
        say(f"    -> a new node ({second}), the same IP, the same data volume, alarms moved, DNS untouched.")

        say("\n[3] Scenario 2: revert to an older snapshot. A nightly snapshot exists:")
        nightly = view.ec2.create_snapshot(VolumeId=volume, Description="nightly")["SnapshotId"]
        say(f"      {nightly} (nightly, of {volume})")
        if data is not None:
            nightly_token, token = token, data.write_token("after the nightly snapshot")
            data.show("before the revert", token)
        say("    A pull request sets snapshot_id; the plan replaces the volume and says it will")
        say("    snapshot the current one first, so today's data is never lost:")
        relight(work, "plan", "-no-color", f"-var=snapshot_id={nightly}")
        text = relight(
            work, "apply", "-auto-approve", f"-var=snapshot_id={nightly}", show="progress", label="scenario 2: revert"
        )
        new_volume = view.data_volume()["VolumeId"]
        kept = re.search(r"kept (snap-[0-9a-f]+)", text)
        restored_from = view.ec2.describe_volumes(VolumeIds=[new_volume])["Volumes"][0].get("SnapshotId")
        say(f"    ok  new data volume {new_volume} was created from {restored_from}")
        say(f"    ok  the old volume's data is in {kept.group(1) if kept else '?'} (recorded in the state file)")
        view.check(new_volume)
        if data is not None:
            data.show("after the revert (the nightly snapshot's data)", nightly_token)
            if kept:
                data.show_kept(kept.group(1), token)
            token = nightly_token

        say("\n[4] Scenario 3: recycle the node (a fresh instance, e.g. after patching the image).")
        relight(
            work,
            "apply",
            "-auto-approve",
            "-replace=aws_instance.ghe_node",
            f"-var=snapshot_id={nightly}",
            show="progress",
            label="scenario 3: -replace",
        )
        third = view.check(new_volume)
        if data is not None:
            data.show("after -replace", token)
        say("    ...or the old way from the seed: terminate it and trigger a run.")
        view.ec2.terminate_instances(InstanceIds=[third])
        relight(
            work,
            "apply",
            "-auto-approve",
            f"-var=snapshot_id={nightly}",
            show="progress",
            label="scenario 3: terminate + run",
        )
        view.check(new_volume)
        if data is not None:
            data.show("after terminate + run", token)

        snaps = view.ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
        ours = [s for s in snaps if s["OwnerId"] == ACCOUNT and not s.get("Description", "").startswith("Auto")]
        say(f"\n[5] Nothing was lost: {len(ours)} snapshots kept, one data volume in use, one node running.")
        relight(work, "state", "list")

        if data is not None:
            upgrade_story(work, view, data, (f"-var=snapshot_id={nightly}",), token, new_volume)
        else:
            say("\n[5b] The upgrade story is skipped: image builds and rehearsals need the data plane.")

        cloud.reset()  # the pipeline story stands the stack up again, through pull requests
        pipeline_story(Path(work).parent / "pipeline", cloud.endpoint if data is not None else None)

    say("\nTime per run (from relight's own 'Took' line):\n")
    say(f"    {'step':<30} {'wall':>7} {'cloud API':>10} {'relight':>8}")
    for t in TIMINGS:
        say(f"    {t.step:<30} {t.wall:>6.1f}s {t.cloud:>9.1f}s {t.relight:>7.1f}s")
    say(f"\nDemo finished in {time.monotonic() - started:.1f}s. The local cloud has stopped; its objects are gone.")
    say(f"The working copy (with its state file) is left in {work}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
