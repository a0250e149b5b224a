"""What the CLI shows people: diagnostics, progress, plans, outputs; human or ``-json``.

:class:`ProgressView` is the run's event sink for the terminal. It prints Terraform's progress
lines (``aws_instance.web: Creating...``, ``Still creating... [10s elapsed]`` every ten seconds,
``Creation complete after 2s [id=i-123]``), messages, and diagnostics. Diagnostics are held until
something else is printed (or the run ends), so repeats of one problem across many objects are
merged into one box; the plan is printed when it is ready (before an approval prompt), unless
the command prints it itself (``-json``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TextIO

from relight.diagnostics import Diagnostic, render
from relight.runs import (
    ApplyDone,
    ApplyStarted,
    DiagnosticEvent,
    Event,
    OutputState,
    PlanReady,
    RefreshStarted,
    progress_line,
    render_plan,
    render_value,
    still_line,
)

__all__ = ["ProgressView", "Terminal", "merge_repeats", "print_diagnostics", "print_outputs"]


class Terminal:
    """Where the CLI writes, and whether it may use colour."""

    def __init__(self, no_color: bool = False, environment: Mapping[str, str] | None = None) -> None:
        env = os.environ if environment is None else environment
        self.color = sys.stdout.isatty() and not env.get("NO_COLOR") and not no_color

    @property
    def err_color(self) -> bool:
        return self.color and sys.stderr.isatty()


class SourceFiles(Mapping[str, str]):
    """Configuration text by file name relative to ``directory``, read on first use (for the
    source line under a diagnostic)."""

    def __init__(self, directory: str, known: Mapping[str, str] | None = None) -> None:
        self.directory = directory
        self._texts: dict[str, str] = dict(known or {})

    def __getitem__(self, name: str) -> str:
        if name not in self._texts:
            try:
                with open(os.path.join(self.directory, name), encoding="utf-8") as fh:
                    self._texts[name] = fh.read()
            except (OSError, UnicodeDecodeError):
                raise KeyError(name) from None
        return self._texts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


def merge_repeats(items: list[Diagnostic]) -> list[Diagnostic]:
    """One diagnostic for a problem that hit many objects alike (an unreachable endpoint, no
    credentials), naming every object, instead of the same box once per object."""
    groups: dict[tuple[object, ...], list[Diagnostic]] = {}
    for d in items:
        key = (d.severity, d.summary, d.detail, d.subject) if d.subject is None and d.address else (id(d),)
        groups.setdefault(key, []).append(d)
    out: list[Diagnostic] = []
    for same in groups.values():
        first = same[0]
        if len(same) == 1:
            out.append(first)
            continue
        names = ", ".join(sorted({d.address or "" for d in same}))
        out.append(replace(first, address=None, detail=f"{first.detail}\n\nAffected ({len(same)}): {names}"))
    return out


def print_diagnostics(diags: Iterable[Diagnostic], sources: Mapping[str, str], color: bool) -> None:
    items = merge_repeats(list(diags))
    if items:
        print(render(items, sources, color=color), file=sys.stderr)


def print_outputs(outputs: Mapping[str, OutputState], out: TextIO | None = None) -> None:
    if not outputs:
        return
    stream = out or sys.stdout
    stream.write("\nOutputs:\n\n")
    for name in sorted(outputs):
        o = outputs[name]
        stream.write(f"{name} = {'<sensitive>' if o.sensitive else render_value(o.value)}\n")
    stream.flush()


class ProgressView:
    """The terminal's event sink (thread-safe); a ticker thread reports long-running actions.

    ``show_plan`` prints the plan when it is ready; ``show_refresh`` prints "Refreshing state..."
    lines; ``prefix`` is put before every progress line (the heal loop's timestamps).
    """

    def __init__(
        self,
        terminal: Terminal,
        directory: str,
        out: TextIO | None = None,
        *,
        show_plan: bool = True,
        show_refresh: bool = True,
        show_diagnostics: bool = True,
        tick: float = 10.0,
    ) -> None:
        self.terminal = terminal
        self.out = out or sys.stdout
        self.sources = SourceFiles(directory)
        self.show_plan = show_plan
        self.show_refresh = show_refresh
        self.show_diagnostics = show_diagnostics
        self._held: list[Diagnostic] = []
        self._lock = threading.RLock()
        self._inflight: dict[tuple[str, bool], tuple[float, str, float]] = {}
        self._tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the sink -----------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        if isinstance(event, DiagnosticEvent):
            if self.show_diagnostics:
                with self._lock:
                    self._held.append(event.diagnostic)
            return
        if isinstance(event, PlanReady):
            if self.show_plan:
                self.flush()
                self.write(render_plan(event.plan, self.terminal.color))
            return
        if isinstance(event, RefreshStarted) and not self.show_refresh:
            return
        self._track(event)
        if isinstance(event, ApplyDone) and not event.ok:
            return  # its errors come as diagnostics
        text = progress_line(event)
        if text is not None:
            self.line(text)

    def flush(self) -> None:
        """Print the diagnostics held so far (merged)."""
        with self._lock:
            held, self._held = self._held, []
        if held:
            print_diagnostics(held, self.sources, self.terminal.err_color)

    def close(self) -> None:
        self._stop.set()
        self.flush()

    # -- lines --------------------------------------------------------------------------
    def line(self, text: str) -> None:
        self.flush()
        self.write(self.decorate(text))

    def decorate(self, text: str) -> str:
        return text

    def write(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def _track(self, event: Event) -> None:
        """Keep what is in flight, for the "Still creating..." lines."""
        if isinstance(event, ApplyStarted):
            now = time.monotonic()
            with self._lock:
                self._inflight[(event.address, event.destroying)] = (now, event.action, now)
            self._ensure_ticker()
        elif isinstance(event, ApplyDone):
            with self._lock:
                self._inflight.pop((event.address, event.destroying), None)

    def _ensure_ticker(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._ticker, daemon=True, name="relight-progress")
            self._thread.start()

    def _ticker(self) -> None:
        while not self._stop.wait(1.0):
            now = time.monotonic()
            with self._lock:
                items = list(self._inflight.items())
            for (addr, destroying), (started, action, last) in items:
                if now - last >= self._tick:
                    self.line(still_line(addr, action, destroying, now - started))
                    with self._lock:
                        if (addr, destroying) in self._inflight:
                            self._inflight[(addr, destroying)] = (started, action, now)


def print_json(doc: object) -> None:
    print(json.dumps(doc, indent=2, default=str))
