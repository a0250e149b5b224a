"""Decoding the blocks about resources: ``resource``/``data`` (meta-arguments and ``lifecycle``),
``moved``, ``removed`` and ``import``.

A resource's own arguments and nested blocks depend on its provider's schema, so they are left
in ``Resource.body`` for the engine to check; everything Terraform itself defines
(``count``, ``for_each``, ``provider``, ``depends_on``, ``lifecycle``, ``provisioner``,
``connection``) is decoded and checked here.
"""

from __future__ import annotations

from typing import Final
from typing import Literal as TLiteral

from relight.addrs import InstanceAddr, ModuleAddr, ResourceAddr
from relight.lang._addrexpr import static_address
from relight.lang._decode import Decoder
from relight.lang.body import Attribute, Block
from relight.lang.expr import Expr, GetAttr, Index, Literal, Pos, Symbol, TupleCons
from relight.lang.model import Import, Lifecycle, Moved, Removed, Resource

__all__ = ["ResourceDecoder"]

_META: Final = frozenset({"count", "for_each", "provider", "depends_on"})
_META_BLOCKS: Final = frozenset({"lifecycle", "provisioner", "connection"})
_LIFECYCLE: Final = ("prevent_destroy", "create_before_destroy", "ignore_changes", "replace_triggered_by")
_CONDITIONS: Final = ("precondition", "postcondition")


