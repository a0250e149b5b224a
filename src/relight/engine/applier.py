"""Apply a plan: walk its actions in dependency order, in parallel, recording each durably.

Contract: :meth:`Applier.apply` always returns the resulting state, which may be partly updated.
Every provider call that succeeded is in the journal (fsynced) before anything that depends on
it starts, so a run killed at any moment loses no record of what it created; the next run
replays the journal and converges. A failed action stops only what depends on it.

Ordering rules (``A`` depends on ``B``):

* create/update ``A`` waits for create/update ``B``;
* destroying ``B`` waits for destroying ``A`` (what was using it goes first);
* a destroy-first replacement creates only after its own destroy;
* a create-first replacement destroys the old object only after the new one exists and the
  objects that depend on it have been updated to use it;
* deleting an orphan ``B`` waits for the updates of objects that used it.

Dependencies name configuration addresses (``module.net.aws_subnet.a``, every module key None,
as in Terraform's state), so every instance of a resource in a repeated module waits for every
instance of what it depends on: never too early, sometimes later than strictly needed.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from relight.addrs import InstanceAddr
from relight.ctytypes import conforms
from relight.diagnostics import Diagnostics
from relight.engine.conditions import ConditionKind, check_conditions
from relight.engine.conform import conform
from relight.engine.evaluate import Evaluator
from relight.engine.hooks import Hook
from relight.engine.plan import Action, Plan, PlanMode, ResourceChange
from relight.engine.planner import _ignore_changes, argument_ranges
from relight.engine.providers import ProviderSet
from relight.lang import Condition, Config, Output, Resource
from relight.providers.base import (
    CreateRequest,
    DeleteRequest,
    PlanRequest,
    ReadDataRequest,
    UpdateRequest,
)
from relight.state import CreateIntent, Journal, ObjectState, OutputState, State
from relight.state.model import AttrPath
from relight.values import UNKNOWN, Value, is_wholly_known, strip_unknown, type_of

__all__ = ["CANCELED", "Applier"]

CANCELED = "the run was canceled"  # the skip reason of actions a canceled run never started


@dataclass(eq=False)
class _Node:
    change: ResourceChange
    destroy: bool
    waits: set[_Node] = field(default_factory=set)
    blocks: list[_Node] = field(default_factory=list)
    failed: bool = False

    @property
    def addr(self) -> InstanceAddr:
        return self.change.addr

    def __hash__(self) -> int:
        return id(self)


class Applier:
    """Carries out one plan against one journal."""

    def __init__(
        self,
        config: Config,
        evaluator: Evaluator,
        providers: ProviderSet,
        hook: Hook,
        journal: Journal,
        state: State,
        parallelism: int,
        cancel: threading.Event | None = None,
    ) -> None:
        self.config = config
        self.ev = evaluator
        self.providers = providers
        self.hook = hook
        self.journal = journal
        self.state = state
        self.parallelism = max(1, parallelism)
        self.diags = Diagnostics()
        self.cancel = cancel
        self.canceled: list[InstanceAddr] = []  # actions never started because the run was canceled
        self._lock = threading.Lock()
        self._deposed_now: dict[InstanceAddr, str] = {}  # create-first replacements of this run

    # -- graph --------------------------------------------------------------------------
    def _build(self, plan: Plan) -> list[_Node]:
        nodes: list[_Node] = []
        applies: dict[str, list[_Node]] = {}
        own: dict[tuple[InstanceAddr, str], dict[bool, _Node]] = {}
        for change in plan.changes:
            if change.action is Action.NOOP or change.reason == "check":
                continue  # nothing to do, or a check's read (done after the walk, see engine.checks)
            kinds: list[bool] = []
            if change.action in (Action.DELETE, Action.REPLACE):
                kinds.append(True)
            if change.action in (
                Action.CREATE,
                Action.UPDATE,
                Action.READ,
                Action.REPLACE,
                Action.FORGET,
            ):
                kinds.append(False)
            for destroy in kinds:
                node = _Node(change, destroy)
                nodes.append(node)
                own.setdefault((change.addr, change.deposed), {})[destroy] = node
                if not destroy:
                    applies.setdefault(_config_key(change.addr), []).append(node)
        # Indexes by resource address keep building linear in the number of actions.
        destroy_users: dict[str, list[_Node]] = {}
        apply_users: dict[str, list[_Node]] = {}
        apply_prior_users: dict[str, list[_Node]] = {}
        for node in nodes:
            if node.destroy:
                for dep in node.change.prior_dependencies:
                    destroy_users.setdefault(dep, []).append(node)
            else:
                for dep in node.change.dependencies:
                    apply_users.setdefault(dep, []).append(node)
                for dep in node.change.prior_dependencies:
                    apply_prior_users.setdefault(dep, []).append(node)
        for node in nodes:
            ch = node.change
            res = _config_key(ch.addr)
            if not node.destroy:
                for dep in ch.dependencies:
                    node.waits.update(applies.get(dep, ()))
                if ch.action is Action.REPLACE and not ch.create_first:
                    node.waits.add(own[(ch.addr, ch.deposed)][True])
            else:
                node.waits.update(destroy_users.get(res, ()))
                if ch.action is Action.REPLACE and ch.create_first:
                    node.waits.add(own[(ch.addr, ch.deposed)][False])
                    node.waits.update(apply_users.get(res, ()))
                if ch.action is Action.DELETE:
                    node.waits.update(apply_prior_users.get(res, ()))
            node.waits.discard(node)
        for node in nodes:
            for w in node.waits:
                w.blocks.append(node)
        return nodes

    # -- walk ---------------------------------------------------------------------------
    def apply(self, plan: Plan) -> tuple[State, Diagnostics]:
        """Apply every action; return the resulting (possibly partial) state and diagnostics."""
        nodes = self._build(plan)
        self._record_metadata_only(plan)
        pending = {n: len(n.waits) for n in nodes}
        ready = deque(n for n in nodes if pending[n] == 0)
        if self.parallelism == 1:
            self._walk_serial(ready, pending)
        else:
            self._walk_parallel(ready, pending)
        self._apply_outputs(plan)
        return self.state, self.diags

    def _finish(self, node: _Node, ok: bool, pending: dict[_Node, int], ready: deque[_Node]) -> None:
        if not ok:
            node.failed = True
        for nxt in node.blocks:
            if node.failed and not nxt.failed:
                nxt.failed = True
                self.hook.apply_skipped(nxt.addr, f"{node.addr} failed")
            pending[nxt] -= 1
            if pending[nxt] == 0:
                if nxt.failed:
                    self._finish(nxt, False, pending, ready)
                else:
                    ready.append(nxt)

    def _canceled(self, node: _Node, pending: dict[_Node, int], ready: deque[_Node]) -> bool:
        """Once the run is canceled, no action starts: report it skipped, and so its dependents."""
        if self.cancel is None or not self.cancel.is_set():
            return False
        node.failed = True
        self.canceled.append(node.addr)
        self.hook.apply_skipped(node.addr, CANCELED)
        for nxt in node.blocks:
            pending[nxt] -= 1
            if pending[nxt] == 0:
                ready.append(nxt)
        return True

    def _walk_serial(self, ready: deque[_Node], pending: dict[_Node, int]) -> None:
        while ready:
            node = ready.popleft()
            if not self._canceled(node, pending, ready):
                self._finish(node, self._run(node), pending, ready)

    def _walk_parallel(self, ready: deque[_Node], pending: dict[_Node, int]) -> None:
        with ThreadPoolExecutor(self.parallelism) as pool:
            running: dict[Future[bool], _Node] = {}
            while ready or running:
                while ready and len(running) < self.parallelism:
                    node = ready.popleft()
                    if self._canceled(node, pending, ready):
                        continue
                    if self.providers.is_local(node.change.provider):
                        self._finish(node, self._run(node), pending, ready)  # no thread needed
                        continue
                    running[pool.submit(self._run, node)] = node
                if not running:
                    continue
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    node = running.pop(fut)
                    self._finish(node, fut.result(), pending, ready)

    def _run(self, node: _Node) -> bool:
        if self.providers.is_local(node.change.provider):
            # Objects in the state alone: recorded without an fsync of their own (durable with
            # the next record that has one, or the commit), see ProviderSchema.local.
            with self.journal.batch(durable=False):
                return self._run_action(node)
        return self._run_action(node)

    def _run_action(self, node: _Node) -> bool:
        try:
            if node.destroy:
                return self._destroy(node.change)
            if node.change.action is Action.FORGET:
                return self._forget(node.change)
            if node.change.action is Action.READ:
                return self._read_data(node.change)
            return self._create_or_update(node.change)
        except Exception as exc:  # a bug or I/O failure in one action must not lose the others
            self._error(
                node.change,
                f"Unexpected failure applying {node.addr}",
                f"{type(exc).__name__}: {exc}",
            )
            return False

    # -- actions ------------------------------------------------------------------------
    def _error(self, change: ResourceChange, summary: str, detail: str = "") -> None:
        with self._lock:
            self.diags.error(summary, detail, address=str(change.addr))

    def _add(self, change: ResourceChange, diags: Diagnostics) -> None:
        res = self.ev.tree.resource(change.addr.resource)
        ranges = argument_ranges(res) if res is not None else None
        block = res.range if res is not None else None
        with self._lock:
            self.diags.extend(d.stamped(str(change.addr), ranges, block) for d in diags)

    def _object(self, change: ResourceChange, attrs: dict[str, Value], tainted: bool = False) -> ObjectState:
        res = self.ev.tree.resource(change.addr.resource)
        lc = res.lifecycle if res is not None else None
        return ObjectState(
            attributes=attrs,
            status="tainted" if tainted else "ready",
            dependencies=change.dependencies,
            create_before_destroy=bool(lc and lc.create_before_destroy),
            prevent_destroy=bool(lc and lc.prevent_destroy),
            sensitive_paths=_carried_paths(self.state.current(change.addr), attrs),
        )

    def _record(self, change: ResourceChange, obj: ObjectState | None) -> None:
        intent_done = change.addr in self.state.intents
        self.journal.set(change.addr, change.provider, obj, intent_done=intent_done)
        with self._lock:
            self.state.set_current(change.addr, change.provider, obj)
            if intent_done:
                self.state.intents.pop(change.addr, None)

    def _block(self, change: ResourceChange) -> Resource:
        """The configuration block of a change that creates, updates or reads (one exists)."""
        res = self.ev.tree.resource(change.addr.resource)
        assert res is not None, change.addr
        return res

    def _final_config(self, change: ResourceChange) -> dict[str, Value] | None:
        res = self._block(change)
        schema = self.providers.resource_schema(change.provider, res.type, res.addr.mode == "data")
        assert schema is not None
        raw, d = res.body.evaluate(self.ev.instance_scope(change.addr))
        value, d2 = (
            conform(schema, raw, str(change.addr), res.range, argument_ranges(res))
            if not d.has_errors
            else ({}, Diagnostics())
        )
        d.extend(d2)
        if d.has_errors:
            self._add(change, d)
            return None
        return value

    def _create_or_update(self, change: ResourceChange) -> bool:
        res = self._block(change)
        provider = self.providers.get(change.provider)
        assert provider is not None
        config = self._final_config(change)
        if config is None or not self._conditions(change, res.lifecycle.preconditions, ConditionKind.PRECONDITION):
            return False
        prior = self.state.current(change.addr) if change.action is Action.UPDATE else None
        if prior is not None:
            config = _ignore_changes(config, prior.attributes, res.lifecycle.ignore_changes)
        prior_attrs = prior.attributes if prior is not None else None
        final = provider.plan_change(PlanRequest(res.type, prior_attrs, config, config))
        if final.diagnostics.has_errors or final.planned_state is None:
            self._add(change, final.diagnostics)
            return False
        planned = final.planned_state
        if change.after is not None and not _consistent(change.after, planned):
            self._error(
                change,
                "Provider produced inconsistent final plan",
                f"When expanding the plan for {change.addr} to include new values learned so far "
                "during apply, the planned values changed. This is a bug in the provider.",
            )
            return False
        if change.action is Action.REPLACE and change.create_first:
            self._depose(change)
        creating = change.action in (Action.CREATE, Action.REPLACE)
        self.hook.apply_start(change.addr, change.action, False)
        started = time.monotonic()
        if creating:
            token = self._intend(change, planned)
            resp = provider.create(CreateRequest(res.type, planned, config, token))
            new_state, diags = resp.new_state, resp.diagnostics
        else:
            assert prior is not None
            uresp = provider.update(UpdateRequest(res.type, prior.attributes, planned, config, prior.private))
            new_state, diags = uresp.new_state, uresp.diagnostics
        elapsed = time.monotonic() - started
        failed = diags.has_errors
        if new_state is not None:
            self._record(change, self._object(change, new_state, tainted=failed and creating))
            self.ev.set_instance(change.addr, new_state)
        if creating and change.addr in self.state.intents:
            self.journal.set_intent(change.addr, None)
            with self._lock:
                self.state.intents.pop(change.addr, None)
        self.hook.apply_done(change.addr, change.action, False, elapsed, _id(new_state), diags)
        self._add(change, diags)
        if failed and new_state is None and change.action is Action.REPLACE:
            self._point_at_kept_data(change)
        if failed or new_state is None:
            return False
        # The object exists and is recorded; a failing postcondition stops what depends on it.
        return self._conditions(change, res.lifecycle.postconditions, ConditionKind.POSTCONDITION, new_state)

    def _conditions(
        self, change: ResourceChange, conditions: tuple[Condition, ...], kind: ConditionKind, self_value: Value = None
    ) -> bool:
        """Check ``conditions`` with the values known now; False (with errors) when one fails.
        During apply every value is known, so nothing is deferred any more."""
        if not conditions:
            return True
        found = check_conditions(
            conditions, self.ev.instance_scope(change.addr, self_value), kind, address=str(change.addr)
        )
        with self._lock:
            self.diags.extend(found.diagnostics)
        return not found.failed

    def _point_at_kept_data(self, change: ResourceChange) -> None:
        """The old object is gone and its replacement failed: say where its data was kept."""
        kept = [r for r in self.state.retained if r.get("address") == str(change.addr) and r.get("id")]
        if not kept:
            return
        record = kept[-1]
        with self._lock:
            self.diags.warning(
                f"{change.addr} was destroyed, and its data is safe in {record['id']}",
                f"The replacement could not be created, so {change.addr} does not exist now. Its data "
                f"was kept in {record['id']} before the destroy. Fix the cause above. "
                + str(record.get("restore_hint") or ""),
                address=str(change.addr),
            )

    def _intend(self, change: ResourceChange, planned: dict[str, Value]) -> str:
        """A fresh idempotency token; journaled first when the provider can find by it."""
        token = uuid.uuid4().hex
        schema = self.providers.resource_schema(change.provider, change.addr.resource.type)
        if schema is not None and schema.recoverable:
            intent = CreateIntent(token, change.provider, strip_unknown(planned), _now())
            self.journal.set_intent(change.addr, intent)
            with self._lock:
                self.state.intents[change.addr] = intent
        return token

    def _depose(self, change: ResourceChange) -> None:
        old = self.state.current(change.addr)
        if old is None:
            return
        key = uuid.uuid4().hex[:8]
        self._deposed_now[change.addr] = key
        self.journal.set_deposed(change.addr, key, change.provider, old)
        self.journal.set(change.addr, change.provider, None)
        with self._lock:
            self.state.set_deposed(change.addr, key, change.provider, old)
            self.state.set_current(change.addr, change.provider, None)

    def _destroy(self, change: ResourceChange) -> bool:
        provider = self.providers.get(change.provider)
        if provider is None:
            self._error(change, f"Provider {change.provider!r} is not available to destroy {change.addr}")
            return False
        inst = self.state.get(change.addr)
        deposed_key = ""
        obj = inst.current if inst is not None else None
        if change.deposed:  # an object left deposed by an earlier, interrupted replacement
            deposed_key = change.deposed
            obj = inst.deposed.get(deposed_key) if inst is not None else None
        elif change.action is Action.REPLACE and change.create_first:
            deposed_key = self._deposed_now.get(change.addr, "")
            obj = inst.deposed.get(deposed_key) if inst is not None and deposed_key else None
        if obj is None:
            return True  # already gone (deleted outside relight)
        self.hook.apply_start(change.addr, Action.DELETE, True)
        started = time.monotonic()
        kept_ids: set[str] = set()

        def retain(kept: Mapping[str, Value]) -> None:  # journaled before the provider goes on
            kept_ids.add(str(kept.get("id")))
            self._retain(change, obj, dict(kept))

        resp = provider.delete(DeleteRequest(change.addr.resource.type, obj.attributes, obj.private, retain))
        elapsed = time.monotonic() - started
        if resp.retained and str(resp.retained.get("id")) not in kept_ids:
            self._retain(change, obj, dict(resp.retained))
        if not resp.diagnostics.has_errors:
            if deposed_key:
                self.journal.set_deposed(change.addr, deposed_key, change.provider, None)
                with self._lock:
                    self.state.set_deposed(change.addr, deposed_key, change.provider, None)
            else:
                self._record(change, None)
                if change.action is Action.DELETE:
                    self.ev.set_instance(change.addr, None)
        self.hook.apply_done(change.addr, Action.DELETE, True, elapsed, _id(obj.attributes), resp.diagnostics)
        self._add(change, resp.diagnostics)
        return not resp.diagnostics.has_errors

    def _retain(self, change: ResourceChange, obj: ObjectState, kept: dict[str, Value]) -> None:
        record = {"address": str(change.addr), "object_id": _id(obj.attributes), "at": _now(), **kept}
        self.journal.retain(record)
        with self._lock:
            self.state.retained.append(record)
        self.hook.message(f"{change.addr}: kept {kept.get('id', kept)} (taken before destroy; recorded in state)")

    def _forget(self, change: ResourceChange) -> bool:
        self._record(change, None)
        self.hook.message(f"{change.addr}: removed from state (the object itself was not destroyed)")
        return True

    def _read_data(self, change: ResourceChange) -> bool:
        res = self._block(change)
        provider = self.providers.get(change.provider)
        assert provider is not None
        config = self._final_config(change)
        if config is None or not self._conditions(change, res.lifecycle.preconditions, ConditionKind.PRECONDITION):
            return False
        self.hook.apply_start(change.addr, Action.READ, False)
        started = time.monotonic()
        resp = provider.read_data(ReadDataRequest(res.type, config))
        self.hook.apply_done(
            change.addr,
            Action.READ,
            False,
            time.monotonic() - started,
            _id(resp.state),
            resp.diagnostics,
        )
        self._add(change, resp.diagnostics)
        if resp.state is None or resp.diagnostics.has_errors:
            return False
        self._record(change, ObjectState(resp.state, dependencies=change.dependencies))
        self.ev.set_instance(change.addr, resp.state)
        return self._conditions(change, res.lifecycle.postconditions, ConditionKind.POSTCONDITION, resp.state)

    def _record_metadata_only(self, plan: Plan) -> None:
        """No-op changes whose dependencies or protection changed are written without a call."""
        for change in plan.changes:
            if change.action is not Action.NOOP:
                continue
            obj = self.state.current(change.addr)
            if obj is None:
                continue
            fresh = self._object(change, obj.attributes)
            if (fresh.dependencies, fresh.prevent_destroy, fresh.create_before_destroy) != (
                obj.dependencies,
                obj.prevent_destroy,
                obj.create_before_destroy,
            ):
                self._record(
                    change,
                    replace(
                        obj,
                        dependencies=fresh.dependencies,
                        prevent_destroy=fresh.prevent_destroy,
                        create_before_destroy=fresh.create_before_destroy,
                    ),
                )

    def _apply_outputs(self, plan: Plan) -> None:
        self.ev.forget_locals()
        outputs: dict[str, OutputState] = {}
        # After a failed action, outputs that depend on it fail too: report only the first cause.
        failed_before = self.diags.has_errors
        for name, decl in self.config.outputs.items():
            if plan.mode is PlanMode.DESTROY:
                break
            value, d = self._output_value(decl)
            if d.has_errors:
                if not failed_before:
                    self.diags.extend(d)
                prior = self.state.outputs.get(name)
                if prior is not None:
                    outputs[name] = prior
                continue
            if value is None or not is_wholly_known(value):
                continue  # like Terraform, a null output is not stored
            outputs[name] = OutputState(value, decl.sensitive, _output_type(self.state.outputs.get(name), value))
        if outputs != self.state.outputs:
            # Outputs are derived: the commit that follows stores them durably, and a run that dies
            # first loses nothing the next run cannot recompute. So this record waits for no fsync.
            with self.journal.batch(durable=False):
                self.journal.set_outputs(outputs)
            self.state.outputs = outputs

    def _output_value(self, decl: Output) -> tuple[Value, Diagnostics]:
        """An output's value; errors when one of its preconditions fails or it cannot be evaluated."""
        scope = self.ev.scope()
        checked = check_conditions(decl.preconditions, scope, ConditionKind.OUTPUT, address=f"output.{decl.name}")
        if checked.failed:
            return None, checked.diagnostics
        return decl.expr.evaluate(scope)


