"""Check the syntax error table against a real Terraform (a developer tool, like terraform_oracle).

Usage: ``python tests/lang/syntax_oracle.py`` with ``terraform`` on PATH. Prints every row whose
summary or position differs from what ``terraform validate -json`` reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from syntax_cases import CASES, SECOND


def terraform_diagnostics(source: str) -> list[tuple[str, int, int]]:
    with tempfile.TemporaryDirectory() as work:
        Path(work, "main.tf").write_text(source)
        env = {**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null", "CHECKPOINT_DISABLE": "1"}
        proc = subprocess.run(
            ["terraform", "validate", "-json", "-no-color"], cwd=work, capture_output=True, text=True, env=env, check=False
        )
    doc = json.loads(proc.stdout)
    return [
        (d["summary"], d["range"]["start"]["line"], d["range"]["start"]["column"])
        for d in doc["diagnostics"]
        if "range" in d
    ]


def main() -> int:
    failures = 0
    for source, summary, line, column in CASES:
        got = terraform_diagnostics(source)
        want = (summary, line, column)
        ok = want in got[:2] if source in SECOND else got[:1] == [want]
        if not ok:
            failures += 1
            print(f"{source!r}\n  table     {want}\n  terraform {got[:2]}")
    print(f"{len(CASES) - failures}/{len(CASES)} rows agree with Terraform")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
