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
from typing import Any, Final

from relight.addrs import ResourceAddr
from relight.diagnostics import Diagnostics
from relight.lang._cache import ParseCache
from relight.lang._decode import did_you_mean
from relight.lang._decode_module import ModuleDecoder
from relight.lang._hcl import parse_body
from relight.lang._json import parse_json_body
from relight.lang.body import Block, Body
from relight.lang.filepolicy import FileAccessDenied, FilePolicy
from relight.lang.model import (
    NO_DEFAULT,
    BackendBlock,
    Check,
    Condition,
    Config,
    Import,
    Lifecycle,
    Local,
    ModuleCall,
    Moved,
    Output,
    ProviderBlock,
    Removed,
    RequiredProvider,
    Resource,
    Validation,
    Variable,
)
from relight.lang.modules import load_children
from relight.lang.override import apply_overrides, is_override_file

__all__ = [
    "ENGINE_FEATURES",
    "NO_DEFAULT",
    "BackendBlock",
    "Check",
    "Condition",
    "Config",
    "Import",
    "Lifecycle",
    "Local",
    "ModuleCall",
    "Moved",
    "Output",
    "ProviderBlock",
    "Removed",
    "RequiredProvider",
    "Resource",
    "Validation",
    "Variable",
    "load_config",
]


ENGINE_FEATURES: Final = frozenset({"conditions", "import", "check", "module_calls"})


def load_config(
    directory: str,
    *,
    cache: ParseCache | None = None,
    file_policy: FilePolicy | None = None,
    engine_features: frozenset[str] = frozenset(),
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

    ``engine_features`` names the decoded features the caller's engine runs (a subset of
    :data:`ENGINE_FEATURES`: ``conditions`` for preconditions/postconditions, ``import``,
    ``check``, ``module_calls``). Each one it does not name is an error wherever the
    configuration uses it, so a configuration is never run with part of it ignored.

    With ``module_calls``, the child module of every module call is loaded the same way,
    recursively, into ``children`` (see :mod:`relight.lang.modules`).
    """
    policy = file_policy or FilePolicy.unconfined()
    config, diags = _load_module_dir(directory, cache, policy, engine_features)
    if config is None or "module_calls" not in engine_features:
        return config, diags
    config, found = load_children(config, lambda d: _load_module_dir(d, cache, policy, engine_features), policy)
    diags.extend(found)
    return config, diags


def _load_module_dir(
    directory: str, cache: ParseCache | None, file_policy: FilePolicy, engine_features: frozenset[str]
) -> tuple[Config | None, Diagnostics]:
    """One module directory's own files, decoded (its module calls are not followed)."""
    diags = Diagnostics()
    try:
        names = sorted(n for n in os.listdir(directory) if _is_config_file(n))
    except OSError as err:
        diags.error("Failed to read configuration directory", f"{directory}: {err.strerror}.")
        return None, diags
    loader = _Loader(directory, diags)
    files = _Files(directory, file_policy, cache)
    with _gc_paused():
        primary, primary_ok = _read_files(files, [n for n in names if not is_override_file(n)], loader, diags)
        overrides, overrides_ok = _read_files(files, [n for n in names if is_override_file(n)], loader, diags)
        # Decode what did parse even when a file did not, so one run reports every independent
        # mistake; but a configuration with a file missing is never returned.
        loader.load_blocks(apply_overrides(primary, overrides, diags) if overrides_ok else primary)
    if not (primary_ok and overrides_ok):
        return None, diags
    config = loader.config()
    _refuse_unrun(config, ENGINE_FEATURES - engine_features, diags)
    return config, diags


