"""Real-shaped configurations run as a Terraform user runs them: validate, plan, apply, plan again
(nothing left to do), against the local cloud. Each uses what issue 10 asks to run unchanged:
JSON syntax, conditions, check blocks with scoped data sources, import blocks, 0.11 syntax.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import boto3

from relight.diagnostics import Severity
from relight.localcloud import LocalCloud
from relight.runs import Approval, Operation, RunContext, Runner, RunRequest, RunResult, RunStatus

HERE = Path(__file__).resolve().parent / "stacks"


def run(directory: Path, operation: Operation, *variables: str, **request: Any) -> RunResult:
    asked = RunRequest(operation, approval=Approval.AUTO, variables=tuple(("var", v) for v in variables), **request)
    return Runner().execute(asked, RunContext(str(directory), environment=dict(os.environ)))


def warnings(result: RunResult) -> list[str]:
    return sorted(d.summary + ": " + d.detail for d in result.diagnostics if d.severity is Severity.WARNING)


def errors(result: RunResult) -> list[str]:
    return [f"{d.summary}: {d.detail} ({d.subject})" for d in result.diagnostics.errors]


def copy(case: str, tmp_path: Path) -> Path:
    work = tmp_path / case
    shutil.copytree(HERE / case, work)
    return work


def test_a_json_stack_with_conditions_and_checks(cloud: LocalCloud, tmp_path: Path) -> None:
    work = copy("ghe_json", tmp_path)
    assert not run(work, Operation.VALIDATE).diagnostics.has_errors
    small = "Check block assertion failed: The data volume has 10 GB; GitHub Enterprise wants 100."
    plan = run(work, Operation.PLAN, save_plan=True)
    assert plan.status is RunStatus.PLANNED_AND_FINISHED, errors(plan)
    assert warnings(plan) == [small]  # the image check passes: its data source was read
    assert plan.plan is not None and plan.plan.counts() == (4, 0, 0)
    applied = run(work, Operation.APPLY, plan_file=plan.plan_file)  # exactly the saved plan
    assert applied.status is RunStatus.APPLIED, errors(applied)
    assert warnings(applied) == [small]  # checked again after apply, never an error
    assert applied.outputs["node_ip"].value == "10.20.1.10"
    again = run(work, Operation.PLAN)
    assert again.plan is not None and not again.plan.has_changes, errors(again)
    moved = run(work, Operation.PLAN, "private_ip=10.20.1.11")  # a precondition refuses it
    assert [d.summary for d in moved.diagnostics.errors] == ["Resource precondition failed"]
    assert moved.diagnostics.errors[0].subject is not None
    assert moved.diagnostics.errors[0].subject.filename == "node.tf"


def test_legacy_syntax_and_an_import_of_a_hand_made_vpc(cloud: LocalCloud, tmp_path: Path) -> None:
    ec2 = boto3.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "legacy"}])
    work = copy("legacy_import", tmp_path)
    assert not run(work, Operation.VALIDATE).diagnostics.has_errors
    plan = run(work, Operation.PLAN, f"vpc_id={vpc_id}")
    assert plan.status is RunStatus.PLANNED_AND_FINISHED, errors(plan)
    assert plan.plan is not None
    assert plan.plan.import_count() == 1 and plan.plan.counts()[0] == 2  # the VPC imported, two subnets
    applied = run(work, Operation.APPLY, f"vpc_id={vpc_id}")
    assert applied.status is RunStatus.APPLIED, errors(applied)
    assert len(ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.30.0.0/16"]}])["Vpcs"]) == 1
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert sorted(s["CidrBlock"] for s in subnets) == ["10.30.0.0/24", "10.30.1.0/24"]
    again = run(work, Operation.PLAN, f"vpc_id={vpc_id}")
    assert again.plan is not None and not again.plan.has_changes, errors(again)


def test_an_import_of_an_id_that_does_not_exist_is_terraforms_error(cloud: LocalCloud, tmp_path: Path) -> None:
    work = copy("legacy_import", tmp_path)
    result = run(work, Operation.PLAN, "vpc_id=vpc-0000000000000000f")
    assert [d.summary for d in result.diagnostics.errors] == ["Cannot import non-existent remote object"]
    assert not boto3.client("ec2").describe_subnets(Filters=[{"Name": "cidr-block", "Values": ["10.30.0.0/24"]}])[
        "Subnets"
    ]
