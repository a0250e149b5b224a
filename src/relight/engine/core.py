"""The engine API: ``plan`` and ``apply`` (plus ``lock``), used by every shell.

Typical use, as the run layer (:mod:`relight.runs`) does it::

    engine = Engine(config, backend, registry, variables, hook, context=ProviderContext(env, clock))
    with engine.lock("apply", timeout=0):
        plan, diags = engine.plan(PlanOptions())
        state, diags = engine.apply(plan)

:meth:`Engine.apply` always returns the resulting state, which may be partly updated when some
actions failed or the run was canceled; everything that succeeded was recorded durably before
anything depending on it started. The hook is wrapped in :class:`SafeHook`: a hook that raises
never breaks a run (``hook_failure`` says what went wrong, once).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from relight.addrs import InstanceAddr, ModuleAddr, ModuleInstance, ModulePath, ResourceAddr, module_path
from relight.diagnostics import Diagnostics
from relight.engine.applier import Applier
from relight.engine.checks import apply_checks, check_provider_keys, plan_checks
from relight.engine.evaluate import Evaluator, Expansion
from relight.engine.graph import ConfigGraph, Node, build_graph
from relight.engine.hooks import Hook, SafeHook
from relight.engine.imports import Imports, fetch_object, record_imports
from relight.engine.modules import ModuleTree
from relight.engine.plan import Action, Plan, PlanMode
from relight.engine.planfile import config_digest
from relight.engine.planner import Planner, PlanOptions, argument_ranges, refresh_state, resolve_intents
from relight.engine.providers import ProviderSet
from relight.errors import PlanError
from relight.lang import Config, FilePolicy
from relight.providers.base import ProviderContext, Schema
from relight.providers.registry import ProviderRegistry
from relight.state import Journal, LockInfo, State, StateBackend
from relight.values import UNKNOWN, Value

__all__ = ["FEATURES", "Engine"]

# The decoded language features this engine runs (see relight.lang.ENGINE_FEATURES): loading a
# configuration with these, and no others, refuses every use of what the engine would ignore.
FEATURES: frozenset[str] = frozenset({"conditions", "import", "check", "module_calls"})


class Engine:
    """Plans and applies one configuration against one state backend."""

    def __init__(
        self,
        config: Config,
        backend: StateBackend,
        registry: ProviderRegistry,
        variables: Mapping[str, Value],
        hook: Hook | None = None,
        *,
        context: ProviderContext | None = None,
        file_policy: FilePolicy | None = None,
    ) -> None:
        self.config = config
        self.backend = backend
        self.registry = registry
        self.variables = dict(variables)
        self.hook = SafeHook(hook or Hook())
        self.context = context or ProviderContext()
        self.file_policy = file_policy or FilePolicy.unconfined()
        self._graph: ConfigGraph | None = None
        self._providers: ProviderSet | None = None
        self._tree = ModuleTree(config)

    @property
    def hook_failure(self) -> str | None:
        """What the first failing hook call raised (the hook was not called after it), if any."""
        return self.hook.failure

    @contextlib.contextmanager
    def lock(self, operation: str, timeout: float = 0.0) -> Iterator[LockInfo]:
        """Hold the state lock for the duration; raises StateLockedError naming the holder."""
        with self.backend.lock(operation, timeout) as info:
            took_over = getattr(info, "took_over_from", None)
            if took_over:
                self.hook.message(f"Took over a stale lock left by a run that is no longer running ({took_over}).")
            yield info

    # -- setup --------------------------------------------------------------------------
    def _setup(self, state: State | None) -> tuple[ConfigGraph, ProviderSet, Evaluator, Diagnostics]:
        diags = Diagnostics()
        if self._graph is None:
            self._graph, d = build_graph(self.config)
            diags.extend(d)
        evaluator = Evaluator(self.config, self.variables, self.file_policy, self._tree)
        extra = {i.provider for i in state} if state is not None else set()
        extra |= check_provider_keys(self._tree)
        if self._providers is None:
            self._providers, d = ProviderSet.for_config(self.config, self.registry, evaluator, extra, self.context)
            diags.extend(d)
        return self._graph, self._providers, evaluator, diags

    # -- plan ---------------------------------------------------------------------------
    def plan(self, options: PlanOptions | None = None) -> tuple[Plan, Diagnostics]:
        """Refresh and plan. Reads state; the caller should hold the lock.

        On error diagnostics the returned plan is incomplete and must not be applied.
        """
        opts = options or PlanOptions()
        stored = self.backend.read()
        graph, providers, ev, diags = self._setup(stored)
        state = stored.copy()
        moved = _apply_moved(self._tree, state)
        drift: list[Any] = []
        if state.intents and not diags.has_errors:
            drift, d = resolve_intents(state, providers, self.hook)
            diags.extend(d)
        if opts.refresh and not diags.has_errors:
            state, found, d = refresh_state(state, providers, self.hook, opts.parallelism)
            drift.extend(found)
            diags.extend(d)
        planner = Planner(self.config, graph, ev, providers, opts)
        planner.deleted_outside = {d.addr for d in drift if d.kind == "deleted"}
        planner.imports = Imports(self.config, ev, self.hook, enabled=opts.mode is PlanMode.NORMAL)
        planned = not diags.has_errors
        checked = Diagnostics()
        changes, outputs, state = planner.plan(state) if planned else ([], [], state)
        diags.extend(planner.imports.diags)
        diags.extend(planner.diags)
        diags.extend(ev.diagnostics)
        if opts.mode is not PlanMode.DESTROY and planned:  # checks run after failed conditions too
            reads, checked = plan_checks(self._tree, ev, providers, state, self.hook)
            changes = changes + reads if opts.mode is PlanMode.NORMAL else changes
            diags.extend(checked)
        plan = Plan(
            check_diagnostics=list(checked),
            mode=opts.mode,
            lineage=stored.lineage,
            serial=stored.serial,
            changes=changes,
            drift=drift,
            outputs=outputs,
            variables=self.variables,
            config_digest=config_digest(self.config.sources),
            targets=tuple(str(t) for t in opts.targets),
            refreshed_state=state,
            expansions={
                str(a): {"kind": e.kind, "keys": list(e.keys), "each": e.each} for a, e in ev.expansions.items()
            },
            moved=moved,
            module_expansions={
                str(ModuleAddr((*m, (name, None)))): {"kind": e.kind, "keys": list(e.keys), "each": e.each}
                for (m, name), e in ev.module_expansions.items()
            },
        )
        return plan, diags

    # -- apply --------------------------------------------------------------------------
    def apply(
        self,
        plan: Plan,
        parallelism: int = 10,
        *,
        cancel: threading.Event | None = None,
        hold_back: frozenset[InstanceAddr] = frozenset(),
    ) -> tuple[State, Diagnostics]:
        """Apply exactly ``plan``. Reads state; the caller should hold the lock.

        Raises PlanError when the plan is stale (the state moved on since it was made) or was
        made for another configuration. Otherwise always returns the resulting state, which is
        partly updated when some actions failed (their errors are in the diagnostics).

        ``cancel``, once set, starts no further action: calls in flight finish and are
        recorded, and every action not started is reported through ``hook.apply_skipped``.
        ``hold_back`` leaves those objects exactly as recorded: their planned changes are not
        applied and what refresh found about them is not written, so the next plan still sees
        their drift (the heal loop holds drift reverts back for a person this way).
        """
        stored = self.backend.read()
        if plan.lineage and stored.lineage != plan.lineage:
            raise PlanError(
                "Saved plan does not match the given state: it was made for a different state "
                f"(lineage {plan.lineage}, the current state is {stored.lineage})."
            )
        if stored.serial != plan.serial:
            raise PlanError(
                "Saved plan is stale: the state was changed by another operation after the plan "
                f"was created (serial {plan.serial} -> {stored.serial}). Make a new plan."
            )
        if plan.config_digest and plan.config_digest != config_digest(self.config.sources):
            raise PlanError(
                "Saved plan is stale: the configuration files changed after the plan was created. Make a new plan."
            )
        _graph, providers, ev, diags = self._setup(stored)
        if diags.has_errors:
            return stored, diags
        base: State = plan.refreshed_state.copy()
        if hold_back:
            plan = _without(plan, hold_back)
            for addr in hold_back:
                recorded = stored.get(addr)
                base.remove(addr)
                if recorded is not None:
                    base.set_instance(recorded)
        with self.backend.open_journal(stored) as journal:
            # What refresh found can be found again: these records need no fsync of their own;
            # the first durable record after them (or the commit) makes them durable, in order.
            with journal.batch(durable=False):
                _journal_differences(journal, stored, base)
            record_imports(journal, base, plan, self.hook)
            _seed_evaluator(ev, plan, base)
            applier = Applier(self.config, ev, providers, self.hook, journal, base, parallelism, cancel)
            state, d = applier.apply(plan)
            diags.extend(d)
            if not diags.has_errors:
                diags.extend(ev.diagnostics)  # a child output's precondition checked only now
            if plan.mode is PlanMode.NORMAL and not applier.canceled:
                diags.extend(apply_checks(self._tree, ev, providers, journal, state, self.hook))
            if plan.mode is PlanMode.DESTROY and not d.has_errors:
                for inst in list(state):
                    if inst.addr.resource.mode == "data":
                        journal.set(inst.addr, inst.provider, None)
                        state.set_current(inst.addr, inst.provider, None)
            final = journal.commit(state)
        return final, diags

    def import_(self, addr: InstanceAddr, import_id: str) -> tuple[State, Diagnostics]:
        """Bring an existing object under management at ``addr`` (``relight import``).

        The provider finds the object by ``import_id`` and reads it; it is recorded in state
        and nothing in the cloud changes. Errors (no such block, already managed, not found)
        leave the state untouched. The caller should hold the lock.
        """
        diags = Diagnostics()
        stored = self.backend.read()
        res = self._tree.resource(addr.resource)
        if res is None or addr.resource.mode != "managed":
            diags.error(
                "Configuration for import target does not exist",
                f"The configuration does not contain a resource block for {addr.resource.config_addr()}. Add one "
                "(the arguments can be filled in after import, guided by the next plan).",
            )
            return stored, diags
        if stored.current(addr) is not None:
            diags.error(
                "Resource already managed by relight",
                f"relight is already managing {addr} in the state. To import to this address you "
                f"must first remove the existing object from the state (relight state rm {addr}).",
            )
            return stored, diags
        graph, providers, _ev, d = self._setup(stored)
        diags.extend(d)
        provider_key = self._tree.provider_key(addr.resource.module_path, res)
        provider = providers.get(provider_key)
        if diags.has_errors or provider is None:
            return stored, diags
        found, fetched = fetch_object(provider, addr, import_id, None, self.hook)
        diags.extend(x.stamped(str(addr), argument_ranges(res), res.range) for x in fetched)
        if found is None:
            return stored, diags
        static = addr.resource.config_addr()
        deps = graph.resource_dependencies(Node("resource", str(static), static.module_path))
        state = stored.copy()
        obj = replace(found, dependencies=deps, prevent_destroy=res.lifecycle.prevent_destroy)
        with self.backend.open_journal(stored) as journal:
            journal.set(addr, provider_key, obj)
            state.set_current(addr, provider_key, obj)
            final = journal.commit(state)
        self.hook.message(f"{addr}: Import complete [id={found.attributes.get('id')}]")
        return final, diags

    def schema_of(self, provider_key: str, type_name: str) -> Schema | None:
        """The schema of a managed resource type (after :meth:`plan` set the providers up)."""
        if self._providers is None:
            return None
        return self._providers.resource_schema(provider_key, type_name)

    def graph(self) -> tuple[ConfigGraph, Diagnostics]:
        """The configuration's dependency graph (for ``relight graph``)."""
        graph, d = build_graph(self.config)
        return graph, d


