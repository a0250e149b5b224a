"""Custom conditions: ``lifecycle { precondition / postcondition }``, output ``precondition``
and ``check`` block ``assert``, checked as Terraform checks them.

Contract of :func:`check_conditions`: every condition of the list is evaluated in the given
scope (none is skipped because an earlier one failed, so one run reports each failure once).
A condition that holds adds nothing; one that fails adds a diagnostic (an error, or a warning
for check blocks and refresh-only plans) with Terraform's summary (``Resource precondition
failed``...) and the ``error_message`` as its detail, at the condition's line. A condition whose
value is not known yet is *deferred*: nothing is reported and the result says so, so the caller
checks it again once the values are known (during apply), as Terraform defers it. A condition
that cannot be evaluated, or is not a bool, is an error whatever the kind.

:func:`static_condition_checks` is the configuration-time rule Terraform applies before any
run: a condition must refer to something, or it would not be checking anything.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from relight.diagnostics import Diagnostic, Diagnostics, Severity
from relight.lang import Condition, Config, ConversionError, Scope, to_bool, to_string
from relight.values import UNKNOWN, is_wholly_known

__all__ = ["ConditionKind", "ConditionResult", "check_conditions", "static_condition_checks"]

_BAD_MESSAGE = "This check failed, but has an invalid error message as described in the other accompanying messages."


class ConditionKind(enum.Enum):
    """Which rule a condition is; the value is the start of Terraform's failure summary."""

    PRECONDITION = "Resource precondition"
    POSTCONDITION = "Resource postcondition"
    OUTPUT = "Module output value precondition"
    CHECK = "Check block assertion"


@dataclass
class ConditionResult:
    """What checking a list of conditions found: its diagnostics, and whether any was unknown."""

    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    deferred: bool = False

    @property
    def failed(self) -> bool:
        """True when a condition failed as an error (a warning does not stop anything)."""
        return self.diagnostics.has_errors


def check_conditions(
    conditions: Iterable[Condition],
    scope: Scope,
    kind: ConditionKind,
    *,
    address: str | None = None,
    warn_only: bool = False,
) -> ConditionResult:
    """Evaluate each condition in ``scope`` (see the module docstring). ``warn_only`` reports
    failures as warnings (refresh-only plans); check block assertions always are."""
    result = ConditionResult()
    severity = Severity.WARNING if warn_only or kind is ConditionKind.CHECK else Severity.ERROR
    for cond in conditions:
        _check_one(cond, scope, kind, severity, address, result)
    return result


def _check_one(
    cond: Condition,
    scope: Scope,
    kind: ConditionKind,
    severity: Severity,
    address: str | None,
    result: ConditionResult,
) -> None:
    rng = cond.condition.range
    value, diags = cond.condition.evaluate(scope)
    if diags.has_errors:
        result.diagnostics.extend(diags)
        return
    if not is_wholly_known(value):
        result.deferred = True
        return
    if value is None:
        result.diagnostics.error(
            "Invalid condition result",
            "Condition expression must return either true or false, not null.",
            rng,
            address,
        )
        return
    try:
        holds = to_bool(value)
    except ConversionError:
        holds = None
    if not isinstance(holds, bool):
        result.diagnostics.error(
            "Invalid condition result", "Invalid condition result value: a bool is required.", rng, address
        )
        return
    if holds:
        return
    message = _error_message(cond, scope, result.diagnostics)
    result.diagnostics.append(Diagnostic(severity, f"{kind.value} failed", message, rng, address))


def _error_message(cond: Condition, scope: Scope, diags: Diagnostics) -> str:
    """The condition's error message, or Terraform's note when it cannot be made (the reasons
    are added to ``diags``; a message not known until apply has none)."""
    value, found = cond.error_message.evaluate(scope)
    if found.has_errors:
        diags.extend(found)
        return _BAD_MESSAGE
    if value is UNKNOWN:
        return _BAD_MESSAGE
    try:
        text = to_string(value)
    except ConversionError:
        text = None
    if not isinstance(text, str):
        diags.error(
            "Invalid error message",
            "Unsuitable value for error message: string required.",
            cond.error_message.range,
        )
        return _BAD_MESSAGE
    return text


def static_condition_checks(config: Config) -> Diagnostics:
    """Conditions that refer to nothing: Terraform refuses them before running anything."""
    diags = Diagnostics()
    conditions: list[tuple[Condition, str]] = []
    lifecycles = [r.lifecycle for r in config.resources.values()]
    lifecycles += [d.lifecycle for check in config.checks.values() for d in check.data]
    for lc in lifecycles:
        conditions += [(c, "precondition") for c in lc.preconditions]
        conditions += [(c, "postcondition") for c in lc.postconditions]
    for out in config.outputs.values():
        conditions += [(c, "precondition") for c in out.preconditions]
    for check in config.checks.values():
        conditions += [(c, "assert") for c in check.asserts]
    for cond, what in conditions:
        if not cond.condition.references():
            diags.error(
                f"Invalid {what} expression",
                "The condition expression must refer to at least one object from elsewhere in the "
                "configuration, or else its result would not be checking anything.",
                cond.condition.range,
            )
    return diags
