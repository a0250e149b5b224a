"""``validate``: check the configuration offline, without touching state or the cloud.

Syntax, references, the dependency graph, resource types and arguments against the providers'
schemas (no credentials needed), and the heal policy when there is one.
"""

from __future__ import annotations

from relight.engine import build_graph, validate_schemas
from relight.lang import collect_variable_values
from relight.runs.healpolicy import load_policy
from relight.runs.result import RunResult, RunStatus
from relight.runs.scope import RunScope

__all__ = ["init", "validate"]


def validate(run: RunScope) -> RunResult:
    loaded = run.load()
    if loaded is None:
        return run.result(RunStatus.ERRORED)
    _, found = build_graph(loaded.config)
    found.extend(validate_schemas(loaded.config, run.context.registry))
    if loaded.config.relight is not None and not found.has_errors:
        values, d = collect_variable_values(loaded.config, [], run.context.inputs, file_policy=run.context.files)
        if not d.has_errors:  # missing variables are plan's business, not validate's
            found.extend(load_policy(loaded.config, values, run.context.inputs, file_policy=run.context.files)[1])
    run.diags.extend(found)
    return run.result(RunStatus.ERRORED if run.diags.has_errors else RunStatus.SUCCEEDED)


def init(run: RunScope) -> RunResult:
    """``init``: the configuration loads and its references resolve (providers are built in)."""
    loaded = run.load()
    return run.result(RunStatus.ERRORED if loaded is None else RunStatus.SUCCEEDED)
