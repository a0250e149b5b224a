"""The demo: relight's plan/apply cycle on built-in resources, told step by step.

Run it with ``make demo``. It works in a scratch copy of ``examples/builtin`` (printed at the
start) and needs no cloud account. Each step shows the command, what relight printed, and how
long it took.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def step(title: str, *args: str, cwd: str, expect: int = 0, show: bool = True) -> str:
    print(f"\n=== {title}\n$ relight {' '.join(args)}", flush=True)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "relight", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    elapsed = time.monotonic() - started
    text = proc.stdout + proc.stderr
    if show:
        print(text.rstrip())
    print(f"--- exit {proc.returncode}, {elapsed:.2f}s", flush=True)
    if proc.returncode != expect:
        print(f"demo: expected exit code {expect}, got {proc.returncode}", file=sys.stderr)
        sys.exit(1)
    return text


def main() -> int:
    work = tempfile.mkdtemp(prefix="relight-demo-")
    shutil.copytree(os.path.join(HERE, "builtin"), work, dirs_exist_ok=True)
    print(f"relight demo: working in {work} (a copy of examples/builtin)")
    step("Check the configuration", "validate", cwd=work)
    step("Plan: what would be created", "plan", "-detailed-exitcode", cwd=work, expect=2)
    step("Apply it (no prompt: -auto-approve)", "apply", "-auto-approve", cwd=work)
    step("Outputs, as JSON for scripts", "output", "-json", cwd=work)
    step("Nothing changed, so the plan is empty", "plan", "-detailed-exitcode", cwd=work)
    step(
        "Save a plan that adds a replica, then apply exactly it",
        "plan",
        "-var",
        "replicas=3",
        "-out=more.plan",
        cwd=work,
        expect=0,
    )
    step("Apply the saved plan", "apply", "more.plan", cwd=work)
    step(
        "A saved plan is refused once the state moved on", "apply", "more.plan", cwd=work, expect=1
    )
    step(
        "Recycle the node: -replace rebuilds it and re-wires what depends on it",
        "apply",
        "-auto-approve",
        "-var",
        "replicas=3",
        "-replace=terraform_data.node",
        cwd=work,
    )
    step("State: every instance, and the versions kept", "state", "list", cwd=work)
    step("", "state", "history", cwd=work)
    with open(os.path.join(work, "broken.tf"), "w", encoding="utf-8") as fh:
        fh.write('output "oops" {\n  value = var.not_declared\n}\n')
    step(
        "A mistake is a message with file, line and column, never a traceback",
        "plan",
        cwd=work,
        expect=1,
    )
    os.remove(os.path.join(work, "broken.tf"))
    step("Destroy everything", "destroy", "-auto-approve", "-var", "replicas=3", cwd=work)
    print(f"\nrelight demo: done. The scratch directory {work} is left for you to explore.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
