"""Shared decoding helpers: from generic blocks to model values, with Terraform's diagnostics.

A decoder never evaluates anything that may depend on the configuration: settings that must
be literal (``lifecycle``, ``backend``, defaults) are evaluated in an empty scope and refused if
they reference anything. Every argument and nested block a block type does not define is an
error ("Unsupported argument", "Unsupported block type"): nothing the user wrote is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal as TLiteral

from relight.addrs import InstanceAddr, ModuleAddr
from relight.diagnostics import Diagnostics
from relight.lang._addrexpr import static_address
from relight.lang._prim import ConversionError, to_bool
from relight.lang.body import Attribute, Block
from relight.lang.expr import Expr, GetAttr, Literal, Reference, Symbol, TupleCons
from relight.lang.model import Condition
from relight.lang.scope import Scope
from relight.values import Value

__all__ = ["Decoder", "did_you_mean"]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` Did you mean "x"?`` for the closest candidate, or nothing."""
    best, best_score = "", 0.0
    for cand in candidates:
        score = _similarity(name, cand)
        if score > best_score:
            best, best_score = cand, score
    return f' Did you mean "{best}"?' if best and best_score >= 0.6 else ""


def _similarity(a: str, b: str) -> float:
    """1 - edit distance / length of the longer (Terraform suggests within a small distance)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return 1 - prev[-1] / max(len(a), len(b), 1)


class Decoder:
    """The helpers every block decoder uses; collects diagnostics in ``diags``."""

    diags: Diagnostics

    def labels(self, block: Block, count: int, what: str) -> bool:
        if len(block.labels) == count:
            return True
        self.diags.error(
            f"Invalid {block.type} block",
            f"A {block.type} block must have {count} label(s): {what}.",
            block.range,
        )
        return False

    def check_body(self, block: Block, attrs: Iterable[str], blocks: Iterable[str] = ()) -> None:
        """Report every argument and nested block ``block`` may not have."""
        allowed_attrs, allowed_blocks = frozenset(attrs), frozenset(blocks)
        for attr in block.body.attributes.values():
            if attr.name not in allowed_attrs:
                hint = did_you_mean(attr.name, allowed_attrs)
                self.diags.error(
                    "Unsupported argument", f'An argument named "{attr.name}" is not expected here.{hint}', attr.range
                )
        for nested in block.body.blocks:
            if nested.type not in allowed_blocks:
                hint = did_you_mean(nested.type, allowed_blocks)
                detail = f'Blocks of type "{nested.type}" are not expected here.{hint}'
                self.diags.error("Unsupported block type", detail, nested.range)

    def literal(self, attr: Attribute | None, default: Value = None) -> Value:
        """A value that must not depend on anything: evaluated with an empty scope."""
        if attr is None:
            return default
        if attr.expr.references():
            self.diags.error("Variables not allowed", "Variables may not be used here.", attr.range)
            return default
        value, diags = attr.expr.evaluate(Scope())
        self.diags.extend(diags)
        return default if diags.has_errors else value

    def flag(self, attr: Attribute | None, default: bool) -> bool:
        value = self.literal(attr, default)
        try:
            result = to_bool(value)
        except ConversionError:
            result = None
        if not isinstance(result, bool):
            assert attr is not None
            self.diags.error("Invalid value", f'"{attr.name}" must be true or false.', attr.range)
            return default
        return result

    def text(self, attr: Attribute | None) -> str:
        value = self.literal(attr, "")
        if attr is not None and not isinstance(value, str):
            self.diags.error("Invalid value", f'"{attr.name}" must be a string.', attr.range)
            return ""
        return value if isinstance(value, str) else ""

    def conditions(self, blocks: Iterable[Block]) -> tuple[Condition, ...]:
        """``validation``/``precondition``/``postcondition``/``assert`` blocks."""
        out: list[Condition] = []
        for block in blocks:
            self.check_body(block, ("condition", "error_message"))
            attrs = block.body.attributes
            if "condition" not in attrs or "error_message" not in attrs:
                missing = "condition" if "condition" not in attrs else "error_message"
                self.diags.error(
                    "Missing required argument",
                    f'The argument "{missing}" is required, but no definition was found.',
                    block.range,
                )
                continue
            out.append(Condition(attrs["condition"].expr, attrs["error_message"].expr, block.range))
        return tuple(out)

    def depends_on(self, attr: Attribute | None) -> tuple[Reference, ...]:
        if attr is None:
            return ()
        items = attr.expr.items if isinstance(attr.expr, TupleCons) else None
        if items is None:
            self.diags.error("Invalid depends_on", "depends_on must be a list of references.", attr.range)
            return ()
        out: list[Reference] = []
        for item in items:
            ref = self.static_ref(item)
            if ref is None:
                self.diags.error(
                    "Invalid depends_on reference",
                    "References in depends_on must be to a whole object (a resource or data "
                    "source), without further attribute access.",
                    item.range,
                )
            else:
                out.append(ref)
        return tuple(out)

    def static_ref(self, expr: Expr) -> Reference | None:
        """The one resource (or whole module call) reference ``expr`` is (also a 0.11-style
        quoted one), else None."""
        if isinstance(expr, Literal) and isinstance(expr.value, str):
            try:  # 0.11-era quoted reference
                inst = InstanceAddr.parse(expr.value)
            except ValueError:
                return None
            res = inst.resource
            kind: TLiteral["resource", "data"] = "data" if res.mode == "data" else "resource"
            return Reference(kind, str(res), expr.range, res, inst.key)
        refs = expr.references()
        if len(refs) != 1 or refs[0].kind not in ("resource", "data", "module"):
            return None
        if refs[0].kind == "module" and not isinstance(static_address(expr), ModuleAddr):
            return None  # depends_on names a whole module call, not one of its outputs
        return refs[0]

    def provider_ref(self, attr: Attribute) -> str | None:
        """``aws`` or ``aws.west`` from a ``provider`` argument (also a quoted 0.11 one)."""
        expr = attr.expr
        if isinstance(expr, Symbol):
            return expr.name
        if isinstance(expr, GetAttr) and isinstance(expr.obj, Symbol):
            return f"{expr.obj.name}.{expr.name}"
        if isinstance(expr, Literal) and isinstance(expr.value, str) and expr.value:
            return expr.value
        self.diags.error(
            "Invalid provider reference",
            "The provider argument requires a provider type name, optionally followed by a "
            "period and then a configuration alias.",
            attr.range,
        )
        return None
