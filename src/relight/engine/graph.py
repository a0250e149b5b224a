"""The dependency graph of a configuration: who references whom, in what order to evaluate.

Nodes are locals, resources (managed and data) and outputs. Variables are inputs and never
depend on anything. A cycle is a user mistake and comes back as a diagnostic naming every
member of the cycle.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from relight.addrs import ResourceAddr
from relight.diagnostics import Diagnostics, SourceRange
from relight.lang import Config, Reference

__all__ = ["ConfigGraph", "Node", "build_graph"]


@dataclass(frozen=True, slots=True, order=True)
class Node:
    """``kind`` is "local", "resource" or "output"; ``name`` the local/output name or address."""

    kind: str
    name: str

    def __str__(self) -> str:
        return self.name if self.kind == "resource" else f"{self.kind}.{self.name}"


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


def _ref_node(ref: Reference) -> Node | None:
    if ref.kind == "local":
        return Node("local", str(ref.name))
    if ref.kind in ("resource", "data") and ref.resource is not None:
        return Node("resource", str(ref.resource))
    return None


def build_graph(config: Config) -> tuple[ConfigGraph, Diagnostics]:
    """Build the graph and a topological order; a cycle or dangling reference is a diagnostic."""
    diags = Diagnostics()
    deps: dict[Node, set[Node]] = {}
    ranges: dict[Node, SourceRange] = {}
    resources: dict[Node, ResourceAddr] = {}
    for name, local in config.locals.items():
        node = Node("local", name)
        deps[node] = _nodes(local.expr.references())
        ranges[node] = local.range
    for addr, res in config.resources.items():
        node = Node("resource", str(addr))
        refs: list[Reference] = list(res.body.references())
        for expr in (res.count, res.for_each):
            if expr is not None:
                refs.extend(expr.references())
        refs.extend(res.depends_on)
        for expr in res.lifecycle.replace_triggered_by:
            refs.extend(expr.references())
        for cond in res.lifecycle.preconditions + res.lifecycle.postconditions:
            refs.extend(cond.condition.references() + cond.error_message.references())
        deps[node] = _nodes(refs)
        deps[node].discard(node)  # `self` style references to oneself are not dependencies
        ranges[node] = res.range
        resources[node] = addr
    for imp in config.imports:  # an import's id is evaluated when its target is planned
        node = Node("resource", str(imp.to))
        if node in deps:
            exprs = [e for e in (imp.id, imp.to_key, imp.for_each) if e is not None]
            deps[node] |= _nodes(ref for e in exprs for ref in e.references())
            deps[node].discard(node)
    for name, out in config.outputs.items():
        node = Node("output", name)
        refs = list(out.expr.references())
        refs.extend(out.depends_on)
        for cond in out.preconditions:
            refs.extend(cond.condition.references() + cond.error_message.references())
        deps[node] = _nodes(refs)
        ranges[node] = out.range
    for node in deps:
        deps[node] = {d for d in deps[node] if d in deps}
    order, cycle = _toposort(deps)
    if cycle:
        names = ", ".join(str(n) for n in cycle)
        diags.error(
            "Cycle: " + names,
            "These objects refer to each other, so none of them can be evaluated first. "
            "Break the cycle by removing one of the references.",
            ranges.get(cycle[0]),
        )
    return ConfigGraph(deps, resources, order), diags


def _nodes(refs: Iterable[Reference]) -> set[Node]:
    out: set[Node] = set()
    for ref in refs:
        node = _ref_node(ref)
        if node is not None:
            out.add(node)
    return out


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
