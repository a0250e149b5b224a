"""The working set of one run: :class:`RunScope`, handed to each operation's module.

It holds the request and context, the run's safe event sink and cloud clock, the diagnostics
collected so far and the configuration sources (for rendering them), and the few things every
operation does alike: load, take the lock, make results.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from relight.diagnostics import Diagnostic, Diagnostics
from relight.engine import Engine, Plan
from relight.providers.clock import CloudClock
from relight.runs.context import RunContext
from relight.runs.events import DiagnosticEvent, HookBridge, SafeSink
from relight.runs.load import Loaded, load, load_checked, make_engine, relative, variables
from relight.runs.request import RunRequest
from relight.runs.result import RunResult, RunStatus
from relight.values import Value

__all__ = ["RunScope"]


class _Reported(Diagnostics):
    """The run's diagnostics: file names made relative to the run's directory (as Terraform
    prints them), and each one told to the sink as it is found."""

    __slots__ = ("_directory", "_sink")

    def __init__(self, sink: SafeSink, directory: str) -> None:
        super().__init__()
        self._sink = sink
        self._directory = directory

    def append(self, diag: Diagnostic) -> None:
        diag = relative(diag, self._directory)
        super().append(diag)
        self._sink.emit(DiagnosticEvent(diag))


class RunScope:
    def __init__(self, request: RunRequest, context: RunContext, sink: SafeSink) -> None:
        self.request = request
        self.context = context
        self.sink = sink
        self.clock = CloudClock()
        self.hook = HookBridge(sink)
        self.diags: Diagnostics = _Reported(sink, context.directory)
        self.sources: dict[str, str] = {}
        self.started = time.monotonic()
        self.waited = 0.0  # seconds at an approval prompt: a person's time, not the run's

    def load(self) -> Loaded | None:
        """The checked configuration (its diagnostics collected), or None when unusable."""
        loaded = load(self.context, self.diags)
        if loaded is not None:
            self.sources = dict(loaded.sources)
        return loaded

    def load_checked(self, *, with_variables: bool = True) -> tuple[Loaded, dict[str, Value]] | None:
        """The configuration and variable values, checked as plan checks them (every mistake
        found at once), or None."""
        found = load_checked(self.request, self.context, self.diags, with_variables=with_variables)
        if found is not None:
            self.sources = dict(found[0].sources)
        return found

    def variables(self, loaded: Loaded) -> dict[str, Value] | None:
        return variables(self.request, self.context, loaded.config, self.diags)

    def engine(self, loaded: Loaded, values: dict[str, Value]) -> Engine:
        return make_engine(self.context, loaded.config, values, self.hook, self.clock)

    @contextlib.contextmanager
    def lock(self, engine: Engine, operation: str, timeout: float | None = None) -> Iterator[None]:
        """Hold the state lock for ``operation`` unless the request says not to (``-lock=false``)
        or the plan is speculative. Raises StateLockedError naming the holder."""
        if not self.request.lock or self.request.speculative:
            yield
            return
        with engine.lock(operation, self.request.lock_timeout if timeout is None else timeout):
            yield

    def approved(self, plan: Plan) -> bool:
        """Ask the context's approver (the time at the prompt is not the run's)."""
        if self.context.approve is None:
            return False
        asked = time.monotonic()
        try:
            return self.context.approve(plan)
        finally:
            self.waited += time.monotonic() - asked

    def result(self, status: RunStatus, plan: Plan | None = None, plan_file: bytes | None = None) -> RunResult:
        result = RunResult(status, self.diags, self.sources, plan=plan, plan_file=plan_file)
        if plan is not None:
            result.lineage, result.serial = plan.lineage, plan.serial
        return result

    def failed(self, summary: str, detail: str = "") -> RunResult:
        self.diags.error(summary, detail)
        return self.result(RunStatus.ERRORED)
