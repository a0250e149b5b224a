"""Syntax errors: Terraform's summary at Terraform's position, for every row of the table."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from relight.lang import load_config

sys.path.insert(0, str(Path(__file__).parent))

from syntax_cases import CASES


@pytest.mark.parametrize(("source", "summary", "line", "column"), CASES, ids=[c[0] for c in CASES])
def test_first_syntax_error_reads_as_terraforms(tmp_path: Path, source: str, summary: str, line: int, column: int) -> None:
    (tmp_path / "main.tf").write_text(source)
    _config, diags = load_config(str(tmp_path))
    errors = diags.errors
    assert errors, "expected a syntax error"
    first = errors[0]
    assert first.subject is not None
    got = (first.summary, first.subject.start.line, first.subject.start.column)
    assert got == (summary, line, column), first.detail
    assert "expected one of" not in first.detail.lower()


def test_a_file_with_a_syntax_error_gives_no_configuration(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('resource "x" "y" {\n')
    config, _ = load_config(str(tmp_path))
    assert config is None


def test_errors_in_two_files_are_both_reported(tmp_path: Path) -> None:
    (tmp_path / "a.tf").write_text("a = \n")
    (tmp_path / "b.tf").write_text("foo\n")
    _config, diags = load_config(str(tmp_path))
    assert [d.summary for d in diags.errors] == ["Invalid expression", "Argument or block definition required"]
