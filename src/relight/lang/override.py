"""Override files (``override.tf``, ``*_override.tf`` and their ``.tf.json`` twins), merged as Terraform does.

Override files are loaded after every primary file, in file-name order, and each of their
top-level blocks is merged into the primary block it names, before anything is decoded:

* a block is matched by type and labels (a ``provider`` also by its ``alias``); each local value
  of an override ``locals`` block replaces the local of that name; ``terraform`` settings merge
  into the primary ``terraform`` block;
* an argument of the override replaces the argument of the same name;
* nested blocks of a type the override has replace every nested block of that type, except that
  a resource's ``lifecycle`` merges argument by argument, ``terraform.required_providers`` merges
  provider by provider, and an override ``backend`` or ``cloud`` replaces both;
* several overrides of one block compound, later ones winning.

An override with nothing to override is an error ("Missing base ... block"), as are override
``moved``, ``removed`` and ``import`` blocks, which Terraform does not merge either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from relight.diagnostics import Diagnostics
from relight.lang.body import Attribute, Block, Body
from relight.lang.expr import Literal

__all__ = ["apply_overrides", "is_override_file"]

_NOT_MERGED: Final = frozenset({"moved", "removed", "import"})
_MERGED_NESTED: Final = frozenset({"lifecycle", "required_providers"})


def is_override_file(name: str) -> bool:
    """``override.tf``, ``x_override.tf``, ``override.tf.json``, ``x_override.tf.json``."""
    stem = name[: -len(".tf.json")] if name.endswith(".tf.json") else name.removesuffix(".tf")
    return stem == "override" or stem.endswith("_override")


def apply_overrides(primary: Sequence[Block], overrides: Sequence[Block], diags: Diagnostics) -> list[Block]:
    """The primary top-level blocks with every override block merged in (order kept)."""
    blocks = list(primary)
    for over in overrides:
        if over.type in _NOT_MERGED:
            diags.error(
                f"Cannot override {over.type} blocks",
                f"{over.type.capitalize()} blocks cannot be overridden; write them in a primary "
                "configuration file instead.",
                over.range,
            )
        elif over.type == "locals":
            _override_locals(blocks, over, diags)
        elif over.type == "terraform":
            _override_terraform(blocks, over)
        else:
            _override_block(blocks, over, diags)
    return blocks


def _key(block: Block) -> tuple[str, tuple[str, ...], str | None]:
    alias: str | None = None
    if block.type == "provider":
        attr = block.body.attributes.get("alias")
        if attr is not None and isinstance(attr.expr, Literal) and isinstance(attr.expr.value, str):
            alias = attr.expr.value
    return block.type, block.labels, alias


def _override_block(blocks: list[Block], over: Block, diags: Diagnostics) -> None:
    key = _key(over)
    for i, block in enumerate(blocks):
        if _key(block) == key:
            blocks[i] = merge_block(block, over)
            return
    name = " ".join(f'"{label}"' for label in over.labels)
    diags.error(
        f"Missing base {over.type} block to override",
        f"There is no {over.type} {name} block in the primary configuration files for this "
        "override block to apply to.".replace("  ", " "),
        over.range,
    )


def _override_locals(blocks: list[Block], over: Block, diags: Diagnostics) -> None:
    for name, attr in over.body.attributes.items():
        for i, block in enumerate(blocks):
            if block.type == "locals" and name in block.body.attributes:
                blocks[i] = _with_attributes(block, {**block.body.attributes, name: attr})
                break
        else:
            diags.error(
                "Missing base local value definition to override",
                f'There is no local value named "{name}" in the primary configuration files for '
                "this override to apply to.",
                attr.range,
            )


def _override_terraform(blocks: list[Block], over: Block) -> None:
    for i, block in enumerate(blocks):
        if block.type == "terraform":
            blocks[i] = merge_block(block, over)
            return
    blocks.append(over)


def merge_block(base: Block, over: Block) -> Block:
    """``base`` with ``over``'s arguments and nested blocks, by Terraform's override rules."""
    attrs = {**base.body.attributes, **over.body.attributes}
    replaced = {b.type for b in over.body.blocks if b.type not in _MERGED_NESTED}
    if replaced & {"backend", "cloud"}:
        replaced |= {"backend", "cloud"}
    kept = [b for b in base.body.blocks if b.type not in replaced]
    merged: list[Block] = []
    for nested in over.body.blocks:
        if nested.type in _MERGED_NESTED:
            same = [b for b in kept if b.type == nested.type]
            if same:
                kept.remove(same[0])
                merged.append(_merge_nested(same[0], nested))
                continue
        merged.append(nested)
    body = Body(attrs, tuple(kept + merged), base.body.range)
    return Block(base.type, base.labels, body, base.range)


def _merge_nested(base: Block, over: Block) -> Block:
    """``lifecycle`` and ``required_providers``: argument by argument; conditions replaced."""
    attrs: dict[str, Attribute] = {**base.body.attributes, **over.body.attributes}
    over_types = {b.type for b in over.body.blocks}
    blocks = tuple(b for b in base.body.blocks if b.type not in over_types) + over.body.blocks
    return Block(base.type, base.labels, Body(attrs, blocks, base.body.range), base.range)


def _with_attributes(block: Block, attrs: dict[str, Attribute]) -> Block:
    return Block(block.type, block.labels, Body(attrs, block.body.blocks, block.body.range), block.range)
