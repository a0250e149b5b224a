"""Classify a heal pass's plan: a recovery relight may apply by itself, drift, or something else.

A **recovery** re-creates objects that vanished (deleted outside relight) plus the replacements
and updates that re-wire what depends on them, and nothing more:

* no destroy or replace of a data-bearing object (a volume, a snapshot), and no re-creating one
  either: a vanished data volume comes back empty, which needs a person (restore a snapshot);
* no change that comes from edited configuration: the same plan made without refresh (against
  the state as recorded, so vanished objects still count as present) must be empty;
* no delete.

**Drift** is a plan that undoes attribute changes made outside relight. When objects vanished and
others drifted, the recovery goes ahead without the drift reverts (``held_back``) unless
``revert_drift`` is on; the drift stays reported for a person. Anything else (edited
configuration, deletes, data-bearing changes) is **other**. Only a recovery is applied under
``mode = "auto"``; drift only with ``revert_drift = true``; other never.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from relight.addrs import InstanceAddr
from relight.engine import Action, Plan, ResourceChange
from relight.values import is_wholly_known

__all__ = ["Classification", "PassKind", "classify", "summarize", "summarize_change"]


class PassKind(enum.Enum):
    CLEAN = "clean"
    RECOVERY = "recovery"
    DRIFT = "drift"
    OTHER = "other"


@dataclass
class Classification:
    kind: PassKind
    vanished: tuple[str, ...] = ()
    drifted: tuple[str, ...] = ()
    reasons: list[str] = field(default_factory=list)  # why it is not a recovery, for people
    # Drift reverts a recovery can leave out (nothing planned depends on them): applied only
    # with revert_drift; otherwise held back and reported while the recovery goes ahead.
    held_back: tuple[str, ...] = ()
    changed_attributes: dict[str, list[str]] = field(default_factory=dict)  # drifted addr -> what changed


def classify(
    plan: Plan,
    baseline: Plan | None,
    holds_data: Callable[[ResourceChange], bool],
    still_vanished: frozenset[str] = frozenset(),
) -> Classification:
    """Classify ``plan`` (made with refresh). ``baseline`` is the same plan made without refresh
    (None when ``plan`` has no changes); ``holds_data`` tells data-bearing objects.

    ``still_vanished`` names objects an open incident already found vanished: after a failed
    recovery they are no longer in state, so this plan alone would not know why they are created.
    """
    changes = [c for c in plan.changes if c.action not in (Action.NOOP, Action.READ)]
    vanished = {str(d.addr) for d in plan.drift if d.kind == "deleted"}
    vanished |= {str(c.addr) for c in changes if c.action is Action.CREATE and str(c.addr) in still_vanished}
    changed_addrs = {str(c.addr) for c in changes}
    drifted = {str(d.addr) for d in plan.drift if d.kind == "updated" and str(d.addr) in changed_addrs}
    result = Classification(PassKind.CLEAN, tuple(sorted(vanished)), tuple(sorted(drifted)))
    if not changes:
        return result
    reasons = result.reasons
    roots = {_res(d.addr) for d in plan.drift if d.kind == "deleted"}
    roots |= {_res(c.addr) for c in changes if str(c.addr) in vanished}
    affected = _dependents_of(roots, changes)
    if baseline is not None:
        edits = [
            c
            for c in baseline.changes
            if c.action not in (Action.NOOP, Action.READ)
            and not (c.action is Action.CREATE and str(c.addr) in vanished)
            and not (_res(c.addr) in affected and _only_unknowns(c))
        ]
        if edits:
            reasons.append(
                "the configuration has changes that were never applied: "
                + ", ".join(f"{c.action.value} {c.addr}" for c in edits[:5])
                + (f" and {len(edits) - 5} more" if len(edits) > 5 else "")
            )
    for c in changes:
        addr = str(c.addr)
        if c.action in (Action.DELETE, Action.FORGET):
            reasons.append(f"it would {c.action.value} {addr}")
        elif holds_data(c) and c.action is Action.REPLACE:
            reasons.append(f"it would replace {addr}, which holds data")
        elif holds_data(c) and c.action is Action.CREATE and addr in vanished:
            reasons.append(
                f"{addr} holds data and vanished: re-creating it would start empty; restore it from "
                "a snapshot (snapshot_id) or run apply yourself"
            )
        elif c.action is Action.CREATE and addr in vanished:
            continue  # the vanished object itself
        elif _res(c.addr) in affected and c.action in (Action.REPLACE, Action.UPDATE, Action.CREATE):
            continue  # re-wiring what used it
        elif addr in drifted and c.action in (Action.UPDATE, Action.REPLACE):
            continue  # undoing a change made outside relight
        else:
            reasons.append(f"{c.action.value} {addr} is not explained by a vanished object")
    result.changed_attributes = {
        str(d.addr): _what_changed(d.before, d.after) for d in plan.drift if str(d.addr) in drifted
    }
    if reasons:
        result.kind = PassKind.OTHER
        return result
    reverts = {str(c.addr) for c in changes if str(c.addr) in drifted and _res(c.addr) not in affected}
    if vanished and reverts:
        result.kind = PassKind.RECOVERY  # recover now; the drift is held back for a person
        result.held_back = tuple(sorted(reverts))
    elif drifted:
        result.kind = PassKind.DRIFT
    else:
        result.kind = PassKind.RECOVERY
    return result


def _res(addr: InstanceAddr) -> str:
    """The configuration address of ``addr``'s resource: what dependencies name (a resource in a
    repeated module stands for all of its instances, so re-wiring is judged per resource block)."""
    return str(addr.resource.config_addr())


def _what_changed(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """'tags.Name: "a" -> "b"' lines for a drifted object, for people deciding what to do."""
    out: list[str] = []
    b, a = before or {}, after or {}
    for key in sorted(set(b) | set(a)):
        old, new = b.get(key), a.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            for sub in sorted(set(old) | set(new)):
                if old.get(sub) != new.get(sub):
                    out.append(f"{key}.{sub}: {_show(old.get(sub))} -> {_show(new.get(sub))}")
        else:
            out.append(f"{key}: {_show(old)} -> {_show(new)}")
    return out[:20]


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _only_unknowns(change: ResourceChange) -> bool:
    """True when every attribute the change sets is still unknown: it waits on new values of a
    re-created object (after a failed recovery), not on an edit."""
    before, after = change.before or {}, change.after or {}
    return all(not is_wholly_known(v) for k, v in after.items() if before.get(k) != v)


def _dependents_of(roots: set[str], changes: list[ResourceChange]) -> set[str]:
    """Resource addresses that (transitively) depend on ``roots`` in the planned graph."""
    users: dict[str, set[str]] = {}
    for c in changes:
        for dep in c.dependencies:
            users.setdefault(dep, set()).add(_res(c.addr))
    seen = set(roots)
    todo = list(roots)
    while todo:
        for user in users.get(todo.pop(), ()):
            if user not in seen:
                seen.add(user)
                todo.append(user)
    return seen


def summarize(plan: Plan) -> list[str]:
    """One line per planned action, e.g. "+ aws_instance.node (deleted outside relight)"."""
    return [summarize_change(c) for c in plan.changes if c.action is not Action.NOOP]


def summarize_change(c: ResourceChange) -> str:
    """One planned action for people: symbol, address, why, and what is kept before a destroy."""
    why = f" ({c.reason})" if c.reason else ""
    keep = f" [{c.before_destroy}]" if c.before_destroy else ""
    return f"{c.action.symbol} {c.addr}{why}{keep}"
