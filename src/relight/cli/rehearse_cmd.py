"""``relight rehearse``: the candidate image on a throwaway copy of the workspace's data.

Exit codes: 0 the rehearsal passed, 1 it failed (a check, the apply or the destroy), 130 it was
stopped (Ctrl-C or SIGTERM: what it made is destroyed first).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from types import FrameType

from relight.cli.args import parse_duration
from relight.cli.context import directory_of, run_context, var_inputs
from relight.cli.views import SourceFiles, print_diagnostics
from relight.images import RehearsalCheck, RehearsalStep
from relight.images.rehearsal import RehearsalReport, RehearsalRequest, cleanup_rehearsal, rehearse
from relight.runs import Event, progress_line

__all__ = ["cmd_rehearse"]


def _snapshots(given: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in given:
        addr, _, snap = item.rpartition("=")
        out[addr] = snap
    return out


class _Printer:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        if self.quiet:
            return
        line: str | None = None
        if isinstance(event, RehearsalStep):
            line = f"==> {event.message}"
        elif isinstance(event, RehearsalCheck):
            line = f"    {'ok  ' if event.passed else 'FAIL'} {event.name}: {event.detail}"
        else:
            found = progress_line(event)
            line = f"    {found}" if found else None
        if line:
            with self._lock:
                print(line, flush=True)


def cmd_rehearse(args: argparse.Namespace) -> int:
    context = run_context(args)
    rehearsals = os.path.join(directory_of(args), ".relight", "rehearsals")
    candidate = None
    if args.candidate:
        candidate = (
            args.candidate if os.path.isabs(args.candidate) else os.path.join(directory_of(args), args.candidate)
        )
    if args.cleanup:
        report = cleanup_rehearsal(context, rehearsals, args.cleanup, candidate, var_inputs(args))
        return _show(report, args.json, candidate or context.directory)
    timeout = None
    if args.timeout:
        try:
            timeout = parse_duration(args.timeout)
        except ValueError as exc:
            print(f"Error: invalid --timeout: {exc}", file=sys.stderr)
            return 1
    request = RehearsalRequest(
        variables=var_inputs(args),
        image=args.image,
        snapshots=_snapshots(args.snapshot),
        fresh_snapshot=args.fresh_snapshot,
        downgrade=args.downgrade,
        keep=args.keep,
        timeout=timeout,
    )
    cancel = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        if not cancel.is_set():
            print("\nStopping: destroying what the rehearsal made...", file=sys.stderr, flush=True)
        cancel.set()

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        report = rehearse(request, context, rehearsals, candidate, _Printer(args.json), cancel)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    code = _show(report, args.json, candidate or context.directory)
    return 130 if report.status == "canceled" else code


def _show(report: RehearsalReport, as_json: bool, directory: str) -> int:
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        return 0 if report.passed else 1
    print_diagnostics(report.diagnostics, SourceFiles(directory, report.sources), sys.stderr.isatty())
    t = report.timings
    parts = ", ".join(f"{k} {t[k]:.1f}s" for k in ("apply", "checks", "destroy") if k in t)
    verdict = {"passed": "PASSED", "failed": "FAILED"}.get(report.status, report.status.upper())
    print(f"\nRehearsal {report.id}: {verdict} in {t.get('total', 0.0):.1f}s ({parts})")
    if report.error:
        print(f"  {report.error}")
    if report.image:
        booted = f" (booted {', '.join(report.booted)})" if report.booted and report.booted != [report.image] else ""
        print(f"  image: {report.image}{booted}")
    for addr, snap in sorted(report.snapshots.items()):
        fresh = " (taken now; kept)" if snap in report.fresh_snapshots else ""
        print(f"  data: {addr} from {snap}{fresh}")
    for check in report.checks:
        print(f"  {'ok  ' if check.passed else 'FAIL'} {check.name}: {check.detail}")
    for left in report.left_behind:
        print(f"  left behind: {left} (relight rehearse --cleanup {report.id})")
    print(
        f"  report: {os.path.join(report.directory, 'report.json')}  log: {os.path.join(report.directory, 'log.txt')}"
    )
    return 0 if report.passed else 1
