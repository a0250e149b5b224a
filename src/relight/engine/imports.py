"""``import { to, id }`` blocks (Terraform 1.5+): planned as imports, applied into the state.

Steps, each for a reason:

1. Before anything runs, :func:`static_import_checks` refuses what can never work: a target
   with no resource block, two blocks for one instance, a ``provider`` that differs from the
   resource's.
2. While planning, the blocks of a resource are expanded when the resource is (its ``id`` and
   instance key may refer to what was planned before it; the graph orders the resource after
   what its import blocks refer to): ``for_each`` gives each block's instances, each ``id`` must
   be a known string, and each instance must be one the resource's ``count``/``for_each``
   makes (:meth:`Imports.expand`).
3. An instance already in the state is not imported again (import blocks are idempotent, as in
   Terraform). Otherwise the provider finds the object by its id and reads it
   (:meth:`Imports.fetch`, "Preparing import... [id=...]"); that object is the prior state the
   planner compares the configuration with, and the change carries ``importing`` (its id).
4. Apply records every imported object in the journal, durably, before any action runs
   (:func:`record_imports`): nothing in the cloud changes for an import, so a run that dies
   afterwards has lost nothing, and one that dies before leaves the plan to be made again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from relight.addrs import InstanceAddr, InstanceKey, ResourceAddr
from relight.diagnostics import Diagnostics, SourceRange
from relight.engine.evaluate import NO_EACH, Evaluator
from relight.engine.hooks import Hook
from relight.engine.plan import Plan
from relight.lang import Config, Import, Resource, Scope
from relight.providers.base import ImportRequest, Provider, ReadRequest
from relight.state import Journal, ObjectState, State
from relight.values import UNKNOWN, Value, is_wholly_known

__all__ = ["Imports", "PendingImport", "fetch_object", "record_imports", "static_import_checks"]


@dataclass(frozen=True, slots=True)
class PendingImport:
    """One instance an import block asks for: where, the object's id, and the block."""

    addr: InstanceAddr
    id: str
    block: Import


class Imports:
    """The import blocks of one plan, expanded resource by resource (see the module docstring).

    ``diags`` collects what goes wrong; ``pending`` holds every instance to import, by address.
    A disabled instance (destroy and refresh-only plans, as in Terraform) imports nothing.
    """

    def __init__(self, config: Config, evaluator: Evaluator, hook: Hook | None = None, enabled: bool = True) -> None:
        self.ev = evaluator
        self.hook = hook or Hook()
        self.diags = Diagnostics()
        self.pending: dict[InstanceAddr, PendingImport] = {}
        self._blocks: dict[ResourceAddr, list[Import]] = {}
        if enabled:
            for imp in config.imports:
                self._blocks.setdefault(imp.to, []).append(imp)

    def expand(self, res: Resource, keys: tuple[InstanceKey, ...]) -> None:
        """Expand the import blocks that target ``res`` (which expands to ``keys``)."""
        for imp in self._blocks.get(res.addr, ()):
            for each_key, each_value in self._each(imp):
                self._one(imp, res, keys, each_key, each_value)

    def _each(self, imp: Import) -> Iterator[tuple[Value, Value]]:
        if imp.for_each is None:
            yield NO_EACH, NO_EACH
            return
        value, d = imp.for_each.evaluate(self.ev.scope())
        self.diags.extend(d)
        if d.has_errors:
            return
        if not is_wholly_known(value):
            self.diags.error(
                "Invalid for_each argument",
                'The "for_each" value of this import block depends on resource attributes that cannot be '
                "determined until apply, so relight cannot plan to import these resources.",
                imp.for_each.range,
            )
            return
        if isinstance(value, dict):
            yield from ((str(k), v) for k, v in value.items())
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            yield from ((v, v) for v in value)
        else:
            self.diags.error(
                "Invalid for_each argument",
                "The given for_each argument must be a map, or a set of strings.",
                imp.for_each.range,
            )

    def _one(
        self, imp: Import, res: Resource, keys: tuple[InstanceKey, ...], each_key: Value, each_value: Value
    ) -> None:
        scope = self.ev.scope(each_key=each_key, each_value=each_value)
        found, key = self._key(imp, scope)
        if not found:
            return
        addr = res.addr.instance(key)
        if key not in keys:
            self.diags.error(
                "Configuration for import target does not exist",
                f"The configuration for the given import target {addr} does not exist. All target "
                "instances must have an associated configuration to be imported.",
                _where(imp),
            )
            return
        id_value, d = imp.id.evaluate(scope)
        self.diags.extend(d)
        if d.has_errors:
            return
        if id_value is UNKNOWN:
            self.diags.error(
                "Invalid import id argument",
                'The import block "id" argument depends on resource attributes that cannot be determined '
                "until apply, so relight cannot plan to import this resource.",
                imp.id.range,
            )
            return
        if not isinstance(id_value, str | int | float) or isinstance(id_value, bool) or id_value == "":
            self.diags.error(
                "Invalid import id argument",
                "The import ID must be a non-empty string.",
                imp.id.range,
            )
            return
        first = self.pending.get(addr)
        if first is not None:
            self.diags.error(
                f'Duplicate import configuration for "{addr}"',
                f'An import block for the resource "{addr}" was already declared at {first.block.range}. '
                "A resource can have only one import block.",
                _where(imp),
            )
            return
        self.pending[addr] = PendingImport(addr, _id_text(id_value), imp)

    def _key(self, imp: Import, scope: Scope) -> tuple[bool, InstanceKey]:
        """(True, the instance key) of the block's target, or (False, None) when it has none usable."""
        if imp.to_key is None:
            return True, None
        value, d = imp.to_key.evaluate(scope)
        self.diags.extend(d)
        if d.has_errors:
            return False, None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int | str):
            self.diags.error(
                "Invalid import address",
                "The instance key of an import target must be a known whole number or string.",
                imp.to_key.range,
            )
            return False, None
        return True, value

    def fetch(self, pending: PendingImport, provider: Provider) -> ObjectState | None:
        """Find the object to import and read it (None, with the reason in ``diags``, when it
        cannot be: no such object, or the provider refused)."""
        obj, found = fetch_object(provider, pending.addr, pending.id, _where(pending.block), self.hook)
        self.diags.extend(found)
        return obj


