"""What relight's local cloud (the emulator) cannot do, and how the provider says so.

The emulator accepts some settings and ignores them (an instance's CPU options, a dedicated
tenancy, ...), and lacks a few calls (``MonitorInstances``, ...). A configuration that uses them
is not refused on the local cloud: it is planned as on AWS, and the plan warns, naming the
setting, that the local cloud does not implement it ("planned, not applied"). The apply sends
what the emulator accepts and skips the calls it lacks (warning again); the state records the
configured value, and on the local cloud a refresh keeps it (the emulator cannot report it), so
the next plan shows no changes. On AWS none of this happens: every setting is applied and read
back.

Each :class:`Gap` names the attributes it concerns and two predicates: ``asks`` (does this plan
ask the local cloud for the setting: a create that uses it, or a change of it) and ``holds``
(does the recorded object use it, so a refresh must keep the recorded value). The provider knows
it talks to the local cloud from the header the local cloud puts on every answer
(:meth:`relight.providers.aws._api.AwsApi.emulator`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from relight.diagnostics import Diagnostic, Diagnostics
from relight.providers.aws._api import AwsApi
from relight.values import UNKNOWN, Value

__all__ = ["Gap", "changed", "gap_warning", "keep_gaps", "note_gaps", "set_to"]

Obj = Mapping[str, Value]


@dataclass(frozen=True)
class Gap:
    """One thing the local cloud cannot do for a resource type (see the module docstring).

    ``keep(state, base)`` puts the recorded values back into a freshly read ``state``; the
    default copies ``attributes`` from ``base``. ``missing`` says what the emulator does instead
    ("accepts it and ignores it", "has no MonitorInstances call").
    """

    what: str
    attributes: tuple[str, ...]
    asks: Callable[[Obj, Obj | None], bool]
    holds: Callable[[Obj], bool]
    missing: str = "accepts the setting and ignores it"
    keep: Callable[[dict[str, Value], Obj], None] | None = field(default=None)


def set_to(attribute: str, unset: tuple[Value, ...] = (None, "", False, 0)) -> Callable[[Obj], bool]:
    """``holds`` for a gap used whenever ``attribute`` has a value other than ``unset`` (or [])."""

    def holds(obj: Obj) -> bool:
        value = obj.get(attribute)
        return value is not UNKNOWN and value != [] and value not in unset

    return holds


def changed(holds: Callable[[Obj], bool], *attributes: str) -> Callable[[Obj, Obj | None], bool]:
    """``asks`` for a gap the local cloud cannot apply at all: a create that uses it, or an
    update that changes one of ``attributes`` while using it."""

    def asks(planned: Obj, prior: Obj | None) -> bool:
        if not holds(planned):
            return False
        return prior is None or any(planned.get(a) != prior.get(a) for a in attributes)

    return asks


class _HasApi(Protocol):
    @property
    def api(self) -> AwsApi: ...


def note_gaps(resource: _HasApi, gaps: Iterable[Gap], planned: Obj, prior: Obj | None, diags: Diagnostics) -> None:
    """Warn, on the local cloud, about each gap this plan asks for (``prior`` None = create).
    The cloud is asked which it is only when some gap is asked for."""
    wanted = [g for g in gaps if g.asks(planned, prior)]
    if not wanted:
        return
    emulator = resource.api.emulator()
    if emulator is None:
        return
    for gap in wanted:
        diags.append(gap_warning(gap, emulator))


def gap_warning(gap: Gap, emulator: str) -> Diagnostic:
    names = ", ".join(gap.attributes)
    return Diagnostic.warning(
        f"The local cloud does not implement {gap.what}: planned, not applied",
        f"The local cloud ({emulator}) {gap.missing}. relight plans {names} as it would on AWS and "
        "records the configured value in state, and keeps it there when it refreshes on the local "
        "cloud (which cannot report it), so the next plan shows no change. On AWS it is applied.",
        attribute=(gap.attributes[0],),
    )


def keep_gaps(api: AwsApi, gaps: Iterable[Gap], state: dict[str, Value], base: Obj) -> dict[str, Value]:
    """``state`` as read, with the recorded values of the gaps ``base`` holds put back (on the
    local cloud only; on AWS what AWS reports is the truth)."""
    held = [g for g in gaps if g.holds(base)]
    if not held or api.emulator() is None:
        return state
    for gap in held:
        if gap.keep is not None:
            gap.keep(state, base)
        else:  # what was known when recorded (a value known only after apply is read back)
            state.update({a: base[a] for a in gap.attributes if a in base and base[a] is not UNKNOWN})
    return state
