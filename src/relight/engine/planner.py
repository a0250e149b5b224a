"""Refresh and plan: compare configuration with the real world and propose actions.

Steps, in order, each for a reason:

1. ``moved`` blocks rewrite state addresses first, so a rename is not a destroy plus create.
2. Refresh reads every managed object in parallel (the cloud's latency dominates); an object
   whose read returns None was deleted outside relight: it is dropped from the refreshed state
   and reported as drift, so the plan re-creates it and re-plans what depends on it.
3. Resources and module calls are planned in dependency order. A module call expands first
   (its ``count``/``for_each``, evaluated in each instance of the calling module, must be known,
   as Terraform requires), so each resource of a child module is planned once per instance of
   its module. Each instance's body is evaluated with the values planned so far (unknown where
   only apply can tell), fitted to the provider's schema and handed to the provider's
   ``plan_change``. Then every child module instance's variables, validation rules and outputs
   are evaluated, used or not, so their mistakes are reported by this plan.
4. Objects in state with no configuration left (no resource block, no such key, or no such
   module instance) are planned for deletion, unless a ``removed`` block (of any module)
   forgets them or their recorded ``prevent_destroy`` refuses it.
5. Root outputs are evaluated last, with every planned value.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from relight.addrs import (
    InstanceAddr,
    ModuleAddr,
    ModuleInstance,
    ModulePath,
    ResourceAddr,
    Target,
    format_module,
    module_path,
)
from relight.diagnostics import Diagnostics, SourceRange
from relight.engine.conditions import ConditionKind, check_conditions
from relight.engine.conform import conform
from relight.engine.evaluate import Evaluator, Expansion
from relight.engine.expand import expand
from relight.engine.graph import ConfigGraph, Node
from relight.engine.hooks import Hook
from relight.engine.imports import Imports
from relight.engine.modules import provider_name
from relight.engine.plan import Action, Drift, OutputChange, PlanMode, ResourceChange
from relight.engine.providers import ProviderSet
from relight.lang import Condition, Config, Expr, Removed, Resource
from relight.providers.base import FindCreatedRequest, PlanRequest, ReadDataRequest, ReadRequest, Schema
from relight.state import ObjectState, State
from relight.values import UNKNOWN, Value, is_wholly_known

__all__ = ["PlanOptions", "Planner", "refresh_state", "resolve_intents"]


@dataclass(frozen=True)
class PlanOptions:
    mode: PlanMode = PlanMode.NORMAL
    refresh: bool = True
    targets: tuple[Target, ...] = ()  # an address without a key targets every instance
    replace: tuple[InstanceAddr, ...] = ()
    parallelism: int = 10


def argument_ranges(res: Resource) -> dict[str, SourceRange]:
    """Where each argument of a resource block is written, for pointing diagnostics at it."""
    return {name: a.range for name, a in res.body.attributes.items()}


def resolve_intents(state: State, providers: ProviderSet, hook: Hook) -> tuple[list[Drift], Diagnostics]:
    """Settle creates that a crashed run started but never recorded (``state.intents``).

    For each, the provider looks for the object by the create's token. A found object is
    adopted into ``state`` (as the current object, or as a deposed one if the address already
    has a current object) and reported as "adopted" drift; either way the intent is dropped
    from ``state``. A failed lookup keeps the intent and is an error: planning without knowing
    whether the object exists could create a duplicate.
    """
    diags = Diagnostics()
    drift: list[Drift] = []
    for addr, intent in sorted(state.intents.items(), key=lambda item: str(item[0])):
        provider = providers.get(intent.provider)
        if provider is None:
            continue
        resp = provider.find_created(FindCreatedRequest(addr.resource.type, intent.token, intent.planned))
        diags.extend(diag.stamped(str(addr)) for diag in resp.diagnostics)
        if resp.diagnostics.has_errors:
            continue
        del state.intents[addr]
        if resp.new_state is None:
            continue
        obj = ObjectState(resp.new_state)
        if state.current(addr) is None:
            state.set_current(addr, intent.provider, obj)
        else:
            state.set_deposed(addr, intent.token[:8], intent.provider, obj)
        drift.append(Drift(addr, "adopted", None, resp.new_state))
        hook.message(f"{addr}: found {resp.new_state.get('id')}, created by an interrupted run; adopted into state")
    return drift, diags


def refresh_state(
    state: State, providers: ProviderSet, hook: Hook, parallelism: int
) -> tuple[State, list[Drift], Diagnostics]:
    """Read every managed object; return the refreshed copy, what drifted, and diagnostics."""
    diags = Diagnostics()
    todo = [inst for inst in state if inst.current is not None and inst.addr.resource.mode == "managed"]
    if not todo:
        return state, [], diags

    def read(addr: InstanceAddr, provider_key: str, obj: ObjectState) -> tuple[object, Diagnostics]:
        provider = providers.get(provider_key)
        if provider is None:
            return obj.attributes, Diagnostics()
        hook.refresh_start(addr)
        resp = provider.read(ReadRequest(addr.resource.type, obj.attributes, obj.private))
        hook.refresh_done(addr, resp.new_state is None and not resp.diagnostics.has_errors)
        return resp.new_state, resp.diagnostics

    # Reads of local providers (objects in the state alone) are cheaper than a thread hand-off.
    remote = [i for i in todo if not providers.is_local(i.provider)]
    workers = max(1, min(parallelism, len(remote)))
    found: dict[InstanceAddr, tuple[object, Diagnostics]] = {}
    if workers > 1 and len(remote) > 1:
        with ThreadPoolExecutor(workers) as pool:
            futures = {i.addr: pool.submit(read, i.addr, i.provider, i.current) for i in remote if i.current}
            found = {addr: f.result() for addr, f in futures.items()}
    results = [found[i.addr] if i.addr in found else read(i.addr, i.provider, i.current) for i in todo if i.current]
    refreshed = state.copy()
    drift: list[Drift] = []
    for inst, (new_state, d) in zip(todo, results, strict=True):
        assert inst.current is not None
        diags.extend(diag.stamped(str(inst.addr)) for diag in d)
        if d.has_errors:
            continue
        before = inst.current.attributes
        if new_state is None:
            refreshed.set_current(inst.addr, inst.provider, None)
            drift.append(Drift(inst.addr, "deleted", before, None))
        elif new_state != before:
            assert isinstance(new_state, dict)
            refreshed.set_current(inst.addr, inst.provider, replace(inst.current, attributes=new_state))
            drift.append(Drift(inst.addr, "updated", before, new_state))
    return refreshed, drift, diags


class Planner:
    """Builds one :class:`Plan` from a configuration, its graph and a (refreshed) state."""

    def __init__(
        self,
        config: Config,
        graph: ConfigGraph,
        evaluator: Evaluator,
        providers: ProviderSet,
        options: PlanOptions,
    ) -> None:
        self.config = config
        self.graph = graph
        self.ev = evaluator
        self.providers = providers
        self.opts = options
        self.diags = Diagnostics()
        self.changes: list[ResourceChange] = []
        self.changed: set[ResourceAddr] = set()
        self.changed_config: set[str] = set()  # the same, as configuration addresses
        self.planned_keys: set[InstanceAddr] = set()
        self.replace_requested = set(options.replace)
        self.tree = evaluator.tree
        self.removed = [(info.path, rem) for info in self.tree.modules.values() for rem in info.config.removed]
        # The instances of each module (by static path) known so far in the walk.
        self.module_instances: dict[ModulePath, list[ModuleInstance]] = {(): [()]}
        self.targeted_modules: set[ModulePath] | None = None  # with -target: the modules it touches
        self.allowed = self._targeted_resources()
        self.deleted_outside: set[InstanceAddr] = set()
        # Import blocks, expanded resource by resource (the engine gives a hook for progress).
        self.imports = Imports(config, evaluator, enabled=options.mode is PlanMode.NORMAL)

    # -- entry point --------------------------------------------------------------------
    def plan(self, state: State) -> tuple[list[ResourceChange], list[OutputChange], State]:
        """Plan every resource and output; returns changes, output changes, and the state
        with data sources read during planning recorded in it."""
        self.state = state
        if self.opts.mode is PlanMode.DESTROY:
            self._plan_destroy()
            self._plan_deposed()
            outputs = [
                OutputChange(n, Action.DELETE, o.value, None, o.sensitive) for n, o in sorted(state.outputs.items())
            ]
            return self.changes, outputs, self.state
        for node in self.graph.order:
            if node.kind == "resource":
                addr = self.graph.resources[node]
                res = self.tree.resource(addr)
                assert res is not None
                for module in self.module_instances.get(node.module, ()):
                    self._plan_resource(res, node, module)
            elif node.kind == "module":
                self._expand_call(node)
        self._check_modules()
        if self.opts.mode is PlanMode.NORMAL:
            self._plan_orphans()
            self._plan_deposed()
        else:
            self.changes = []
        return self.changes, self._plan_outputs(), self.state

    # -- targets ------------------------------------------------------------------------
    def _targeted_resources(self) -> set[str] | None:
        """The configuration addresses of every resource the plan may touch (None: all)."""
        if not self.opts.targets:
            return None
        roots: set[Node] = set()
        for target in self.opts.targets:
            if isinstance(target, ModuleAddr):
                path = target.path
                roots.update(n for n in self.graph.resources if n.module[: len(path)] == path)
            else:
                node = Node("resource", str(target.resource.config_addr()), target.resource.module_path)
                roots.add(node)
        if self.opts.mode is PlanMode.DESTROY:
            closure = self.graph.dependents_closure(roots)
        else:
            closure = self.graph.dependencies_closure(roots)
        self.targeted_modules = {n.module[:i] for n in closure | roots for i in range(len(n.module) + 1)}
        return {n.name for n in closure if n.kind == "resource"} | {n.name for n in roots}

    def _is_targeted(self, addr: InstanceAddr) -> bool:
        if self.allowed is None:
            return True
        res = addr.resource
        static = res.config_addr()
        if str(static) not in self.allowed:
            return False
        direct = [
            t
            for t in self.opts.targets
            if (isinstance(t, ModuleAddr) and t.path == res.module_path[: len(t.path)])
            or (isinstance(t, InstanceAddr) and t.resource.config_addr() == static)
        ]
        return not direct or any(_targets(t, addr) for t in direct)

    # -- expansion ----------------------------------------------------------------------
    def _expand(self, res: Resource, module: ModuleInstance) -> Expansion:
        return self._expansion(res.count, res.for_each, module, "instances")

    def _expansion(self, count: Expr | None, for_each: Expr | None, module: ModuleInstance, what: str) -> Expansion:
        """How many instances ``count``/``for_each`` (evaluated in ``module``) ask for."""
        exp, d = expand(count, for_each, self.ev.scope(module), what)
        self.diags.extend(d)
        return exp

    def _expand_call(self, node: Node) -> None:
        """Expand a module call in every instance of the calling module: the child's instances."""
        call = self.tree.modules[node.module].config.module_calls[node.name]
        child_path = (*node.module, node.name)
        if child_path not in self.tree.modules:
            return  # the child could not be loaded; the loader reported why
        found = self.module_instances.setdefault(child_path, [])
        for parent in self.module_instances.get(node.module, ()):
            exp = self._expansion(call.count, call.for_each, parent, "module instances")
            self.ev.module_expansions[(parent, node.name)] = exp
            found.extend((*parent, (node.name, key)) for key in exp.keys)

    def _check_modules(self) -> None:
        """Every child module instance's variables and outputs, evaluated once everything is
        planned (as Terraform evaluates them whether used or not), and its validation rules."""
        for path, instances in self.module_instances.items():
            if not path or (self.targeted_modules is not None and path not in self.targeted_modules):
                continue  # a targeted plan evaluates only the modules it touches
            info = self.tree.modules[path]
            for instance in instances:
                for name in info.config.variables:
                    self.ev.variable(instance, name)
                for name in info.config.outputs:
                    self.ev.output(instance, name)
                self._validate_inputs(instance)

    def _validate_inputs(self, instance: ModuleInstance) -> None:
        """The child's variable validation rules, for one module instance (once known)."""
        info = self.tree.modules[module_path(instance)]
        for name, decl in info.config.variables.items():
            if not decl.validations:
                continue
            scope = self.ev.scope(instance)
            for rule in decl.validations:
                ok, d = rule.condition.evaluate(scope)
                self.diags.extend(d)
                if d.has_errors or ok is UNKNOWN or ok is True:
                    continue
                message, md = rule.error_message.evaluate(scope)
                text = message if isinstance(message, str) and not md.has_errors else "Invalid value."
                attr = info.call.inputs.attributes.get(name) if info.call is not None else None
                self.diags.error(
                    "Invalid value for variable",
                    f"{text}\n\nThis was checked by the validation rule at {rule.range} "
                    f"({format_module(instance)}.var.{name}).",
                    attr.range if attr is not None else decl.range,
                )

    # -- resources ----------------------------------------------------------------------
    def _plan_resource(self, res: Resource, node: Node, module: ModuleInstance) -> None:
        exp = self._expand(res, module)
        absolute = res.addr.in_module(module)
        self.ev.expansions[absolute] = exp
        provider_key = self.tree.provider_key(node.module, res)
        schema = self.providers.resource_schema(provider_key, res.type, data=res.addr.mode == "data")
        if schema is None:
            self._missing_type(res, provider_key)
            return
        if res.addr.mode == "managed" and not module:  # import blocks are root-only
            self.imports.expand(res, exp.keys)
        deps = self.graph.resource_dependencies(node)
        for key in exp.keys:
            addr = absolute.instance(key)
            self.planned_keys.add(addr)
            if res.addr.mode == "data":
                self._plan_data(res, addr, schema, deps, provider_key)
            else:
                self._plan_instance(res, addr, schema, deps, provider_key)

    def _missing_type(self, res: Resource, provider_key: str) -> None:
        if self.providers.get(provider_key) is None:
            return  # already reported when providers were set up
        kind = "data source" if res.addr.mode == "data" else "resource type"
        self.diags.error(
            f"Invalid {kind}",
            f'The provider "{provider_name(provider_key)}" does not support {kind} "{res.type}".',
            res.range,
        )

    def _evaluate_body(self, res: Resource, addr: InstanceAddr, schema: Schema) -> dict[str, Value] | None:
        raw, d = res.body.evaluate(self.ev.instance_scope(addr))
        self.diags.extend(d)
        if d.has_errors:
            return None
        value, d2 = conform(schema, raw, str(addr), res.range, argument_ranges(res))
        self.diags.extend(d2)
        return None if d2.has_errors else value

    def _plan_instance(
        self, res: Resource, addr: InstanceAddr, schema: Schema, deps: tuple[str, ...], provider_key: str
    ) -> None:
        prior_inst = self.state.get(addr)
        prior = prior_inst.current if prior_inst is not None else None
        if not self._is_targeted(addr):
            self.ev.set_instance(addr, prior.attributes if prior else UNKNOWN)
            return
        pending = self.imports.pending.get(addr) if prior is None else None
        if pending is not None:
            provider = self.providers.get(provider_key)
            assert provider is not None
            prior = self.imports.fetch(pending, provider)
            if prior is None:
                self.ev.set_instance(addr, UNKNOWN)
                return
        if not self._conditions(res.lifecycle.preconditions, ConditionKind.PRECONDITION, addr):
            self.ev.set_instance(addr, UNKNOWN)
            return
        config = self._evaluate_body(res, addr, schema)
        if config is None:
            self.ev.set_instance(addr, UNKNOWN)
            return
        if prior is not None:
            config = _ignore_changes(config, prior.attributes, res.lifecycle.ignore_changes)
        provider = self.providers.get(provider_key)
        assert provider is not None
        prior_attrs = prior.attributes if prior is not None else None
        resp = provider.plan_change(PlanRequest(res.type, prior_attrs, config, config))
        ranges = argument_ranges(res)
        self.diags.extend(diag.stamped(str(addr), ranges, res.range) for diag in resp.diagnostics)
        if resp.diagnostics.has_errors or resp.planned_state is None:
            self.ev.set_instance(addr, UNKNOWN)
            return
        planned = resp.planned_state
        action, reason, requires = self._decide(res, addr, prior, planned, resp.requires_replace)
        if action is Action.REPLACE and not resp.requires_replace:
            fresh = provider.plan_change(PlanRequest(res.type, None, config, config))
            self.diags.extend(fresh.diagnostics)
            planned = fresh.planned_state or planned
        if action is Action.REPLACE and (res.lifecycle.prevent_destroy or (prior and prior.prevent_destroy)):
            self._refuse_destroy(addr, res.range, in_config=True)
        keep = self._before_destroy(provider_key, addr, prior) if action is Action.REPLACE else ""
        self.ev.set_instance(addr, planned)
        self._conditions(res.lifecycle.postconditions, ConditionKind.POSTCONDITION, addr, planned)
        sensitive = tuple(n for n, a in schema.attributes.items() if a.sensitive) + _marked(prior)
        change = ResourceChange(
            addr=addr,
            action=action,
            provider=provider_key,
            before=prior.attributes if prior is not None else None,
            after=planned,
            requires_replace=requires,
            reason=reason,
            create_first=res.lifecycle.create_before_destroy,
            dependencies=deps,
            prior_dependencies=prior.dependencies if prior is not None else (),
            prevent_destroy=res.lifecycle.prevent_destroy,
            sensitive_attrs=sensitive,
            before_destroy=keep,
            importing=pending.id if pending is not None else "",
        )
        if action is not Action.NOOP:
            self._changed(addr)
        self.changes.append(change)

    def _changed(self, addr: InstanceAddr) -> None:
        self.changed.add(addr.resource)
        self.changed_config.add(str(addr.resource.config_addr()))

    def _decide(
        self,
        res: Resource,
        addr: InstanceAddr,
        prior: ObjectState | None,
        planned: dict[str, Value],
        requires: tuple[str, ...],
    ) -> tuple[Action, str, tuple[str, ...]]:
        if prior is None:
            drifted = addr in self.deleted_outside
            return Action.CREATE, "deleted outside relight" if drifted else "", ()
        if addr in self.replace_requested:
            return Action.REPLACE, "as requested", requires
        if prior.status == "tainted":
            return Action.REPLACE, "tainted", requires
        if requires:
            return Action.REPLACE, "", requires
        if self._triggered(res, addr):
            return Action.REPLACE, "replace_triggered_by", requires
        if planned != prior.attributes:
            return Action.UPDATE, "", ()
        return Action.NOOP, "", ()

    def _conditions(
        self, conditions: tuple[Condition, ...], kind: ConditionKind, addr: InstanceAddr, self_value: Value = None
    ) -> bool:
        """Check ``conditions`` of ``addr`` now (those not known yet are checked during apply);
        False when one failed. A refresh-only plan reports failures as warnings, as Terraform."""
        if not conditions:
            return True
        scope = self.ev.instance_scope(addr, self_value)
        found = check_conditions(
            conditions, scope, kind, address=str(addr), warn_only=self.opts.mode is PlanMode.REFRESH_ONLY
        )
        self.diags.extend(found.diagnostics)
        return not found.failed

    def _triggered(self, res: Resource, addr: InstanceAddr) -> bool:
        module = addr.resource.module
        for expr in res.lifecycle.replace_triggered_by:
            for ref in expr.references():
                if ref.resource is not None and ref.resource.in_module(module) in self.changed:
                    return True
        return False

    def _plan_data(
        self, res: Resource, addr: InstanceAddr, schema: Schema, deps: tuple[str, ...], provider_key: str
    ) -> None:
        config = self._evaluate_body(res, addr, schema)
        if config is None or not self._conditions(res.lifecycle.preconditions, ConditionKind.PRECONDITION, addr):
            self.ev.set_instance(addr, UNKNOWN)
            return
        pending = any(d in self.changed_config for d in deps if ".data." not in f".{d}")
        if not is_wholly_known(config) or pending or self.opts.mode is PlanMode.DESTROY:
            after = {
                k: (UNKNOWN if v is None and schema.attributes[k].computed else v)
                for k, v in config.items()
                if k in schema.attributes
            }
            self.ev.set_instance(addr, after)
            self._changed(addr)
            self.changes.append(ResourceChange(addr, Action.READ, provider_key, None, after, dependencies=deps))
            return
        provider = self.providers.get(provider_key)
        assert provider is not None
        resp = provider.read_data(ReadDataRequest(res.type, config))
        self.diags.extend(diag.stamped(str(addr), argument_ranges(res), res.range) for diag in resp.diagnostics)
        if resp.state is None:
            self.ev.set_instance(addr, UNKNOWN)
            return
        self.ev.set_instance(addr, resp.state)
        self.state.set_current(addr, provider_key, ObjectState(resp.state, dependencies=deps))
        self._conditions(res.lifecycle.postconditions, ConditionKind.POSTCONDITION, addr, resp.state)

    # -- orphans and destroy --------------------------------------------------------------
    def _plan_orphans(self) -> None:
        known = {m for instances in self.module_instances.values() for m in instances}
        for inst in list(self.state):
            addr = inst.addr
            if addr in self.planned_keys:
                continue
            if addr.resource.mode == "data":
                self.state.set_current(addr, inst.provider, None)
                continue
            if inst.current is None or not self._is_targeted(addr):
                continue
            rem = self._removed_block(addr)
            if rem is not None and not rem.destroy:
                self.changes.append(
                    ResourceChange(
                        addr,
                        Action.FORGET,
                        inst.provider,
                        inst.current.attributes,
                        None,
                        reason="removed block",
                    )
                )
                continue
            res = self.tree.resource(addr.resource)
            if addr.resource.module not in known:
                res, reason = None, "no module"
            elif res is None:
                reason = "no configuration"
            else:
                reason = "count index out of range" if isinstance(addr.key, int) else "key not in for_each"
            if inst.current.prevent_destroy and rem is None:
                self._refuse_destroy(addr, res.range if res else None, in_config=res is not None)
            self._add_delete(inst.addr, inst.provider, inst.current, reason)

    def _removed_block(self, addr: InstanceAddr) -> Removed | None:
        """The ``removed`` block (of any module, relative to it) that names ``addr``, if any."""
        module = addr.resource.module
        for path, rem in self.removed:
            if module_path(module)[: len(path)] != path:
                continue
            inner = module[len(path) :]
            src = rem.from_
            if isinstance(src, ModuleAddr):
                if src.contains(inner):
                    return rem
            elif src.relative() == addr.resource.relative() and src.module_path == module_path(inner):
                return rem
        return None

    def _plan_deposed(self) -> None:
        """Objects an interrupted create-before-destroy left deposed are destroyed."""
        for inst in list(self.state):
            if not inst.deposed or not self._is_targeted(inst.addr):
                continue
            for key, obj in sorted(inst.deposed.items()):
                self._changed(inst.addr)
                self.changes.append(
                    ResourceChange(
                        inst.addr,
                        Action.DELETE,
                        inst.provider,
                        obj.attributes,
                        None,
                        reason="deposed",
                        prior_dependencies=obj.dependencies,
                        deposed=key,
                        before_destroy=self._before_destroy(inst.provider, inst.addr, obj),
                    )
                )

    def _plan_destroy(self) -> None:
        for inst in list(self.state):
            if inst.addr.resource.mode == "data":
                continue
            if inst.current is None or not self._is_targeted(inst.addr):
                continue
            res = self.tree.resource(inst.addr.resource)
            protected = inst.current.prevent_destroy or (res is not None and res.lifecycle.prevent_destroy)
            if protected:
                self._refuse_destroy(inst.addr, res.range if res else None, in_config=res is not None)
            self._add_delete(inst.addr, inst.provider, inst.current, "destroy")

    def _before_destroy(self, provider_key: str, addr: InstanceAddr, prior: ObjectState | None) -> str:
        """What the provider will do to keep data before destroying ``prior`` ("" = nothing)."""
        provider = self.providers.get(provider_key)
        if provider is None or prior is None:
            return ""
        resp = provider.plan_change(PlanRequest(addr.resource.type, prior.attributes, None, None))
        self.diags.extend(diag.stamped(str(addr)) for diag in resp.diagnostics)
        return resp.before_destroy

    def _add_delete(self, addr: InstanceAddr, provider: str, obj: ObjectState, reason: str) -> None:
        self._changed(addr)
        self.changes.append(
            ResourceChange(
                addr,
                Action.DELETE,
                provider,
                obj.attributes,
                None,
                reason=reason,
                prior_dependencies=obj.dependencies,
                prevent_destroy=obj.prevent_destroy,
                before_destroy=self._before_destroy(provider, addr, obj),
            )
        )

    def _refuse_destroy(self, addr: InstanceAddr, rng: SourceRange | None, in_config: bool) -> None:
        if in_config:
            detail = (
                f"Resource {addr} has lifecycle.prevent_destroy set, but the plan calls for this "
                "resource to be destroyed. To avoid this error and continue with the plan, either "
                "disable lifecycle.prevent_destroy or reduce the scope of the plan using the "
                "-target flag."
            )
        else:
            detail = (
                f"{addr} is protected: prevent_destroy is recorded in the state, and its resource "
                "block was removed from the configuration. relight will not destroy it. To stop "
                "managing it without destroying it, add a block\n\n"
                f"  removed {{\n    from = {addr.resource}\n    lifecycle {{\n      destroy = false\n    }}\n  }}\n\n"
                f"or run: relight state rm {addr}\n"
                "To really destroy it, restore the resource block without prevent_destroy, apply, "
                "then remove the block."
            )
        self.diags.error("Instance cannot be destroyed", detail, rng, address=str(addr))

    # -- outputs ------------------------------------------------------------------------
    def _plan_outputs(self) -> list[OutputChange]:
        out: list[OutputChange] = []
        prior = self.state.outputs
        for name, decl in sorted(self.config.outputs.items()):
            if decl.preconditions:
                found = check_conditions(
                    decl.preconditions,
                    self.ev.scope(),
                    ConditionKind.OUTPUT,
                    warn_only=self.opts.mode is PlanMode.REFRESH_ONLY,
                )
                self.diags.extend(found.diagnostics)
                if found.failed:
                    continue
            value, d = decl.expr.evaluate(self.ev.scope())
            self.diags.extend(d)
            if d.has_errors:
                continue
            old = prior.get(name)
            if old is None:  # a null output is not stored: still null is no change (as in Terraform)
                action = Action.NOOP if value is None else Action.CREATE
            elif not is_wholly_known(value) or old.value != value:
                action = Action.UPDATE
            else:
                action = Action.NOOP
            out.append(OutputChange(name, action, old.value if old else None, value, decl.sensitive))
        for name, old in sorted(prior.items()):
            if name not in self.config.outputs:
                out.append(OutputChange(name, Action.DELETE, old.value, None, old.sensitive))
        return out


def _targets(target: Target, addr: InstanceAddr) -> bool:
    """Whether ``target`` names ``addr`` itself (not merely something it depends on); a module
    step written without a key names every instance of that call, as in Terraform."""
    if isinstance(target, ModuleAddr):
        return target.contains(addr.resource.module)
    module = target.resource.module
    if module and not ModuleAddr(module).contains(addr.resource.module):
        return False
    return target.key is None or target.key == addr.key


def _ignore_changes(
    config: dict[str, Value], prior: dict[str, Value], ignore: tuple[str, ...] | str
) -> dict[str, Value]:
    if not ignore:
        return config
    names = list(config) if ignore == "all" else list(ignore)
    out = dict(config)
    for name in names:
        if name in prior:
            out[name] = prior[name]
    return out


def _marked(prior: ObjectState | None) -> tuple[str, ...]:
    """Top-level attributes holding values Terraform marked sensitive (adopted with the state):
    the plan hides them as Terraform would."""
    if prior is None:
        return ()
    names = {str(p[0].get("value")) for p in prior.sensitive_paths if p and p[0].get("type") == "get_attr"}
    return tuple(sorted(names))
