"""Plans are values: what will change, why, and against which state.

A :class:`Plan` is made by :meth:`relight.engine.Engine.plan` and applied exactly as made by
:meth:`relight.engine.Engine.apply`. It records the lineage and serial of the state it was made
against, so applying it to a state that moved on is refused (stale plan).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from relight.addrs import InstanceAddr
from relight.values import Value

__all__ = ["Action", "Drift", "OutputChange", "Plan", "PlanMode", "ResourceChange"]


class Action(enum.Enum):
    NOOP = "no-op"
    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    FORGET = "forget"

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self]


_SYMBOLS = {
    Action.NOOP: " ",
    Action.CREATE: "+",
    Action.READ: "<=",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.FORGET: ".",
}


class PlanMode(enum.Enum):
    NORMAL = "normal"
    DESTROY = "destroy"
    REFRESH_ONLY = "refresh-only"


@dataclass(frozen=True, slots=True)
class ResourceChange:
    """One planned action on one resource instance.

    ``before`` is the prior (refreshed) object, ``after`` the planned one (may hold UNKNOWN).
    ``requires_replace`` names the attributes that force a replacement; ``reason`` says why an
    action was chosen when it is not obvious (tainted, requested, deleted outside, orphaned...).
    ``create_first`` is True for create_before_destroy replacements. ``before_destroy`` is
    what the provider will do to keep data before destroying the prior object (a snapshot).
    ``importing`` is the id of the object an ``import`` block brings under management (then
    ``before`` is that object as the provider read it); the action says what happens to it next.
    A read of a ``check`` block's data source has ``reason`` "check": it changes nothing.
    """

    addr: InstanceAddr
    action: Action
    provider: str
    before: dict[str, Value] | None
    after: dict[str, Value] | None
    requires_replace: tuple[str, ...] = ()
    reason: str = ""
    create_first: bool = False
    dependencies: tuple[str, ...] = ()
    prior_dependencies: tuple[str, ...] = ()
    prevent_destroy: bool = False
    sensitive_attrs: tuple[str, ...] = ()
    deposed: str = ""
    before_destroy: str = ""
    importing: str = ""

    @property
    def changes_anything(self) -> bool:
        """Whether applying this change touches infrastructure or the state."""
        if self.importing:
            return True
        return self.action is not Action.NOOP and not (self.action is Action.READ and self.reason == "check")


@dataclass(frozen=True, slots=True)
class Drift:
    """An object that changed outside relight, found by refresh."""

    addr: InstanceAddr
    kind: str  # "deleted" | "updated" | "adopted" (found after a create cut short by a crash)
    before: dict[str, Value] | None
    after: dict[str, Value] | None


@dataclass(frozen=True, slots=True)
class OutputChange:
    name: str
    action: Action
    before: Value
    after: Value
    sensitive: bool = False


@dataclass
class Plan:
    """Everything needed to apply exactly what was shown."""

    mode: PlanMode
    lineage: str
    serial: int
    changes: list[ResourceChange]
    drift: list[Drift] = field(default_factory=list)
    outputs: list[OutputChange] = field(default_factory=list)
    variables: dict[str, Value] = field(default_factory=dict)
    config_digest: str = ""
    targets: tuple[str, ...] = ()
    refreshed_state: Any = None  # relight.state.State; kept untyped to keep this module light
    expansions: dict[str, Any] = field(default_factory=dict)
    moved: list[tuple[str, str]] = field(default_factory=list)
    # What the check blocks found while planning (warnings, also in the plan's diagnostics). An
    # apply checks them again, so a run that goes on to apply need not report these twice.
    check_diagnostics: list[Any] = field(default_factory=list, compare=False)
    # How each module call expanded in each calling instance, by the call's address (module.x[0].module.y).
    module_expansions: dict[str, Any] = field(default_factory=dict)

    @property
    def has_changes(self) -> bool:
        """True when applying would change infrastructure, state or outputs."""
        if any(c.changes_anything for c in self.changes):
            return True
        if any(o.action is not Action.NOOP for o in self.outputs):
            return True
        if any(d.kind == "adopted" for d in self.drift):
            return True  # objects found after a crash must reach the state file
        if self.moved:
            return True  # a move is a change of the state: applying records it
        return self.mode is PlanMode.REFRESH_ONLY and bool(self.drift)

    def import_count(self) -> int:
        """How many objects the plan imports (Terraform's "N to import")."""
        return sum(1 for c in self.changes if c.importing)

    def counts(self) -> tuple[int, int, int]:
        """(to add, to change, to destroy), counting a replacement as one add and one destroy."""
        add = change = destroy = 0
        for c in self.changes:
            if c.action is Action.CREATE:
                add += 1
            elif c.action is Action.UPDATE:
                change += 1
            elif c.action is Action.DELETE:
                destroy += 1
            elif c.action is Action.REPLACE:
                add += 1
                destroy += 1
        return add, change, destroy
