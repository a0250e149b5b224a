"""What a run says about things it will not do as written, so nothing is silently ignored.

* :func:`backend_check`: a ``backend`` block other than ``local`` (``s3`` has its own adoption
  path, see :func:`relight.engine.adopt.adoption_check`). relight keeps the state in its own
  backend; a plan in a directory whose state lives elsewhere, with no relight state yet, would
  create every object again next to the real ones, so that is an error; once relight holds the
  state, a warning says where it goes. ``http`` is relight's own backend too (Terraform's http
  protocol, spoken by ``relight serve``): no notice when the run uses it, a warning when the run's
  state goes elsewhere (a server running the stack with its own SQL backend).
* :func:`target_notices`: ``-target`` in effect (Terraform's warning), and each ``-target`` or
  ``-replace`` address that names nothing in the configuration or the state, with "Did you mean".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from relight.addrs import InstanceAddr, ModuleAddr, Target
from relight.diagnostics import Diagnostics
from relight.engine import Plan
from relight.lang import Config
from relight.state import UNASSIGNED_LINEAGE, State, StateBackend
from relight.state.http import HttpBackend

__all__ = ["applied_with_targets", "backend_check", "target_notices"]

_EXCEPTIONAL = (
    "is provided only for exceptional situations such as recovering from errors or mistakes, or when relight "
    "specifically suggests to use it as part of an error message."
)


def backend_check(config: Config, backend: StateBackend) -> Diagnostics:
    """An error or a warning for a backend block relight does not use (see the module docstring)."""
    diags = Diagnostics()
    block = config.backend
    if block is None or block.type == "s3" or (block.type == "http" and isinstance(backend, HttpBackend)):
        return diags
    where = _where(backend)
    if block.type == "local":
        extra = sorted(set(block.config) - {"path"})
        if extra:
            diags.warning(
                "Unsupported local backend settings",
                f"relight's local backend takes only path; {', '.join(extra)} is not used. The state is {where}.",
                block.range,
            )
        return diags
    kind = "cloud block" if block.type == "cloud" else f'backend "{block.type}"'
    if block.type != "http" and backend.read().lineage == UNASSIGNED_LINEAGE:
        diags.error(
            "This stack's state is in a backend relight does not use",
            f"The configuration keeps its state in a {kind}, which relight neither reads nor writes, and "
            f"relight has no state for it yet: a plan would create every object again next to the ones that "
            "exist. If Terraform manages this stack, adopt its state first:\n\n"
            "    terraform state pull > terraform.tfstate\n    relight state push terraform.tfstate\n\n"
            f"then remove the {kind} (relight keeps the state {where}). For a new stack, remove the block.",
            block.range,
        )
        return diags
    diags.warning(
        f"relight does not use the {kind}",
        f"relight keeps this stack's state {where}, not in the {kind}.",
        block.range,
    )
    return diags


def _where(backend: StateBackend) -> str:
    place = getattr(backend, "where", None)
    if isinstance(place, str) and place:
        return f"in {place}"
    path = getattr(backend, "path", None)
    return f"in the file {path}" if isinstance(path, str) else "in relight's own backend"


def target_notices(
    config: Config, plan: Plan, state: State, targets: Iterable[Target], replace: Iterable[InstanceAddr]
) -> Diagnostics:
    """Warnings for a targeted plan and for addresses that name nothing (see the module)."""
    diags = Diagnostics()
    targets, replace = list(targets), list(replace)
    known = _known_addresses(config, plan, state)
    for addr in targets:
        if not _targets_something(addr, config, plan, state):
            diags.warning(
                f"-target={addr} matches nothing",
                f"No resource in the configuration or the state has the address {addr}, so this -target selects "
                f"nothing.{_did_you_mean(str(addr), known)}",
            )
    in_state = {str(inst.addr) for inst in state}
    for addr in replace:
        if str(addr) in in_state:
            continue
        planned = config.resources.get(addr.resource) is not None and _expands_to(addr, plan)
        detail = (
            f"{addr} is not in the state yet: this plan creates it, so there is nothing to replace."
            if planned
            else f"The state has no object at {addr}, so -replace replaces nothing.{_did_you_mean(str(addr), in_state)}"
        )
        diags.warning(f"-replace={addr} matches nothing", detail)
    if targets:
        diags.warning(
            "Resource targeting is in effect",
            "You are creating a plan with the -target option, which means that the result of this plan may not "
            "represent all of the changes requested by the current configuration.\n\n"
            "The -target option is not for routine use, and " + _EXCEPTIONAL,
        )
    return diags


def applied_with_targets() -> Diagnostics:
    """Terraform's warning after applying a targeted plan."""
    diags = Diagnostics()
    diags.warning(
        "Applied changes may be incomplete",
        "The plan was created with the -target option in effect, so some changes requested in the configuration "
        "may have been ignored and the output values may not be fully updated. Run the following command to "
        "verify that no other changes are pending:\n    relight plan\n\nNote that the -target option is not "
        "suitable for routine use, and " + _EXCEPTIONAL,
    )
    return diags


def _targets_something(addr: Target, config: Config, plan: Plan, state: State) -> bool:
    if isinstance(addr, ModuleAddr):
        return _has_module(config, addr) or any(addr.contains(inst.addr.resource.module) for inst in state)
    if addr.resource.module:  # a resource in a module instance: its expansion is the modules' business
        if _has_module(config, ModuleAddr(addr.resource.module)):
            return True
        return any(inst.addr == addr or (addr.key is None and inst.addr.resource == addr.resource) for inst in state)
    if addr.key is None:
        if addr.resource in config.resources:
            return True
        return any(inst.addr.resource == addr.resource for inst in state)
    if config.resources.get(addr.resource) is not None and _expands_to(addr, plan):
        return True
    return state.get(addr) is not None


def _has_module(config: Config, addr: ModuleAddr) -> bool:
    """Whether the configuration calls the module at ``addr`` (its keys are not checked)."""
    current = config
    for name in addr.path:
        child = current.children.get(name)
        if child is None:
            return False
        current = child
    return True


def _expands_to(addr: InstanceAddr, plan: Plan) -> bool:
    exp = plan.expansions.get(str(addr.resource))
    if exp is None:
        return addr.key is None
    return addr.key in exp.get("keys", ())


def _known_addresses(config: Config, plan: Plan, state: State) -> set[str]:
    found = {str(a) for a in config.resources}
    found |= {f"module.{name}" for name in config.children}
    found |= {str(inst.addr) for inst in state}
    found |= {str(inst.addr.resource) for inst in state}
    return found


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f' Did you mean "{close[0]}"?' if close else ""
