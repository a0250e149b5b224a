"""Rolling a workspace's state back to an earlier version, as a run that shows what it would do.

The plan compares the current state with the chosen version, address by address: objects the
old version does not have would no longer be managed (nothing is destroyed: the next plan
decides), objects it has that are gone now would be managed again, and changed objects would
get their old attributes back in the state. Confirming writes that version's content as the
next version (lineage kept, serial bumped), refused when the state moved on since the plan.
"""

from __future__ import annotations

import json
from typing import Any

from relight.errors import StateError, StateLockedError
from relight.server.operations import EventSink, Outcome
from relight.state import State, StateBackend

__all__ = ["apply_rollback", "plan_rollback"]


def _changes(current: State, target: State) -> list[dict[str, str]]:
    out = []
    for addr in sorted({*current.addresses(), *target.addresses()}, key=lambda a: a.sort_key()):
        now, then = current.get(addr), target.get(addr)
        if then is None:
            out.append({"address": str(addr), "change": "forget"})
        elif now is None:
            out.append({"address": str(addr), "change": "restore"})
        elif now != then:
            out.append({"address": str(addr), "change": "update"})
    return out


_WORDS = {
    "forget": "would no longer be managed by relight (the object is not destroyed)",
    "restore": "would be managed again, with the attributes recorded then",
    "update": "would get the attributes recorded then",
}


def plan_rollback(backend: StateBackend, serial: int, sink: EventSink) -> Outcome:
    """What rolling back to ``serial`` would change in the state; nothing is written."""
    try:
        current = backend.read()
        target = backend.read_version(serial)
    except StateError as exc:
        return Outcome(status="errored", error="Cannot read the state versions", diagnostics_text=str(exc))
    if target.lineage != current.lineage:
        return Outcome(status="errored", error="Another lineage",
                       diagnostics_text=f"version {serial} belongs to lineage {target.lineage}, the state is "
                       f"{current.lineage}: it is a different state and cannot be rolled back to")
    changes = _changes(current, target)
    lines = [f"Rolling the state back from serial {current.serial} to the content of serial {serial}:", ""]
    lines += [f"  # {c['address']} {_WORDS[c['change']]}" for c in changes]
    if current.outputs != target.outputs:
        lines.append("  # the outputs would be those recorded then")
    counts = (sum(c["change"] == "restore" for c in changes), sum(c["change"] == "update" for c in changes),
              sum(c["change"] == "forget" for c in changes))
    if not changes and current.outputs == target.outputs:
        lines = [f"No changes: serial {serial} holds what the state holds now (serial {current.serial})."]
    text = "\n".join(lines)
    sink({"type": "plan", "text": text})
    doc: dict[str, Any] = {"operation": "rollback", "to_serial": serial, "base_serial": current.serial,
                           "lineage": current.lineage, "changes": changes,
                           "summary": dict(zip(("add", "change", "destroy"), counts, strict=True))}
    has_changes = bool(changes) or current.outputs != target.outputs
    return Outcome(status="planned" if has_changes else "planned_and_finished", has_changes=has_changes,
                   plan_file=json.dumps(doc).encode(), plan_json=doc, plan_text=text, counts=counts)


def apply_rollback(backend: StateBackend, plan_file: bytes, sink: EventSink) -> Outcome:
    """Write the planned version's content as the next version, under the lock; stale plans refused."""
    doc = json.loads(plan_file)
    try:
        with backend.lock("rollback"):
            current = backend.read()
            if (current.lineage, current.serial) != (doc["lineage"], doc["base_serial"]):
                return Outcome(status="errored", stale=True, error="The rollback plan is stale",
                               diagnostics_text=f"the state moved on to serial {current.serial} since the plan "
                               f"(made at serial {doc['base_serial']}); plan the rollback again")
            target = backend.read_version(int(doc["to_serial"]))
            target.serial = current.serial
            written = backend.write(target)
    except StateLockedError as exc:
        return Outcome(status="errored", error="Error acquiring the state lock", diagnostics_text=str(exc))
    except StateError as exc:
        return Outcome(status="errored", error="Failed to write the state", diagnostics_text=str(exc))
    sink({"type": "applied", "text": f"Rolled back: serial {written.serial} now holds the content of serial "
          f"{doc['to_serial']}."})
    summary = doc.get("summary", {})
    return Outcome(status="applied", counts=(summary.get("add", 0), summary.get("change", 0),
                                             summary.get("destroy", 0)))
