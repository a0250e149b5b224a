"""Decoding the module-level blocks: ``variable``, ``output``, ``provider``, ``terraform``,
``check`` and ``module``.

``terraform { required_version }`` is checked here, against the Terraform language version
relight implements (:data:`relight.lang.versions.TERRAFORM_VERSION`): a configuration that
needs another version is an error naming both. ``required_providers`` entries are decoded
(source, version constraint) for the engine, which knows which providers exist.
"""

from __future__ import annotations

from typing import Final

from relight.lang._decode import Decoder
from relight.lang._decode_resources import ResourceDecoder
from relight.lang._prim import ConversionError
from relight.lang.body import Attribute, Block
from relight.lang.expr import Expr, GetAttr, Literal, ObjectCons, Symbol
from relight.lang.model import (
    NO_DEFAULT,
    BackendBlock,
    Check,
    ModuleCall,
    Output,
    ProviderBlock,
    RequiredProvider,
    Variable,
)
from relight.lang.scope import Scope
from relight.lang.types import TypeConstraint, convert, parse_type
from relight.lang.versions import TERRAFORM_VERSION, parse_constraints, satisfies
from relight.values import Value

__all__ = ["ModuleDecoder"]

_VARIABLE: Final = ("type", "default", "description", "sensitive", "nullable", "ephemeral")
_OUTPUT: Final = ("value", "description", "sensitive", "depends_on", "ephemeral")
_TERRAFORM_ATTRS: Final = ("required_version", "experiments")
_TERRAFORM_BLOCKS: Final = ("backend", "cloud", "required_providers", "provider_meta")
_MODULE_META: Final = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})
_BAD_CONSTRAINT = "This string does not use correct version constraint syntax."


