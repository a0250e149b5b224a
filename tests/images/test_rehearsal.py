"""Rehearsals on the local cloud's data plane: an upgrade from ghe-2.16 to ghe-2.17 on a copy of
the data 2.16 wrote, a downgrade on the pre-upgrade snapshot, and production untouched throughout."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from relight.cli.main import main
from relight.images.rehearsal import RehearsalReport, RehearsalRequest, rehearse
from relight.localcloud import LocalCloud
from relight.runs import ListSink, RunContext
from tests.localcloud.machines import GHE_216, Machines

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "github-enterprise"
V16, V17 = ("var", "ghe_version=2.16.0"), ("var", "ghe_version=2.17.0")


def production(tmp: Path, m: Machines) -> tuple[Path, str, str]:
    """The example stack at 2.16 with a token in its data: (directory, node, token)."""
    directory = tmp / "ws"
    shutil.copytree(EXAMPLE, directory)
    assert main(["-chdir", str(directory), "apply", "-auto-approve", "-var", "ghe_version=2.16.0"]) == 0
    node = outputs(directory)["instance_id"]
    token = os.urandom(8).hex()
    m.status(node)  # the service has written its schema
    m.sh(node, f"echo {token} > /data/ghe/token")
    return directory, node, token


def outputs(directory: Path) -> dict[str, Any]:
    doc = json.loads((directory / "relight.tfstate").read_text())
    return {k: v["value"] for k, v in doc["outputs"].items()}


def world(m: Machines, node: str) -> dict[str, Any]:
    """Every production object as the cloud describes it, and the data on its volume."""
    ec2, cw, r53 = m.ec2, _client("cloudwatch", m), _client("route53", m)
    live = [
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    ]
    zones = r53.list_hosted_zones()["HostedZones"]
    return {
        "instances": sorted(
            (
                i["InstanceId"],
                i["ImageId"],
                i["PrivateIpAddress"],
                i["State"]["Name"],
                tuple(sorted((b["DeviceName"], b["Ebs"]["VolumeId"]) for b in i.get("BlockDeviceMappings", []))),
            )
            for i in live
        ),
        "volumes": sorted(
            (
                v["VolumeId"],
                v["Size"],
                v["State"],
                v.get("SnapshotId"),
                tuple(a["InstanceId"] for a in v["Attachments"]),
            )
            for v in ec2.describe_volumes()["Volumes"]
        ),
        "vpcs": sorted(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]),
        "subnets": sorted(s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]),
        "groups": sorted(g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]),
        "alarms": sorted(
            (a["AlarmName"], json.dumps(a["Dimensions"]), tuple(a["AlarmActions"]))
            for a in cw.describe_alarms()["MetricAlarms"]
        ),
        "records": sorted(
            (z["Id"], r["Name"], r["Type"], json.dumps(r.get("ResourceRecords")))
            for z in zones
            for r in r53.list_resource_record_sets(HostedZoneId=z["Id"])["ResourceRecordSets"]
        ),
        "data": m.sh(node, "cat /data/ghe/token /data/ghe/schema; ls /data/ghe"),
    }


def _client(service: str, m: Machines) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=m.endpoint)


def snapshots(m: Machines) -> set[str]:
    return {
        s["SnapshotId"]
        for s in m.ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
        if s.get("VolumeId", "").startswith("vol-") and s.get("Description", "").find("ami") < 0
    }


def run(directory: Path, *variables: tuple[str, str], **kw: Any) -> RehearsalReport:
    context = RunContext(directory=str(directory), environment=dict(os.environ))
    request = RehearsalRequest(variables=tuple(variables), **kw)  # type: ignore[arg-type]
    return rehearse(request, context, str(directory / ".relight" / "rehearsals"), sink=ListSink())


def test_upgrade_then_downgrade_rehearsals_leave_production_untouched(dataplane: LocalCloud, tmp_path: Path) -> None:
    m = Machines(dataplane)
    directory, node, token = production(tmp_path, m)
    state_before = (directory / "relight.tfstate").read_bytes()
    before = world(m, node)
    snaps_before = snapshots(m)

    # A snapshot for a volume production does not have is refused before anything is made.
    typo = run(directory, V17, snapshots={"aws_ebs_volume.ghe_dat": "snap-0123"})
    assert typo.status == "errored" and "aws_ebs_volume.ghe_dat" in (typo.error or "") and not typo.created
    assert world(m, node) == before

    # Rehearse the upgrade: 2.17 on a copy of the data 2.16 wrote (no snapshot yet: a fresh one).
    up = run(directory, V17)
    assert up.passed, (up.error, [c.to_json() for c in up.checks], up.log)
    status = json.loads(up.checks[0].output)
    assert status["version"] == "2.17.0" and status["data_token"] == token and status["migrated_from"] == 16
    assert up.checks[1].output.strip() == "17"
    assert len(up.fresh_snapshots) == 1 and up.left_behind == []
    phases = [up.timings[k] for k in ("apply", "checks", "destroy")]
    assert min(phases) >= 0 and sum(phases) <= up.timings["total"]
    assert "aws_route53_record.ghe" not in up.created and "aws_instance.ghe_node" in up.created
    assert len(up.booted) == 1 and up.booted[0].startswith("ami-") and up.booted[0] != before["instances"][0][1]
    assert (Path(up.directory) / "report.json").is_file() and "Creation complete" in (
        Path(up.directory) / "log.txt"
    ).read_text()

    after = world(m, node)
    assert after == before  # every production object and its data (schema still 16)
    assert snapshots(m) == snaps_before | set(up.fresh_snapshots)
    assert (directory / "relight.tfstate").read_bytes() == state_before

    # The real upgrade (the data migrates to 17), then rehearse the way back: 2.16 on the
    # pre-upgrade snapshot (the one the upgrade rehearsal took).
    assert main(["-chdir", str(directory), "apply", "-auto-approve", "-var", "ghe_version=2.17.0"]) == 0
    new_node = outputs(directory)["instance_id"]
    assert m.status(new_node)["schema"] == 17
    down = run(directory, V16, downgrade=True)
    assert down.passed, (down.error, [c.to_json() for c in down.checks], down.log)
    assert down.image == GHE_216 and down.snapshots == {"aws_ebs_volume.ghe_data": up.fresh_snapshots[0]}
    assert json.loads(down.checks[0].output)["schema"] == 16

    # 2.16 on today's data (schema 17) fails, as GitHub Enterprise refuses newer data; nothing is left.
    before = world(m, new_node)
    refused = run(directory, V16, fresh_snapshot=True, timeout=6.0)
    assert refused.status == "failed" and not refused.checks[0].passed
    assert "409" in refused.checks[0].detail and refused.left_behind == []
    assert world(m, new_node) == before


def test_cli_rehearse_reports_and_exit_codes(
    dataplane: LocalCloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    m = Machines(dataplane)
    directory, _node, _token = production(tmp_path, m)
    capsys.readouterr()
    assert main(["-chdir", str(directory), "rehearse", "-var", "ghe_version=2.17.0"]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and "ok   http /status" in out and "report:" in out
    assert (
        main(
            [
                "-chdir",
                str(directory),
                "rehearse",
                "-json",
                "-var",
                "ghe_version=2.16.0",
                "-image",
                "ami-0bad",
                "-timeout",
                "1s",
            ]
        )
        == 1
    )
    doc = json.loads(capsys.readouterr().out)
    # An image that does not serve (the emulator boots an unknown id as an empty machine): the
    # checks fail within the timeout, the exit code says so, and the stack is gone.
    assert doc["status"] == "failed" and doc["left_behind"] == [] and not doc["checks"][0]["passed"]
    # --keep leaves the stack for a person; --cleanup ID (with the same -var) destroys it.
    before = world(m, _node)
    assert main(["-chdir", str(directory), "rehearse", "-json", "-keep", "-var", "ghe_version=2.17.0"]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert kept["created"] and world(m, _node) != before
    assert main(["-chdir", str(directory), "rehearse", "-cleanup", kept["id"], "-var", "ghe_version=2.17.0"]) == 0
    capsys.readouterr()
    assert world(m, _node) == before
