"""Flags the CLI cannot honour as written are refused or reported, never ignored."""

from __future__ import annotations

from pathlib import Path

from .conftest import Run


def test_variables_cannot_be_set_when_applying_a_saved_plan(run: Run, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('variable "n" {\n  default = "1"\n}\nresource "terraform_data" "a" {\n  input = var.n\n}\n')
    assert run("plan", "-out=saved.plan").code == 0
    refused = run("apply", "-var", "n=2", "saved.plan")
    assert refused.code == 1 and "Can't set variables when applying a saved plan" in refused.err
    assert not (tmp_path / "relight.tfstate").exists()  # nothing was applied


def test_a_targeted_plan_warns_and_names_a_mistyped_target(run: Run, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "terraform_data" "web" {\n  input = "w"\n}\n')
    res = run("plan", "-target=terraform_data.wbe")
    assert res.code == 0
    assert "-target=terraform_data.wbe matches nothing" in res.err
    assert 'Did you mean "terraform_data.web"?' in res.err
    assert "Resource targeting is in effect" in res.err


def test_import_blocks_in_the_cli_read_as_terraforms(run: Run, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'import {\n  to = terraform_data.x\n  id = "abc"\n}\nresource "terraform_data" "x" {\n}\n'
    )
    plan = run("plan")
    assert plan.code == 0, plan.text
    assert "terraform_data.x: Preparing import... [id=abc]" in plan.out
    assert "# terraform_data.x will be imported" in plan.out
    assert "Plan: 1 to import, 0 to add, 0 to change, 0 to destroy." in plan.out
    applied = run("apply", "-auto-approve")
    assert applied.code == 0, applied.text
    assert "terraform_data.x: Import complete [id=abc]" in applied.out
    assert "Apply complete! Resources: 1 imported, 0 added, 0 changed, 0 destroyed." in applied.out
    assert "No changes." in run("plan").out
