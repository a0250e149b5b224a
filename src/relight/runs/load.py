"""What every run does first: load the configuration and its variables, and make its engine.

Kept in one place so every operation and every shell agrees on the checks (syntax, references,
"no .tf files here"), on where paths are relative to (the run's directory), on how diagnostics
name files (relative to that directory, as Terraform prints them), and on how an engine is
wired to the run (backend, providers with the run's environment and clock, event sink).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace

from relight.diagnostics import Diagnostic, Diagnostics, SourceRange
from relight.engine import FEATURES, Engine
from relight.engine.static import evaluation_errors, static_checks, unique
from relight.lang import Config, collect_variable_values, load_config, validate_references
from relight.providers.base import ProviderContext
from relight.providers.clock import CloudClock
from relight.runs.context import RunContext
from relight.runs.events import HookBridge
from relight.runs.rehearsalspec import check_relight_block
from relight.runs.request import RunRequest
from relight.values import Value

__all__ = ["Loaded", "load", "load_checked", "load_lenient", "make_engine", "relative"]


class Loaded:
    """A loaded configuration, with its sources named relative to the run's directory."""

    def __init__(self, config: Config, sources: Mapping[str, str]) -> None:
        self.config = config
        self.sources = sources


def load(context: RunContext, diags: Diagnostics) -> Loaded | None:
    """The configuration in the run's directory, with references checked; an empty directory is
    an error. Diagnostics go to ``diags``; None when nothing usable could be loaded."""
    config, found = _load_config(context)
    if config is not None and not found.has_errors:
        found.extend(validate_references(config))
    if config is not None and not config.sources and not found.has_errors:
        found.error(
            "No configuration files",
            f"There are no .tf files in {os.path.abspath(context.directory)}. Change to a directory "
            "that has them, or use -chdir=DIR.",
        )
    diags.extend(found)
    if config is None or found.has_errors:
        return None
    return Loaded(config, _relative_sources(config.sources, context.directory))


def load_checked(
    request: RunRequest, context: RunContext, diags: Diagnostics, *, with_variables: bool = True
) -> tuple[Loaded, dict[str, Value]] | None:
    """The configuration and its variable values, checked as ``plan`` checks them before reading
    anything (see :mod:`relight.engine.static`): every independent mistake is reported in this
    one round, once. None when anything is wrong (the reasons are in ``diags``).

    ``with_variables`` False (``validate``) takes every variable as unknown and asks for none.
    """
    config, found = _load_config(context)
    if config is None:
        diags.extend(found)
        return None
    if found.has_errors:
        # Blocks that could not be decoded are left out, so references to them would be reported
        # as undeclared: check everything else, so this round still reports every other mistake.
        diags.extend(unique([*found, *static_checks(config, context.registry, references=False)]))
        return None
    found.extend(static_checks(config, context.registry))
    values: dict[str, Value] | None = None
    if with_variables:
        given = [(kind, context.path(arg) if kind == "var-file" else arg) for kind, arg in request.variables]
        values, var_diags = collect_variable_values(config, given, context.inputs, file_policy=context.files)
        found.extend(var_diags)
        if var_diags.has_errors:
            values = None
    if found.has_errors or not with_variables:
        found.extend(evaluation_errors(config, context.registry, values, context.files))
    if not config.sources and not found.has_errors:
        found.error(
            "No configuration files",
            f"There are no .tf files in {os.path.abspath(context.directory)}. Change to a directory "
            "that has them, or use -chdir=DIR.",
        )
    diags.extend(unique(found))
    if found.has_errors:
        return None
    return Loaded(config, _relative_sources(config.sources, context.directory)), values or {}


def _load_config(context: RunContext) -> tuple[Config | None, Diagnostics]:
    """The configuration as the run sees it: loaded, then rewritten by the context's overlay (a
    rehearsal's harmless copy of a stack) when it loaded without errors. Every loader that plans
    goes through here, so no operation can plan the configuration as written when an overlay is set.
    """
    config, found = load_config(
        context.directory, cache=context.parse_cache, file_policy=context.files, engine_features=FEATURES
    )
    if config is not None and config.relight is not None:
        found.extend(check_relight_block(config.relight))
    if config is not None and not found.has_errors and context.overlay is not None:
        config, rewritten = context.overlay(config)
        found.extend(rewritten)
    return config, found


def load_lenient(context: RunContext) -> Config | None:
    """The configuration if it loads at all (for commands that only need its backend block)."""
    config, _ = load_config(
        context.directory, cache=context.parse_cache, file_policy=context.files, engine_features=FEATURES
    )
    return config


def variables(request: RunRequest, context: RunContext, config: Config, diags: Diagnostics) -> dict[str, Value] | None:
    """The values of every declared variable (``-var``, ``-var-file`` relative to the run's
    directory, tfvars files, ``TF_VAR_`` from the run's environment); None on errors."""
    given = [(kind, context.path(arg) if kind == "var-file" else arg) for kind, arg in request.variables]
    values, found = collect_variable_values(config, given, context.inputs, file_policy=context.files)
    diags.extend(found)
    return None if found.has_errors else values


def make_engine(
    context: RunContext, config: Config, values: Mapping[str, Value], hook: HookBridge, clock: CloudClock
) -> Engine:
    backend = context.state_backend(config)
    return Engine(
        config,
        backend,
        context.registry,
        values,
        hook,
        context=ProviderContext(context.inputs, clock),
        file_policy=context.files,
    )


def relative(diag: Diagnostic, directory: str) -> Diagnostic:
    """``diag`` with its file name written relative to ``directory`` when it is inside it."""
    if diag.subject is None:
        return diag
    name = _relative_name(diag.subject.filename, directory)
    if name == diag.subject.filename:
        return diag
    return replace(diag, subject=SourceRange(name, diag.subject.start, diag.subject.end))


def _relative_sources(sources: Mapping[str, str], directory: str) -> dict[str, str]:
    return {_relative_name(name, directory): text for name, text in sources.items()}


def _relative_name(name: str, directory: str) -> str:
    root = os.path.abspath(directory)
    full = os.path.abspath(name)
    if full == root or not full.startswith(root + os.sep):
        return name
    return os.path.relpath(full, root)
