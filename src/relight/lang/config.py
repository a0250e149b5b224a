""":func:`load_config`: a module directory's files -> the configuration model (:mod:`.model`).

Loading is two stages, like Terraform's ``configs`` package: each ``*.tf`` file is parsed and
compiled into generic bodies (:mod:`relight.lang._hcl`), then the top-level blocks are decoded
into the frozen model of :mod:`relight.lang.model`. Decoding checks what can be checked without evaluating anything:
duplicates, meta-arguments, literal-only settings (``lifecycle``, ``backend``, defaults).
References are checked separately by :func:`relight.lang.validate.validate_references`.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final
from typing import Literal as TLiteral

from relight.addrs import InstanceAddr, ResourceAddr
from relight.diagnostics import Diagnostics
from relight.lang._cache import ParseCache
from relight.lang._hcl import parse_body
from relight.lang._json import parse_json_body
from relight.lang._prim import ConversionError, to_bool
from relight.lang.body import Attribute, Block, Body
from relight.lang.expr import (
    Expr,
    GetAttr,
    Index,
    Literal,
    Reference,
    Symbol,
    TupleCons,
)
from relight.lang.filepolicy import FileAccessDenied, FilePolicy
from relight.lang.model import (
    NO_DEFAULT,
    BackendBlock,
    Config,
    Lifecycle,
    Local,
    Moved,
    Output,
    ProviderBlock,
    Removed,
    Resource,
    Validation,
    Variable,
)
from relight.lang.override import apply_overrides, is_override_file
from relight.lang.scope import Scope
from relight.lang.types import TypeConstraint, convert, parse_type
from relight.values import Value

__all__ = [
    "NO_DEFAULT",
    "BackendBlock",
    "Config",
    "Lifecycle",
    "Local",
    "Moved",
    "Output",
    "ProviderBlock",
    "Removed",
    "Resource",
    "Validation",
    "Variable",
    "load_config",
]


def load_config(
    directory: str, *, cache: ParseCache | None = None, file_policy: FilePolicy | None = None
) -> tuple[Config | None, Diagnostics]:
    """Load every ``*.tf`` and ``*.tf.json`` file of ``directory`` (in name order), then merge the
    override files (``override.tf``, ``*_override.tf``, and their ``.tf.json`` twins) into them.

    Files Terraform ignores are ignored too: names starting with ``.`` or ending with ``~``, and
    editor files ``#...#``. Returns None only when the directory cannot be read or a file has a
    syntax error; otherwise
    a Config, possibly with error diagnostics for the blocks that could not be decoded (those
    blocks are left out). ``cache`` (None: parse every file) answers repeated parses of the same
    text; ``file_policy`` (None: unconfined) refuses files that resolve outside its roots, such
    as a ``main.tf`` symlinked to a file elsewhere.
    """
    diags = Diagnostics()
    try:
        names = sorted(n for n in os.listdir(directory) if _is_config_file(n))
    except OSError as err:
        diags.error("Failed to read configuration directory", f"{directory}: {err.strerror}.")
        return None, diags
    loader = _Loader(directory, diags)
    files = _Files(directory, file_policy or FilePolicy.unconfined(), cache)
    with _gc_paused():
        primary = _read_files(files, [n for n in names if not is_override_file(n)], loader, diags)
        overrides = _read_files(files, [n for n in names if is_override_file(n)], loader, diags)
    if primary is None or overrides is None:
        return None, diags
    loader.load_blocks(apply_overrides(primary, overrides, diags))
    return loader.config(), diags


def _is_config_file(name: str) -> bool:
    if name.startswith((".", "#")) or name.endswith(("~", "#")):
        return False
    return name.endswith((".tf", ".tf.json"))


@dataclass(frozen=True, slots=True)
class _Files:
    """Where a load reads from and how: the directory, the file policy, the parse cache."""

    directory: str
    policy: FilePolicy
    cache: ParseCache | None

    def read(self, name: str) -> str:
        """A configuration file's text; OSError/UnicodeDecodeError/FileAccessDenied on failure."""
        return self.policy.read_bytes(name, self.directory).decode("utf-8")

    def parse(self, text: str, path: str) -> tuple[Body | None, Diagnostics]:
        parse = parse_json_body if path.endswith(".json") else parse_body
        if self.cache is None:
            return parse(text, path)
        return self.cache.parse(text, path, parse)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Compiling allocates many small objects (nodes, positions, references) and none of them
    become garbage meanwhile; pausing the cycle collector saves the passes it would make."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_files(files: _Files, names: list[str], loader: _Loader, diags: Diagnostics) -> list[Block] | None:
    """Every top-level block of the named files, in order; None when any file failed to parse."""
    ok = True
    blocks: list[Block] = []
    for name in names:
        path = os.path.normpath(os.path.join(files.directory, name))
        try:
            text = files.read(name)
        except FileAccessDenied as err:
            diags.error("Configuration file refused", f"{path}: {err}.")
            ok = False
            continue
        except (OSError, UnicodeDecodeError) as err:
            diags.error("Failed to read file", f"{path}: {err}.")
            ok = False
            continue
        loader.sources[path] = text
        body, file_diags = files.parse(text, path)
        diags.extend(file_diags)
        if body is None:
            ok = False
            continue
        for attr in body.attributes.values():
            diags.error("Unsupported argument", f'An argument named "{attr.name}" is not expected here.', attr.range)
        blocks.extend(body.blocks)
    return blocks if ok else None


