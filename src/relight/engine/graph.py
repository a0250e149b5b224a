"""The dependency graph of a configuration: who references whom, in what order to evaluate.

Nodes are locals, resources (managed and data) and outputs of every module, plus, for each
module call, its expansion (``count``/``for_each``) and the input variables of the child it
calls. The root module's variables are inputs and never depend on anything. Everything in a
child module depends on its call's expansion (and so on the call's ``depends_on``); a child's
input variable depends on what its argument in the call refers to; ``module.x.out`` depends on
that output of the child. Nodes are static: one per block, whatever the module's instances.
A cycle is a user mistake and comes back as a diagnostic naming every member of the cycle.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from relight.addrs import ModulePath, ResourceAddr, static_module
from relight.diagnostics import Diagnostics, SourceRange
from relight.lang import Condition, Config, Reference

__all__ = ["ConfigGraph", "Node", "build_graph"]


@dataclass(frozen=True, slots=True, order=True)
class Node:
    """``kind`` is "local", "resource", "output", "var" (a child module's input variable) or
    "module" (a module call's expansion); ``name`` the local/output/variable/call name or, for a
    resource, its configuration address (``module.net.aws_subnet.a``); ``module`` the static
    path of the module it belongs to (a call belongs to the calling module)."""

    kind: str
    name: str
    module: ModulePath = ()

    def __str__(self) -> str:
        if self.kind == "resource":
            return self.name
        prefix = "".join(f"module.{m}." for m in self.module)
        return f"{prefix}{self.kind}.{self.name}"


@dataclass
class ConfigGraph:
    deps: dict[Node, set[Node]]
    resources: dict[Node, ResourceAddr]
    order: list[Node]

    def resource_dependencies(self, node: Node) -> tuple[str, ...]:
        """Direct resource dependencies of ``node``, looking through locals (sorted strings)."""
        found: set[str] = set()
        stack = list(self.deps.get(node, ()))
        seen: set[Node] = set()
        while stack:
            dep = stack.pop()
            if dep in seen:
                continue
            seen.add(dep)
            if dep.kind == "resource":
                found.add(dep.name)
            else:
                stack.extend(self.deps.get(dep, ()))
        return tuple(sorted(found))

    def dependents_closure(self, roots: Iterable[Node]) -> set[Node]:
        """Every node that depends, directly or not, on any of ``roots`` (roots included)."""
        reverse: dict[Node, set[Node]] = {}
        for node, deps in self.deps.items():
            for dep in deps:
                reverse.setdefault(dep, set()).add(node)
        out = set(roots)
        stack = list(out)
        while stack:
            for nxt in reverse.get(stack.pop(), ()):
                if nxt not in out:
                    out.add(nxt)
                    stack.append(nxt)
        return out

    def dependencies_closure(self, roots: Iterable[Node]) -> set[Node]:
        """Every node that any of ``roots`` depends on, directly or not (roots included)."""
        out = set(roots)
        stack = list(out)
        while stack:
            for nxt in self.deps.get(stack.pop(), ()):
                if nxt not in out:
                    out.add(nxt)
                    stack.append(nxt)
        return out


def build_graph(config: Config) -> tuple[ConfigGraph, Diagnostics]:
    """Build the graph of the whole module tree and a topological order; a cycle is a
    diagnostic. References to undeclared objects are left out (validation reports them)."""
    builder = _Builder()
    builder.module(config, ())
    deps = builder.deps
    for node in deps:
        deps[node] = {d for d in deps[node] if d in deps}
    diags = Diagnostics()
    order, cycle = _toposort(deps)
    if cycle:
        names = ", ".join(str(n) for n in cycle)
        diags.error(
            "Cycle: " + names,
            "These objects refer to each other, so none of them can be evaluated first. "
            "Break the cycle by removing one of the references.",
            builder.ranges.get(cycle[0]),
        )
    return ConfigGraph(deps, builder.resources, order), diags


class _Builder:
    """Adds one module's nodes at a time; references resolve within the module they are in."""

    def __init__(self) -> None:
        self.deps: dict[Node, set[Node]] = {}
        self.ranges: dict[Node, SourceRange] = {}
        self.resources: dict[Node, ResourceAddr] = {}
        self.configs: dict[ModulePath, Config] = {}

    def module(self, config: Config, path: ModulePath) -> None:
        self.configs[path] = config
        inside = {Node("module", path[-1], path[:-1])} if path else set()
        for name, local in config.locals.items():
            self._add(Node("local", name, path), local.expr.references(), local.range, path, inside)
        for addr, res in config.resources.items():
            static = addr.in_module(static_module(path)) if path else addr
            node = Node("resource", str(static), path)
            refs: list[Reference] = list(res.body.references())
            for expr in (res.count, res.for_each):
                if expr is not None:
                    refs.extend(expr.references())
            for expr in res.lifecycle.replace_triggered_by:
                refs.extend(expr.references())
            refs.extend(_condition_refs(res.lifecycle.preconditions + res.lifecycle.postconditions))
            self._add(node, refs, res.range, path, inside, res.depends_on)
            self.deps[node].discard(node)  # `self` style references to oneself are not dependencies
            self.resources[node] = static
        if not path:
            self._imports(config)
        for name, out in config.outputs.items():
            refs = [*out.expr.references(), *_condition_refs(out.preconditions)]
            self._add(Node("output", name, path), refs, out.range, path, inside, out.depends_on)
        for name, call in config.module_calls.items():
            child = config.children.get(name)
            refs = [r for e in (call.count, call.for_each) if e is not None for r in e.references()]
            self._add(Node("module", name, path), refs, call.range, path, inside, call.depends_on)
            if child is None:
                continue
            child_path = (*path, name)
            for var_name, attr in call.inputs.attributes.items():
                if var_name in child.variables:
                    node = Node("var", var_name, child_path)
                    self._add(node, attr.expr.references(), attr.range, path, {Node("module", name, path)})
            self.module(child, child_path)

    def _imports(self, config: Config) -> None:
        """An import block's id is evaluated when its target is planned: after what it refers to."""
        for imp in config.imports:
            node = Node("resource", str(imp.to), ())
            if node not in self.deps:
                continue
            for expr in (imp.id, imp.to_key, imp.for_each):
                for ref in expr.references() if expr is not None else ():
                    self.deps[node].update(self._ref_nodes(ref, ()))
            self.deps[node].discard(node)

    def _add(
        self,
        node: Node,
        refs: Iterable[Reference],
        rng: SourceRange,
        path: ModulePath,
        extra: set[Node],
        depends_on: Iterable[Reference] = (),
    ) -> None:
        deps = set(extra)
        for ref in refs:
            deps.update(self._ref_nodes(ref, path))
        for ref in depends_on:
            if ref.kind == "module":
                deps.update(self._module_contents((*path, ref.name)))
            else:
                deps.update(self._ref_nodes(ref, path))
        self.deps[node] = deps
        self.ranges[node] = rng

    def _ref_nodes(self, ref: Reference, path: ModulePath) -> tuple[Node, ...]:
        kind = ref.kind
        if kind == "local":
            return (Node("local", ref.name, path),)
        if kind in ("resource", "data") and ref.resource is not None:
            static = ref.resource.in_module(static_module(path)) if path else ref.resource
            return (Node("resource", str(static), path),)
        if kind == "var" and path:
            return (Node("var", ref.name, path),)
        if kind == "module":
            return self._module_ref(ref, path)
        return ()

    def _module_ref(self, ref: Reference, path: ModulePath) -> tuple[Node, ...]:
        """``module.x.out`` depends on that output; ``module.x`` as a whole on every output."""
        config = self.configs[path]
        call = config.module_calls.get(ref.name)
        child = config.children.get(ref.name)
        if call is None or child is None:
            return ()
        child_path = (*path, ref.name)
        repeated = call.count is not None or call.for_each is not None
        steps = ref.remaining[1:] if repeated else ref.remaining
        if steps and isinstance(steps[0], str) and steps[0] in child.outputs:
            return (Node("output", steps[0], child_path),)
        return (Node("module", ref.name, path), *(Node("output", o, child_path) for o in child.outputs))

    def _module_contents(self, path: ModulePath) -> set[Node]:
        """Everything a ``depends_on = [module.x]`` waits for: the call, and every resource and
        output in the module and below it."""
        parent = self.configs.get(path[:-1])
        child = parent.children.get(path[-1]) if parent is not None else None
        if child is None:
            return set()
        out = {Node("module", path[-1], path[:-1])}
        out.update(Node("output", name, path) for name in child.outputs)
        for addr in child.resources:
            out.add(Node("resource", str(addr.in_module(static_module(path))), path))
        for name in child.children:
            out.update(self._module_contents((*path, name)))
        return out


def _condition_refs(conditions: Iterable[Condition]) -> list[Reference]:
    """What conditions refer to: they are checked once those are planned (or applied)."""
    return [ref for c in conditions for e in (c.condition, c.error_message) for ref in e.references()]


def _toposort(deps: Mapping[Node, set[Node]]) -> tuple[list[Node], list[Node]]:
    """Kahn's algorithm with a heap for a stable order; returns (order, cycle members)."""
    indegree = {n: len(d) for n, d in deps.items()}
    reverse: dict[Node, list[Node]] = {n: [] for n in deps}
    for node, ds in deps.items():
        for d in ds:
            reverse[d].append(node)
    ready = [n for n, k in indegree.items() if k == 0]
    heapq.heapify(ready)
    order: list[Node] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for nxt in reverse[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, nxt)
    if len(order) == len(deps):
        return order, []
    return order, _find_cycle({n: d for n, d in deps.items() if indegree[n] > 0})


def _find_cycle(deps: Mapping[Node, set[Node]]) -> list[Node]:
    start = min(deps)
    path: list[Node] = []
    index: dict[Node, int] = {}
    node = start
    while node not in index:
        index[node] = len(path)
        path.append(node)
        node = min(d for d in deps[node] if d in deps)
    return path[index[node] :]
