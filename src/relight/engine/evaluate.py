"""Evaluation of configuration objects against the values known so far.

The planner and the applier share one :class:`Evaluator`. It holds the value of every resource
instance planned or applied so far and builds a :class:`relight.lang.Scope` for each body it
evaluates, in the module instance the body belongs to (``()`` for the root). Within a module
instance, ``var.*`` are the module's input variables (the root's come from the run; a child's
are its call's arguments, evaluated in the calling module instance and converted to the
declared type), ``local.*`` its locals, resources its own, and ``module.x`` the outputs of a
call's instances (an object, a list of them for ``count``, a map for ``for_each``).

Locals, child variables and child outputs are computed on demand and memoised once wholly known
(per module instance), so one that depends on a resource is recomputed when that resource's
value becomes known during apply. A value reached again while it is being computed (a cycle
the static graph cannot see, through a whole ``module.x`` object) reads as unknown rather than
recursing forever; it never yields a wrong known value.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from relight.addrs import InstanceAddr, InstanceKey, ModuleInstance, ResourceAddr, format_module, module_path
from relight.diagnostics import Diagnostics
from relight.engine.conditions import ConditionKind, check_conditions
from relight.engine.modules import ModuleInfo, ModuleTree
from relight.lang import NO_DEFAULT, Config, ConversionError, Expr, FilePolicy, Scope, convert
from relight.values import UNKNOWN, Value, is_wholly_known

__all__ = ["NO_EACH", "Evaluator", "Expansion"]


class _NoEach:
    def __repr__(self) -> str:
        return "NO_EACH"


NO_EACH: Any = _NoEach()


@dataclass(frozen=True, slots=True)
class Expansion:
    """How a resource or module call expands: ``kind`` is "single", "count" or "for_each";
    ``keys`` in order.

    ``each`` maps each for_each key to its ``each.value``. An expansion that is not known yet
    (count from an unknown value) has ``known`` False.
    """

    kind: str
    keys: tuple[InstanceKey, ...]
    each: Mapping[str, Value] | None = None
    known: bool = True


# What a memoised or in-progress value is: (module instance, "local"/"var"/"output", name).
_Slot = tuple[ModuleInstance, str, str]


class _Lazy(Mapping[str, Value]):
    """A lazy view of one module instance's ``local.*`` or ``var.*``: each is evaluated when read."""

    def __init__(self, names: Mapping[str, object], get: Callable[[str], Value]) -> None:
        self._names = names
        self._get = get

    def __getitem__(self, name: str) -> Value:
        if name not in self._names:
            raise KeyError(name)
        return self._get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class Evaluator:
    """Evaluates expressions with the values of variables, locals and resources known so far."""

    def __init__(
        self,
        config: Config,
        variables: Mapping[str, Value],
        file_policy: FilePolicy | None = None,
        tree: ModuleTree | None = None,
    ) -> None:
        self.config = config
        self.tree = tree or ModuleTree(config)
        self.file_policy = file_policy or FilePolicy.unconfined()
        self.variables = dict(variables)
        self.instances: dict[InstanceAddr, Value] = {}
        self.expansions: dict[ResourceAddr, Expansion] = {}
        # A call's expansion in one calling module instance: (calling instance, call name).
        self.module_expansions: dict[tuple[ModuleInstance, str], Expansion] = {}
        self._memo: dict[_Slot, Value] = {}
        self._busy: set[_Slot] = set()
        self._lock = threading.RLock()
        self._root_locals = _Lazy(config.locals, lambda name: self._lazy(((), "local", name)))
        self._cwd = os.getcwd()
        self.diagnostics = Diagnostics()

    # -- values -------------------------------------------------------------------------
    def set_instance(self, addr: InstanceAddr, value: Value) -> None:
        self.instances[addr] = value

    def resource_value(self, addr: ResourceAddr) -> Value:
        """The value a reference to ``addr`` sees: object, list (count) or map (for_each)."""
        exp = self.expansions.get(addr)
        if exp is None:
            return UNKNOWN
        if not exp.known:
            return UNKNOWN
        if exp.kind == "single":
            return self.instances.get(addr.instance(None), UNKNOWN)
        if exp.kind == "count":
            return [self.instances.get(addr.instance(k), UNKNOWN) for k in exp.keys]
        return {str(k): self.instances.get(addr.instance(k), UNKNOWN) for k in exp.keys}

    def module_value(self, module: ModuleInstance, name: str) -> Value:
        """``module.NAME`` seen from ``module``: the outputs of the call's instances."""
        info = self.tree.modules.get((*module_path(module), name))
        if info is None:
            raise KeyError(name)
        exp = self.module_expansions.get((module, name))
        if exp is None or not exp.known:
            return UNKNOWN
        if exp.kind == "single":
            return self._outputs((*module, (name, None)), info)
        if exp.kind == "count":
            return [self._outputs((*module, (name, k)), info) for k in exp.keys]
        return {str(k): self._outputs((*module, (name, k)), info) for k in exp.keys}

    def _outputs(self, instance: ModuleInstance, info: ModuleInfo) -> dict[str, Value]:
        return {name: self._lazy((instance, "output", name)) for name in info.config.outputs}

    def output(self, module: ModuleInstance, name: str) -> Value:
        """The value of output ``name`` of a child module instance."""
        return self._lazy((module, "output", name))

    def variable(self, module: ModuleInstance, name: str) -> Value:
        """The value of input variable ``name`` of a child module instance."""
        return self._lazy((module, "var", name))

    def local(self, name: str, module: ModuleInstance = ()) -> Value:
        return self._lazy((module, "local", name))

    def _lazy(self, slot: _Slot) -> Value:
        """A memoised local, child variable or child output (see the module docstring)."""
        with self._lock:
            if slot in self._memo:
                return self._memo[slot]
            if slot in self._busy:
                return UNKNOWN
            self._busy.add(slot)
            try:
                value, diags = self._compute(slot)
            finally:
                self._busy.discard(slot)
            if diags.has_errors:
                self._record(diags)
                return UNKNOWN
            if is_wholly_known(value):
                self._memo[slot] = value
            return value

    def _compute(self, slot: _Slot) -> tuple[Value, Diagnostics]:
        module, kind, name = slot
        info = self.tree.modules.get(module_path(module))
        if info is None:
            return UNKNOWN, Diagnostics()
        if kind == "local":
            decl = info.config.locals.get(name)
            return (UNKNOWN, Diagnostics()) if decl is None else decl.expr.evaluate(self.scope(module))
        if kind == "output":
            out = info.config.outputs.get(name)
            if out is None:
                return UNKNOWN, Diagnostics()
            if out.preconditions:  # a failing precondition leaves the output unknown, and says why
                found = check_conditions(
                    out.preconditions, self.scope(module), ConditionKind.OUTPUT, address=f"{format_module(module)}"
                )
                if found.failed:
                    return UNKNOWN, found.diagnostics
            return out.expr.evaluate(self.scope(module))
        return self._input(module, info, name)

    def _input(self, module: ModuleInstance, info: ModuleInfo, name: str) -> tuple[Value, Diagnostics]:
        """A child module's variable: its call's argument (evaluated in the calling instance,
        with the instance's ``count.index``/``each``), else its default; converted to its type."""
        diags = Diagnostics()
        decl = info.config.variables.get(name)
        if decl is None or info.call is None:
            return UNKNOWN, diags
        attr = info.call.inputs.attributes.get(name)
        if attr is None:
            return (UNKNOWN if decl.default is NO_DEFAULT else decl.default), diags
        value, diags = attr.expr.evaluate(self.call_scope(module))
        if diags.has_errors:
            return UNKNOWN, diags
        label = f"{format_module(module)}.var.{name}"
        if value is None and not decl.nullable:
            if decl.default is not NO_DEFAULT and decl.default is not None:
                return decl.default, diags
            diags.error(
                "Invalid value for input variable",
                f"The given value is not suitable for {label}: required variable may not be set to null.",
                attr.range,
            )
            return UNKNOWN, diags
        try:
            return convert(value, decl.type), diags
        except (ConversionError, TypeError) as err:
            diags.error(
                "Invalid value for input variable",
                f"The given value is not suitable for {label} declared at {decl.range}: {err}.",
                attr.range,
            )
            return UNKNOWN, diags

    def forget_locals(self) -> None:
        """Drop memoised locals, child variables and outputs (after values they may depend on changed)."""
        with self._lock:
            self._memo.clear()

    def _record(self, diags: Diagnostics) -> None:
        seen = {(d.summary, d.subject) for d in self.diagnostics}
        for d in diags:
            if (d.summary, d.subject) not in seen:
                self.diagnostics.append(d)

    # -- scopes -------------------------------------------------------------------------
    def scope(
        self,
        module: ModuleInstance = (),
        count_index: int | None = None,
        each_key: Value = NO_EACH,
        each_value: Value = NO_EACH,
        self_value: Value = None,
    ) -> Scope:
        """The scope of a body in ``module`` (``()``: the root)."""
        if module:
            return self._module_scope(module, count_index, each_key, each_value, self_value)
        return Scope(
            variables=self.variables,
            locals=self._root_locals,
            resource=self.resource_value,
            module_call=self._root_module_value,
            count_index=count_index,
            each_key=each_key if each_key is not NO_EACH else None,
            each_value=each_value if each_value is not NO_EACH else None,
            has_each=each_key is not NO_EACH,
            self_value=self_value,
            path_module=self.config.directory,
            path_root=self.config.directory,
            path_cwd=self._cwd,
            file_policy=self.file_policy,
        )

    def _root_module_value(self, name: str) -> Value:
        return self.module_value((), name)

    def _module_scope(
        self, module: ModuleInstance, count_index: int | None, each_key: Value, each_value: Value, self_value: Value
    ) -> Scope:
        info = self.tree.modules[module_path(module)]
        config = info.config
        return Scope(
            variables=_Lazy(config.variables, lambda name: self._lazy((module, "var", name))),
            locals=_Lazy(config.locals, lambda name: self._lazy((module, "local", name))),
            resource=lambda addr: self.resource_value(addr.in_module(module)),
            module_call=lambda name: self.module_value(module, name),
            count_index=count_index,
            each_key=each_key if each_key is not NO_EACH else None,
            each_value=each_value if each_value is not NO_EACH else None,
            has_each=each_key is not NO_EACH,
            self_value=self_value,
            path_module=info.path_module,
            path_root=self.config.directory,
            path_cwd=self._cwd,
            file_policy=self.file_policy,
        )

    def call_scope(self, module: ModuleInstance) -> Scope:
        """Where the call of module instance ``module`` is evaluated: the calling instance,
        with ``count.index`` or ``each`` of ``module``'s own key."""
        parent, (name, key) = module[:-1], module[-1]
        exp = self.module_expansions.get((parent, name))
        if exp is None or exp.kind == "single":
            return self.scope(parent)
        if exp.kind == "count":
            assert isinstance(key, int)
            return self.scope(parent, count_index=key)
        info = self.tree.modules[module_path(module)]
        each = exp.each or {}
        value = each.get(str(key))
        if not is_wholly_known(value) and info.call is not None and info.call.for_each is not None:
            value = self._fresh_each(info.call.for_each, parent, key, value)
        return self.scope(parent, each_key=key, each_value=value)

    def instance_scope(self, addr: InstanceAddr, self_value: Value = None) -> Scope:
        module = addr.resource.module
        exp = self.expansions.get(addr.resource)
        if exp is None or exp.kind == "single":
            return self.scope(module, self_value=self_value)
        if exp.kind == "count":
            assert isinstance(addr.key, int)
            return self.scope(module, count_index=addr.key, self_value=self_value)
        each = exp.each or {}
        value = each.get(str(addr.key))
        if not is_wholly_known(value):
            res = self.tree.resource(addr.resource)
            if res is not None and res.for_each is not None:
                value = self._fresh_each(res.for_each, module, addr.key, value)
        return self.scope(module, each_key=addr.key, each_value=value, self_value=self_value)

    def _fresh_each(self, for_each: Expr, module: ModuleInstance, key: InstanceKey, planned: Value) -> Value:
        """``each.value`` planned from unknowns (``for_each = other_resource``) is evaluated
        again during apply, once what it came from is known."""
        current, diags = for_each.evaluate(self.scope(module))
        if diags.has_errors or not isinstance(current, dict):
            return planned
        return current.get(str(key), planned)

    def evaluate(self, expr: Expr, scope: Scope | None = None) -> tuple[Value, Diagnostics]:
        return expr.evaluate(scope if scope is not None else self.scope())
