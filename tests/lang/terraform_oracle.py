"""Check the function case table against a real ``terraform console`` (a developer tool).

Usage: ``python tests/lang/terraform_oracle.py`` with ``terraform`` on PATH. It prints every case
where Terraform's answer differs from the table. The test suite itself never needs Terraform.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from function_cases import CASES, NOT_TERRAFORM, Err

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def hcl(value: Any) -> str:
    """Render a plain value as an HCL expression."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, list):
        return "[" + ", ".join(hcl(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {hcl(v)}" for k, v in value.items()) + "}"


def console(expression: str, workdir: str) -> tuple[bool, str]:
    """Evaluate one expression; return (ok, output or flattened error text)."""
    proc = subprocess.run(
        ["terraform", "console"],
        input=expression,
        capture_output=True,
        text=True,
        cwd=workdir,
        check=False,
    )
    if proc.returncode == 0:
        return True, proc.stdout.strip()
    text = _ANSI.sub("", proc.stderr)
    lines = [line.strip("│╷╵ \t") for line in text.splitlines()]
    return False, " ".join(line for line in lines if line)


def main() -> int:
    failures = 0
    with tempfile.TemporaryDirectory() as workdir:
        for number, (name, args, expected) in enumerate(CASES):
            if number in NOT_TERRAFORM:
                continue
            call = f"{name}({', '.join(hcl(a) for a in args)})"
            if isinstance(expected, float) and math.isinf(expected):
                ok, out = console(call, workdir)  # JSON has no infinity
                if out != ("+Inf" if expected > 0 else "-Inf"):
                    failures += 1
                    print(f"#{number} {call}\n  want {expected!r}\n  got  {out}")
                continue
            ok, out = console(f"jsonencode({call})", workdir)
            if isinstance(expected, Err):
                if ok or expected.text not in out:
                    failures += 1
                    print(f"#{number} {call}\n  want error {expected.text!r}\n  got {out}")
                continue
            # The console writes DEL as \x7f, which JSON spells \u007f.
            got = json.loads(json.loads(out.replace("\\x7f", "\\u007f"))) if ok else out
            if not ok or json.dumps(got, sort_keys=True) != json.dumps(expected, sort_keys=True):
                failures += 1
                print(f"#{number} {call}\n  want {expected!r}\n  got  {got!r}")
    print(f"{failures} of {len(CASES)} cases differ from terraform")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
