"""Reference classification shared by the compilers: what a root name in a traversal means.

A traversal such as ``aws_instance.web[0].id`` arrives as a root name plus steps; the root is
classified once, at compile time: ``var``/``local``, ``count``/``each``/``path``/``terraform``,
``self``, ``data``, a managed resource, or a name bound by ``for``/``dynamic``/a template
(a :class:`Symbol`). The subject becomes a :class:`ScopeRef` carrying a static
:class:`Reference`; misuse ("var" alone, an unknown ``path`` attribute) is a diagnostic here.
"""

from __future__ import annotations

from typing import Any

from relight.addrs import ResourceAddr
from relight.diagnostics import Diagnostics, SourcePos, SourceRange
from relight.lang.expr import Expr, Invalid, Literal, PosLike, Reference, RefKind, ScopeRef, Symbol

__all__ = ["NAME_ATTRS", "Op", "ReferenceClassifier"]

ROOT_ATTRS = {
    "count": (
        ("index",),
        'The "count" object does not have an attribute named "{}". The only supported attribute '
        "is count.index, which is the index of each instance of a resource block that has the "
        '"count" argument set.',
    ),
    "each": (
        ("key", "value"),
        'The "each" object does not have an attribute named "{}". The supported attributes are '
        'each.key and each.value, the current key and value pair of the "for_each" attribute set.',
    ),
    "path": (
        ("module", "root", "cwd"),
        'The "path" object does not have an attribute named "{}". The supported attributes are '
        "path.cwd, path.module, and path.root.",
    ),
    "terraform": (
        ("workspace",),
        'The "terraform" object does not have an attribute named "{}". The only supported '
        "attribute is terraform.workspace, the name of the currently-selected workspace.",
    ),
}

NAME_ATTRS = frozenset(
    {
        ("variable", "type"),
        ("lifecycle", "ignore_changes"),
        ("resource", "provider"),
        ("data", "provider"),
        ("import", "provider"),
        ("module", "providers"),
    }
)

# A traversal step while compiling: ("attr", name, node) or ("index", key Expr, node).
Op = tuple[str, Any, Any]


class ReferenceClassifier:
    """Mixin: needs ``file``, ``bound``, ``template_vars``, ``pos(node)``, ``range(node)``, ``error``."""

    file: str
    diags: Diagnostics
    bound: frozenset[str]
    template_vars: bool

    def pos(self, node: Any) -> PosLike:
        raise NotImplementedError

    def range(self, node: Any) -> SourceRange:
        raise NotImplementedError

    def error(self, node: Any, summary: str, detail: str) -> None:
        raise NotImplementedError

    def _root(self, name: str, node: Any, ops: list[Op]) -> tuple[Expr, int]:
        """Classify a root name; returns the subject expression and how many steps it used."""
        if name in self.bound or self.template_vars:
            return Symbol(self.file, self.pos(node), name), 0
        attrs = [op[1] if op[0] == "attr" else None for op in ops[:2]]
        first = attrs[0] if attrs else None
        if name in ("var", "local"):
            if first is None:
                return self._invalid(
                    node,
                    f'The "{name}" object cannot be accessed directly. Instead, access one of its attributes.',
                )
            return self._ref(name, first, node, ops, 1), 1
        if name in ROOT_ATTRS:
            allowed, detail = ROOT_ATTRS[name]
            if first not in allowed:
                where = ops[0][2] if ops else node
                bad = Invalid(self.file, self.pos(where), f'Invalid "{name}" attribute', detail.format(first or ""))
                return bad, len(ops[:1])
            return self._ref(name, first, node, ops, 1), 1
        if name == "self":
            ref = Reference("self", first or "", self.range(node))
            return ScopeRef(self.file, self.pos(node), ref), 0
        if name == "module":
            if first is None:
                return self._invalid(
                    node,
                    'The "module" object cannot be accessed directly. Instead, access one of its attributes.',
                )
            return self._ref("module", first, node, ops, 1), 1
        if name == "data":
            second = attrs[1] if len(attrs) > 1 else None
            if first is None or second is None:
                return self._invalid(
                    node,
                    'The "data" object must be followed by two attribute '
                    "names: the data source type and the resource name.",
                )
            return self._resource_ref(ResourceAddr.data(first, second), node, ops, 2), 2
        if first is None:
            return self._invalid(
                node,
                "A reference to a resource type must be followed by at "
                "least one attribute access, specifying the resource name.",
            )
        return self._resource_ref(ResourceAddr.managed(name, first), node, ops, 1), 1

    def _invalid(self, node: Any, detail: str, summary: str = "Invalid reference") -> tuple[Expr, int]:
        """A reference that cannot mean anything: reported where it is checked or evaluated, so a
        mistake in an argument that is itself refused (a misspelt name) is reported only once."""
        return Invalid(self.file, self.pos(node), summary, detail), 0

    def _ref(self, kind: str, name: str, root: Any, ops: list[Op], used: int) -> Expr:
        end = ops[used - 1][2]
        rng = self._span(root, end)
        kind_: RefKind = kind  # type: ignore[assignment]
        ref = Reference(kind_, name, rng, remaining=self._remaining(ops[used:]))
        return ScopeRef(self.file, self.pos(end), ref)

    def _resource_ref(self, addr: ResourceAddr, root: Any, ops: list[Op], used: int) -> Expr:
        end = ops[used - 1][2]
        rest = ops[used:]
        key: int | str | None = None
        if rest and rest[0][0] == "index":
            lit = rest[0][1]
            literal = isinstance(lit, Literal) and isinstance(lit.value, int | str)
            if literal and not isinstance(lit.value, bool):
                key = lit.value
                rest = rest[1:]
        kind: RefKind = "data" if addr.mode == "data" else "resource"
        ref = Reference(kind, str(addr), self._span(root, end), addr, key, self._remaining(rest))
        return ScopeRef(self.file, self.pos(end), ref)

    def _span(self, start: Any, end: Any) -> SourceRange:
        a = self.pos(start)
        b = self.pos(end)
        return SourceRange(self.file, SourcePos(a.line, a.column), SourcePos(b.end_line, b.end_column))

    @staticmethod
    def _remaining(ops: list[Op]) -> tuple[str | int, ...]:
        out: list[str | int] = []
        for kind, arg, _node in ops:
            if kind == "attr":
                out.append(arg)
            elif isinstance(arg, Literal) and isinstance(arg.value, int | str):
                out.append(arg.value)
            else:
                break
        return tuple(out)

