"""Human-readable rendering of plans and values, in Terraform's familiar shape.

The CLI prints these and the server's run page shows the same text, so a plan reads the same
wherever a person meets it.
"""

from __future__ import annotations

import json

from relight.addrs import format_module
from relight.engine import Action, Drift, OutputChange, Plan, PlanMode, ResourceChange
from relight.runs.events import ApplyDone, ApplySkipped, ApplyStarted, Event, Message, RefreshStarted
from relight.values import UNKNOWN, Value

__all__ = ["Colors", "plan_summary", "progress_line", "render_plan", "render_value", "still_line"]


class Colors:
    def __init__(self, enabled: bool) -> None:
        on = enabled
        self.green = "\x1b[32m" if on else ""
        self.yellow = "\x1b[33m" if on else ""
        self.red = "\x1b[31m" if on else ""
        self.cyan = "\x1b[36m" if on else ""
        self.bold = "\x1b[1m" if on else ""
        self.reset = "\x1b[0m" if on else ""

    def action(self, action: Action) -> str:
        return {
            Action.CREATE: self.green,
            Action.UPDATE: self.yellow,
            Action.DELETE: self.red,
            Action.REPLACE: self.yellow,
            Action.READ: self.cyan,
        }.get(action, "")


def render_value(value: Value, indent: int = 0, pad: str | None = None) -> str:
    """An HCL-ish rendering of a value, with ``(known after apply)`` for unknowns.

    Nested lines are indented by ``pad`` (default: four spaces per ``indent`` level).
    """
    pad = "    " * indent if pad is None else pad
    if value is UNKNOWN:
        return "(known after apply)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return (
            repr(value)
            if isinstance(value, float) and not value.is_integer()
            else str(int(value))
            if isinstance(value, float)
            else str(value)
        )
    if isinstance(value, str):
        if "\n" in value:
            body = "\n".join(pad + "        " + line for line in value.split("\n"))
            return f"<<-EOT\n{body}\n{pad}    EOT"
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        if not value:
            return "[]"
        inner = "".join(f"{pad}    {render_value(v, pad=pad + '    ')},\n" for v in value)
        return f"[\n{inner}{pad}]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        width = max(len(_key(k)) for k in value)
        inner = "".join(
            f"{pad}    {_key(k):<{width}} = {render_value(v, pad=pad + '    ')}\n" for k, v in value.items()
        )
        return f"{{\n{inner}{pad}}}"
    return str(value)


def _key(k: str) -> str:
    return k if k.replace("_", "a").replace("-", "a").isalnum() and not k[:1].isdigit() else json.dumps(k)


_HEADLINES = {
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in-place",
    Action.DELETE: "will be destroyed",
    Action.REPLACE: "must be replaced",
    Action.READ: "will be read during apply",
    Action.FORGET: "will no longer be managed by relight",
}


def _headline(c: ResourceChange) -> str:
    if c.importing:
        if c.action is Action.NOOP:
            return "will be imported"
        return _HEADLINES[c.action] + f'\n  # (imported from "{c.importing}")'
    if c.action is Action.READ and c.reason == "check":
        return "will be read during apply\n  # (config will be reloaded to verify a check block)"
    head = _HEADLINES[c.action]
    if c.action is Action.REPLACE and c.reason == "as requested":
        head = "will be replaced, as requested"
    elif c.action is Action.REPLACE and c.reason == "tainted":
        head = "is tainted, so must be replaced"
    elif c.action is Action.REPLACE and c.reason == "replace_triggered_by":
        head = "will be replaced due to changes in replace_triggered_by"
    elif c.action is Action.DELETE and c.reason == "no configuration":
        head = "will be destroyed\n  # (because " + str(c.addr.resource) + " is not in configuration)"
    elif c.action is Action.DELETE and c.reason == "no module":
        head = f"will be destroyed\n  # (because {format_module(c.addr.resource.module)} is not in configuration)"
    elif c.action is Action.DELETE and c.reason == "count index out of range":
        head = "will be destroyed\n  # (because index " + str(c.addr.key) + " is out of range for count)"
    elif c.action is Action.DELETE and c.reason == "key not in for_each":
        head = f'will be destroyed\n  # (because key "{c.addr.key}" is not in for_each map)'
    elif c.action is Action.CREATE and c.reason == "deleted outside relight":
        head = "will be created\n  # (because the object was deleted outside relight)"
    return head


