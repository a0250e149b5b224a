"""The relight {} block: nothing in it is ignored. Unknown names are errors at their line for every
operation, and `validate` checks the rehearsal block as `relight rehearse` reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from relight.runs import Operation, RunContext, Runner, RunRequest, RunStatus

NODE = 'resource "terraform_data" "x" {}\n'

# (the relight block's body, the error's summary, its line in main.tf)
MISTAKES = [
    ("  rehersal {\n  }\n", "Unsupported block type", 2),
    ("  bogus = 1\n", "Unsupported argument", 2),
    ('  rehearsal {\n    timout = "1m"\n  }\n', "Unsupported argument", 3),
    ('  rehearsal {\n    check "htp" {}\n  }\n', "Unsupported block type", 3),
    ('  rehearsal {\n    check "http" {\n      paht = "/x"\n    }\n  }\n', "Unsupported argument", 4),
    ('  rehearsal {\n    check "command" {}\n  }\n', "Missing run", 3),
    ('  rehearsal {\n    timeout = "soon"\n  }\n', "Invalid timeout", 3),
]


@pytest.mark.parametrize(("body", "summary", "line"), MISTAKES, ids=[m[0].split("\n")[0].strip() for m in MISTAKES])
def test_validate_names_each_mistake_in_the_relight_block(tmp_path: Path, body: str, summary: str, line: int) -> None:
    (tmp_path / "main.tf").write_text("relight {\n" + body + "}\n" + NODE)
    result = Runner().execute(RunRequest(Operation.VALIDATE), RunContext(str(tmp_path)))
    assert result.status is RunStatus.ERRORED
    hit = next(d for d in result.diagnostics if d.summary == summary)
    assert hit.subject is not None and (hit.subject.filename, hit.subject.start.line) == ("main.tf", line)


def test_a_good_rehearsal_block_validates(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'relight {\n  rehearsal {\n    timeout = "10m"\n    check "http" {\n      path = "/status"\n    }\n'
        '    check "command" {\n      run = "true"\n    }\n  }\n}\n' + NODE
    )
    result = Runner().execute(RunRequest(Operation.VALIDATE), RunContext(str(tmp_path)))
    assert result.status is RunStatus.SUCCEEDED, [(d.summary, d.detail) for d in result.diagnostics]
