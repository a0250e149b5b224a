"""Evaluation of configuration objects against the values known so far.

The planner and the applier share one :class:`Evaluator`. It holds the value of every resource
instance planned or applied so far and builds a :class:`relight.lang.Scope` for each body it
evaluates. Locals are computed on demand and memoised once wholly known, so a local that depends
on a resource is recomputed when that resource's value becomes known during apply.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from relight.addrs import InstanceAddr, InstanceKey, ResourceAddr
from relight.diagnostics import Diagnostics
from relight.lang import Config, Expr, FilePolicy, Scope
from relight.values import UNKNOWN, Value, is_wholly_known

__all__ = ["NO_EACH", "Evaluator", "Expansion"]


class _NoEach:
    def __repr__(self) -> str:
        return "NO_EACH"


NO_EACH: Any = _NoEach()


@dataclass(frozen=True, slots=True)
class Expansion:
    """How a resource expands: ``kind`` is "single", "count" or "for_each"; ``keys`` in order.

    ``each`` maps each for_each key to its ``each.value``. An expansion that is not known yet
    (count from an unknown value) has ``known`` False.
    """

    kind: str
    keys: tuple[InstanceKey, ...]
    each: Mapping[str, Value] | None = None
    known: bool = True


class _Locals(Mapping[str, Value]):
    """A lazy view of ``local.*``: each is evaluated when first read."""

    def __init__(self, evaluator: Evaluator) -> None:
        self._ev = evaluator

    def __getitem__(self, name: str) -> Value:
        return self._ev.local(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ev.config.locals)

    def __len__(self) -> int:
        return len(self._ev.config.locals)


class Evaluator:
    """Evaluates expressions with the values of variables, locals and resources known so far."""

    def __init__(
        self, config: Config, variables: Mapping[str, Value], file_policy: FilePolicy | None = None
    ) -> None:
        self.config = config
        self.file_policy = file_policy or FilePolicy.unconfined()
        self.variables = dict(variables)
        self.instances: dict[InstanceAddr, Value] = {}
        self.expansions: dict[ResourceAddr, Expansion] = {}
        self._locals_memo: dict[str, Value] = {}
        self._locals_busy: set[str] = set()
        self._lock = threading.RLock()
        self._locals_view = _Locals(self)
        self._path = (config.directory, config.directory, os.getcwd())
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

    def local(self, name: str) -> Value:
        with self._lock:
            if name in self._locals_memo:
                return self._locals_memo[name]
            decl = self.config.locals.get(name)
            if decl is None or name in self._locals_busy:
                return UNKNOWN
            self._locals_busy.add(name)
            try:
                value, diags = decl.expr.evaluate(self.scope())
            finally:
                self._locals_busy.discard(name)
            if diags.has_errors:
                self._record(diags)
                return UNKNOWN
            if is_wholly_known(value):
                self._locals_memo[name] = value
            return value

    def forget_locals(self) -> None:
        """Drop memoised locals (after values they may depend on changed)."""
        with self._lock:
            self._locals_memo.clear()

    def _record(self, diags: Diagnostics) -> None:
        seen = {(d.summary, d.subject) for d in self.diagnostics}
        for d in diags:
            if (d.summary, d.subject) not in seen:
                self.diagnostics.append(d)

    # -- scopes -------------------------------------------------------------------------
    def scope(
        self,
        count_index: int | None = None,
        each_key: Value = NO_EACH,
        each_value: Value = NO_EACH,
        self_value: Value = None,
    ) -> Scope:
        return Scope(
            variables=self.variables,
            locals=self._locals_view,
            resource=self.resource_value,
            count_index=count_index,
            each_key=each_key if each_key is not NO_EACH else None,
            each_value=each_value if each_value is not NO_EACH else None,
            has_each=each_key is not NO_EACH,
            self_value=self_value,
            path_module=self._path[0],
            path_root=self._path[1],
            path_cwd=self._path[2],
            file_policy=self.file_policy,
        )

    def instance_scope(self, addr: InstanceAddr, self_value: Value = None) -> Scope:
        exp = self.expansions.get(addr.resource)
        if exp is None or exp.kind == "single":
            return self.scope(self_value=self_value)
        if exp.kind == "count":
            assert isinstance(addr.key, int)
            return self.scope(count_index=addr.key, self_value=self_value)
        each = exp.each or {}
        value = each.get(str(addr.key))
        if not is_wholly_known(value):
            value = self._fresh_each_value(addr, value)
        return self.scope(each_key=addr.key, each_value=value, self_value=self_value)

    def _fresh_each_value(self, addr: InstanceAddr, planned: Value) -> Value:
        """``each.value`` planned from unknowns (``for_each = other_resource``) is evaluated
        again during apply, once what it came from is known."""
        res = self.config.resources.get(addr.resource)
        if res is None or res.for_each is None:
            return planned
        current, diags = res.for_each.evaluate(self.scope())
        if diags.has_errors or not isinstance(current, dict):
            return planned
        return current.get(str(addr.key), planned)

    def evaluate(self, expr: Expr, scope: Scope | None = None) -> tuple[Value, Diagnostics]:
        return expr.evaluate(scope if scope is not None else self.scope())
