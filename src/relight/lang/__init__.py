"""The Terraform language: loading configuration, expressions, types and variable values.

Typical use by the engine::

    config, diags = load_config("infra/", cache=ParseCache.from_env(env), file_policy=policy)
    diags.extend(validate_references(config))
    values, vdiags = collect_variable_values(config, [("var", "n=3")], env, file_policy=policy)
    value, ediags = some_expr.evaluate(Scope(variables=values, file_policy=policy, ...))

``policy`` is :meth:`FilePolicy.unconfined` for a person's own configuration (the CLI) and
:meth:`FilePolicy.confined` to the configuration directory for configuration nobody has
reviewed yet (a pull request run by the server). Nothing in this package reads the
environment: ``env`` is whatever mapping the shell passes in.

User mistakes are always returned as :class:`relight.diagnostics.Diagnostics`, never raised.
"""

from relight.lang._cache import ParseCache
from relight.lang._decode import did_you_mean
from relight.lang._hcl import parse_body, parse_expression
from relight.lang._prim import ConversionError
from relight.lang.body import Attribute, Block, Body
from relight.lang.config import (
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
    load_config,
)
from relight.lang.expr import Expr, Reference, RefKind
from relight.lang.filepolicy import FileAccessDenied, FilePolicy
from relight.lang.functions import default_functions
from relight.lang.scope import Scope
from relight.lang.template import render_template
from relight.lang.types import TypeConstraint, convert, parse_type, to_bool, to_number, to_string
from relight.lang.validate import validate_references
from relight.lang.variables import collect_variable_values
from relight.lang.versions import TERRAFORM_VERSION

__all__ = [
    "NO_DEFAULT",
    "TERRAFORM_VERSION",
    "Attribute",
    "BackendBlock",
    "Block",
    "Body",
    "Check",
    "Condition",
    "Config",
    "ConversionError",
    "Expr",
    "FileAccessDenied",
    "FilePolicy",
    "Import",
    "Lifecycle",
    "Local",
    "ModuleCall",
    "Moved",
    "Output",
    "ParseCache",
    "ProviderBlock",
    "RefKind",
    "Reference",
    "Removed",
    "RequiredProvider",
    "Resource",
    "Scope",
    "TypeConstraint",
    "Validation",
    "Variable",
    "collect_variable_values",
    "convert",
    "default_functions",
    "did_you_mean",
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
