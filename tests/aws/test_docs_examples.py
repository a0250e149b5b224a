"""A real-shaped configuration (configs/docs_examples: the Terraform AWS provider documentation's
examples of each resource, joined into a web tier) validates, plans and applies on the local
cloud, and the second plan has nothing to do.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3

from relight.localcloud import LocalCloud

from .stack import Cloud, relight

CONFIG = Path(__file__).parent / "configs" / "docs_examples"


def test_the_documentation_examples_apply_and_converge(cloud: LocalCloud, tmp_path: Path) -> None:
    boto3.client("iam").create_instance_profile(InstanceProfileName="web-servers")
    workdir = tmp_path / "web"
    shutil.copytree(CONFIG, workdir)
    variables = ("-var", "instance_profile=web-servers")

    valid = relight(workdir, "validate", "-no-color")
    assert valid.code == 0, valid.text
    plan = relight(workdir, "plan", "-no-color", "-detailed-exitcode", *variables)
    assert plan.code == 2, plan.text
    assert "Plan: 12 to add, 0 to change, 0 to destroy." in plan.out, plan.out
    assert "Warning" not in plan.text, plan.text  # nothing here is a gap of the local cloud

    applied = relight(workdir, "apply", "-auto-approve", "-no-color", *variables)
    assert applied.code == 0, applied.text
    again = relight(workdir, "plan", "-no-color", "-detailed-exitcode", *variables)
    assert again.code == 0, again.text

    outputs = json.loads(relight(workdir, "output", "-json").out)
    view = Cloud()
    [inst] = view.instances()
    assert outputs["web_arn"]["value"].endswith(f":instance/{inst['InstanceId']}")
    assert outputs["web_private_dns"]["value"] == inst["PrivateDnsName"]
    assert outputs["vpc_ipv6_cidr_block"]["value"].endswith("/56")
    tags = {t["Key"]: t["Value"] for t in inst["Tags"]}
    assert tags["Environment"] == "Test" and tags["Name"] == "HelloWorld"
    assert inst["MetadataOptions"]["HttpTokens"] == "required" and inst["Monitoring"]["State"] == "enabled"

    destroyed = relight(workdir, "destroy", "-auto-approve", "-no-color", *variables)
    assert destroyed.code == 0, destroyed.text
    assert view.instances() == []
