"""Adopting the example stack from a Terraform state on the local cloud, and handing it back.

The objects are made by relight (examples/github-enterprise); then relight's state is thrown
away and replaced by the state Terraform's AWS provider v5 would have written for those objects
(see terraform_aws.py). relight must adopt it and plan nothing, with and without refresh, and
``state pull -format=terraform`` must give Terraform back exactly what it wrote.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from relight.localcloud import LocalCloud
from tests.aws.stack import copy_example, relight

from .terraform_aws import TerraformAwsV5

LINEAGE = "8f3c2b1a-51c4-2e8d-93a7-0c9d7e5f1a22"


def stack_ids(workdir: Path) -> dict[str, Any]:
    """The object ids relight recorded for the stack (only the ids are used)."""
    doc = json.loads((workdir / "relight.tfstate").read_text())
    by = {(r["mode"], r["type"], r["name"]): r["instances"][0]["attributes"] for r in doc["resources"]}

    def a(type_: str, name: str, mode: str = "managed") -> dict[str, Any]:
        return by[(mode, type_, name)]

    att, rec = a("aws_volume_attachment", "ghe_data"), a("aws_route53_record", "ghe")
    return {
        "ami": a("aws_ami", "ghe", "data")["id"],
        "vpc": a("aws_vpc", "main")["id"],
        "subnet": a("aws_subnet", "private")["id"],
        "security_group": a("aws_security_group", "ghe")["id"],
        "instance": a("aws_instance", "ghe_node")["id"],
        "volume": a("aws_ebs_volume", "ghe_data")["id"],
        "attachment": (att["device_name"], att["volume_id"], att["instance_id"]),
        "cpu_alarm": "ghe-cpu-high",
        "status_alarm": "ghe-status-check-failed",
        "zone": a("aws_route53_zone", "internal")["id"],
        "record": (rec["zone_id"], rec["name"], rec["type"]),
    }


def lines(doc: Any) -> list[str]:
    """JSON as lines, so a failed comparison shows the differing ones."""
    return json.dumps(doc, indent=1, sort_keys=True).splitlines()


def forget_relight_state(workdir: Path) -> None:
    for path in workdir.glob("relight.tfstate*"):
        path.unlink()
    shutil.rmtree(workdir / ".relight", ignore_errors=True)


@pytest.fixture
def terraform_managed(cloud: LocalCloud, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The example stack on the local cloud, known only to a Terraform v5 state file."""
    workdir = copy_example("github-enterprise", tmp_path)
    made = relight(workdir, "apply", "-auto-approve")
    assert made.code == 0, made.text
    tf = TerraformAwsV5().state(stack_ids(workdir), LINEAGE, 7)
    forget_relight_state(workdir)
    (workdir / "terraform.tfstate").write_text(json.dumps(tf, indent=2))
    return workdir, tf


def test_the_stack_is_adopted_with_no_changes_and_handed_back_as_terraform_wrote_it(
    terraform_managed: tuple[Path, dict[str, Any]],
) -> None:
    workdir, tf = terraform_managed
    refused = relight(workdir, "apply", "-auto-approve")
    assert refused.code == 1 and "This stack is still managed by Terraform" in refused.err
    assert not (workdir / "relight.tfstate").exists()

    pushed = relight(workdir, "state", "push", "terraform.tfstate")
    assert pushed.code == 0, pushed.text
    assert "11 instance(s)" in pushed.out and "serial 8" in pushed.out

    for flags in (("-refresh=false",), ()):
        plan = relight(workdir, "plan", "-detailed-exitcode", *flags)
        assert plan.code == 0, plan.text
        assert "No changes" in plan.out

    # What refresh reads equals what was adopted: no "changed outside" report either.
    assert "Objects have changed outside" not in plan.out

    pulled = relight(workdir, "state", "pull", "-format=terraform")
    assert pulled.code == 0, pulled.text
    back = json.loads(pulled.out)
    assert back["serial"] == 8 and back["lineage"] == LINEAGE
    assert back["resources"] == tf["resources"]
    assert back["outputs"] == tf["outputs"]


def test_a_change_relight_applies_goes_back_in_terraforms_terms(terraform_managed: tuple[Path, dict[str, Any]]) -> None:
    workdir, tf = terraform_managed
    assert relight(workdir, "state", "push", "terraform.tfstate").code == 0
    main = workdir / "main.tf"
    main.write_text(main.read_text().replace("threshold           = 85", "threshold           = 90"))
    applied = relight(workdir, "apply", "-auto-approve")
    assert applied.code == 0, applied.text
    assert "0 added, 1 changed, 0 destroyed" in applied.out

    back = {(r["type"], r["name"]): r for r in json.loads(relight(workdir, "state", "pull", "-format=terraform").out)["resources"]}
    want = {(r["type"], r["name"]): r for r in tf["resources"]}
    assert set(back) == set(want)
    alarm, before = back[("aws_cloudwatch_metric_alarm", "ghe_cpu_high")], want[("aws_cloudwatch_metric_alarm", "ghe_cpu_high")]
    got, had = alarm["instances"][0], before["instances"][0]
    assert got["attributes"] == {**had["attributes"], "threshold": 90}
    assert (got["schema_version"], got["private"]) == (had["schema_version"], had["private"])
    # An apply records direct dependencies (Terraform's were every ancestor): a subset, same order.
    assert got["dependencies"] == ["aws_instance.ghe_node"]
    for key in want:
        got_deps = [i.pop("dependencies", []) for i in back[key]["instances"]]
        had_deps = [i.pop("dependencies", []) for i in want[key]["instances"]]
        assert all(set(g) <= set(h) for g, h in zip(got_deps, had_deps, strict=True)), key
        if back[key]["mode"] == "data":
            # Read again by the apply: Terraform-only values are written unset, as for any object
            # relight made; Terraform reads data sources again on its next plan anyway.
            assert set(back[key]["instances"][0]["attributes"]) == set(want[key]["instances"][0]["attributes"])
        elif key != ("aws_cloudwatch_metric_alarm", "ghe_cpu_high"):
            assert lines(back[key]) == lines(want[key]), key
