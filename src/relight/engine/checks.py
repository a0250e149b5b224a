"""``check "name" { data ... {} assert { condition, error_message } }`` blocks, as Terraform runs
them: at the end of every plan and every apply, never stopping either.

Contract: nothing here returns an error for a failing check. A failing assertion is the warning
"Check block assertion failed" (its ``error_message`` as the detail, at the condition's line);
an assertion not known at plan time is the warning "Check block assertion known after apply"
and is checked again after apply. The check's own (scoped) data source is read during plan when
its configuration is known and again during apply, so the assertion sees the real world after
the changes; whatever goes wrong reading it (no such object, a provider refusal, a bad
argument) is a warning too, and that check's assertions are then not evaluated (they would only
repeat the read's failure). A data source read successfully is recorded in the state, as
Terraform records it; nothing outside its check block may refer to it. Check blocks of a child module run in each of
its instances.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from relight.addrs import ModuleInstance, module_path
from relight.diagnostics import Diagnostic, Diagnostics, Severity
from relight.engine.conditions import ConditionKind, check_conditions
from relight.engine.conform import conform
from relight.engine.evaluate import Evaluator, Expansion
from relight.engine.hooks import Hook
from relight.engine.modules import ModuleTree
from relight.engine.plan import Action, ResourceChange
from relight.engine.providers import ProviderSet
from relight.lang import Check, Resource
from relight.providers.base import ReadDataRequest
from relight.state import Journal, ObjectState, State
from relight.values import UNKNOWN, Value, is_wholly_known

__all__ = ["apply_checks", "check_provider_keys", "plan_checks"]


def plan_checks(
    tree: ModuleTree, ev: Evaluator, providers: ProviderSet, state: State, hook: Hook
) -> tuple[list[ResourceChange], Diagnostics]:
    """Run every check block of every module instance after planning (``ev`` holds the planned
    values). Returns the reads to repeat during apply (one per scoped data source, reason
    "check") and warnings."""
    runner = _CheckRunner(tree, ev, providers, hook)
    changes: list[ResourceChange] = []
    for module, check in _checks(tree, ev):
        read_ok = True
        for data in check.data:
            value, ok = runner.read(module, data, planning=True)
            read_ok = read_ok and ok
            addr, key = data.addr.in_module(module).instance(None), runner.provider_key(module, data)
            if ok and value is not None and is_wholly_known(value):
                state.set_current(addr, key, ObjectState(value))
            after = value if isinstance(value, dict) else None
            changes.append(ResourceChange(addr, Action.READ, key, None, after, reason="check"))
        if read_ok:
            runner.assertions(module, check, planning=True)
    return changes, runner.diags


def apply_checks(
    tree: ModuleTree, ev: Evaluator, providers: ProviderSet, journal: Journal, state: State, hook: Hook
) -> Diagnostics:
    """Run every check block after apply (``ev`` holds the applied values): read each scoped data
    source again, record it in ``journal`` and ``state``, and evaluate the assertions."""
    runner = _CheckRunner(tree, ev, providers, hook)
    for module, check in _checks(tree, ev):
        read_ok = True
        for data in check.data:
            value, ok = runner.read(module, data, planning=False)
            read_ok = read_ok and ok
            if ok and value is not None:
                addr, key = data.addr.in_module(module).instance(None), runner.provider_key(module, data)
                obj = ObjectState(value)
                journal.set(addr, key, obj)
                state.set_current(addr, key, obj)
        if read_ok:
            runner.assertions(module, check, planning=False)
    return runner.diags


def check_provider_keys(tree: ModuleTree) -> set[str]:
    """The provider configurations the scoped data sources of all check blocks use."""
    return {
        tree.provider_key(path, data) or data.provider_key
        for path, info in tree.modules.items()
        for check in info.config.checks.values()
        for data in check.data
    }


def _checks(tree: ModuleTree, ev: Evaluator) -> Iterator[tuple[ModuleInstance, Check]]:
    """Every check block with the module instance it runs in: by module, instance and name."""
    for module in _instances(tree, ev):
        config = tree.modules[module_path(module)].config
        for name in sorted(config.checks):
            yield module, config.checks[name]


def _instances(tree: ModuleTree, ev: Evaluator) -> list[ModuleInstance]:
    """The module instances the evaluator knows the expansion of, the root first."""
    found: list[ModuleInstance] = [()]
    todo: list[ModuleInstance] = [()]
    while todo:
        parent = todo.pop(0)
        config = tree.modules[module_path(parent)].config
        for name in sorted(config.children):
            exp = ev.module_expansions.get((parent, name))
            if exp is None:
                continue
            for key in exp.keys:
                child: ModuleInstance = (*parent, (name, key))
                found.append(child)
                todo.append(child)
    return found


class _CheckRunner:
    """Reads scoped data sources and evaluates assertions, collecting only warnings."""

    def __init__(self, tree: ModuleTree, ev: Evaluator, providers: ProviderSet, hook: Hook) -> None:
        self.tree = tree
        self.ev = ev
        self.providers = providers
        self.hook = hook
        self.diags = Diagnostics()

    def provider_key(self, module: ModuleInstance, data: Resource) -> str:
        return self.tree.provider_key(module_path(module), data) or data.provider_key

    def read(self, module: ModuleInstance, data: Resource, *, planning: bool) -> tuple[Value, bool]:
        """The data source's value (UNKNOWN parts when its configuration is not known yet) and
        whether reading went well; the evaluator is given the value either way."""
        absolute = data.addr.in_module(module)
        addr = absolute.instance(None)
        self.ev.expansions[absolute] = Expansion("single", (None,))
        self.ev.set_instance(addr, UNKNOWN)
        key = self.provider_key(module, data)
        schema = self.providers.resource_schema(key, data.type, data=True)
        provider = self.providers.get(key)
        if schema is None or provider is None:
            return UNKNOWN, False  # reported before the run (an unknown data source or provider)
        raw, d = data.body.evaluate(self.ev.instance_scope(addr))
        config, d2 = conform(schema, raw, str(addr), data.range) if not d.has_errors else ({}, Diagnostics())
        d.extend(d2)
        if d.has_errors:
            self._warn(d, str(addr), data)
            return UNKNOWN, False
        if planning and not is_wholly_known(config):
            after = {k: UNKNOWN if v is None and schema.attributes[k].computed else v for k, v in config.items()}
            self.ev.set_instance(addr, after)
            return after, True
        self.hook.message(f"{addr}: Reading...")
        resp = provider.read_data(ReadDataRequest(data.type, config))
        self._warn(resp.diagnostics, str(addr), data)
        if resp.state is None or resp.diagnostics.has_errors:
            return UNKNOWN, False
        self.hook.message(f"{addr}: Read complete")
        self.ev.set_instance(addr, resp.state)
        return resp.state, True

    def assertions(self, module: ModuleInstance, check: Check, *, planning: bool) -> None:
        scope = self.ev.scope(module)
        found = check_conditions(check.asserts, scope, ConditionKind.CHECK)
        self.diags.extend(found.diagnostics)
        if found.deferred and planning:
            for cond in check.asserts:
                value, d = cond.condition.evaluate(scope)
                if not d.has_errors and not is_wholly_known(value):
                    self.diags.warning(
                        "Check block assertion known after apply",
                        "The condition could not be evaluated at this time, a result will be known when this "
                        "plan is applied.",
                        cond.condition.range,
                    )

    def _warn(self, diags: Diagnostics, address: str, data: Resource) -> None:
        """A scoped data source's problems, as warnings: a check never stops a run."""
        for diag in diags:
            stamped = diag.stamped(address, {n: a.range for n, a in data.body.attributes.items()}, data.range)
            self.diags.append(_as_warning(stamped))


def _as_warning(diag: Diagnostic) -> Diagnostic:
    return diag if diag.severity is Severity.WARNING else replace(diag, severity=Severity.WARNING)