_RESOURCE_META: Final = frozenset({"count", "for_each", "provider", "depends_on"})
_RESOURCE_META_BLOCKS: Final = frozenset({"lifecycle", "provisioner", "connection"})
_VARIABLE_ATTRS: Final = frozenset({"type", "default", "description", "sensitive", "nullable", "ephemeral"})
_OUTPUT_ATTRS: Final = frozenset({"value", "description", "sensitive", "depends_on", "ephemeral"})


class _Loader:
    """Decodes top-level blocks into the model, reporting duplicates and misuse."""

    def __init__(self, directory: str, diags: Diagnostics) -> None:
        self.directory = directory
        self.diags = diags
        self.sources: dict[str, str] = {}
        self.backend: BackendBlock | None = None
        self.variables: dict[str, Variable] = {}
        self.locals: dict[str, Local] = {}
        self.resources: dict[ResourceAddr, Resource] = {}
        self.outputs: dict[str, Output] = {}
        self.providers: dict[str, ProviderBlock] = {}
        self.moved: list[Moved] = []
        self.removed: list[Removed] = []
        self.relight: Body | None = None

    def config(self) -> Config:
        return Config(
            self.directory,
            self.sources,
            self.backend,
            self.variables,
            self.locals,
            self.resources,
            self.outputs,
            self.providers,
            tuple(self.moved),
            tuple(self.removed),
            self.relight,
        )

    def load_blocks(self, blocks: list[Block]) -> None:
        handlers = {
            "resource": self.resource,
            "data": self.resource,
            "variable": self.variable,
            "locals": self.locals_block,
            "output": self.output,
            "provider": self.provider,
            "terraform": self.terraform,
            "moved": self.moved_block,
            "removed": self.removed_block,
            "relight": self.relight_block,
        }
        for block in blocks:
            handler = handlers.get(block.type)
            if handler is None:
                self._unsupported_block(block)
            else:
                handler(block)

    # helpers

    def _unsupported_block(self, block: Block) -> None:
        detail = f'Blocks of type "{block.type}" are not expected here.'
        if block.type == "module":
            detail = "Module calls are not supported: relight loads a single root module."
        self.diags.error("Unsupported block type", detail, block.range)

    def _labels(self, block: Block, count: int, what: str) -> bool:
        if len(block.labels) == count:
            return True
        self.diags.error(
            f"Invalid {block.type} block",
            f"A {block.type} block must have {count} label(s): {what}.",
            block.range,
        )
        return False

    def _check_attrs(self, block: Block, allowed: frozenset[str]) -> None:
        for attr in block.body.attributes.values():
            if attr.name not in allowed:
                self.diags.error(
                    "Unsupported argument",
                    f'An argument named "{attr.name}" is not expected here.',
                    attr.range,
                )

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
        return value if isinstance(value, str) else ""

    def depends_on(self, attr: Attribute | None) -> tuple[Reference, ...]:
        if attr is None:
            return ()
        items = attr.expr.items if isinstance(attr.expr, TupleCons) else None
        if items is None:
            self.diags.error("Invalid depends_on", "depends_on must be a list of references.", attr.range)
            return ()
        out: list[Reference] = []
        for item in items:
            ref = self._static_ref(item)
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

    def _static_ref(self, expr: Expr) -> Reference | None:
        if isinstance(expr, Literal) and isinstance(expr.value, str):
            try:  # 0.11-era quoted reference
                inst = InstanceAddr.parse(expr.value)
            except ValueError:
                return None
            res = inst.resource
            kind: TLiteral["resource", "data"] = "data" if res.mode == "data" else "resource"
            return Reference(kind, str(res), expr.range, res, inst.key)
        refs = expr.references()
        if len(refs) != 1 or refs[0].kind not in ("resource", "data"):
            return None
        return refs[0]

    # blocks

    def resource(self, block: Block) -> None:
        if not self._labels(block, 2, "the resource type and name"):
            return
        type_, name = block.labels
        addr = ResourceAddr.data(type_, name) if block.type == "data" else ResourceAddr.managed(type_, name)
        if addr in self.resources:
            kind = "data" if block.type == "data" else "resource"
            self.diags.error(
                f"Duplicate {kind} {type_!r} configuration".replace("'", '"'),
                f'A {type_} {kind} named "{name}" was already declared at '
                f"{self.resources[addr].range}. Resource names must be unique per type in each "
                "module.",
                block.range,
            )
            return
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
        self.resources[addr] = Resource(
            addr=addr,
            type=type_,
            name=name,
            provider_key=self._provider_key(attrs.get("provider"), type_),
            body=body.without(_RESOURCE_META, _RESOURCE_META_BLOCKS),
            count=count,
            for_each=for_each,
            depends_on=self.depends_on(attrs.get("depends_on")),
            lifecycle=self.lifecycle(body.blocks_of("lifecycle")),
            range=block.range,
            provisioners=body.blocks_of("provisioner") + body.blocks_of("connection"),
        )

    def _provider_key(self, attr: Attribute | None, type_: str) -> str:
        if attr is None:
            return type_.split("_", 1)[0]
        expr = attr.expr
        if isinstance(expr, Symbol):
            return expr.name
        if isinstance(expr, GetAttr) and isinstance(expr.obj, Symbol):
            return f"{expr.obj.name}.{expr.name}"
        if isinstance(expr, Literal) and isinstance(expr.value, str) and expr.value:
            return expr.value  # 0.11-era quoted provider reference
        self.diags.error(
            "Invalid provider reference",
            "The provider argument requires a provider type name, optionally followed by a "
            "period and then a configuration alias.",
            attr.range,
        )
        return type_.split("_", 1)[0]

    def lifecycle(self, blocks: tuple[Block, ...]) -> Lifecycle:
        if not blocks:
            return Lifecycle()
        if len(blocks) > 1:
            self.diags.error(
                "Duplicate lifecycle block",
                "Only one lifecycle block is allowed in a resource.",
                blocks[1].range,
            )
        attrs = blocks[0].body.attributes
        self._check_attrs(
            blocks[0],
            frozenset(
                {
                    "prevent_destroy",
                    "create_before_destroy",
                    "ignore_changes",
                    "replace_triggered_by",
                }
            ),
        )
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

    def variable(self, block: Block) -> None:
        if not self._labels(block, 1, "the variable name"):
            return
        name = block.labels[0]
        if name in self.variables:
            self.diags.error(
                "Duplicate variable declaration",
                f'A variable named "{name}" was already declared at '
                f"{self.variables[name].range}. Variable names must be unique within a module.",
                block.range,
            )
            return
        self._check_attrs(block, _VARIABLE_ATTRS)
        attrs = block.body.attributes
        type_: TypeConstraint | None = None
        if "type" in attrs:
            type_, tdiags = parse_type(attrs["type"].expr)
            self.diags.extend(tdiags)
        default: Value = NO_DEFAULT
        if "default" in attrs:
            default = self.literal(attrs["default"])
            try:
                default = convert(default, type_)
            except ConversionError as err:
                self.diags.error(
                    "Invalid default value for variable",
                    f"This default value is not compatible with the variable's type constraint: {err}.",
                    attrs["default"].range,
                )
        validations = []
        for vblock in block.body.blocks_of("validation"):
            vattrs = vblock.body.attributes
            if "condition" not in vattrs or "error_message" not in vattrs:
                self.diags.error(
                    "Invalid validation block",
                    'A validation block requires "condition" and "error_message".',
                    vblock.range,
                )
                continue
            validations.append(Validation(vattrs["condition"].expr, vattrs["error_message"].expr, vblock.range))
        self.variables[name] = Variable(
            name=name,
            type=type_,
            default=default,
            description=self.text(attrs.get("description")),
            sensitive=self.flag(attrs.get("sensitive"), False),
            nullable=self.flag(attrs.get("nullable"), True),
            validations=tuple(validations),
            range=block.range,
        )

    def locals_block(self, block: Block) -> None:
        for attr in block.body.attributes.values():
            if attr.name in self.locals:
                self.diags.error(
                    "Duplicate local value definition",
                    f'A local value named "{attr.name}" was already defined at '
                    f"{self.locals[attr.name].range}. Local value names must be unique within a "
                    "module.",
                    attr.range,
                )
                continue
            self.locals[attr.name] = Local(attr.name, attr.expr, attr.range)

    def output(self, block: Block) -> None:
        if not self._labels(block, 1, "the output name"):
            return
        name = block.labels[0]
        if name in self.outputs:
            self.diags.error(
                "Duplicate output definition",
                f'An output named "{name}" was already defined at {self.outputs[name].range}. '
                "Output names must be unique within a module.",
                block.range,
            )
            return
        self._check_attrs(block, _OUTPUT_ATTRS)
        attrs = block.body.attributes
        if "value" not in attrs:
            self.diags.error(
                "Missing required argument",
                'The argument "value" is required, but no definition was found.',
                block.range,
            )
            return
        self.outputs[name] = Output(
            name=name,
            expr=attrs["value"].expr,
            sensitive=self.flag(attrs.get("sensitive"), False),
            description=self.text(attrs.get("description")),
            depends_on=self.depends_on(attrs.get("depends_on")),
            range=block.range,
        )

    def provider(self, block: Block) -> None:
        if not self._labels(block, 1, "the provider name"):
            return
        alias_value = self.literal(block.body.attributes.get("alias"))
        alias = alias_value if isinstance(alias_value, str) and alias_value else None
        prov = ProviderBlock(
            block.labels[0],
            alias,
            block.body.without(frozenset({"alias"}), frozenset()),
            block.range,
        )
        if prov.key in self.providers:
            self.diags.error(
                "Duplicate provider configuration",
                f'A provider configuration for "{prov.key}" was already given at '
                f"{self.providers[prov.key].range}. Each configuration for the same provider "
                "must have a distinct alias.",
                block.range,
            )
            return
        self.providers[prov.key] = prov

    def terraform(self, block: Block) -> None:
        for backend in block.body.blocks_of("backend"):
            if not self._labels(backend, 1, "the backend type"):
                continue
            if self.backend is not None:
                self.diags.error(
                    "Duplicate backend configuration",
                    f"A backend was already configured at {self.backend.range}. A module may "
                    "have only one backend configuration.",
                    backend.range,
                )
                continue
            settings = {a.name: self.literal(a) for a in backend.body.attributes.values()}
            self.backend = BackendBlock(backend.labels[0], settings, backend.range)

    def moved_block(self, block: Block) -> None:
        self._check_attrs(block, frozenset({"from", "to"}))
        attrs = block.body.attributes
        if "from" not in attrs or "to" not in attrs:
            self.diags.error(
                "Missing required argument",
                'A moved block requires both "from" and "to".',
                block.range,
            )
            return
        src = self._move_addr(attrs["from"])
        dst = self._move_addr(attrs["to"])
        if src is not None and dst is not None:
            self.moved.append(Moved(src, dst, block.range))

    def _move_addr(self, attr: Attribute) -> InstanceAddr | ResourceAddr | None:
        ref = self._static_ref(attr.expr)
        if ref is None or ref.resource is None or ref.remaining:
            self.diags.error(
                "Invalid address",
                "A resource or resource instance address is required here, like "
                "aws_instance.web or aws_instance.web[0].",
                attr.range,
            )
            return None
        return ref.resource if ref.key is None else ref.resource.instance(ref.key)

    def removed_block(self, block: Block) -> None:
        attrs = block.body.attributes
        if "from" not in attrs:
            self.diags.error("Missing required argument", 'A removed block requires "from".', block.range)
            return
        src = self._move_addr(attrs["from"])
        if src is None:
            return
        if isinstance(src, InstanceAddr):
            self.diags.error(
                "Invalid address",
                "A removed block must refer to a whole resource, without an instance key.",
                attrs["from"].range,
            )
            return
        destroy = True
        for lc in block.body.blocks_of("lifecycle"):
            destroy = self.flag(lc.body.attributes.get("destroy"), True)
        self.removed.append(Removed(src, destroy, block.range))

    def relight_block(self, block: Block) -> None:
        if self.relight is not None:
            self.diags.error("Duplicate relight block", "Only one relight block is allowed.", block.range)
            return
        self.relight = block.body


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
