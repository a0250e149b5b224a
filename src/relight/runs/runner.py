"""The one place an operation runs: :meth:`Runner.execute` (request, context, sink) -> result.

Every shell goes through here: the CLI, the heal scheduler, the server and its workers. A run
loads the configuration and its variables, takes the state lock itself (unless the request
says not to, or the plan is speculative), plans, stops for approval when the request says so,
applies, and returns a :class:`~relight.runs.result.RunResult` that is data.

Contract: ``execute`` always returns a result and never raises for anything a user can cause
(bad configuration, a held lock, a stale plan, a refused cloud call): those are diagnostics and
a status. An unexpected exception (a bug) also ends as an ``errored`` result naming it. On any
failure, every provider call that succeeded was recorded durably before the next one started
(the engine's journal), so nothing is lost. A sink that raises never breaks the run: its first
failure is reported once, as a warning in the result.
"""

from __future__ import annotations

import time

from relight.errors import PlanError, RelightError, StateError, StateLockedError
from relight.runs import healpass, planapply, stateops
from relight.runs.context import RunContext
from relight.runs.events import EventSink, RunFinished, RunStarted, SafeSink
from relight.runs.request import Operation, RunRequest
from relight.runs.result import RunResult, RunStatus, Timings
from relight.runs.scope import RunScope
from relight.runs.validate import init, validate

__all__ = ["Runner"]


class Runner:
    """Executes run requests. Holds no state between runs; one runner serves many threads."""

    def execute(self, request: RunRequest, context: RunContext, sink: EventSink | None = None) -> RunResult:
        """Run ``request`` in ``context``, telling ``sink`` as it goes; always returns a result."""
        run = RunScope(request, context, SafeSink(sink, context.secrets.values()))
        run.sink.emit(RunStarted(request.operation.value, context.directory))
        try:
            result = _dispatch(run)
        except StateLockedError as exc:
            result = run.failed("Error acquiring the state lock", str(exc))
        except StateError as exc:
            result = run.failed("Failed to load or save the state", str(exc))
        except PlanError as exc:
            result = run.failed("Cannot apply the saved plan", str(exc))
        except RelightError as exc:
            result = run.failed(str(exc))
        except Exception as exc:  # a bug: still a result, never a traceback for the user
            result = run.failed(
                "relight hit an unexpected error",
                f"{type(exc).__name__}: {exc}. This is a bug in relight; everything that finished "
                "before it is recorded in the state.",
            )
        return _finish(run, result)


def _dispatch(run: RunScope) -> RunResult:
    op = run.request.operation
    if op is Operation.VALIDATE:
        return validate(run)
    if op is Operation.INIT:
        return init(run)
    if op is Operation.HEAL:
        return healpass.run(run)
    if op in stateops.OPERATIONS:
        return stateops.run(run)
    if op is Operation.APPLY and run.request.plan_file is not None:
        return planapply.apply_saved(run, run.request.plan_file)
    return planapply.plan_and_maybe_apply(run)


def _finish(run: RunScope, result: RunResult) -> RunResult:
    wall = time.monotonic() - run.started - run.waited
    cloud, calls = run.clock.snapshot()
    result.timings = Timings(wall, min(cloud, wall), calls)
    if result.status is RunStatus.SUCCEEDED and result.diagnostics.has_errors:
        result.status = RunStatus.ERRORED
    failure = run.sink.failure
    if failure is not None:
        result.diagnostics.warning("A run watcher failed", f"{failure}. The run went on without it.")
    counts = result.counts
    run.sink.emit(
        RunFinished(result.status.value, counts.add, counts.change, counts.destroy, wall, result.timings.cloud)
    )
    return result
