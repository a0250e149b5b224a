"""Module calls through the CLI: addresses in plan, state and JSON output; -target of a module;
a mistake in a child module shown at its own file and line."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Run

ROOT = """
module "app" {
  source = "./modules/app"
  count  = 2
  name   = "app${count.index}"
}
module "db" {
  source = "./modules/app"
  name   = "db"
}
output "names" {
  value = module.app[*].name
}
"""

APP = """
variable "name" {
  type = string
}
resource "terraform_data" "t" {
  input = var.name
}
output "name" {
  value = terraform_data.t.output
}
"""


def write_tree(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_module_addresses_in_plan_state_and_json(run: Run, tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": ROOT, "modules/app/main.tf": APP})
    targeted = run("apply", "-auto-approve", "-target=module.app[1]")
    assert targeted.code == 0, targeted.text
    assert "module.app[1].terraform_data.t: Creation complete" in targeted.out
    assert run("state", "list").out.split() == ["module.app[1].terraform_data.t"]
    planned = run("plan", "-no-color")
    assert "# module.app[0].terraform_data.t will be created" in planned.out
    assert "# module.db.terraform_data.t will be created" in planned.out
    assert run("apply", "-auto-approve").code == 0
    assert run("state", "list").out.split() == [
        "module.app[0].terraform_data.t",
        "module.app[1].terraform_data.t",
        "module.db.terraform_data.t",
    ]
    assert '"db"' in run("state", "show", "module.db.terraform_data.t").out
    assert json.loads(run("output", "-json").out)["names"]["value"] == ["app0", "app1"]
    write_tree(tmp_path, {"main.tf": ROOT.replace("count  = 2", "count  = 1")})
    doc = json.loads(run("plan", "-json").out)
    [change] = [c for c in doc["resource_changes"] if c["change"]["actions"] != ["no-op"]]
    assert change["address"] == "module.app[1].terraform_data.t" and change["module_address"] == "module.app[1]"
    assert change["action_reason"] == "no module"
    text = run("plan", "-no-color").out
    assert "# module.app[1].terraform_data.t will be destroyed" in text
    assert "(because module.app[1] is not in configuration)" in text


def test_state_commands_take_module_addresses(run: Run, tmp_path: Path) -> None:
    write_tree(tmp_path, {"main.tf": ROOT, "modules/app/main.tf": APP})
    assert run("apply", "-auto-approve").code == 0
    assert run("state", "list", "module.app").out.split() == [
        "module.app[0].terraform_data.t",
        "module.app[1].terraform_data.t",
    ]
    assert run("state", "list", "module.app[1]").out.split() == ["module.app[1].terraform_data.t"]
    moved = run("state", "mv", "module.db", "module.store")
    assert moved.code == 0, moved.text
    assert 'Move "module.db.terraform_data.t" to "module.store.terraform_data.t"' in moved.out
    write_tree(tmp_path, {"main.tf": ROOT.replace('module "db"', 'module "store"')})
    assert run("plan", "-detailed-exitcode").code == 0
    mixed = run("state", "mv", "module.store", "terraform_data.x")
    assert mixed.code == 1 and "move a module to a module" in mixed.err
    assert run("state", "rm", "module.app").code == 0
    assert run("state", "list").out.split() == ["module.store.terraform_data.t"]


def test_a_mistake_in_a_child_module_points_at_its_file(run: Run, tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "main.tf": 'module "m" {\n  source = "./modules/m"\n}\n',
            "modules/m/main.tf": 'resource "terraform_data" "t" {\n  input = local.missing\n}\n',
        },
    )
    res = run("plan")
    assert res.code == 1 and "Traceback" not in res.text
    assert "modules/m/main.tf:2:11" in res.err, res.err
    assert "local.missing" in res.err and "^" in res.err
    registry = run("validate", cwd=_with(tmp_path / "reg", {"main.tf": 'module "vpc" {\n  source = "hashicorp/vpc/aws"\n}\n'}))
    assert registry.code == 1 and "Module not installed" in registry.err and "terraform init" in registry.err


def _with(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir()
    write_tree(directory, files)
    return directory
