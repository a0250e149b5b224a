"""Check the result-type table against a real ``terraform console`` (a developer tool).

Usage: ``python tests/lang/type_oracle.py`` with ``terraform`` on PATH; prints each row whose
type differs from what Terraform's ``type()`` says.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from type_cases import CASES


def terraform_type(expression: str, workdir: str) -> str:
    env = {**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null", "CHECKPOINT_DISABLE": "1"}
    proc = subprocess.run(
        ["terraform", "console"], input=f"type({expression})\n", capture_output=True, text=True, cwd=workdir, env=env
    )
    text = re.sub(r"\s+", "", proc.stdout)
    return text.replace(",])", "])").replace(",})", "})").replace(",)", ")")


def main() -> int:
    failures = 0
    with tempfile.TemporaryDirectory() as workdir:
        for expression, expected in CASES:
            got = terraform_type(expression, workdir)
            if got != expected:
                failures += 1
                print(f"{expression}\n  table     {expected}\n  terraform {got}")
    print(f"{len(CASES) - failures}/{len(CASES)} rows agree with Terraform")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
