"""``relight heal``, ``relight watch`` and ``relight incidents``.

Exit codes of ``heal``: 0 nothing to do or recovered; 2 something needs a person (drift, a
plan that is not a pure recovery, or a policy that does not allow applying); 1 a failure (the
recovery failed, the configuration has errors, or the pass was skipped because of the lock).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from types import FrameType

from relight.cli.args import parse_duration
from relight.cli.context import run_context, var_inputs
from relight.cli.views import ProgressView, SourceFiles, Terminal, print_diagnostics
from relight.diagnostics import Diagnostics
from relight.heal.healer import Healer, PassResult
from relight.heal.incidents import IncidentLog
from relight.runs import locate_state

__all__ = ["cmd_heal", "cmd_incidents", "cmd_watch"]

_EXIT = {"clean": 0, "recovered": 0, "off": 0, "needs-person": 2, "failed": 1, "error": 1, "skipped": 1}


class _WatchView(ProgressView):
    """Progress during a recovery, stamped and indented under the heal line; no refresh chatter."""

    def decorate(self, text: str) -> str:
        return f"{_stamp()}   {text}"


def _stamp() -> str:
    return datetime.now().strftime("%H:%M:%S")


def _say(text: str) -> None:
    print(f"{_stamp()} {text}", flush=True)


def _healer(args: argparse.Namespace, view: ProgressView, announce: Callable[[str], None]) -> Healer:
    context = run_context(args)

    def print_diags(diags: Diagnostics, sources: Mapping[str, str]) -> None:
        print_diagnostics(diags, SourceFiles(context.directory, sources), sys.stderr.isatty())

    return Healer(
        context,
        mode=args.mode,
        variables=var_inputs(args),
        say=_say,
        view=view,
        print_diags=print_diags,
        announce=announce,
    )


def _view(args: argparse.Namespace) -> ProgressView:
    return _WatchView(Terminal(), os.path.abspath(args.chdir or "."), sys.stdout, show_plan=False, show_refresh=False)


def cmd_heal(args: argparse.Namespace) -> int:
    view = _view(args)
    healer = _healer(args, view, lambda policy: _say(f"policy: {policy}"))
    try:
        result = healer.run_pass()
    finally:
        view.close()
        healer.close(timeout=15.0)
    _say(result.message)
    return _EXIT.get(result.status, 1)


def cmd_watch(args: argparse.Namespace) -> int:
    try:
        interval = parse_duration(args.interval)
    except ValueError as exc:
        print(f"Error: invalid --interval: {exc}", file=sys.stderr)
        return 1
    if interval <= 0:
        print("Error: --interval must be more than 0s", file=sys.stderr)
        return 1
    view = _view(args)
    where = os.path.abspath(args.chdir or ".")
    healer = _healer(args, view, lambda policy: _say(f"watching {where} every {interval:g}s; policy: {policy}"))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not stop.is_set():
            _say("stopping after the current pass...")
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    seen: dict[str, str] = {}

    def on_pass(result: PassResult) -> None:
        # Say what changed: the same outcome as the pass before stays quiet.
        if result.status == "clean" and seen.get("last") == "clean":
            return
        if result.status in ("needs-person", "skipped", "error") and seen.get("last") == result.message:
            return
        seen["last"] = result.status if result.status == "clean" else result.message
        _say(result.message)

    try:
        healer.watch(interval, stop, on_pass=on_pass)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        view.close()
        healer.close(timeout=15.0)
    _say(f"stopped after {healer.passes} passes.")
    return 0


def cmd_incidents(args: argparse.Namespace) -> int:
    log = IncidentLog(locate_state(run_context(args)))
    incidents = log.all()
    if args.json:
        print(json.dumps([i.to_json() for i in incidents], indent=2))
        return 0
    if not incidents:
        print("No incidents recorded. `relight watch` records one each time it finds something vanished or changed.")
        return 0
    print(f"{'id':<28} {'detected at (UTC)':<20} {'kind':<9} {'outcome':<13} {'recovered in':>12}  objects")
    for i in incidents:
        took = f"{i.time_to_recover:.1f}s" if i.time_to_recover is not None else "-"
        objects = ", ".join(i.vanished or i.drifted) or "-"
        when = i.detected_at[:19].replace("T", " ")
        print(f"{i.id:<28} {when:<20} {i.kind:<9} {i.outcome:<13} {took:>12}  {objects}")
    return 0