def _apply_moved(tree: ModuleTree, state: State) -> list[tuple[str, str]]:
    """Rewrite state addresses for ``moved`` blocks; returns (from, to) pairs that moved.

    A move whose destination is already occupied is left alone (the object at the destination
    wins, as in Terraform); everything at a moved address goes with it (deposed objects and
    pending create intents included, see :meth:`State.move`). A child module's ``moved`` blocks
    are relative to it and apply in each of its instances found in the state.
    """
    done: list[tuple[str, str]] = []
    for info in tree.modules.values():
        if not info.config.moved:
            continue
        for prefix in _instances_in_state(state, info.path):
            for mv in info.config.moved:
                for old, new in state.move_pairs(_placed(mv.from_, prefix), _placed(mv.to, prefix)):
                    if state.get(new) is not None:
                        continue
                    state.move(old, new)
                    done.append((str(old), str(new)))
    return done


def _instances_in_state(state: State, path: ModulePath) -> list[ModuleInstance]:
    """The instances of module ``path`` that hold anything in ``state`` (the root: always)."""
    if not path:
        return [()]
    n = len(path)
    found = {a.resource.module[:n] for a in state.addresses() if module_path(a.resource.module[:n]) == path}
    return sorted(found, key=lambda m: str(ModuleAddr(m)))


