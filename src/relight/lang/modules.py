"""Module calls: the child module of every ``module "x" { source = ... }`` block, loaded into a tree.

A configuration is a tree of modules, as in Terraform: the root module (the run's directory)
and, for each ``module`` block, the child module its ``source`` names, loaded exactly like the
root (the same file reading, parsing, decoding and checks) and then checked against its call.
The result is the root :class:`~relight.lang.model.Config` with ``children`` filled in at every
level (``children["net"]`` is the module called by ``module "net"``, whose ``path`` is
``("net",)``), and ``sources`` holding the files of the whole tree, so every diagnostic can
show its line and a saved plan goes stale when any module's file changes.

Sources:

* a local path (``./modules/net``, ``../shared/dns``) is a directory relative to the calling
  module's directory; diagnostics name its files relative to the root, as Terraform does
  (``modules/net/main.tf:3``);
* anything else (a registry address like ``terraform-aws-modules/vpc/aws``, ``git::...``,
  ``github.com/...``, an archive URL) cannot be fetched here. If ``terraform init`` already
  downloaded it, ``.terraform/modules/modules.json`` names its directory and that copy is used
  (its recorded source and version must still match the call, as Terraform requires); if not,
  the call is an error that says so (``relight init`` may one day vendor such modules).

Checks at the call, each a diagnostic with the line: a missing directory or one with no
configuration files, a source cycle (a module calling itself through any chain of calls), an
argument that is not a variable of the child ("Unsupported argument"), a required variable
given no value ("Missing required argument"), a version constraint on a local source, an
``import`` block in a child module, a ``moved`` block mixing a module and a resource or two
resource types, a child ``backend`` (a warning: the root's backend holds the whole state) or
``relight`` block (an error: heal policy is the root's), and a module with its own provider
configurations called (directly or through an ancestor) with ``count``, ``for_each`` or
``depends_on`` (Terraform's "legacy module" rule).

A call whose child cannot be loaded has no entry in ``children``; the errors say why, so the
configuration is never run with part of it missing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from relight.addrs import InstanceAddr, ModuleAddr
from relight.diagnostics import Diagnostics, SourceRange
from relight.lang._decode import did_you_mean
from relight.lang.filepolicy import FileAccessDenied, FilePolicy
from relight.lang.model import Config, ModuleCall
from relight.lang.versions import parse_constraints, satisfies

__all__ = ["ModuleDirLoader", "is_local_source", "load_children", "module_label", "version_allows"]

ModuleDirLoader = Callable[[str], tuple[Config | None, Diagnostics]]
"""Loads one module directory (its own files only) the way the root is loaded."""

MANIFEST = os.path.join(".terraform", "modules", "modules.json")


def is_local_source(source: str) -> bool:
    """Terraform's rule: only ``./`` and ``../`` prefixes make a local path."""
    return source.startswith(("./", "../", ".\\", "..\\")) or source in (".", "..")


def module_label(path: tuple[str, ...]) -> str:
    """``module.net.module.sub`` for a static path; "the root module" for the root."""
    return ".".join(f"module.{name}" for name in path) if path else "the root module"


def load_children(root: Config, load_dir: ModuleDirLoader, policy: FilePolicy) -> tuple[Config, Diagnostics]:
    """``root`` with the child module of every module call loaded, recursively.

    Never raises for user mistakes: each is a diagnostic at the call (or in the child's files),
    and a child that cannot be loaded is left out of ``children``.
    """
    diags = Diagnostics()
    loader = _TreeLoader(root.directory, load_dir, policy, _read_manifest(root.directory, policy, diags), diags)
    return loader.attach(root, (), (os.path.realpath(root.directory),), None), diags


@dataclass(frozen=True, slots=True)
class _Installed:
    """One entry of Terraform's module manifest."""

    source: str
    version: str | None
    directory: str


def _read_manifest(root_dir: str, policy: FilePolicy, diags: Diagnostics) -> dict[str, _Installed]:
    """``.terraform/modules/modules.json`` by module key (``net``, ``net.sub``); {} when absent."""
    try:
        raw = policy.read_bytes(MANIFEST, root_dir)
    except FileNotFoundError:
        return {}
    except (OSError, FileAccessDenied) as err:
        diags.warning("Module manifest not read", f"{os.path.join(root_dir, MANIFEST)}: {err}.")
        return {}
    try:
        doc = json.loads(raw)
        entries = doc["Modules"]
        out: dict[str, _Installed] = {}
        for entry in entries:
            key, directory = str(entry["Key"]), str(entry["Dir"])
            if key:
                version = entry.get("Version")
                out[key] = _Installed(str(entry.get("Source", "")), str(version) if version else None, directory)
        return out
    except (ValueError, KeyError, TypeError) as err:
        diags.warning(
            "Module manifest not read",
            f"{os.path.join(root_dir, MANIFEST)} is not a module manifest Terraform wrote ({type(err).__name__}: "
            f"{err}); modules it lists are treated as not installed.",
        )
        return {}


