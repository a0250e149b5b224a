"""Static checks of references and function names, before anything is evaluated.

Each expression is checked in its context: ``count.index`` only inside a resource that sets
``count``, ``each.*`` only with ``for_each``, ``self`` only in provisioner and connection blocks.
The diagnostics point at the reference itself and read like Terraform's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from relight.addrs import ResourceAddr
from relight.diagnostics import Diagnostics, SourceRange
from relight.lang.config import Condition, Config, Resource
from relight.lang.expr import (
    COUNT_DETAIL,
    EACH_DETAIL,
    SELF_DETAIL,
    SPECIAL_FUNCTIONS,
    Expr,
    FunctionCall,
    Invalid,
    Reference,
    undeclared_module,
    undeclared_resource,
    unknown_function,
)
from relight.lang.functions import default_functions
from relight.lang.modules import module_label

__all__ = ["validate_references"]


@dataclass(frozen=True, slots=True)
class _Context:
    count: bool = False
    each: bool = False
    self_ok: bool = False
    resource: ResourceAddr | None = None


def validate_references(config: Config) -> Diagnostics:
    """Report references to undeclared things and references used out of context, in
    ``config`` and in every child module loaded under it (each against its own declarations)."""
    checker = _Checker(config)
    for res in config.resources.values():
        checker.resource(res)
    plain = _Context()
    for local in config.locals.values():
        checker.check([local.expr], plain)
    for output in config.outputs.values():
        checker.check([output.expr], plain)
    for prov in config.providers.values():
        checker.check(prov.body.expressions(), plain)
    for var in config.variables.values():
        checker.check(_condition_exprs(var.validations), plain)
    for output in config.outputs.values():
        checker.check(_condition_exprs(output.preconditions), plain)
    for imp in config.imports:
        each = _Context(each=imp.for_each is not None)
        checker.check([e for e in (imp.id, imp.to_key) if e is not None], each)
        checker.check([imp.for_each] if imp.for_each is not None else [], plain)
    for check in config.checks.values():
        checker.scoped = {d.addr for d in check.data}
        for data in check.data:
            checker.resource(data)
        checker.check(_condition_exprs(check.asserts), plain)
        checker.scoped = set()
    for call in config.module_calls.values():
        repeat = _Context(count=call.count is not None, each=call.for_each is not None)
        checker.check(call.inputs.expressions(), repeat)
        checker.check([e for e in (call.count, call.for_each) if e is not None], plain)
        for ref in call.depends_on:
            checker.check_static(ref)
    for child in config.children.values():
        checker.diags.extend(validate_references(child))
    return checker.diags


def _condition_exprs(conditions: Iterable[Condition]) -> list[Expr]:
    return [e for c in conditions for e in (c.condition, c.error_message)]


class _Checker:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.diags = Diagnostics()
        self.functions = default_functions()
        self.where = module_label(config.path)
        self.scoped: set[ResourceAddr] = set()  # a check block's own data source

    def resource(self, res: Resource) -> None:
        ctx = _Context(count=res.count is not None, each=res.for_each is not None, resource=res.addr)
        self.check(res.body.expressions(), ctx)
        self.check(res.lifecycle.replace_triggered_by, ctx)
        self.check(_condition_exprs(res.lifecycle.preconditions), ctx)
        self.check(_condition_exprs(res.lifecycle.postconditions), _Context(ctx.count, ctx.each, True, res.addr))
        meta = [e for e in (res.count, res.for_each) if e is not None]
        self.check(meta, _Context(resource=res.addr))
        prov_ctx = _Context(ctx.count, ctx.each, True, res.addr)
        for block in res.provisioners:
            self.check(block.body.expressions(), prov_ctx)
        for ref in res.depends_on:
            self.check_static(ref)

    def check_static(self, ref: Reference) -> None:
        """A ``depends_on`` entry: the resource or module call must be declared."""
        if ref.resource is not None and ref.resource not in self.config.resources:
            detail = undeclared_resource(ref.resource, self.where)
            self.diags.error("Reference to undeclared resource", detail, ref.range)
        elif ref.kind == "module":
            self._module_ref(ref)

    def check(self, exprs: Iterable[Expr], ctx: _Context) -> None:
        for expr in exprs:
            self._references(expr, ctx)
            self._functions(expr)

    def _references(self, expr: Expr, ctx: _Context) -> None:
        cfg = self.config
        for ref in expr.references():
            kind = ref.kind
            if kind == "var" and ref.name not in cfg.variables:
                self.diags.error(
                    "Reference to undeclared input variable",
                    f'An input variable with the name "{ref.name}" has not been declared. This '
                    f'variable can be declared with a variable "{ref.name}" {{}} block.',
                    ref.range,
                )
            elif kind == "local" and ref.name not in cfg.locals:
                self.diags.error(
                    "Reference to undeclared local value",
                    f'A local value with the name "{ref.name}" has not been declared.',
                    ref.range,
                )
            elif ref.resource is not None:
                self._resource_ref(ref.resource, ref.range, ctx)
            elif kind == "module":
                self._module_ref(ref)
            elif kind == "count" and not ctx.count:
                self.diags.error('Reference to "count" in non-counted context', COUNT_DETAIL, ref.range)
            elif kind == "each" and not ctx.each:
                self.diags.error('Reference to "each" in context without for_each', EACH_DETAIL, ref.range)
            elif kind == "self" and not ctx.self_ok:
                self.diags.error('Invalid "self" reference', SELF_DETAIL, ref.range)

    def _resource_ref(self, addr: ResourceAddr, rng: SourceRange, ctx: _Context) -> None:
        if addr not in self.config.resources and addr not in self.scoped:
            self.diags.error("Reference to undeclared resource", undeclared_resource(addr, self.where), rng)
        elif addr == ctx.resource:
            self.diags.error("Self-referential block", f"Configuration for {addr} may not refer to itself.", rng)

    def _module_ref(self, ref: Reference) -> None:
        """``module.NAME``: the call must exist; a named output must be one the child declares."""
        call = self.config.module_calls.get(ref.name)
        if call is None:
            self.diags.error("Reference to undeclared module", undeclared_module(ref.name, self.where), ref.range)
            return
        child = self.config.children.get(ref.name)
        steps = ref.remaining[1:] if call.count is not None or call.for_each is not None else ref.remaining
        if child is None or not steps or not isinstance(steps[0], str) or steps[0] in child.outputs:
            return
        self.diags.error(
            "Unsupported attribute",
            f'This object does not have an attribute named "{steps[0]}": {module_label(child.path)} declares no '
            f'output "{steps[0]}".',
            ref.range,
        )

    def _functions(self, expr: Expr) -> None:
        for node in expr.walk():
            if isinstance(node, Invalid):
                self.diags.error(node.summary, node.detail, node.range)
                continue
            if not isinstance(node, FunctionCall) or node.name in SPECIAL_FUNCTIONS:
                continue
            if node.name not in self.functions:
                self.diags.error("Call to unknown function", unknown_function(node.name), node.range)