def _render_change(c: ResourceChange, col: Colors) -> list[str]:
    sym = c.action.symbol
    tint = col.action(c.action)
    kind = "data" if c.addr.resource.mode == "data" else "resource"
    what = f"{c.addr} (deposed object {c.deposed})" if c.deposed else str(c.addr)
    title = f"  {col.bold}# {what}{col.reset} {_headline(c)}"
    if c.before_destroy:
        title += f"\n  # {col.bold}(data safety: {c.before_destroy}){col.reset}"
    lines = [
        title,
        f'{tint}{sym:>3}{col.reset} {kind} "{c.addr.resource.type}" "{c.addr.resource.name}" {{',
    ]
    if c.action is Action.NOOP:  # an import that changes nothing else: the object as read
        return lines + _render_unchanged(c) + ["    }"]
    before = c.before or {}
    after = c.after or {}
    names = list(after) if c.action is not Action.DELETE else list(before)
    shown = sorted(set(names) | (set(before) if c.action in (Action.UPDATE, Action.REPLACE) else set()))
    width = max((len(n) for n in shown), default=0)
    for name in shown:
        b = before.get(name)
        a = after.get(name)
        if name in c.sensitive_attrs:
            a_text = b_text = "(sensitive value)"
        else:
            a_text, b_text = render_value(a, pad="        "), render_value(b, pad="        ")
        forces = f" {col.red}# forces replacement{col.reset}" if name in c.requires_replace else ""
        if c.action is Action.CREATE or c.action is Action.READ:
            if a is None:
                continue
            lines.append(f"      {col.green}+{col.reset} {name:<{width}} = {a_text}")
        elif c.action is Action.DELETE or c.action is Action.FORGET:
            if b is None:
                continue
            lines.append(f"      {col.red}-{col.reset} {name:<{width}} = {b_text}")
        else:
            if a == b and a is not UNKNOWN:
                continue
            if b is None:
                lines.append(f"      {col.green}+{col.reset} {name:<{width}} = {a_text}{forces}")
            elif a is None:
                lines.append(f"      {col.red}-{col.reset} {name:<{width}} = {b_text} -> null{forces}")
            else:
                lines.append(f"      {col.yellow}~{col.reset} {name:<{width}} = {b_text} -> {a_text}{forces}")
    lines.append("    }")
    return lines


def _render_unchanged(c: ResourceChange) -> list[str]:
    attrs = {k: v for k, v in sorted((c.before or {}).items()) if v is not None and v != [] and v != {}}
    width = max((len(n) for n in attrs), default=0)
    out = []
    for name, value in attrs.items():
        text = "(sensitive value)" if name in c.sensitive_attrs else render_value(value, pad="        ")
        out.append(f"        {name:<{width}} = {text}")
    return out


def _render_drift(d: Drift, col: Colors) -> list[str]:
    if d.kind == "deleted":
        return [
            f"  {col.bold}# {d.addr}{col.reset} has been deleted",
            f'  {col.red}-{col.reset} resource "{d.addr.resource.type}" "{d.addr.resource.name}" {{',
            f"      {col.red}-{col.reset} id = {render_value((d.before or {}).get('id'))}",
            "    }",
        ]
    lines = [
        f"  {col.bold}# {d.addr}{col.reset} has changed",
        f'  {col.yellow}~{col.reset} resource "{d.addr.resource.type}" "{d.addr.resource.name}" {{',
    ]
    before, after = d.before or {}, d.after or {}
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            lines.append(
                f"      {col.yellow}~{col.reset} {name} = {render_value(before.get(name), 1)}"
                f" -> {render_value(after.get(name), 1)}"
            )
    lines.append("    }")
    return lines


