"""Moving a stack from Terraform to relight and back, with the real ``terraform`` binary.

Terraform applies a configuration of terraform_data resources (count, for_each, depends_on,
create_before_destroy, a sensitive variable, a typed list, outputs); relight adopts its state
and plans no changes; relight applies a change; Terraform takes the state back with
``terraform state push`` and plans no changes either (``-detailed-exitcode`` 0, which also
counts output changes).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.aws.stack import relight

# The hand-back is only proven by Terraform itself: without its binary this test fails rather
# than passing silently, unless RELIGHT_NO_TERRAFORM=1 says the machine cannot have it.
pytestmark = pytest.mark.skipif(
    shutil.which("terraform") is None and os.environ.get("RELIGHT_NO_TERRAFORM") == "1",
    reason="RELIGHT_NO_TERRAFORM=1: no terraform binary on this machine",
)

CONFIG = """
variable "password" {
  type      = string
  sensitive = true
  default   = "hunter2"
}

variable "names" {
  type    = list(string)
  default = ["a", "b"]
}

resource "terraform_data" "secret" {
  input = var.password
}

resource "terraform_data" "web" {
  count = COUNT
  input = "web-${count.index}"
}

resource "terraform_data" "svc" {
  for_each   = toset(var.names)
  input      = { name = each.key, size = SIZE }
  depends_on = [terraform_data.web]
}

resource "terraform_data" "chain" {
  input = terraform_data.svc["a"].output
  lifecycle {
    create_before_destroy = true
  }
}

resource "terraform_data" "typed" {
  input = var.names
}

output "secret" {
  value     = terraform_data.secret.output
  sensitive = true
}

output "names" {
  value = var.names
}

output "sizes" {
  value = { for k, v in terraform_data.svc : k => v.output.size }
}
"""


def write_config(workdir: Path, count: int, size: int) -> None:
    (workdir / "main.tf").write_text(CONFIG.replace("COUNT", str(count)).replace("SIZE", str(size)))


def terraform(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    rc = workdir / ".terraformrc"
    rc.touch()
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(rc), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    return subprocess.run(["terraform", *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def terraform_stack(tmp_path: Path) -> Path:
    if shutil.which("terraform") is None:
        pytest.fail("these tests need Terraform 1.x on PATH (or RELIGHT_NO_TERRAFORM=1 to skip them)")
    write_config(tmp_path, count=2, size=1)
    for args in (("init", "-input=false"), ("apply", "-auto-approve", "-input=false")):
        done = terraform(tmp_path, *args)
        assert done.returncode == 0, done.stdout + done.stderr
    return tmp_path


def test_a_terraform_stack_moves_to_relight_and_back_with_no_change_either_way(terraform_stack: Path) -> None:
    wd = terraform_stack
    tf_state = json.loads((wd / "terraform.tfstate").read_text())

    refused = relight(wd, "plan")
    assert refused.code == 1 and "This stack is still managed by Terraform" in refused.err
    assert "relight state push terraform.tfstate" in refused.err
    assert not (wd / "relight.tfstate").exists()

    pushed = relight(wd, "state", "push", "terraform.tfstate")
    assert pushed.code == 0, pushed.text
    ours = json.loads((wd / "relight.tfstate").read_text())
    assert ours["lineage"] == tf_state["lineage"] and ours["serial"] > tf_state["serial"]

    plan = relight(wd, "plan", "-detailed-exitcode")
    assert plan.code == 0, plan.text
    assert "No changes" in plan.out

    write_config(wd, count=3, size=2)  # one more web, every svc changes
    applied = relight(wd, "apply", "-auto-approve")
    assert applied.code == 0, applied.text
    assert "Resources: 1 added, 3 changed, 0 destroyed" in applied.out
    assert "hunter2" not in applied.out + applied.err
    assert relight(wd, "plan", "-detailed-exitcode").code == 0

    pulled = relight(wd, "state", "pull", "-format=terraform")
    assert pulled.code == 0, pulled.text
    (wd / "handback.tfstate").write_text(pulled.out)
    pushed_back = terraform(wd, "state", "push", "handback.tfstate")
    assert pushed_back.returncode == 0, pushed_back.stdout + pushed_back.stderr

    check = terraform(wd, "plan", "-detailed-exitcode", "-input=false", "-no-color")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No changes." in check.stdout
    listed = terraform(wd, "state", "list").stdout.split()
    assert "terraform_data.web[2]" in listed and 'terraform_data.svc["b"]' in listed


def test_a_terraform_stack_adopted_keeps_marks_and_dependencies(terraform_stack: Path) -> None:
    wd = terraform_stack
    assert relight(wd, "state", "push", "terraform.tfstate").code == 0
    ours = {(r["name"]): r["instances"] for r in json.loads((wd / "relight.tfstate").read_text())["resources"]}
    secret = ours["secret"][0]
    assert secret["sensitive_attributes"] == [[{"type": "get_attr", "value": "input"}]]
    chain = ours["chain"][0]
    # Terraform's transitive ancestors, kept as they were read (relight writes direct ones later).
    assert chain["dependencies"] == ["terraform_data.svc", "terraform_data.web"]
    assert chain["create_before_destroy"] is True
    # The marks hide the input in relight's plans as in Terraform's (which shows the provider's
    # unmarked output, and so does relight).
    shown = relight(wd, "plan", "-var", "password=s3cret")
    assert shown.code == 0, shown.text
    (line,) = [x for x in shown.out.splitlines() if x.strip().startswith("~ input")]
    assert "(sensitive value)" in line and "s3cret" not in shown.out