class ResourceDecoder(Decoder):
    """Mixin for the loader: resource-related blocks into model values (None when unusable)."""

    def resource(self, block: Block) -> Resource | None:
        if not self.labels(block, 2, "the resource type and name"):
            return None
        type_, name = block.labels
        managed = block.type == "resource"
        addr = ResourceAddr.managed(type_, name) if managed else ResourceAddr.data(type_, name)
        body = block.body
        attrs = body.attributes
        count = attrs["count"].expr if "count" in attrs else None
        for_each = attrs["for_each"].expr if "for_each" in attrs else None
        if count is not None and for_each is not None:
            self.diags.error(
                'Invalid combination of "count" and "for_each"',
                'The "count" and "for_each" meta-arguments are mutually-exclusive, only one '
                "should be used to be explicit about the number of resources to be created.",
                attrs["for_each"].range,
            )
        provider = self.provider_ref(attrs["provider"]) if "provider" in attrs else None
        self._check_dynamic(body.blocks)
        lifecycles = body.blocks_of("lifecycle")
        if not managed:
            for extra in body.blocks_of("provisioner") + body.blocks_of("connection"):
                self.diags.error(
                    "Unsupported block type",
                    f'Blocks of type "{extra.type}" are not expected here: data resources have no provisioners.',
                    extra.range,
                )
        return Resource(
            addr=addr,
            type=type_,
            name=name,
            provider_key=provider or type_.split("_", 1)[0],
            body=body.without(_META, _META_BLOCKS),
            count=count,
            for_each=for_each,
            depends_on=self.depends_on(attrs.get("depends_on")),
            lifecycle=self.lifecycle(lifecycles, managed),
            range=block.range,
            provisioners=(body.blocks_of("provisioner") + body.blocks_of("connection")) if managed else (),
        )

    def _check_dynamic(self, blocks: tuple[Block, ...]) -> None:
        """``dynamic`` blocks, at any depth, take only for_each, iterator, labels and content."""
        for block in blocks:
            if block.type == "dynamic":
                self.labels(block, 1, "the type of block to generate")
                self.check_body(block, ("for_each", "iterator", "labels"), ("content",))
            self._check_dynamic(block.body.blocks)

    def lifecycle(self, blocks: tuple[Block, ...], managed: bool = True) -> Lifecycle:
        if not blocks:
            return Lifecycle()
        for extra in blocks[1:]:
            self.diags.error(
                "Duplicate lifecycle block", "Only one lifecycle block is allowed in a resource.", extra.range
            )
        block = blocks[0]
        self.check_body(block, _LIFECYCLE if managed else (), _CONDITIONS)
        attrs = block.body.attributes
        triggers: tuple[Expr, ...] = ()
        rtb = attrs.get("replace_triggered_by")
        if rtb is not None:
            if isinstance(rtb.expr, TupleCons):
                triggers = rtb.expr.items
            else:
                self.diags.error(
                    "Invalid replace_triggered_by expression",
                    "replace_triggered_by must be a list of references.",
                    rtb.range,
                )
        return Lifecycle(
            prevent_destroy=self.flag(attrs.get("prevent_destroy"), False),
            create_before_destroy=self.flag(attrs.get("create_before_destroy"), False),
            ignore_changes=self._ignore_changes(attrs.get("ignore_changes")),
            replace_triggered_by=triggers,
            preconditions=self.conditions(block.body.blocks_of("precondition")),
            postconditions=self.conditions(block.body.blocks_of("postcondition")),
        )

    def _ignore_changes(self, attr: Attribute | None) -> tuple[str, ...] | TLiteral["all"]:
        if attr is None:
            return ()
        expr = attr.expr
        if isinstance(expr, Symbol) and expr.name == "all":
            return "all"
        if isinstance(expr, Literal) and expr.value in ("all", "*"):
            return "all"
        if not isinstance(expr, TupleCons):
            self.diags.error(
                "Invalid ignore_changes",
                'ignore_changes must be a list of attribute names, or the keyword "all".',
                attr.range,
            )
            return ()
        out: list[str] = []
        for item in expr.items:
            path = _attr_path(item)
            if path == "*":
                return "all"
            if path is None:
                self.diags.error(
                    "Invalid ignore_changes",
                    'ignore_changes entries must be attribute names, like tags or tags["Name"].',
                    item.range,
                )
                continue
            out.append(path)
        return tuple(out)

    def moved_block(self, block: Block) -> Moved | None:
        self.check_body(block, ("from", "to"))
        attrs = block.body.attributes
        if "from" not in attrs or "to" not in attrs:
            self.diags.error("Missing required argument", 'A moved block requires both "from" and "to".', block.range)
            return None
        src = self._address(attrs["from"])
        dst = self._address(attrs["to"])
        return Moved(src, dst, block.range) if src is not None and dst is not None else None

    def _address(self, attr: Attribute) -> InstanceAddr | ResourceAddr | ModuleAddr | None:
        addr = static_address(attr.expr)
        if addr is None:
            self.diags.error(
                "Invalid address",
                "A resource, resource instance or module address is required here, like "
                "aws_instance.web, aws_instance.web[0] or module.net.",
                attr.range,
            )
        return addr

    def removed_block(self, block: Block) -> Removed | None:
        self.check_body(block, ("from",), ("lifecycle", "provisioner", "connection"))
        attrs = block.body.attributes
        if "from" not in attrs:
            self.diags.error("Missing required argument", 'A removed block requires "from".', block.range)
            return None
        src = self._address(attrs["from"])
        if src is None:
            return None
        if isinstance(src, InstanceAddr) or (isinstance(src, ModuleAddr) and src.module[-1][1] is not None):
            self.diags.error(
                "Invalid address",
                "A removed block must refer to a whole resource or module, without an instance key.",
                attrs["from"].range,
            )
            return None
        for extra in block.body.blocks_of("provisioner") + block.body.blocks_of("connection"):
            self.diags.error(
                "Provisioners are not supported",
                f'relight does not run provisioners, so this "{extra.type}" block of the removed block would '
                "never run. Remove it.",
                extra.range,
            )
        destroy = True
        for lc in block.body.blocks_of("lifecycle"):
            self.check_body(lc, ("destroy",))
            destroy = self.flag(lc.body.attributes.get("destroy"), True)
        return Removed(src, destroy, block.range)

    def import_block(self, block: Block) -> Import | None:
        """``import { to = aws_instance.x[each.key], id = each.value, for_each = ..., provider = aws.b }``."""
        self.check_body(block, ("to", "id", "for_each", "provider"))
        attrs = block.body.attributes
        missing = [a for a in ("to", "id") if a not in attrs]
        if missing:
            self.diags.error(
                "Missing required argument",
                f'The argument "{missing[0]}" is required, but no definition was found.',
                block.range,
            )
            return None
        target = self._import_target(attrs["to"])
        if target is None:
            return None
        addr, key = target
        for_each = attrs["for_each"].expr if "for_each" in attrs else None
        if for_each is None and key is not None and key.references():
            self.diags.error(
                "Invalid import address",
                'The import address uses "each" or another reference, which needs for_each on the import block.',
                attrs["to"].range,
            )
            return None
        provider = self.provider_ref(attrs["provider"]) if "provider" in attrs else None
        return Import(addr, key, attrs["id"].expr, for_each, provider, block.range)

    def _import_target(self, attr: Attribute) -> tuple[ResourceAddr, Expr | None] | None:
        expr = attr.expr
        key: Expr | None = None
        if isinstance(expr, Index):
            key = expr.key
            expr = expr.obj
        ref = self.static_ref(expr)
        if ref is None or ref.resource is None or ref.remaining or ref.resource.mode != "managed":
            self.diags.error(
                "Invalid import address",
                "The import target must be a managed resource or resource instance address, like "
                'aws_instance.web, aws_instance.web[0] or aws_instance.web["a"].',
                attr.range,
            )
            return None
        if ref.key is not None:
            start = attr.expr.range.start
            return ref.resource, Literal(
                attr.expr.range.filename, Pos(start.line, start.column, start.line, start.column), ref.key
            )
        return ref.resource, key


def _attr_path(expr: Expr) -> str | None:
    """``tags["Name"]`` -> 'tags["Name"]'; a legacy quoted name is returned as written."""
    if isinstance(expr, Literal) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, Symbol):
        return expr.name
    if isinstance(expr, GetAttr):
        base = _attr_path(expr.obj)
        return None if base is None else f"{base}.{expr.name}"
    if isinstance(expr, Index) and isinstance(expr.key, Literal):
        base = _attr_path(expr.obj)
        key = expr.key.value
        if base is None or not isinstance(key, int | str) or isinstance(key, bool):
            return None
        return f"{base}[{key}]" if isinstance(key, int) else f'{base}["{key}"]'
    return None