def render_plan(plan: Plan, color: bool = False) -> str:
    """The full plan text: drift, actions, summary line and output changes."""
    col = Colors(color)
    out: list[str] = []
    if plan.drift:
        out.append(f"\n{col.bold}Note: Objects have changed outside of relight{col.reset}\n")
        out.append('relight detected the following changes made outside of relight since the last "relight apply":\n')
        for d in plan.drift:
            out.extend(_render_drift(d, col))
            out.append("")
    for src, dst in plan.moved:
        out.append(f"  # {src} has moved to {dst}")
    changes = sorted((c for c in plan.changes if c.action is not Action.NOOP or c.importing), key=lambda c: str(c.addr))
    if plan.mode is PlanMode.REFRESH_ONLY:
        if plan.drift:
            out.append(
                "This is a refresh-only plan, so relight will not take any actions to undo these. "
                "Applying it will update the state to match."
            )
        else:
            out.append("\nNo changes. Your infrastructure still matches the configuration.")
        return "\n".join(out)
    if not changes and plan.moved:
        out.append(f"\n{col.bold}Plan:{col.reset} 0 to add, 0 to change, 0 to destroy.")
    elif not changes:
        if not any(o.action is not Action.NOOP for o in plan.outputs):
            out.append(
                f"\n{col.green}{col.bold}No changes.{col.reset}{col.bold} "
                f"Your infrastructure matches the configuration.{col.reset}\n"
            )
            out.append(
                "relight has compared your real infrastructure against your configuration and found no "
                "differences, so no changes are needed."
            )
            return "\n".join(out)
    else:
        used = sorted({c.action for c in changes if c.action is not Action.NOOP}, key=lambda a: list(Action).index(a))
        out.append(
            "\nrelight will perform the following actions (symbols:"
            + ", ".join(f" {col.action(a)}{a.symbol}{col.reset} {a.value}" for a in used)
            + "):\n"
        )
        for c in changes:
            out.extend(_render_change(c, col))
            out.append("")
        out.append(f"{col.bold}Plan:{col.reset} {plan_summary(plan)}.")
    out.extend(_render_outputs(plan.outputs, col))
    return "\n".join(out)


def plan_summary(plan: Plan) -> str:
    """``1 to import, 2 to add, 0 to change, 0 to destroy`` (the import count only when there are
    imports, as Terraform prints it)."""
    add, change, destroy = plan.counts()
    imports = plan.import_count()
    head = f"{imports} to import, " if imports else ""
    return f"{head}{add} to add, {change} to change, {destroy} to destroy"


def _render_outputs(outputs: list[OutputChange], col: Colors) -> list[str]:
    changed = [o for o in outputs if o.action is not Action.NOOP]
    if not changed:
        return []
    lines = ["\nChanges to Outputs:"]
    for o in changed:
        after = "(sensitive value)" if o.sensitive else render_value(o.after, 1)
        before = "(sensitive value)" if o.sensitive else render_value(o.before, 1)
        if o.action is Action.CREATE:
            lines.append(f"  {col.green}+{col.reset} {o.name} = {after}")
        elif o.action is Action.DELETE:
            lines.append(f"  {col.red}-{col.reset} {o.name} = {before} -> null")
        else:
            lines.append(f"  {col.yellow}~{col.reset} {o.name} = {before} -> {after}")
    return lines


# -- progress, as Terraform words it ------------------------------------------------------
_VERBS = {
    "create": ("Creating", "Creation", "creating"),
    "replace": ("Creating", "Creation", "creating"),
    "update": ("Modifying", "Modifications", "modifying"),
    "delete": ("Destroying", "Destruction", "destroying"),
    "read": ("Reading", "Read", "reading"),
}


def _verbs(action: str, destroying: bool) -> tuple[str, str, str]:
    return _VERBS.get("delete" if destroying else action, _VERBS["create"])


def progress_line(event: Event) -> str | None:
    """The progress line a person reads for ``event`` (the CLI's output, the server's run log):
    ``aws_instance.web: Creating...``, ``Creation complete after 2s [id=i-123]``; None for
    events that are not progress. A failed action gets a "failed" line naming its first error."""
    if isinstance(event, RefreshStarted):
        return f"{event.address}: Refreshing state..."
    if isinstance(event, ApplyStarted):
        return f"{event.address}: {_verbs(event.action, event.destroying)[0]}..."
    if isinstance(event, ApplyDone):
        noun = _verbs(event.action, event.destroying)[1]
        if event.errors:
            return f"{event.address}: {noun} failed after {int(event.elapsed)}s: {event.errors[0]}"
        suffix = f" [id={event.object_id}]" if event.object_id and not event.destroying else ""
        return f"{event.address}: {noun} complete after {int(event.elapsed)}s{suffix}"
    if isinstance(event, ApplySkipped):
        return f"{event.address}: Skipped because {event.reason}"
    if isinstance(event, Message):
        return event.text
    return None


def still_line(address: str, action: str, destroying: bool, elapsed: float) -> str:
    """``aws_instance.web: Still creating... [10s elapsed]`` for an action still in flight."""
    return f"{address}: Still {_verbs(action, destroying)[2]}... [{int(elapsed)}s elapsed]"
