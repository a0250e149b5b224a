"""Errors in one round: each broken configuration under ``broken/`` lists every diagnostic it must
produce (severity, summary, file:line), and ``validate`` and ``plan`` must each report exactly
those, each once, in one run.

``expected.json``: ``diagnostics`` (both commands), ``plan_only`` (also from plan: what needs the
run's variable values), ``details`` (``file:line`` -> text the detail must contain). Plans run
without credentials: a broken configuration never gets as far as the cloud.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from relight.runs import Operation, RunContext, Runner, RunRequest

HERE = Path(__file__).resolve().parent / "broken"
CASES = sorted(p.name for p in HERE.iterdir() if (p / "expected.json").is_file())


def run(directory: Path, operation: Operation) -> list[Any]:
    env = {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "none", "AWS_SECRET_ACCESS_KEY": "none"}
    result = Runner().execute(RunRequest(operation), RunContext(str(directory), environment=env))
    assert result.diagnostics.has_errors, f"{operation.value} of a broken configuration succeeded"
    return [
        (d.severity.value, d.summary, f"{d.subject.filename}:{d.subject.start.line}" if d.subject else "", d.detail)
        for d in result.diagnostics
    ]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("operation", [Operation.VALIDATE, Operation.PLAN])
def test_every_mistake_is_reported_once(case: str, operation: Operation, tmp_path: Path) -> None:
    work = tmp_path / case
    shutil.copytree(HERE / case, work, ignore=shutil.ignore_patterns("expected.json"))
    expected = json.loads((HERE / case / "expected.json").read_text())
    want = [tuple(d) for d in expected["diagnostics"]]
    if operation is Operation.PLAN:
        want += [tuple(d) for d in expected.get("plan_only", [])]
    found = run(work, operation)
    assert sorted((s, summary, where) for s, summary, where, _ in found) == sorted(want)
    for where, text in expected.get("details", {}).items():
        details = [detail for _, _, at, detail in found if at == where]
        assert any(text in d for d in details), (where, details)
    assert not (work / "relight.tfstate").exists()  # nothing was planned against a state
