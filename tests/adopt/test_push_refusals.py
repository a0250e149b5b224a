"""What ``relight state push`` refuses, and that a refusal writes nothing, checked byte for byte.

No cloud is needed: the stack is terraform_data resources.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.aws.stack import relight

CONFIG = """
resource "terraform_data" "a" {
  input = "one"
}
"""


def terraform_state(resources: list[dict[str, Any]] | None = None, **top: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": 3,
        "lineage": "5b1d3b4e-88a1-4c8e-9d2c-3f0d6b7a2e11",
        "outputs": {},
        "resources": resources
        if resources is not None
        else [
            {
                "mode": "managed",
                "type": "terraform_data",
                "name": "a",
                "provider": 'provider["terraform.io/builtin/terraform"]',
                "instances": [
                    {
                        "schema_version": 0,
                        "attributes": {"id": "x", "input": {"value": "one", "type": "string"}, "output": {"value": "one", "type": "string"}, "triggers_replace": None},
                        "sensitive_attributes": [],
                    }
                ],
            }
        ],
        "check_results": None,
    }
    doc.update(top)
    return doc


def resource(type_: str, provider: str, version: int = 0) -> dict[str, Any]:
    return {
        "mode": "managed",
        "type": type_,
        "name": "x",
        "provider": f'provider["{provider}"]',
        "instances": [{"schema_version": version, "attributes": {"id": "1"}, "sensitive_attributes": []}],
    }


GOOD = json.dumps(terraform_state(), indent=2)
AWS = "registry.terraform.io/hashicorp/aws"

BAD: list[tuple[str, str, str]] = [
    ("truncated", GOOD[: len(GOOD) - 40], "probably truncated"),
    ("version 3", json.dumps({"version": 3, "terraform_version": "0.11.14", "serial": 1, "lineage": "l", "modules": []}), "format version 3 was written by Terraform 0.11 or older"),
    ("unknown aws type", json.dumps(terraform_state([resource("aws_lambda_function", AWS)])), "Unsupported resource type aws_lambda_function"),
    ("unknown provider", json.dumps(terraform_state([resource("random_pet", "registry.terraform.io/hashicorp/random")])), "Unsupported provider 'random'"),
    ("old schema version", json.dumps(terraform_state([resource("aws_instance", AWS, 0)])), "Unsupported schema version 0 of aws_instance"),
]


def snapshot(workdir: Path) -> dict[str, bytes]:
    """Every file relight keeps beside the state, with its bytes."""
    out = {}
    for root, _dirs, files in os.walk(workdir):
        for name in files:
            path = Path(root) / name
            if name.startswith("relight.tfstate") or ".relight" in path.parts:
                out[str(path.relative_to(workdir))] = path.read_bytes()
    return out


@pytest.fixture
def managed(tmp_path: Path) -> Path:
    (tmp_path / "main.tf").write_text(CONFIG)
    done = relight(tmp_path, "apply", "-auto-approve")
    assert done.code == 0, done.text
    return tmp_path


@pytest.mark.parametrize(("case", "text", "message"), BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize("force", [False, True], ids=["", "force"])
def test_a_bad_file_is_refused_naming_the_problem_and_nothing_is_written(
    managed: Path, case: str, text: str, message: str, force: bool
) -> None:
    (managed / "incoming.tfstate").write_text(text)
    before = snapshot(managed)
    assert "relight.tfstate" in before
    args = ["state", "push", "incoming.tfstate", *(["-force"] if force else [])]
    done = relight(managed, *args)
    assert done.code == 1
    assert message in done.err and "Nothing was written" in done.err
    assert snapshot(managed) == before
    assert (managed / "incoming.tfstate").read_text() == text


def test_a_bad_file_creates_no_state_where_there_was_none(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(CONFIG)
    (tmp_path / "terraform.tfstate").write_text(BAD[2][1])
    done = relight(tmp_path, "state", "push", "terraform.tfstate")
    assert done.code == 1 and "aws_lambda_function" in done.err
    assert snapshot(tmp_path) == {}


def test_the_refusal_points_at_the_line_of_the_resource(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(CONFIG)
    doc = terraform_state([terraform_state()["resources"][0], resource("aws_lambda_function", AWS)])
    (tmp_path / "terraform.tfstate").write_text(json.dumps(doc, indent=2))
    done = relight(tmp_path, "state", "push", "terraform.tfstate")
    line = next(i for i, text in enumerate(json.dumps(doc, indent=2).splitlines(), 1) if '"aws_lambda_function"' in text) - 2
    assert f"on terraform.tfstate:{line}:" in done.err and "with aws_lambda_function.x" in done.err


def test_a_terraform_state_pushed_into_a_relight_state_of_another_lineage_needs_force(managed: Path) -> None:
    (managed / "incoming.tfstate").write_text(GOOD)
    before = snapshot(managed)
    refused = relight(managed, "state", "push", "incoming.tfstate")
    assert refused.code == 1 and "lineage" in refused.err
    assert snapshot(managed) == before
    forced = relight(managed, "state", "push", "incoming.tfstate", "-force")
    assert forced.code == 0, forced.text
    stored = json.loads((managed / "relight.tfstate").read_text())
    assert stored["lineage"] == terraform_state()["lineage"]


def test_push_needs_a_file_or_the_backend(managed: Path) -> None:
    assert relight(managed, "state", "push").code == 1
    both = relight(managed, "state", "push", "x.tfstate", "-from-backend")
    assert both.code == 1 and "Give a state file or -from-backend" in both.err
    no_backend = relight(managed, "state", "push", "-from-backend")
    assert no_backend.code == 1 and 'No backend "s3" to read' in no_backend.err


def test_an_empty_terraform_state_does_not_stop_a_plan(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(CONFIG)
    (tmp_path / "terraform.tfstate").write_text(json.dumps(terraform_state([])))
    assert relight(tmp_path, "plan").code == 0


def test_a_local_backend_path_naming_terraforms_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('terraform {\n  backend "local" {\n    path = "terraform.tfstate"\n  }\n}\n' + CONFIG)
    (tmp_path / "terraform.tfstate").write_text(GOOD)
    done = relight(tmp_path, "plan")
    assert done.code == 1 and "relight's state file is a Terraform state" in done.err
    assert "terraform.tfstate is Terraform's state" in done.err
    assert (tmp_path / "terraform.tfstate").read_text() == GOOD


def test_instances_in_modules_are_adopted_at_their_module_addresses(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(CONFIG + 'module "app" {\n  source = "./app"\n}\n')
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.tf").write_text(CONFIG)
    in_module = {**terraform_state()["resources"][0], "module": "module.app"}
    (tmp_path / "terraform.tfstate").write_text(json.dumps(terraform_state([terraform_state()["resources"][0], in_module])))
    assert relight(tmp_path, "state", "push", "terraform.tfstate").code == 0
    assert relight(tmp_path, "state", "list").out.split() == ["terraform_data.a", "module.app.terraform_data.a"]
    plan = relight(tmp_path, "plan", "-detailed-exitcode")
    assert plan.code == 0, plan.text
    pulled = json.loads(relight(tmp_path, "state", "pull", "-format=terraform").out)
    assert [r.get("module") for r in pulled["resources"]] == [None, "module.app"]
    (tmp_path / "main.tf").write_text(CONFIG)
    gone = relight(tmp_path, "plan", "-no-color")
    assert "# module.app.terraform_data.a will be destroyed" in gone.out
    assert "(because module.app is not in configuration)" in gone.out


def test_a_heal_pass_does_not_recreate_a_stack_terraform_manages(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('relight {\n  heal {\n    mode = "auto"\n  }\n}\n' + CONFIG)
    (tmp_path / "terraform.tfstate").write_text(GOOD)
    done = relight(tmp_path, "heal")
    assert done.code == 1, done.text
    assert "This stack is still managed by Terraform" in done.text
    assert snapshot(tmp_path) == {}
