"""Nothing on the command line or in the configuration is silently ignored: backends relight does
not use, -target and -replace that name nothing, targeted plans, provisioners."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relight.addrs import InstanceAddr
from relight.diagnostics import Severity
from relight.lang import load_config
from relight.runs import Approval, Operation, RunContext, Runner, RunRequest, RunResult, RunStatus, local_backend
from relight.runs.notices import backend_check
from relight.state.http import HttpBackend

NODES = """
resource "terraform_data" "node" {
  count = 2
  input = "node-${count.index}"
}
resource "terraform_data" "dns" {
  input = terraform_data.node[0].output
}
"""


def execute(directory: Path, operation: Operation = Operation.PLAN, **request: Any) -> RunResult:
    return Runner().execute(RunRequest(operation, approval=Approval.AUTO, **request), RunContext(str(directory)))


def found(result: RunResult) -> list[tuple[str, str]]:
    return [(d.severity.value, d.summary) for d in result.diagnostics]


def detail(result: RunResult, summary: str) -> str:
    return next(d.detail for d in result.diagnostics if d.summary == summary)


def addrs(*texts: str) -> tuple[InstanceAddr, ...]:
    return tuple(InstanceAddr.parse(t) for t in texts)


def test_a_targeted_plan_says_targeting_is_in_effect_and_a_typo_is_named(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(NODES)
    result = execute(tmp_path, targets=addrs("terraform_data.dsn", "terraform_data.node[1]"))
    assert result.status is RunStatus.PLANNED_AND_FINISHED
    assert found(result) == [
        ("warning", "-target=terraform_data.dsn matches nothing"),
        ("warning", "Resource targeting is in effect"),
    ]
    assert 'Did you mean "terraform_data.dns"?' in detail(result, "-target=terraform_data.dsn matches nothing")
    assert result.plan is not None and [str(c.addr) for c in result.plan.changes] == ["terraform_data.node[1]"]


def test_an_index_the_configuration_does_not_make_is_named(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(NODES)
    result = execute(tmp_path, targets=addrs("terraform_data.node[5]"))
    assert ("warning", "-target=terraform_data.node[5] matches nothing") in found(result)


def test_applying_a_targeted_plan_warns_that_changes_may_be_incomplete(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(NODES)
    result = execute(tmp_path, Operation.APPLY, targets=addrs("terraform_data.node"))
    assert result.status is RunStatus.APPLIED
    assert ("warning", "Applied changes may be incomplete") in found(result)


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        ("terraform_data.nod[0]", 'The state has no object at terraform_data.nod[0], so -replace replaces nothing. Did you mean "terraform_data.node[0]"?'),
        ("terraform_data.dns", ""),  # in the state: replaced, no warning
    ],
)
def test_replace_of_nothing_is_a_warning_with_did_you_mean(tmp_path: Path, replace: str, expected: str) -> None:
    (tmp_path / "main.tf").write_text(NODES)
    assert execute(tmp_path, Operation.APPLY).status is RunStatus.APPLIED
    result = execute(tmp_path, replace=addrs(replace))
    warnings = [d.detail for d in result.diagnostics if d.severity is Severity.WARNING]
    assert warnings == ([expected] if expected else [])


def test_replace_of_an_object_not_created_yet_says_so(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(NODES)
    result = execute(tmp_path, replace=addrs("terraform_data.dns"))
    assert detail(result, "-replace=terraform_data.dns matches nothing") == (
        "terraform_data.dns is not in the state yet: this plan creates it, so there is nothing to replace."
    )


BACKENDS = [
    ('backend "remote" {\n    organization = "acme"\n  }', "error", "This stack's state is in a backend relight does not use"),
    ('cloud {\n    organization = "acme"\n  }', "error", "This stack's state is in a backend relight does not use"),
    ('backend "local" {\n    path = "x.tfstate"\n    workspace_dir = "ws"\n  }', "warning", "Unsupported local backend settings"),
]


@pytest.mark.parametrize(("block", "severity", "summary"), BACKENDS)
def test_backends_relight_does_not_use_are_never_silent(tmp_path: Path, block: str, severity: str, summary: str) -> None:
    (tmp_path / "main.tf").write_text(f"terraform {{\n  {block}\n}}\n" + NODES)
    result = execute(tmp_path)
    assert (severity, summary) in found(result)
    diag = next(d for d in result.diagnostics if d.summary == summary)
    assert diag.subject is not None and diag.subject.filename == "main.tf" and diag.subject.start.line == 2
    assert "relight.tfstate" in diag.detail or "x.tfstate" in diag.detail  # where the state goes instead


HTTP = 'terraform {\n  backend "http" {\n    address = "https://relight.example/state"\n  }\n}\n'


def test_the_http_backend_is_used_as_written(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(HTTP + NODES)
    config, diags = load_config(str(tmp_path))
    assert config is not None and not diags.has_errors
    backend = RunContext(str(tmp_path)).state_backend(config)
    assert isinstance(backend, HttpBackend)  # the state goes where the block says: nothing to say
    assert list(backend_check(config, backend)) == []


def test_an_http_backend_the_run_does_not_use_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(HTTP + NODES)
    context = RunContext(str(tmp_path), backend=local_backend)
    result = Runner().execute(RunRequest(Operation.PLAN, approval=Approval.AUTO), context)
    diag = next(d for d in result.diagnostics if d.summary == 'relight does not use the backend "http"')
    assert diag.severity is Severity.WARNING and "relight.tfstate" in diag.detail


def test_a_foreign_backend_is_a_warning_once_relight_holds_the_state(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(NODES)
    assert execute(tmp_path, Operation.APPLY).status is RunStatus.APPLIED
    (tmp_path / "main.tf").write_text('terraform {\n  backend "gcs" {\n    bucket = "b"\n  }\n}\n' + NODES)
    result = execute(tmp_path)
    assert result.status is RunStatus.PLANNED_AND_FINISHED
    assert ("warning", 'relight does not use the backend "gcs"') in found(result)