def _refuse_unrun(config: Config, missing: frozenset[str], diags: Diagnostics) -> None:
    """An error at each use of a decoded feature the engine does not run."""
    if "conditions" in missing:
        lifecycles = [r.lifecycle for r in config.resources.values()]
        conditions = [c for life in lifecycles for c in life.preconditions + life.postconditions]
        conditions += [c for o in config.outputs.values() for c in o.preconditions]
        for cond in conditions:
            diags.error(
                "Custom conditions are not enforced yet",
                "relight decodes this precondition or postcondition but does not check it during "
                "plan and apply yet; remove it, or check the condition another way, rather than "
                "rely on it.",
                cond.range,
            )
    if "import" in missing:
        for imp in config.imports:
            diags.error(
                "Import blocks are not run yet",
                f"relight decodes this import block but does not plan imports from configuration "
                f"yet; run `relight import {imp.to} ID` instead.",
                imp.range,
            )
    if "check" in missing:
        for check in config.checks.values():
            diags.error(
                "Check blocks are not run yet",
                f'relight decodes check "{check.name}" but does not evaluate check blocks yet.',
                check.range,
            )
    if "module_calls" in missing:
        for call in config.module_calls.values():
            diags.error(
                "Module calls are not supported yet",
                f'relight decodes module "{call.name}" (source "{call.source}") but does not run child '
                "modules yet: move its resources into the root module for now.",
                call.range,
            )


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
    """Compiling and decoding allocate many small objects (nodes, positions, references, model
    values) and none of them become garbage meanwhile; pausing the cycle collector saves the
    passes it would make over them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_files(files: _Files, names: list[str], loader: _Loader, diags: Diagnostics) -> tuple[list[Block], bool]:
    """Every top-level block of the named files that parsed, in order, and whether all did."""
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
    return blocks, ok


_TOP_LEVEL: Final = (
    "resource", "data", "variable", "locals", "output", "provider", "terraform", "moved", "removed",
    "import", "check", "module", "relight",
)  # fmt: skip


class _Loader(ModuleDecoder):
    """Decodes top-level blocks into one module's model, reporting duplicates and misuse."""

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
        self.imports: list[Import] = []
        self.checks: dict[str, Check] = {}
        self.required_providers: dict[str, RequiredProvider] = {}
        self.required_version: list[str] = []
        self.module_calls: dict[str, ModuleCall] = {}
        self.relight: Body | None = None

    def config(self) -> Config:
        return Config(
            directory=self.directory,
            sources=self.sources,
            backend=self.backend,
            variables=self.variables,
            locals=self.locals,
            resources=self.resources,
            outputs=self.outputs,
            providers=self.providers,
            moved=tuple(self.moved),
            removed=tuple(self.removed),
            relight=self.relight,
            imports=tuple(self.imports),
            checks=self.checks,
            required_providers=self.required_providers,
            required_version=tuple(self.required_version),
            module_calls=self.module_calls,
        )

    def load_blocks(self, blocks: list[Block]) -> None:
        handlers = {
            "resource": self._resource,
            "data": self._resource,
            "variable": self._variable,
            "locals": self._locals,
            "output": self._output,
            "provider": self._provider,
            "terraform": self._terraform,
            "moved": lambda b: self._append(self.moved, self.moved_block(b)),
            "removed": lambda b: self._append(self.removed, self.removed_block(b)),
            "import": lambda b: self._append(self.imports, self.import_block(b)),
            "check": self._check,
            "module": self._module,
            "relight": self._relight,
        }
        for block in blocks:
            handler = handlers.get(block.type)
            if handler is None:
                hint = did_you_mean(block.type, _TOP_LEVEL)
                detail = f'Blocks of type "{block.type}" are not expected here.{hint}'
                self.diags.error("Unsupported block type", detail, block.range)
            else:
                handler(block)

    @staticmethod
    def _append(items: list[Any], item: object) -> None:
        if item is not None:
            items.append(item)

    def _duplicate(self, summary: str, detail: str, block: Block) -> None:
        self.diags.error(summary, detail, block.range)

    def _resource(self, block: Block) -> None:
        res = self.resource(block)
        if res is None:
            return
        first = self.resources.get(res.addr)
        if first is not None:
            kind = "data" if res.mode == "data" else "resource"
            self._duplicate(
                f'Duplicate {kind} "{res.type}" configuration',
                f'A {res.type} {kind} named "{res.name}" was already declared at {first.range}. '
                "Resource names must be unique per type in each module.",
                block,
            )
            return
        self.resources[res.addr] = res

    def _variable(self, block: Block) -> None:
        var = self.variable(block)
        if var is None:
            return
        if var.name in self.variables:
            self._duplicate(
                "Duplicate variable declaration",
                f'A variable named "{var.name}" was already declared at {self.variables[var.name].range}. '
                "Variable names must be unique within a module.",
                block,
            )
            return
        self.variables[var.name] = var

    def _locals(self, block: Block) -> None:
        self.check_body(block, block.body.attributes, ())
        for attr in block.body.attributes.values():
            if attr.name in self.locals:
                self.diags.error(
                    "Duplicate local value definition",
                    f'A local value named "{attr.name}" was already defined at {self.locals[attr.name].range}. '
                    "Local value names must be unique within a module.",
                    attr.range,
                )
                continue
            self.locals[attr.name] = Local(attr.name, attr.expr, attr.range)

    def _output(self, block: Block) -> None:
        out = self.output(block)
        if out is None:
            return
        if out.name in self.outputs:
            self._duplicate(
                "Duplicate output definition",
                f'An output named "{out.name}" was already defined at {self.outputs[out.name].range}. '
                "Output names must be unique within a module.",
                block,
            )
            return
        self.outputs[out.name] = out

    def _provider(self, block: Block) -> None:
        prov = self.provider(block)
        if prov is None:
            return
        if prov.key in self.providers:
            self._duplicate(
                "Duplicate provider configuration",
                f'A provider configuration for "{prov.key}" was already given at {self.providers[prov.key].range}. '
                "Each configuration for the same provider must have a distinct alias.",
                block,
            )
            return
        self.providers[prov.key] = prov

    def _terraform(self, block: Block) -> None:
        backends, versions, providers = self.terraform_settings(block)
        self.required_version.extend(versions)
        for backend in backends:
            if self.backend is not None:
                self.diags.error(
                    "Duplicate backend configuration",
                    f"A backend was already configured at {self.backend.range}. A module may have only "
                    "one backend configuration (a cloud block counts as one).",
                    backend.range,
                )
                continue
            self.backend = backend
        for req in providers:
            if req.name in self.required_providers:
                self.diags.error(
                    "Duplicate required provider",
                    f'Provider "{req.name}" was already required at {self.required_providers[req.name].range}.',
                    req.range,
                )
                continue
            self.required_providers[req.name] = req

    def _check(self, block: Block) -> None:
        check = self.check_block(block)
        if check is None:
            return
        if check.name in self.checks:
            self._duplicate(
                "Duplicate check block",
                f'A check block named "{check.name}" was already defined at {self.checks[check.name].range}.',
                block,
            )
            return
        self.checks[check.name] = check

    def _module(self, block: Block) -> None:
        call = self.module_call(block)
        if call is None:
            return
        if call.name in self.module_calls:
            self._duplicate(
                "Duplicate module call",
                f'A module call named "{call.name}" was already defined at {self.module_calls[call.name].range}.',
                block,
            )
            return
        self.module_calls[call.name] = call

    def _relight(self, block: Block) -> None:
        if self.relight is not None:
            self.diags.error("Duplicate relight block", "Only one relight block is allowed.", block.range)
            return
        self.relight = block.body
