"""Differential tests: relight's ``output -json`` must match Terraform's on the same config.

Each directory under ``cases/`` holds a ``main.tf`` (only ``terraform_data``, ``variable``,
``locals`` and ``output`` blocks) and ``expected.json``: the ``terraform output -json``
document Terraform 1.11 produced after ``terraform apply`` on that config.

* By default the expected document is read from ``expected.json``.
* With ``RELIGHT_DIFF_LIVE=1`` and ``terraform`` on PATH, Terraform is run again instead.
* The tests are skipped, with the reason shown, while the relight CLI is not usable.
* ``RELIGHT_CLI=/path/to/exe`` runs that executable instead of the venv's ``relight``.

Regenerate the stored documents from real Terraform runs with::

    .venv/bin/python tests/differential/test_differential.py --regen [CASE ...]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
CASES_DIR = HERE / "cases"
ROOT = HERE.parent.parent
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "main.tf").is_file())

# Known, documented gaps: Terraform computes with 512-bit decimals (1/3 prints ~160 digits);
# relight's numbers are Python int/float. strict=True: when the gap closes, the test says so.
PRECISION_GAP = "relight numbers are int/float, Terraform's are 512-bit decimals"
KNOWN_GAPS = {"arithmetic_comparison": PRECISION_GAP, "numbers_format": PRECISION_GAP}
VALUE_CASES = [
    pytest.param(c, marks=pytest.mark.xfail(reason=KNOWN_GAPS[c], strict=True)) if c in KNOWN_GAPS else c
    for c in CASES
]
TIMEOUT = 300.0


def scratch_root() -> str:
    """Directory that holds the per-run scratch copies."""
    return "/tmp" if Path("/tmp").is_dir() else tempfile.gettempdir()


def tool_env() -> dict[str, str]:
    env = dict(os.environ)
    env["TF_IN_AUTOMATION"] = "1"
    env["CHECKPOINT_DISABLE"] = "1"
    return env


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        env=tool_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def case_inputs(name: str) -> list[Path]:
    """The case's configuration: ``main.tf``, any other ``*.tf``/``*.tf.json``, and the files
    of the modules it calls (``modules/NAME/...``), relative to the case directory."""
    root = CASES_DIR / name
    top = [p for p in root.iterdir() if p.is_file() and p.name.endswith((".tf", ".tf.json"))]
    modules = [p for p in (root / "modules").rglob("*") if p.is_file()] if (root / "modules").is_dir() else []
    return sorted(p.relative_to(root) for p in top + modules)


def copy_case(name: str, tool: str) -> Path:
    """Copy the case's configuration into a fresh scratch directory and return it."""
    work = Path(tempfile.mkdtemp(prefix=f"relight-diff-{tool}-{name}-", dir=scratch_root()))
    for rel in case_inputs(name):
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(CASES_DIR / name / rel, work / rel)
    return work


def run_steps(steps: list[list[str]], work: Path) -> str:
    """Run each command in ``work``; return the last one's stdout."""
    out = ""
    for argv in steps:
        proc = run(argv, work)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv)} failed (exit {proc.returncode}) in {work}\n"
                f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
            )
        out = proc.stdout
    return out


def parse_outputs(text: str) -> dict[str, Any]:
    """Parse an ``output -json`` document; numbers with a fraction become ``Decimal``."""
    try:
        doc = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"output -json did not print JSON ({exc}):\n{text[:4000]}") from exc
    if not isinstance(doc, dict):
        raise RuntimeError(f"output -json printed a {type(doc).__name__}, not an object")
    return doc