class _TreeLoader:
    def __init__(
        self,
        root_dir: str,
        load_dir: ModuleDirLoader,
        policy: FilePolicy,
        manifest: Mapping[str, _Installed],
        diags: Diagnostics,
    ) -> None:
        self.root_dir = root_dir
        self.load_dir = load_dir
        self.policy = policy
        self.manifest = manifest
        self.diags = diags

    def attach(
        self, config: Config, path: tuple[str, ...], ancestors: tuple[str, ...], repeated: SourceRange | None
    ) -> Config:
        """``config`` (the module at ``path``) with its children loaded and its sources merged.

        ``repeated`` is where a call on the way here used count, for_each or depends_on (None
        when none did): modules below it may not configure providers of their own.
        """
        _check_moves(config, self.diags)
        children: dict[str, Config] = {}
        sources = dict(config.sources)
        for name, call in config.module_calls.items():
            child_path = (*path, name)
            child = self._child(call, config, child_path, ancestors, _repetition(call) or repeated)
            if child is None:
                continue
            children[name] = child
            sources.update(child.sources)
        return replace(config, children=children, sources=sources, path=path)

    def _child(
        self,
        call: ModuleCall,
        parent: Config,
        path: tuple[str, ...],
        ancestors: tuple[str, ...],
        repeated: SourceRange | None,
    ) -> Config | None:
        directory = self._directory(call, parent, path)
        if directory is None:
            return None
        real = os.path.realpath(directory)
        if real in ancestors:
            self.diags.error(
                "Module source cycle",
                f'Module "{call.name}" (source "{call.source}") names {directory}, the directory of a module on '
                f"the way to {module_label(path)} (the root or one of the modules calling it): loading it would "
                "never end. A module cannot call itself, directly or through other modules.",
                call.range,
            )
            return None
        if not os.path.isdir(directory):
            self.diags.error(
                "Unreadable module directory",
                f'The module "{call.name}" has source "{call.source}", but {directory} is not a directory. '
                "Check the path: a local source is relative to the directory of the module that calls it.",
                call.range,
            )
            return None
        child, found = self.load_dir(directory)
        self.diags.extend(found)
        if child is None:
            return None
        if not child.sources and not found.has_errors:
            self.diags.error(
                "Module has no configuration files",
                f'The module "{call.name}" has source "{call.source}", but {directory} holds no .tf files.',
                call.range,
            )
            return None
        self._check_child(call, child, path, repeated)
        return self.attach(child, path, (*ancestors, real), repeated)

    # -- where a source lives --------------------------------------------------------------

    def _directory(self, call: ModuleCall, parent: Config, path: tuple[str, ...]) -> str | None:
        if is_local_source(call.source):
            if call.version is not None:
                self.diags.error(
                    "Invalid version argument",
                    f'Module "{call.name}" has a local source ("{call.source}"): a version constraint applies only '
                    "to modules from a module registry. Remove the version argument.",
                    call.range,
                )
            return os.path.normpath(os.path.join(parent.directory, call.source))
        installed = self.manifest.get(".".join(path))
        if installed is None:
            self.diags.error(
                "Module not installed",
                f'Module "{call.name}" has source "{call.source}", which relight cannot download: only local '
                'paths (starting with "./" or "../") are loaded directly. Run "terraform init" to download it '
                "into .terraform/modules (relight uses the copy .terraform/modules/modules.json names), or copy "
                'the module into this repository and call it with a local path like "./modules/'
                f'{call.name}".',
                call.range,
            )
            return None
        if _normal_source(installed.source) != _normal_source(call.source):
            self.diags.error(
                "Module source has changed",
                f'Module "{call.name}" now has source "{call.source}", but the copy in .terraform/modules was '
                f'installed from "{installed.source}". Run "terraform init" to install the module again.',
                call.range,
            )
            return None
        if call.version is not None and not version_allows(call.version, installed.version):
            self.diags.error(
                "Module version requirements have changed",
                f'Module "{call.name}" requires version "{call.version}", but the copy in .terraform/modules is '
                f'version {installed.version or "(unknown)"}. Run "terraform init -upgrade" to install a matching '
                "version.",
                call.range,
            )
            return None
        return os.path.normpath(os.path.join(self.root_dir, installed.directory))

    # -- the child against its call --------------------------------------------------------

    def _check_child(
        self, call: ModuleCall, child: Config, path: tuple[str, ...], repeated: SourceRange | None
    ) -> None:
        label = module_label(path)
        for attr in call.inputs.attributes.values():
            if attr.name not in child.variables:
                self.diags.error(
                    "Unsupported argument",
                    f'An argument named "{attr.name}" is not expected here: {label} declares no variable '
                    f'"{attr.name}".{did_you_mean(attr.name, child.variables)}',
                    attr.range,
                )
        for name, var in child.variables.items():
            if var.required and name not in call.inputs.attributes:
                self.diags.error(
                    "Missing required argument",
                    f'The argument "{name}" is required, but no definition was found: {label} declares variable '
                    f'"{name}" at {var.range} with no default.',
                    call.range,
                )
        if child.backend is not None:
            self.diags.warning(
                "Backend configuration ignored",
                f"Any selected backend applies to the entire configuration, so relight expects backend "
                f"configuration only in the root module. This backend block in {label} is ignored: the state of "
                "the whole configuration goes where the root module's backend says.",
                child.backend.range,
            )
        for imp in child.imports:
            self.diags.error(
                "Import block in a child module",
                f"Import blocks are only allowed in the root module, as in Terraform. Move it from {label} to the "
                f"root module, with the target's module address (to = {label}.{imp.to}).",
                imp.range,
            )
        if child.relight is not None:
            self.diags.error(
                "relight block in a child module",
                f"The heal policy applies to the whole configuration, so a relight block is allowed only in the "
                f"root module. Move it from {label} to the root module.",
                child.relight.range,
            )
        configured = [p for p in child.providers.values() if p.body.attributes or p.body.blocks]
        if configured and repeated is not None:
            self.diags.error(
                "Module is incompatible with count, for_each, and depends_on",
                f"The module at {label} is a legacy module which contains its own local provider configurations, "
                "and so calls to it may not use the count, for_each, or depends_on arguments.\n\nIf you also "
                f'control the module "{call.source}", consider updating this module to instead expect provider '
                "configurations to be passed by its caller.",
                repeated,
            )


