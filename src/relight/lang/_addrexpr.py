"""Addresses written as expressions: ``moved``/``removed`` ``from`` and ``to``, ``depends_on``.

``moved { from = module.a[0].aws_instance.x  to = module.b.aws_instance.x }`` is compiled like any
expression (a reference wrapped in attribute and index steps); :func:`static_address` reads the
steps back into an address value, telling ``.name`` from ``["key"]`` as written, so it never
guesses from a reference's flattened steps.
"""

from __future__ import annotations

from relight.addrs import InstanceAddr, InstanceKey, ModuleAddr, ModuleStep, ResourceAddr
from relight.lang.expr import Expr, GetAttr, Index, Literal, ScopeRef

__all__ = ["static_address"]

# One traversal step as written: ("attr", name) or ("index", key).
_Step = tuple[str, InstanceKey]


def static_address(expr: Expr) -> InstanceAddr | ResourceAddr | ModuleAddr | None:
    """The address ``expr`` spells (a resource, a resource instance or a module instance, in
    any module), or None when it spells none (an attribute access, a computed key, ...)."""
    steps: list[_Step] = []
    node = expr
    while not isinstance(node, ScopeRef):
        if isinstance(node, GetAttr):
            steps.append(("attr", node.name))
            node = node.obj
        elif isinstance(node, Index) and isinstance(node.key, Literal) and _is_key(node.key.value):
            steps.append(("index", node.key.value))
            node = node.obj
        else:
            return None
    ref = node.ref
    steps.reverse()
    if ref.kind == "module":
        return _module_address([("attr", "module"), ("attr", ref.name), *steps])
    if ref.kind in ("resource", "data") and ref.resource is not None:
        # A literal key written right after the resource is both in the reference and a step.
        if ref.key is not None and steps[:1] == [("index", ref.key)]:
            steps = steps[1:]
        if steps:
            return None
        return ref.resource if ref.key is None else ref.resource.instance(ref.key)
    return None


def _is_key(value: object) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool)


def _module_address(steps: list[_Step]) -> InstanceAddr | ResourceAddr | ModuleAddr | None:
    module: list[ModuleStep] = []
    i = 0
    while i + 1 < len(steps) and steps[i] == ("attr", "module") and steps[i + 1][0] == "attr":
        name = str(steps[i + 1][1])
        i += 2
        key: InstanceKey = None
        if i < len(steps) and steps[i][0] == "index":
            key = steps[i][1]
            i += 1
        module.append((name, key))
    rest = steps[i:]
    if not rest:
        return ModuleAddr(tuple(module))
    names = [str(v) for kind, v in rest if kind == "attr"]
    keyed = rest[-1][0] == "index"
    if len(names) != len(rest) - (1 if keyed else 0):
        return None
    if names[:1] == ["data"] and len(names) == 3:
        res = ResourceAddr("data", names[1], names[2], tuple(module))
    elif len(names) == 2 and names[0] != "data":
        res = ResourceAddr("managed", names[0], names[1], tuple(module))
    else:
        return None
    return res.instance(rest[-1][1]) if keyed else res
