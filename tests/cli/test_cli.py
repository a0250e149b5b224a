"""The CLI as a user meets it: exit codes, messages with positions, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from relight.state import LocalBackend

from .conftest import Run

SIMPLE = """
variable "name" {
  type    = string
  default = "web"
}
resource "terraform_data" "a" {
  input = var.name
}
resource "terraform_data" "b" {
  input = "${terraform_data.a.output}-b"
}
output "b" {
  value = terraform_data.b.output
}
"""


def write(tmp_path: Path, text: str, name: str = "main.tf") -> None:
    (tmp_path / name).write_text(text)


def test_version_is_fast_because_it_imports_nothing_heavy() -> None:
    code = (
        "import sys; from relight.cli.main import main; main(['version']); "
        "print(sorted(m for m in ('tree_sitter', 'tree_sitter_hcl', 'relight.engine', 'relight.lang') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["relight v0.1.0", "[]"]


def test_plan_apply_output_cycle(run: Run, tmp_path: Path) -> None:
    write(tmp_path, SIMPLE)
    plan = run("plan", "-detailed-exitcode")
    assert plan.code == 2, plan.text
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in plan.out
    applied = run("apply", "-auto-approve")
    assert applied.code == 0, applied.text
    assert "terraform_data.a: Creation complete after" in applied.out
    assert "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." in applied.out
    out = run("output", "-json")
    assert json.loads(out.out)["b"]["value"] == "web-b"
    assert run("plan", "--detailed-exitcode").code == 0  # double-dash spelling works too
    assert run("output", "-raw", "b").out == "web-b"


def test_apply_asks_and_cancels_without_yes(run: Run, tmp_path: Path) -> None:
    write(tmp_path, SIMPLE)
    res = run("apply", stdin="no\n")
    assert res.code == 1 and "Apply cancelled." in res.out
    assert not (tmp_path / "relight.tfstate").exists()
    res = run("apply", stdin="yes\n")
    assert res.code == 0 and "2 added" in res.out


def test_var_flag_and_tfvars(run: Run, tmp_path: Path) -> None:
    write(tmp_path, SIMPLE)
    (tmp_path / "terraform.tfvars").write_text('name = "from-file"\n')
    run("apply", "-auto-approve")
    assert json.loads(run("output", "-json").out)["b"]["value"] == "from-file-b"
    run("apply", "-auto-approve", "-var", "name=cli")
    assert json.loads(run("output", "-json").out)["b"]["value"] == "cli-b"


@pytest.mark.parametrize(
    ("text", "where", "summary"),
    [
        ('resource "terraform_data" "a" {\n  input = \n}\n', "main.tf:2:11", "Invalid expression"),
        ('output "x" {\n  value = var.nope\n}\n', "main.tf:2:11", "Reference to undeclared input variable"),
        ('output "x" {\n  value = terraform_data.zz.output\n}\n', "main.tf:2:11", "undeclared resource"),
        ('output "x" {\n  value = nosuchfn(1)\n}\n', "main.tf:2:", "function"),
        (
            'variable "v" {\n  type = number\n}\noutput "x" {\n  value = var.v\n}\n',
            "main.tf:1:",
            "No value for required variable",
        ),
    ],
)
def test_user_mistakes_are_diagnostics_with_positions(
    run: Run, tmp_path: Path, text: str, where: str, summary: str
) -> None:
    write(tmp_path, text)
    res = run("plan")
    assert res.code == 1
    assert "Traceback" not in res.text
    assert where in res.err, res.err
    assert "^" in res.err
    assert summary.lower() in res.err.lower()


def test_corrupt_state_is_refused_and_left_untouched(run: Run, tmp_path: Path) -> None:
    write(tmp_path, SIMPLE)
    (tmp_path / "relight.tfstate").write_bytes(b'{"format": "relight-state", "version": 1, "lin')
    before = (tmp_path / "relight.tfstate").read_bytes()
    res = run("apply", "-auto-approve")
    assert res.code == 1 and "Traceback" not in res.text
    assert "relight.tfstate" in res.err
    assert (tmp_path / "relight.tfstate").read_bytes() == before


def test_second_apply_fails_naming_the_lock_holder(run: Run, tmp_path: Path) -> None:
    write(tmp_path, SIMPLE)
    backend = LocalBackend(str(tmp_path / "relight.tfstate"))
    with backend.lock("apply") as info:
        res = run("apply", "-auto-approve", "-lock-timeout=1s")
    assert res.code == 1 and "Traceback" not in res.text
    assert info.id in res.err and "force-unlock" in res.err
    assert run("apply", "-auto-approve").code == 0


def test_saved_plan_and_stale_refusal(run: Run, tmp_path: Path) -> None:
    write(tmp_path, SIMPLE)
    assert run("plan", "-out=p.plan").code == 0
    assert run("plan", "-out=q.plan").code == 0
    first = run("apply", "p.plan")
    assert first.code == 0, first.text
    stale = run("apply", "q.plan")
    assert stale.code == 1 and "stale" in stale.err and "Traceback" not in stale.text


def test_json_plan(run: Run, tmp_path: Path) -> None:
    write(tmp_path, SIMPLE)
    res = run("plan", "-json")
    doc = json.loads(res.out)
    assert [c["change"]["actions"] for c in doc["resource_changes"]] == [["create"], ["create"]]
    assert doc["summary"] == {"add": 2, "change": 0, "destroy": 0}


def test_state_commands(run: Run, tmp_path: Path) -> None:
    write(tmp_path, SIMPLE)
    run("apply", "-auto-approve")
    assert run("state", "list").out.split() == ["terraform_data.a", "terraform_data.b"]
    assert '"web"' in run("state", "show", "terraform_data.a").out
    pulled = json.loads(run("state", "pull").out)
    assert pulled["serial"] >= 1
    assert run("state", "mv", "terraform_data.b", "terraform_data.c").code == 0
    assert run("state", "list").out.split() == ["terraform_data.a", "terraform_data.c"]
    assert run("state", "rm", "terraform_data.c").code == 0
    assert len(run("state", "history").out.splitlines()) >= 3
    bad = run("state", "show", "nope.nope")
    assert bad.code == 1 and "Traceback" not in bad.text


def test_destroy_and_chdir(run: Run, tmp_path: Path) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    write(sub, SIMPLE)
    assert run("-chdir=conf", "apply", "-auto-approve").code == 0
    res = run("-chdir=conf", "destroy", "-auto-approve")
    assert res.code == 0 and "Destroy complete! Resources: 2 destroyed." in res.out
    assert run("-chdir=conf", "state", "list").out == ""


def test_validate_and_graph(run: Run, tmp_path: Path) -> None:
    write(tmp_path, SIMPLE)
    assert "Success!" in run("validate").out
    graph = run("graph").out
    assert '"terraform_data.b" -> "terraform_data.a"' in graph


def test_help_teaches(run: Run) -> None:
    res = run("apply", "-h")
    assert "-auto-approve" in res.out.replace("--auto-approve", "-auto-approve")
    assert "saved" in res.out


def test_no_tf_files(run: Run, tmp_path: Path) -> None:
    res = run("plan")
    assert res.code == 1 and "No configuration files" in res.err
