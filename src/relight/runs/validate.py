"""``validate``: check the configuration offline, without touching state or the cloud.

Syntax, references, the dependency graph, resource types and arguments against the providers'
schemas (no credentials needed), and the heal policy when there is one.
"""

from __future__ import annotations

from relight.diagnostics import Diagnostics
from relight.engine.evaluate import Evaluator
from relight.lang import collect_variable_values
from relight.runs.healpolicy import load_policy
from relight.runs.rehearsalspec import decode_rehearsal
from relight.runs.result import RunResult, RunStatus
from relight.runs.scope import RunScope

__all__ = ["init", "validate"]


def validate(run: RunScope) -> RunResult:
    """Everything ``plan`` checks before reading state or the cloud, with every variable unknown
    (see :func:`relight.runs.load.load_checked`), and the heal policy."""
    checked = run.load_checked(with_variables=False)
    if checked is None:
        return run.result(RunStatus.ERRORED)
    loaded = checked[0]
    found = Diagnostics()
    if loaded.config.relight is not None:
        values, d = collect_variable_values(loaded.config, [], run.context.inputs, file_policy=run.context.files)
        if not d.has_errors:  # missing variables are plan's business, not validate's
            found.extend(load_policy(loaded.config, values, run.context.inputs, file_policy=run.context.files)[1])
            scope = Evaluator(loaded.config, values, run.context.files).scope()
            found.extend(decode_rehearsal(loaded.config.relight, scope)[1])
    run.diags.extend(found)
    return run.result(RunStatus.ERRORED if run.diags.has_errors else RunStatus.SUCCEEDED)


def init(run: RunScope) -> RunResult:
    """``init``: the configuration loads and its references resolve (providers are built in)."""
    loaded = run.load()
    return run.result(RunStatus.ERRORED if loaded is None else RunStatus.SUCCEEDED)
