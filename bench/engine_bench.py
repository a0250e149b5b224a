#!/usr/bin/env python3
"""Engine benchmark: relight against Terraform on generated ``terraform_data`` configs.

For each shape and size the script writes one config, copies it into two working
directories (one per tool) and measures, in the same run:

* apply from an empty state (Terraform's ``init`` is run first and not timed),
* a no-op plan right after that apply,
* the peak resident set size of every timed command (``ru_maxrss`` from ``os.wait4``).

relight runs twice per case: with the parse cache off (``RELIGHT_PARSE_CACHE=off``: a new
configuration, parsed by every command) and on (warmed by an untimed ``relight validate``, as
Terraform's ``init`` is untimed; each run has a cache directory of its own). relight's modules
are byte-compiled first, as installing the package does (this machine sets
``PYTHONDONTWRITEBYTECODE``, which would otherwise make every command compile them again).

Shapes (resource ``i`` of ``N``, named ``terraform_data.r<i>``):

* ``independent``: ``input = "v-<i>"``, no references.
* ``tree``: a binary tree; ``input`` interpolates the ``.output`` of resource ``(i-1)//2``.
* ``chain``: resource ``i`` has ``depends_on = [terraform_data.r<i-1>]``.
* ``modules`` (not run by default): one module call with ``for_each`` over 10 keys, the child a
  ``tree`` of N/10 resources; the same engine work through module instances.

Run ``python bench/engine_bench.py --help`` for the flags; see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "out"
VENV_BIN = ROOT / ".venv" / "bin"
SHAPES = ("tree", "chain", "independent", "modules")
DEFAULT_SHAPES = ("tree", "chain", "independent")
MODULE_INSTANCES = 10  # the "modules" shape: one call with for_each over this many keys
DEFAULT_SIZES = (100, 1000, 2000, 10000)

# Largest N that Terraform is run at by default; Terraform's local backend rewrites the
# whole state after every resource, so larger runs take many minutes. --full lifts the caps.
TERRAFORM_CAP = {"independent": 2000, "tree": 2000, "chain": 1000, "modules": 2000}

# Targets: (shape, N, minimum terraform/relight apply speed-up).
APPLY_SPEEDUP_TARGETS: tuple[tuple[str, int, float], ...] = (
    ("tree", 1000, 40.0),
    ("tree", 2000, 80.0),
)
PLAN_TARGET_N = 2000
PLAN_TARGET_FRACTION = 0.25  # relight no-op plan <= this fraction of Terraform's
LINEARITY_SMALL, LINEARITY_LARGE, LINEARITY_MAX = 1000, 10000, 10.0
CACHE_MODES = ("off", "on")

ADDED_RE = re.compile(r"Resources:\s+(\d+)\s+added")
NO_CHANGES_RE = re.compile(r"No changes", re.IGNORECASE)


@dataclass
class Measurement:
    """One timed command."""

    seconds: float | None = None
    rss_mib: float | None = None
    returncode: int | None = None
    note: str = ""
    added: int | None = None
    no_changes: bool | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.seconds is not None


@dataclass
class ToolResult:
    """Apply and no-op plan of one tool on one config."""

    apply: Measurement = field(default_factory=Measurement)
    plan: Measurement = field(default_factory=Measurement)
    skipped: str = ""


@dataclass
class CaseResult:
    shape: str
    n: int
    terraform: ToolResult
    relight: dict[str, ToolResult]  # by parse cache mode: "off", "on"
    targets: list[dict[str, object]] = field(default_factory=list)


# --------------------------------------------------------------------------- configs


def generate_config(shape: str, n: int) -> str:
    """Return the text of a ``main.tf`` with ``n`` ``terraform_data`` resources."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {', '.join(SHAPES)}")
    blocks: list[str] = []
    for i in range(n):
        if shape == "independent" or i == 0:
            body = f'  input = "v-{i}"\n'
        elif shape == "tree":
            parent = (i - 1) // 2
            body = f'  input = "${{terraform_data.r{parent}.output}}-{i}"\n'
        else:  # chain
            body = f'  input      = "v-{i}"\n  depends_on = [terraform_data.r{i - 1}]\n'
        blocks.append(f'resource "terraform_data" "r{i}" {{\n{body}}}\n')
    return "\n".join(blocks)


