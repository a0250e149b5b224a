"""The Terraform language: loading configuration, expressions, types and variable values.

Typical use by the engine::

    config, diags = load_config("infra/")
    diags.extend(validate_references(config))
    values, vdiags = collect_variable_values(config, [("var", "n=3")], os.environ)
    value, ediags = some_expr.evaluate(Scope(variables=values, ...))

User mistakes are always returned as :class:`relight.diagnostics.Diagnostics`, never raised.
"""

from relight.lang._hcl import parse_body, parse_expression
from relight.lang._prim import ConversionError
from relight.lang.body import Attribute, Block, Body
from relight.lang.config import (
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
    load_config,
)
from relight.lang.expr import Expr, Reference, RefKind, Scope, default_functions
from relight.lang.template import render_template
from relight.lang.types import TypeConstraint, convert, parse_type, to_bool, to_number, to_string
from relight.lang.validate import validate_references
from relight.lang.variables import collect_variable_values

__all__ = [
    "NO_DEFAULT",
    "Attribute",
    "BackendBlock",
    "Block",
    "Body",
    "Config",
    "ConversionError",
    "Expr",
    "Lifecycle",
    "Local",
    "Moved",
    "Output",
    "ProviderBlock",
    "RefKind",
    "Reference",
    "Removed",
    "Resource",
    "Scope",
    "TypeConstraint",
    "Validation",
    "Variable",
    "collect_variable_values",
    "convert",
    "default_functions",
    "load_config",
    "parse_body",
    "parse_expression",
    "parse_type",
    "render_template",
    "to_bool",
    "to_number",
    "to_string",
    "validate_references",
]