def _check_moves(config: Config, diags: Diagnostics) -> None:
    """A ``moved`` block moves a module to a module, or a resource to a resource of its type."""
    for mv in config.moved:
        src, dst = mv.from_, mv.to
        if isinstance(src, ModuleAddr) != isinstance(dst, ModuleAddr):
            diags.error(
                'Invalid "moved" addresses',
                f"Cannot move {src} to {dst}: a module call or instance can move only to another module call or "
                "instance, and a resource only to another resource.",
                mv.range,
            )
            continue
        if isinstance(src, ModuleAddr) or isinstance(dst, ModuleAddr):
            continue
        a = src.resource if isinstance(src, InstanceAddr) else src
        b = dst.resource if isinstance(dst, InstanceAddr) else dst
        if (a.mode, a.type) != (b.mode, b.type):
            diags.error(
                "Resource type mismatch",
                f"This statement declares a move from {src} to {dst}, which is a resource of a different type.",
                mv.range,
            )


def _repetition(call: ModuleCall) -> SourceRange | None:
    """Where ``call`` uses count, for_each or depends_on, if it does."""
    if call.count is not None:
        return call.count.range
    if call.for_each is not None:
        return call.for_each.range
    return call.depends_on[0].range if call.depends_on else None


def _normal_source(source: str) -> str:
    """Registry addresses without the default host, as Terraform records them."""
    for host in ("registry.terraform.io/", "registry.opentofu.org/"):
        if source.startswith(host):
            return source[len(host) :]
    return source


def version_allows(constraints: str, version: str | None) -> bool:
    """Whether an installed module ``version`` meets a call's ``version`` constraints (Terraform's
    syntax, :mod:`relight.lang.versions`); an unknown or unreadable version meets none."""
    wanted = parse_constraints(constraints)
    have = parse_constraints(version) if version else None
    if wanted is None or have is None or len(have) != 1 or have[0].op != "=":
        return False
    return satisfies(wanted, have[0].version)