class ModuleDecoder(ResourceDecoder, Decoder):
    """Mixin for the loader: module-level blocks into model values (None when unusable)."""

    def variable(self, block: Block) -> Variable | None:
        if not self.labels(block, 1, "the variable name"):
            return None
        self.check_body(block, _VARIABLE, ("validation",))
        attrs = block.body.attributes
        type_: TypeConstraint | None = None
        if "type" in attrs:
            type_, tdiags = parse_type(attrs["type"].expr)
            self.diags.extend(tdiags)
        nullable = self.flag(attrs.get("nullable"), True)
        default: Value = NO_DEFAULT
        if "default" in attrs:
            default = self._default(attrs["default"], type_, nullable)
        return Variable(
            name=block.labels[0],
            type=type_,
            default=default,
            description=self.text(attrs.get("description")),
            sensitive=self.flag(attrs.get("sensitive"), False),
            nullable=nullable,
            validations=self.conditions(block.body.blocks_of("validation")),
            range=block.range,
            ephemeral=self.flag(attrs.get("ephemeral"), False),
        )

    def _default(self, attr: Attribute, type_: TypeConstraint | None, nullable: bool) -> Value:
        default = self.literal(attr)
        if default is None and not nullable:
            self.diags.error(
                "Invalid default value for variable",
                "A null default value is not valid when nullable=false.",
                attr.range,
            )
            return NO_DEFAULT
        try:
            return convert(default, type_)
        except ConversionError as err:
            self.diags.error(
                "Invalid default value for variable",
                f"This default value is not compatible with the variable's type constraint: {err}.",
                attr.range,
            )
            return default

    def output(self, block: Block) -> Output | None:
        if not self.labels(block, 1, "the output name"):
            return None
        self.check_body(block, _OUTPUT, ("precondition",))
        attrs = block.body.attributes
        if "value" not in attrs:
            self.diags.error(
                "Missing required argument",
                'The argument "value" is required, but no definition was found.',
                block.range,
            )
            return None
        return Output(
            name=block.labels[0],
            expr=attrs["value"].expr,
            sensitive=self.flag(attrs.get("sensitive"), False),
            description=self.text(attrs.get("description")),
            depends_on=self.depends_on(attrs.get("depends_on")),
            range=block.range,
            preconditions=self.conditions(block.body.blocks_of("precondition")),
            ephemeral=self.flag(attrs.get("ephemeral"), False),
        )

    def provider(self, block: Block) -> ProviderBlock | None:
        if not self.labels(block, 1, "the provider name"):
            return None
        attrs = block.body.attributes
        alias_value = self.literal(attrs.get("alias"))
        alias = alias_value if isinstance(alias_value, str) and alias_value else None
        if "version" in attrs:
            self.diags.warning(
                "Version constraints inside provider configuration blocks are deprecated",
                "relight ignores this constraint, as Terraform 0.13 and later do for checking: "
                "move it into a required_providers block in the terraform block.",
                attrs["version"].range,
            )
        body = block.body.without(frozenset({"alias", "version"}), frozenset())
        return ProviderBlock(block.labels[0], alias, body, block.range)

    # terraform { ... }

    def terraform_settings(self, block: Block) -> tuple[list[BackendBlock], list[str], list[RequiredProvider]]:
        """(backends, required_version constraints, required providers) of one terraform block."""
        self.check_body(block, _TERRAFORM_ATTRS, _TERRAFORM_BLOCKS)
        attrs = block.body.attributes
        if "experiments" in attrs:
            self.diags.error(
                "Experiments are not supported",
                "relight implements the stable Terraform language only; remove the experiments argument.",
                attrs["experiments"].range,
            )
        for meta in block.body.blocks_of("provider_meta"):
            self.diags.error(
                "Unsupported block type",
                "provider_meta blocks are not supported: relight's providers take no module metadata.",
                meta.range,
            )
        versions = self._required_version(attrs.get("required_version"))
        backends = [b for b in map(self._backend, block.body.blocks_of("backend") + block.body.blocks_of("cloud")) if b]
        providers: list[RequiredProvider] = []
        for req in block.body.blocks_of("required_providers"):
            self.check_body(req, req.body.attributes)
            providers.extend(p for p in map(self._required_provider, req.body.attributes.values()) if p)
        return backends, versions, providers

    def _required_version(self, attr: Attribute | None) -> list[str]:
        if attr is None:
            return []
        text = self.literal(attr)
        constraints = parse_constraints(text) if isinstance(text, str) else None
        if constraints is None:
            self.diags.error("Invalid required_version constraint", _BAD_CONSTRAINT, attr.range)
            return []
        if not satisfies(constraints, TERRAFORM_VERSION):
            self.diags.error(
                "Unsupported Terraform Core version",
                f'This configuration requires Terraform "{text}", but relight implements the '
                f"language of Terraform {TERRAFORM_VERSION}. To proceed, run it with Terraform "
                "itself or update the version constraint.",
                attr.range,
            )
        return [str(text)]

    def _backend(self, block: Block) -> BackendBlock | None:
        if block.type == "cloud":
            kind = "cloud"
        elif self.labels(block, 1, "the backend type"):
            kind = block.labels[0]
        else:
            return None
        if block.body.references():
            self.diags.error(
                "Variables not allowed",
                "Variables may not be used here: backend settings must be literal values.",
                block.range,
            )
            return None
        settings, diags = block.body.evaluate(Scope())
        self.diags.extend(diags)
        return BackendBlock(kind, settings, block.range)

    def _required_provider(self, attr: Attribute) -> RequiredProvider | None:
        source: str | None = f"hashicorp/{attr.name}"
        version: str | None = None
        expr = attr.expr
        if isinstance(expr, ObjectCons):
            fields = {k.value: v for k, v in expr.items if isinstance(k, Literal)}
            for name in fields:
                if name not in ("source", "version", "configuration_aliases"):
                    self.diags.error(
                        "Invalid required_providers object",
                        f'required_providers objects can only contain "version", "source" and '
                        f'"configuration_aliases" attributes, not "{name}".',
                        attr.range,
                    )
            source = self._literal_string(fields.get("source"), source, attr)
            version = self._literal_string(fields.get("version"), None, attr)
        else:  # the 0.12 form: aws = "~> 5.0"
            version = self._literal_string(expr, None, attr)
        if version is not None and parse_constraints(version) is None:
            self.diags.error("Invalid version constraint", _BAD_CONSTRAINT, attr.range)
            version = None
        return RequiredProvider(attr.name, _normal_source(source or attr.name), version, attr.range)

    def _literal_string(self, expr: Expr | None, default: str | None, attr: Attribute) -> str | None:
        if expr is None:
            return default
        value, diags = expr.evaluate(Scope())
        if diags.has_errors or expr.references() or not isinstance(value, str):
            self.diags.error(
                "Invalid required_providers entry", "Sources and versions must be literal strings.", attr.range
            )
            return default
        return value

    # check and module blocks

    def check_block(self, block: Block) -> Check | None:
        if not self.labels(block, 1, "the check name"):
            return None
        self.check_body(block, (), ("data", "assert"))
        scoped = block.body.blocks_of("data")
        for extra in scoped[1:]:
            self.diags.error(
                "Multiple data resource blocks",
                "A check block may contain only one nested data block.",
                extra.range,
            )
        data = tuple(r for r in (self.resource(d) for d in scoped[:1]) if r is not None)
        asserts = self.conditions(block.body.blocks_of("assert"))
        if not block.body.blocks_of("assert"):
            self.diags.error(
                "Missing required block", "A check block must contain at least one assert block.", block.range
            )
        return Check(block.labels[0], data, asserts, block.range)

    def module_call(self, block: Block) -> ModuleCall | None:
        if not self.labels(block, 1, "the module name"):
            return None
        self.check_body(block, block.body.attributes, ())
        attrs = block.body.attributes
        if "source" not in attrs:
            self.diags.error(
                "Missing required argument",
                'The argument "source" is required, but no definition was found.',
                block.range,
            )
            return None
        if "count" in attrs and "for_each" in attrs:
            self.diags.error(
                'Invalid combination of "count" and "for_each"',
                'The "count" and "for_each" meta-arguments are mutually-exclusive, only one should be used to be '
                "explicit about the number of module instances to be created.",
                attrs["for_each"].range,
            )
        return ModuleCall(
            name=block.labels[0],
            source=self.text(attrs["source"]),
            version=self.text(attrs["version"]) if "version" in attrs else None,
            count=attrs["count"].expr if "count" in attrs else None,
            for_each=attrs["for_each"].expr if "for_each" in attrs else None,
            providers=self._provider_map(attrs.get("providers")),
            depends_on=self.depends_on(attrs.get("depends_on")),
            inputs=block.body.without(_MODULE_META, frozenset()),
            range=block.range,
        )

    def _provider_map(self, attr: Attribute | None) -> dict[str, str]:
        if attr is None:
            return {}
        if not isinstance(attr.expr, ObjectCons):
            self.diags.error(
                "Invalid providers argument", "providers must be a map of provider configurations.", attr.range
            )
            return {}
        out: dict[str, str] = {}
        for key, value in attr.expr.items:
            child, parent = _provider_name(key), _provider_name(value)
            if child is None or parent is None:
                self.diags.error(
                    "Invalid provider configuration reference",
                    "Each providers entry maps a provider name (optionally with an alias) to one, like aws = aws.west.",
                    key.range,
                )
                continue
            out[child] = parent
        return out


def _provider_name(expr: Expr) -> str | None:
    if isinstance(expr, Literal) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, Symbol):
        return expr.name
    if isinstance(expr, GetAttr) and isinstance(expr.obj, Symbol):
        return f"{expr.obj.name}.{expr.name}"
    return None


def _normal_source(source: str) -> str:
    """``registry.terraform.io/hashicorp/aws`` and ``hashicorp/aws`` are the same provider."""
    parts = source.lower().split("/")
    if len(parts) == 3 and parts[0] in ("registry.terraform.io", "registry.opentofu.org"):
        parts = parts[1:]
    if len(parts) == 1:
        parts = ["hashicorp", *parts]
    return "/".join(parts)
