"""From command-line arguments to the run layer's values: a RunContext and request options.

The only place the CLI reads the process environment for a run (``os.environ`` becomes the
run's environment, as Terraform's CLI does) and the only place ``-chdir`` is honoured: as the
run's directory, never by changing the process's directory. Paths a person gives (``-var-file``,
plan files, state files, ``-out``) are relative to that directory, as with Terraform's -chdir.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any, Literal

from relight.addrs import InstanceAddr, Target
from relight.cli.args import parse_duration
from relight.diagnostics import Diagnostics
from relight.runs import (
    Operation,
    ParseCache,
    Plan,
    PlanMode,
    RunContext,
    RunRequest,
    VarInput,
    parse_addresses,
    parse_targets,
)

__all__ = ["PlanFlags", "directory_of", "plan_flags", "run_context", "var_inputs"]


def directory_of(args: argparse.Namespace) -> str:
    """The run's directory: ``-chdir`` (absolute), else the current directory."""
    return os.path.abspath(args.chdir or ".")


def run_context(args: argparse.Namespace, approve: Callable[[Plan], bool] | None = None) -> RunContext:
    """The CLI's runs: the user's own configuration, so file functions read what the user can
    (unconfined, as Terraform), and parsed files are cached per user (``RELIGHT_PARSE_CACHE=off``
    turns that off)."""
    env = dict(os.environ)
    return RunContext(
        directory=directory_of(args), environment=env, approve=approve, parse_cache=ParseCache.from_env(env)
    )


def var_inputs(args: argparse.Namespace) -> tuple[VarInput, ...]:
    out: list[VarInput] = []
    for kind, value in getattr(args, "vars", []):
        flag: Literal["var", "var-file"] = "var-file" if kind == "var-file" else "var"
        out.append((flag, value))
    return tuple(out)


def lock_timeout(args: argparse.Namespace, diags: Diagnostics) -> float:
    text = getattr(args, "lock_timeout", "0s")
    try:
        return parse_duration(text)
    except ValueError as exc:
        diags.error("Invalid -lock-timeout", f"{exc}.")
        return 0.0


class PlanFlags:
    """The flags shared by plan, apply and destroy, parsed once (bad addresses are diagnostics)."""

    def __init__(self, args: argparse.Namespace, destroy: bool) -> None:
        self.diags = Diagnostics()
        targets, d = parse_targets(getattr(args, "target", []), "-target")
        self.diags.extend(d)
        replace, d = parse_addresses(getattr(args, "replace", []), "-replace")
        self.diags.extend(d)
        self.targets: tuple[Target, ...] = targets
        self.replace: tuple[InstanceAddr, ...] = replace
        refresh_only = bool(getattr(args, "refresh_only", False))
        self.mode = PlanMode.DESTROY if destroy else PlanMode.REFRESH_ONLY if refresh_only else PlanMode.NORMAL
        self.refresh = getattr(args, "refresh", "true") != "false"
        self.parallelism = max(1, getattr(args, "parallelism", 10))
        self.lock = getattr(args, "lock", "true") != "false"
        self.lock_timeout = lock_timeout(args, self.diags)
        self.variables = var_inputs(args)

    def request(self, operation: Operation, **more: Any) -> RunRequest:
        """The request for ``operation`` with these flags (and ``more`` fields)."""
        return RunRequest(
            operation,
            mode=self.mode,
            variables=self.variables,
            targets=self.targets,
            replace=self.replace,
            refresh=self.refresh,
            parallelism=self.parallelism,
            lock=self.lock,
            lock_timeout=self.lock_timeout,
            **more,
        )


def plan_flags(args: argparse.Namespace, destroy: bool) -> PlanFlags:
    return PlanFlags(args, destroy)