def fetch_object(
    provider: Provider, addr: InstanceAddr, import_id: str, where: SourceRange | None, hook: Hook
) -> tuple[ObjectState | None, Diagnostics]:
    """The object ``import_id`` names, as the provider finds and reads it, to be recorded at
    ``addr``; None and Terraform's error when there is no such object (diagnostics at ``where``)."""
    diags = Diagnostics()
    type_name = addr.resource.type
    hook.message(f"{addr}: Preparing import... [id={import_id}]")
    resp = provider.import_(ImportRequest(type_name, import_id))
    diags.extend(d.stamped(str(addr), None, where) for d in resp.diagnostics)
    if resp.diagnostics.has_errors:
        return None, diags
    read = None
    if resp.state is not None:
        hook.message(f"{addr}: Refreshing state... [id={import_id}]")
        read = provider.read(ReadRequest(type_name, resp.state))
        diags.extend(d.stamped(str(addr), None, where) for d in read.diagnostics)
        if read.diagnostics.has_errors:
            return None, diags
    if read is None or read.new_state is None:
        diags.error(
            "Cannot import non-existent remote object",
            f'While attempting to import an existing object to "{addr}", the provider detected that '
            f"no object exists with the given id ({import_id}). Only pre-existing objects can be "
            "imported; check that the id is correct and that it is associated with the provider's "
            'configured region or endpoint, or use "relight apply" to create a new remote object for '
            "this resource.",
            where,
            str(addr),
        )
        return None, diags
    return ObjectState(read.new_state), diags


def _where(imp: Import) -> SourceRange:
    return imp.to_key.range if imp.to_key is not None else imp.range


def _id_text(value: Value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def record_imports(journal: Journal, state: State, plan: Plan, hook: Hook) -> None:
    """Put every object ``plan`` imports into ``state``, each recorded in ``journal`` (durable
    once this returns). An address the state already holds is left alone (the plan is stale
    then, which apply refuses before this is reached)."""
    with journal.batch():
        for change in plan.changes:
            if not change.importing or change.before is None or state.current(change.addr) is not None:
                continue
            hook.message(f"{change.addr}: Importing... [id={change.importing}]")
            obj = ObjectState(
                change.before,
                dependencies=change.dependencies,
                prevent_destroy=change.prevent_destroy,
            )
            journal.set(change.addr, change.provider, obj)
            state.set_current(change.addr, change.provider, obj)
            hook.message(f"{change.addr}: Import complete [id={change.importing}]")


def static_import_checks(config: Config) -> Diagnostics:
    """What no run could import: a target without a resource block, two blocks for one literal
    instance, a ``provider`` other than the resource's."""
    diags = Diagnostics()
    seen: dict[tuple[ResourceAddr, Value], Import] = {}
    for imp in config.imports:
        res = config.resources.get(imp.to)
        if res is None:
            diags.error(
                "Configuration for import target does not exist",
                f"The configuration for the given import target {imp.to} does not exist. relight does not "
                "generate configuration: add a resource block for it (its arguments can be filled in as "
                "the next plan shows what differs), then plan again.",
                imp.range,
            )
            continue
        if imp.provider_key is not None and imp.provider_key != res.provider_key:
            diags.error(
                "Invalid import provider argument",
                f'The provider argument in the target resource block must match the import block: {imp.to} '
                f'uses "{res.provider_key}", this import block "{imp.provider_key}".',
                imp.range,
            )
        if imp.for_each is not None:
            continue
        literal = _literal_key(imp)
        if literal is UNKNOWN:
            continue
        first = seen.get((imp.to, literal))
        if first is not None:
            addr = imp.to.instance(literal)
            diags.error(
                f'Duplicate import configuration for "{addr}"',
                f'An import block for the resource "{addr}" was already declared at {first.range}. '
                "A resource can have only one import block.",
                imp.range,
            )
            continue
        seen[(imp.to, literal)] = imp
    return diags


def _literal_key(imp: Import) -> Value:
    if imp.to_key is None:
        return None
    if imp.to_key.references():
        return UNKNOWN
    value, d = imp.to_key.evaluate()
    return UNKNOWN if d.has_errors else value