_Movable = InstanceAddr | ResourceAddr | ModuleAddr


def _placed(addr: _Movable, prefix: ModuleInstance) -> _Movable:
    """A moved block's address, relative to a module, placed in that module's instance."""
    if not prefix:
        return addr
    if isinstance(addr, ModuleAddr):
        return ModuleAddr((*prefix, *addr.module))
    if isinstance(addr, InstanceAddr):
        return InstanceAddr(addr.resource.in_module(prefix), addr.key)
    return addr.in_module(prefix)


def _without(plan: Plan, held: frozenset[InstanceAddr]) -> Plan:
    """``plan`` with no change planned for the held-back objects."""
    return replace(plan, changes=[c for c in plan.changes if c.addr not in held])


def _seed_evaluator(ev: Evaluator, plan: Plan, state: State) -> None:
    """Give the evaluator every value known before apply: state objects, then planned values."""
    for text, exp in plan.expansions.items():
        keys = tuple(exp["keys"])
        ev.expansions[ResourceAddr.parse(text)] = Expansion(exp["kind"], keys, exp.get("each"))
    for text, exp in plan.module_expansions.items():
        call = ModuleAddr.parse(text).module
        expansion = Expansion(exp["kind"], tuple(exp["keys"]), exp.get("each"))
        ev.module_expansions[(call[:-1], call[-1][0])] = expansion
    for inst in state:
        if inst.current is not None:
            ev.set_instance(inst.addr, inst.current.attributes)
    for change in plan.changes:
        if change.action in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.READ):
            ev.set_instance(change.addr, change.after if change.after is not None else UNKNOWN)


def _journal_differences(journal: Journal, stored: State, base: State) -> None:
    """Record what refresh and moves changed, so the journal alone rebuilds ``base``."""
    for inst in stored:
        if base.get(inst.addr) is None:
            journal.remove(inst.addr)
    for inst in base:
        if stored.get(inst.addr) != inst:
            journal.set(inst.addr, inst.provider, inst.current)
            for key, obj in inst.deposed.items():
                journal.set_deposed(inst.addr, key, inst.provider, obj)
    if base.outputs != stored.outputs:
        journal.set_outputs(base.outputs)
    for addr in stored.intents:
        if addr not in base.intents:
            journal.set_intent(addr, None)
    for addr, intent in base.intents.items():
        if stored.intents.get(addr) != intent:
            journal.set_intent(addr, intent)