def _config_key(addr: InstanceAddr) -> str:
    """What dependencies name: the resource's configuration address (every module key None)."""
    res = addr.resource
    return str(res if not res.module else res.config_addr())


def _kept_type(prior: OutputState | None, value: Value) -> Any:
    """The Terraform type recorded for an output (adopted from Terraform), while ``value`` fits it:
    relight does not type values itself, so without it the hand-back would turn a list into a tuple."""
    if prior is not None and prior.type is not None and conforms(value, prior.type):
        return prior.type
    return None


def _output_type(prior: OutputState | None, value: Value) -> Any:
    """The output's Terraform type: the value's own, unless that is only structural (a tuple or
    an object, as values read back from state are) and an adopted type still fits the value."""
    found = type_of(value)
    kept = _kept_type(prior, value)
    if kept is not None and isinstance(found, list) and found[0] in ("tuple", "object"):
        return kept
    return found


def _carried_paths(prior: ObjectState | None, attrs: dict[str, Value]) -> tuple[AttrPath, ...]:
    """The sensitive paths of the object this one replaces or updates, where they still lead to
    a value. relight does not follow sensitivity through expressions (Terraform marks values that
    come from sensitive variables or sensitive()), so it keeps the marks the object already had."""
    if prior is None:
        return ()
    return tuple(p for p in prior.sensitive_paths if p and attrs.get(str(p[0].get("value"))) is not None)


def _consistent(planned: Value, final: Value) -> bool:
    """Known planned values must not change when the final plan is made during apply."""
    if planned is UNKNOWN:
        return True
    if isinstance(planned, dict) and isinstance(final, dict):
        return all(_consistent(v, final.get(k)) for k, v in planned.items())
    if isinstance(planned, list) and isinstance(final, list):
        return len(planned) == len(final) and all(_consistent(a, b) for a, b in zip(planned, final, strict=True))
    return bool(planned == final)


def _id(attrs: dict[str, Value] | None) -> str | None:
    if not attrs:
        return None
    value = attrs.get("id")
    return str(value) if value is not None and value is not UNKNOWN else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