def terraform_output_text(terraform: str, name: str) -> str:
    """Run Terraform on the case in a scratch copy; return its ``output -json`` stdout."""
    work = copy_case(name, "terraform")
    try:
        return run_steps(
            [
                [terraform, "init", "-input=false", "-no-color"],
                [terraform, "apply", "-auto-approve", "-input=false", "-no-color"],
                [terraform, "output", "-json", "-no-color"],
            ],
            work,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- relight


def relight_cli() -> tuple[str | None, str]:
    """Return (relight executable, "") or (None, reason it cannot be used).

    ``RELIGHT_CLI`` names an executable to use instead of the venv's ``relight``.
    """
    override = os.environ.get("RELIGHT_CLI")
    if override:
        found = shutil.which(override)
        if found is None:
            return None, f"RELIGHT_CLI={override} is not an executable"
        return found, ""
    candidates = [Path(sys.executable).parent / "relight", ROOT / ".venv" / "bin" / "relight"]
    exe = next((c for c in candidates if c.is_file()), None)
    if exe is None:
        found = shutil.which("relight")
        if found is None:
            return None, "relight CLI not found (not in the venv, not on PATH)"
        exe = Path(found)
    python = exe.parent / "python"
    probe_python = str(python) if python.is_file() else sys.executable
    probe = subprocess.run(
        [probe_python, "-c", "import relight.cli.main"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["import failed"])[-1]
        return None, f"relight CLI not importable yet ({last})"
    return str(exe), ""


@functools.cache
def relight_outputs(relight: str, name: str) -> dict[str, Any]:
    work = copy_case(name, "relight")
    try:
        return parse_outputs(
            run_steps([[relight, "apply", "-auto-approve"], [relight, "output", "-json"]], work)
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


@functools.cache
def expected_outputs(name: str) -> dict[str, Any]:
    terraform = shutil.which("terraform")
    if os.environ.get("RELIGHT_DIFF_LIVE") == "1" and terraform is not None:
        return parse_outputs(terraform_output_text(terraform, name))
    return parse_outputs((CASES_DIR / name / "expected.json").read_text())


@pytest.fixture(scope="module")
def relight() -> str:
    exe, reason = relight_cli()
    if exe is None:
        pytest.skip(reason)
    return exe


def strict(value: Any) -> Any:
    """Tag JSON values by kind so that ``true`` never equals ``1``; numbers compare exactly."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | Decimal):
        return ("number", Decimal(value))
    if isinstance(value, list):
        return ("array", [strict(v) for v in value])
    if isinstance(value, dict):
        return ("object", {k: strict(v) for k, v in value.items()})
    return (type(value).__name__, value)


def project(doc: dict[str, Any], fields: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {name: {f: out.get(f) for f in fields} for name, out in doc.items()}


@pytest.mark.parametrize("case", VALUE_CASES)
def test_values_and_sensitivity_match_terraform(relight: str, case: str) -> None:
    expected = expected_outputs(case)
    actual = relight_outputs(relight, case)
    assert sorted(actual) == sorted(expected), "output names differ"
    assert project(actual, ("value", "sensitive")) == project(expected, ("value", "sensitive"))
    assert strict(project(actual, ("value", "sensitive"))) == strict(
        project(expected, ("value", "sensitive"))
    ), "values are equal in Python but differ in JSON kind (bool vs number)"


@pytest.mark.parametrize("case", CASES)
def test_types_match_terraform(relight: str, case: str) -> None:
    expected = expected_outputs(case)
    actual = relight_outputs(relight, case)
    assert all("type" in out for out in actual.values()), "output -json must print each output's type"
    common = sorted(set(actual) & set(expected))
    assert {n: actual[n].get("type") for n in common} == {
        n: expected[n].get("type") for n in common
    }


def test_every_case_has_expected_json() -> None:
    missing = [c for c in CASES if not (CASES_DIR / c / "expected.json").is_file()]
    assert not missing, f"cases without expected.json: {missing}"
    assert len(CASES) >= 20


def test_cases_hold_only_their_inputs_and_expected_output() -> None:
    """Run artefacts (state, lock guards, history) never belong in a case directory."""
    inputs = {c: {str(p) for p in case_inputs(c)} | {"expected.json"} for c in CASES}
    found = {c: {str(p.relative_to(CASES_DIR / c)) for p in (CASES_DIR / c).rglob("*") if p.is_file()} for c in CASES}
    extra = {c: sorted(found[c] - inputs[c]) for c in CASES}
    assert not {c: names for c, names in extra.items() if names}


# --------------------------------------------------------------------------- regeneration


def regenerate(names: list[str]) -> int:
    terraform = shutil.which("terraform")
    if terraform is None:
        print("terraform not found on PATH", file=sys.stderr)
        return 1
    failed = 0
    for name in names:
        try:
            text = terraform_output_text(terraform, name)
            doc = parse_outputs(text)
        except RuntimeError as exc:
            print(f"{name}: FAILED\n{exc}", file=sys.stderr)
            failed += 1
            continue
        path = CASES_DIR / name / "expected.json"
        path.write_text(text)  # verbatim: exactly what Terraform printed
        print(f"{name}: {len(doc)} outputs -> {path.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Regenerate expected.json files with Terraform.")
    ap.add_argument("--regen", action="store_true", required=True)
    ap.add_argument("cases", nargs="*", help="case names (default: all)")
    ns = ap.parse_args()
    unknown = sorted(set(ns.cases) - set(CASES))
    if unknown:
        ap.error(f"unknown cases: {', '.join(unknown)}")
    sys.exit(regenerate(ns.cases or CASES))