def generate_files(shape: str, n: int) -> dict[str, str]:
    """The configuration's files by relative path. ``modules``: a root module calling one child
    module with ``for_each`` over MODULE_INSTANCES keys; the child holds a tree of
    n / MODULE_INSTANCES resources, the first of which reads the call's input."""
    if shape != "modules":
        return {"main.tf": generate_config(shape, n)}
    per = max(1, n // MODULE_INSTANCES)
    keys = ", ".join(f'"k{i}"' for i in range(MODULE_INSTANCES))
    root = (
        f'module "m" {{\n  source   = "./mod"\n  for_each = toset([{keys}])\n  prefix   = each.key\n}}\n\n'
        'output "firsts" {\n  value = { for k, m in module.m : k => m.first }\n}\n'
    )
    child = generate_config("tree", per).replace('input = "v-0"', 'input = "${var.prefix}-0"')
    child = 'variable "prefix" {\n  type = string\n}\n\n' + child
    child += '\noutput "first" {\n  value = terraform_data.r0.output\n}\n'
    return {"main.tf": root, "mod/main.tf": child}


def prepare_dirs(shape: str, n: int) -> tuple[Path, dict[str, Path]]:
    """Write the config to bench/out/<shape>-<n>/ and fresh working copies of it: one for
    Terraform, one for relight per parse cache mode."""
    base = OUT_DIR / f"{shape}-{n}"
    base.mkdir(parents=True, exist_ok=True)
    files = generate_files(shape, n)
    for rel, text in files.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(text)
    dirs: dict[str, Path] = {}
    for tool in ("terraform", *(f"relight-cache-{m}" for m in CACHE_MODES)):
        work = base / tool
        if work.exists():
            shutil.rmtree(work)
        work.mkdir()
        for rel in files:
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(base / rel, work / rel)
        dirs[tool] = work
    return dirs["terraform"], {m: dirs[f"relight-cache-{m}"] for m in CACHE_MODES}


# --------------------------------------------------------------------------- running


def run_measured(
    argv: list[str], cwd: Path, log_name: str, timeout: float, env: dict[str, str]
) -> Measurement:
    """Run ``argv`` in ``cwd``; return wall time, peak RSS (incl. descendants) and exit code.

    stdout and stderr go to ``cwd/<log_name>.log``.
    """
    log_path = cwd / f"{log_name}.log"
    with log_path.open("wb") as log:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            return Measurement(note=f"could not start: {exc}")
        deadline = start + timeout
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.perf_counter() > deadline:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    text = log_path.read_text(errors="replace")
    added_match = ADDED_RE.search(text)
    m = Measurement(
        seconds=elapsed,
        rss_mib=usage.ru_maxrss / 1024.0,  # Linux reports KiB
        returncode=proc.returncode,
        added=int(added_match.group(1)) if added_match else None,
        no_changes=bool(NO_CHANGES_RE.search(text)),
    )
    if timed_out:
        m.note = f"timed out after {timeout:.0f} s"
        m.seconds = None
    elif proc.returncode != 0:
        tail = [line for line in text.strip().splitlines() if line.strip()][-1:]
        m.note = f"exit {proc.returncode}: {tail[0][:120] if tail else ''} (see {log_path})"
    return m


def tool_env() -> dict[str, str]:
    env = dict(os.environ)
    env["TF_IN_AUTOMATION"] = "1"
    env["CHECKPOINT_DISABLE"] = "1"
    return env


def run_terraform(tf: str, work: Path, timeout: float) -> ToolResult:
    env = tool_env()
    result = ToolResult()
    init = run_measured([tf, "init", "-input=false", "-no-color"], work, "init", timeout, env)
    if not init.ok:
        result.apply = Measurement(note=f"terraform init failed: {init.note}")
        return result
    result.apply = run_measured(
        [tf, "apply", "-auto-approve", "-input=false", "-no-color"], work, "apply", timeout, env
    )
    if result.apply.ok:
        result.plan = run_measured(
            [tf, "plan", "-input=false", "-no-color"], work, "plan", timeout, env
        )
    return result


def run_relight(relight: str, work: Path, timeout: float, cache: str) -> ToolResult:
    """Apply, then a no-op plan; ``cache`` "off" parses in every command, "on" warms a cache of
    this run's own with an untimed ``relight validate`` first."""
    env = tool_env()
    env["XDG_CACHE_HOME"] = str(work / ".cache")
    if cache == "off":
        env["RELIGHT_PARSE_CACHE"] = "off"
    else:
        env.pop("RELIGHT_PARSE_CACHE", None)
        warm = run_measured([relight, "validate"], work, "validate", timeout, env)
        if not warm.ok:
            return ToolResult(apply=Measurement(note=f"relight validate failed: {warm.note}"))
    result = ToolResult()
    result.apply = run_measured([relight, "apply", "-auto-approve"], work, "apply", timeout, env)
    if result.apply.ok:
        result.plan = run_measured([relight, "plan"], work, "plan", timeout, env)
    return result


def compile_relight() -> None:
    """Byte-compile relight once, as installing the package does (see the module docstring)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "src" / "relight")],
        check=False,
        capture_output=True,
    )


def find_relight(explicit: str | None = None) -> tuple[str | None, str]:
    """Return (path to the relight CLI, reason it is unusable or "")."""
    if explicit:
        found = shutil.which(explicit)
        return (found, "") if found else (None, f"--relight {explicit}: not an executable")
    exe = VENV_BIN / "relight"
    path = str(exe) if exe.exists() else shutil.which("relight")
    if path is None:
        return None, f"relight CLI not found ({exe} missing and not on PATH)"
    python = VENV_BIN / "python"
    if python.exists():
        probe = subprocess.run(
            [str(python), "-c", "import relight.cli.main"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode != 0:
            last = (probe.stderr.strip().splitlines() or ["import failed"])[-1]
            return None, f"relight CLI not importable yet: {last}"
    return path, ""


# --------------------------------------------------------------------------- reporting


def fmt_s(m: Measurement) -> str:
    if m.ok and m.seconds is not None:
        return f"{m.seconds:9.3f}"
    return f"{'ERR' if m.note else '-':>9}"


def fmt_mib(m: Measurement) -> str:
    return f"{m.rss_mib:8.1f}" if m.ok and m.rss_mib is not None else f"{'-':>8}"


def ratio(tf: Measurement, rl: Measurement) -> float | None:
    if tf.ok and rl.ok and tf.seconds is not None and rl.seconds:
        return tf.seconds / rl.seconds
    return None


def add_target(case: CaseResult, name: str, passed: bool | None, detail: str) -> None:
    case.targets.append({"target": name, "passed": passed, "detail": detail})


def verdict(passed: object) -> str:
    return "n/a " if passed is None else ("PASS" if passed else "FAIL")


def evaluate_case_targets(case: CaseResult) -> None:
    tf = case.terraform
    for mode, rl in case.relight.items():
        tag = f"[cache {mode}]"
        for shape, n, need in APPLY_SPEEDUP_TARGETS:
            if case.shape == shape and case.n == n:
                r = ratio(tf.apply, rl.apply)
                add_target(
                    case,
                    f"{shape} apply {n} {tag}: terraform/relight >= {need:g}x",
                    None if r is None else r >= need,
                    "missing figures" if r is None else f"{r:.1f}x",
                )
        if case.n == PLAN_TARGET_N:
            r = ratio(tf.plan, rl.plan)
            frac = None if r is None else 1.0 / r
            add_target(
                case,
                f"{case.shape} no-op plan {case.n} {tag}: relight <= {PLAN_TARGET_FRACTION:g} x terraform",
                None if frac is None else frac <= PLAN_TARGET_FRACTION,
                "missing figures" if frac is None else f"{frac:.2f} x terraform",
            )
        for phase in ("apply", "plan"):
            tm: Measurement = getattr(tf, phase)
            rm: Measurement = getattr(rl, phase)
            if tm.ok and rm.ok and tm.rss_mib is not None and rm.rss_mib is not None:
                add_target(
                    case,
                    f"{case.shape} {phase} {case.n} {tag}: relight peak RSS <= terraform's",
                    rm.rss_mib <= tm.rss_mib,
                    f"{rm.rss_mib:.1f} vs {tm.rss_mib:.1f} MiB",
                )


def print_case(case: CaseResult, show_tf: bool) -> None:
    tf = case.terraform
    print(f"\n== {case.shape}, N={case.n} ==")
    header = f"{'phase':<24}{'relight s':>11}{'relight MiB':>13}"
    if show_tf:
        header += f"{'terraform s':>13}{'terraform MiB':>15}{'tf/relight':>12}"
    print(header)
    for mode, rl in case.relight.items():
        for label, phase in (("apply", "apply"), ("no-op plan", "plan")):
            rm: Measurement = getattr(rl, phase)
            tm: Measurement = getattr(tf, phase)
            row = f"{label + ' (cache ' + mode + ')':<24}{fmt_s(rm):>11}{fmt_mib(rm):>13}"
            if show_tf:
                r = ratio(tm, rm)
                rtxt = f"{r:10.1f}x" if r is not None else f"{'-':>11}"
                row += f"{fmt_s(tm):>13}{fmt_mib(tm):>15}{rtxt:>12}"
            print(row)
    tools = [(f"relight (cache {m})", rl) for m, rl in case.relight.items()] + [("terraform", tf)]
    for tool_name, tool in tools:
        if tool.skipped:
            if tool_name == "terraform" and not show_tf:
                continue
            print(f"  {tool_name}: skipped ({tool.skipped})")
            continue
        for phase in ("apply", "plan"):
            m: Measurement = getattr(tool, phase)
            if m.note:
                print(f"  {tool_name} {phase}: {m.note}")
        if tool.apply.ok and tool.apply.added is not None and tool.apply.added != case.n:
            print(f"  WARNING: {tool_name} reported {tool.apply.added} added, expected {case.n}")
        if tool.plan.ok and tool.plan.no_changes is False:
            print(f"  WARNING: {tool_name} plan output does not say 'No changes'")
    for t in case.targets:
        print(f"  [{verdict(t['passed'])}] {t['target']}: {t['detail']}")


def linearity(cases: list[CaseResult]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    by_key = {(c.shape, c.n): c for c in cases}
    for shape in dict.fromkeys(c.shape for c in cases):
        small = by_key.get((shape, LINEARITY_SMALL))
        large = by_key.get((shape, LINEARITY_LARGE))
        if small is None or large is None:
            continue
        for mode in CACHE_MODES:
            name = f"{shape}: relight apply {LINEARITY_LARGE}/{LINEARITY_SMALL} [cache {mode}]"
            name += f" <= {LINEARITY_MAX:g}x"
            a, b = small.relight[mode].apply, large.relight[mode].apply
            passed: bool | None = None
            detail = "missing figures"
            if a.ok and b.ok and a.seconds and b.seconds is not None:
                r = b.seconds / a.seconds
                passed = r <= LINEARITY_MAX
                detail = f"{b.seconds:.2f} s / {a.seconds:.2f} s = {r:.1f}x"
            out.append({"target": name, "passed": passed, "detail": detail})
    return out


# --------------------------------------------------------------------------- main


def parse_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument(
        "--shapes", default=",".join(DEFAULT_SHAPES), help="comma list: tree,chain,independent,modules"
    )
    ap.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="comma list of resource counts",
    )
    ap.add_argument("--relight-only", action="store_true", help="skip the Terraform runs")
    ap.add_argument("--terraform-only", action="store_true", help="skip the relight runs")
    ap.add_argument(
        "--full",
        action="store_true",
        help="run Terraform at every size (default caps: "
        + ", ".join(f"{k} {v}" for k, v in TERRAFORM_CAP.items())
        + ")",
    )
    ap.add_argument(
        "--relight",
        metavar="EXE",
        help=f"relight executable to time (default: {VENV_BIN / 'relight'})",
    )
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per command")
    ap.add_argument("--json", metavar="FILE", help="write the results as JSON to FILE")
    args = ap.parse_args(argv)

    shapes = parse_list(args.shapes)
    for s in shapes:
        if s not in SHAPES:
            ap.error(f"unknown shape {s!r}; choose from {', '.join(SHAPES)}")
    try:
        sizes = [int(s) for s in parse_list(args.sizes)]
    except ValueError:
        ap.error("--sizes takes a comma-separated list of integers")
    if any(n < 1 for n in sizes):
        ap.error("sizes must be >= 1")

    tf_path: str | None = None
    if args.relight_only:
        print("--relight-only: Terraform runs skipped")
    else:
        tf_path = shutil.which("terraform")
        if tf_path is None:
            print("terraform not found on PATH: reference figures skipped")
    relight_path: str | None = None
    relight_reason = "--terraform-only"
    if not args.terraform_only:
        relight_path, relight_reason = find_relight(args.relight)
        if relight_path is None:
            print(f"relight skipped: {relight_reason}")
    if tf_path is None and relight_path is None:
        print("nothing to run")
        return 2
    if tf_path:
        print(f"terraform: {tf_path}")
    if relight_path:
        print(f"relight:   {relight_path}")

    if relight_path is not None:
        compile_relight()
    cases: list[CaseResult] = []
    for shape in shapes:
        for n in sizes:
            tf_dir, rl_dirs = prepare_dirs(shape, n)
            tf_res = ToolResult()
            rl_res = {m: ToolResult() for m in CACHE_MODES}
            if tf_path is None:
                tf_res.skipped = "not run"
            elif not args.full and n > TERRAFORM_CAP[shape]:
                tf_res.skipped = f"N above the default cap of {TERRAFORM_CAP[shape]}; use --full"
            else:
                print(f"[{shape} {n}] terraform ...", flush=True)
                tf_res = run_terraform(tf_path, tf_dir, args.timeout)
            for mode in CACHE_MODES:
                if relight_path is None:
                    rl_res[mode].skipped = relight_reason
                else:
                    print(f"[{shape} {n}] relight, parse cache {mode} ...", flush=True)
                    rl_res[mode] = run_relight(relight_path, rl_dirs[mode], args.timeout, mode)
            case = CaseResult(shape, n, tf_res, rl_res)
            evaluate_case_targets(case)
            cases.append(case)
            print_case(case, show_tf=tf_path is not None)

    lin = linearity(cases)
    all_targets = [t for c in cases for t in c.targets] + lin
    print("\n== targets ==")
    for t in lin:
        print(f"  [{verdict(t['passed'])}] {t['target']}: {t['detail']}")
    if not lin:
        print(
            f"  linearity: needs relight at N={LINEARITY_SMALL} and N={LINEARITY_LARGE} in one run"
        )
    counts = {
        "PASS": sum(1 for t in all_targets if t["passed"] is True),
        "FAIL": sum(1 for t in all_targets if t["passed"] is False),
        "n/a": sum(1 for t in all_targets if t["passed"] is None),
    }
    print("  " + ", ".join(f"{k}: {v}" for k, v in counts.items()))

    if args.json:
        doc = {
            "terraform": tf_path,
            "relight": relight_path,
            "relight_skipped": "" if relight_path else relight_reason,
            "cases": [asdict(c) for c in cases],
            "linearity": lin,
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
