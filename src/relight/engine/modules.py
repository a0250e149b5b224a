"""The engine's view of a configuration's module tree: every module by static path, and the
provider configuration each resource uses.

The language loads the tree (:mod:`relight.lang.modules`): the root :class:`Config` with the
child module of every call in ``children``. The engine walks it once into a
:class:`ModuleTree` so that planning and applying look things up by address in constant time:

* ``tree.modules[("net",)]`` is the module ``module "net"`` calls: its configuration, its call,
  its ``path.module``;
* ``tree.resource(addr)`` is the configuration block of an absolute resource address, in
  whatever module instance (``module.net[1].aws_subnet.a`` -> the ``aws_subnet.a`` block of
  ``("net",)``);
* ``tree.provider_key(path, res)`` is the provider configuration a resource uses, as one key
  across the tree: ``aws`` and ``aws.west`` for the root's configurations (a default
  configuration without a block is still ``aws``), ``module.net.aws`` for a provider block in a
  child module (a legacy module, allowed only when no call on its way uses count, for_each or
  depends_on, which the loader checks).

Provider resolution follows Terraform: a module's own provider block wins; else the call's
``providers = { aws = aws.west }`` map names the parent's configuration to use; else a default
(unaliased) configuration is inherited from the parent. An aliased configuration is never
inherited: a resource using one that its module neither declares nor is passed is an error at
the resource (Terraform: "Provider configuration not present"), as is a ``providers`` entry
naming an aliased configuration the parent does not have.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from relight.addrs import ModulePath, ResourceAddr, module_path
from relight.diagnostics import Diagnostics, SourceRange
from relight.lang import Config, ModuleCall, ProviderBlock, Resource
from relight.lang.modules import module_label

__all__ = ["ModuleInfo", "ModuleTree", "provider_name"]


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """One module of the tree. ``call`` is None for the root; ``prefix`` starts its provider keys."""

    path: ModulePath
    config: Config
    call: ModuleCall | None

    @property
    def prefix(self) -> str:
        return "".join(f"module.{name}." for name in self.path)

    @property
    def path_module(self) -> str:
        """``path.module``: the module's directory (the root's as the run names it)."""
        return self.config.directory


def provider_name(key: str) -> str:
    """The provider type name of a configuration key: ``aws`` for ``module.net.aws.west``."""
    while key.startswith("module."):
        parts = key.split(".", 2)
        key = parts[2] if len(parts) == 3 else ""
    return key.split(".", 1)[0]


class ModuleTree:
    """Every module of a configuration by static path, and provider resolution across them."""

    def __init__(self, root: Config) -> None:
        self.root = root
        self.modules: dict[ModulePath, ModuleInfo] = {}
        self.diagnostics = Diagnostics()
        self._provider_keys: dict[tuple[ModulePath, str], str | None] = {}
        self._walk(root, (), None)

    def _walk(self, config: Config, path: ModulePath, call: ModuleCall | None) -> None:
        self.modules[path] = ModuleInfo(path, config, call)
        for name, child in config.children.items():
            self._walk(child, (*path, name), config.module_calls[name])

    # -- lookups ----------------------------------------------------------------------------

    def resource(self, addr: ResourceAddr) -> Resource | None:
        """The configuration block of ``addr`` (any module instance), or None."""
        if not addr.module:
            return self.root.resources.get(addr)
        info = self.modules.get(module_path(addr.module))
        return info.config.resources.get(addr.relative()) if info is not None else None

    def resources(self) -> Iterator[tuple[ModuleInfo, Resource]]:
        """Every resource block of the tree with its module."""
        for info in self.modules.values():
            for res in info.config.resources.values():
                yield info, res

    def providers(self) -> Iterator[tuple[str, ProviderBlock, ModuleInfo]]:
        """Every provider block of the tree, by its key across the tree."""
        for info in self.modules.values():
            for key, block in info.config.providers.items():
                yield info.prefix + key, block, info

    # -- providers --------------------------------------------------------------------------

    def provider_key(self, path: ModulePath, res: Resource) -> str:
        """The tree-wide key of the provider configuration ``res`` (in module ``path``) uses.

        When none can be found an error is recorded in :attr:`diagnostics` (once) and the
        resource's own local key is returned, so planning goes on and reports it.
        """
        if not path:
            return res.provider_key
        key = self._resolve(path, res.provider_key, res.range)
        return key if key is not None else res.provider_key

    def _resolve(self, path: ModulePath, local: str, where: SourceRange | None) -> str | None:
        memo = (path, local)
        if memo in self._provider_keys:
            return self._provider_keys[memo]
        info = self.modules[path]
        found: str | None
        if local in info.config.providers or not path:
            found = info.prefix + local
        elif info.call is not None and local in info.call.providers:
            parent = info.call.providers[local]
            found = self._passed(path[:-1], parent, info.call)
        elif "." not in local:
            found = self._resolve(path[:-1], local, where)
        else:
            found = None
            self.diagnostics.error(
                "Provider configuration not present",
                f"{module_label(path)} uses the provider configuration {local}, which is an alias: aliased "
                f'configurations are not inherited. Pass one in the module "{path[-1]}" block, like '
                f"providers = {{ {local} = {local} }}, or declare it in the module.",
                where,
            )
        self._provider_keys[memo] = found
        return found

    def _passed(self, parent: ModulePath, name: str, call: ModuleCall) -> str | None:
        """The key of ``name`` as the parent module sees it (a ``providers`` map value)."""
        info = self.modules[parent]
        if "." in name and name not in info.config.providers:
            passed_in = info.call is not None and name in info.call.providers
            if not passed_in:
                self.diagnostics.error(
                    "Reference to undefined provider",
                    f'The providers argument of module "{call.name}" passes {name}, but {module_label(parent)} has '
                    f'no provider "{name.split(".", 1)[0]}" block with alias "{name.split(".", 1)[1]}" and was not '
                    "given one.",
                    call.range,
                )
                return None
        return self._resolve(parent, name, call.range)
