"""Input variable values from defaults, the environment, tfvars files and the command line.

Precedence, lowest first (as in Terraform): declared defaults, ``TF_VAR_name`` environment
variables, ``terraform.tfvars``, ``terraform.tfvars.json``, ``*.auto.tfvars(.json)`` in lexical
order, then ``-var``/``-var-file`` in command-line order. Raw text (``-var``, ``TF_VAR_``) is a
literal string for ``string``-typed and untyped variables and an HCL expression otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from relight.diagnostics import Diagnostics, SourceRange
from relight.lang._hcl import parse_body, parse_expression
from relight.lang._json import parse_json_vars
from relight.lang._prim import ConversionError
from relight.lang.config import Config, Variable
from relight.lang.filepolicy import FileAccessDenied, FilePolicy
from relight.lang.scope import Scope
from relight.lang.types import convert
from relight.values import UNKNOWN, Value

__all__ = ["collect_variable_values"]


@dataclass(frozen=True, slots=True)
class _Given:
    value: Value
    range: SourceRange | None
    source: str


def collect_variable_values(
    config: Config,
    cli_args: Sequence[tuple[str, str]],
    env: Mapping[str, str],
    *,
    file_policy: FilePolicy | None = None,
) -> tuple[dict[str, Value], Diagnostics]:
    """Final values of every declared variable, converted to its type and validated.

    ``cli_args`` holds ``("var", "name=value")`` and ``("var-file", "path")`` in command-line
    order. Variables whose value is missing or invalid are left out and reported as errors.
    ``file_policy`` (None: unconfined) governs the files the configuration brings: the
    auto-loaded ``*.tfvars`` files of its directory and the file functions of validation rules;
    ``-var-file`` paths come from the caller and are read as given.
    """
    policy = file_policy or FilePolicy.unconfined()
    diags = Diagnostics()
    given: dict[str, _Given] = {}
    for name, decl in config.variables.items():
        raw = env.get(f"TF_VAR_{name}")
        if raw is not None:
            _raw(decl, raw, "environment", given, diags)
    for path in _auto_files(config.directory):
        _load_file(config, path, given, diags, policy)
    for kind, arg in cli_args:
        if kind == "var-file":
            _load_file(config, arg, given, diags)
        else:
            _cli_var(config, arg, given, diags)
    values: dict[str, Value] = {}
    for name, decl in config.variables.items():
        value = _finalize(decl, given.get(name), diags)
        if value is not _MISSING:
            values[name] = value
    for name, decl in config.variables.items():
        if name in values:
            _validate(decl, Scope(variables=values, file_policy=policy), given.get(name), diags)
    return values, diags


_MISSING = object()


def _auto_files(directory: str) -> list[str]:
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    out: list[str] = [n for n in ("terraform.tfvars", "terraform.tfvars.json") if n in names]
    out += sorted(n for n in names if n.endswith((".auto.tfvars", ".auto.tfvars.json")))
    return [os.path.normpath(os.path.join(directory, n)) for n in out]


def _raw(decl: Variable, raw: str, source: str, given: dict[str, _Given], diags: Diagnostics) -> None:
    if decl.parse_literally:
        given[decl.name] = _Given(raw, None, source)
        return
    filename = f"<value for var.{decl.name}>"
    expr, pdiags = parse_expression(raw, filename, names_as_symbols=True)
    diags.extend(pdiags)
    if expr is None:
        return
    value, ediags = expr.evaluate(Scope())
    for diag in ediags:
        if diag.summary == "Unknown variable":  # a free name: Terraform's wording for constants
            diags.error("Variables not allowed", "Variables may not be used here.", diag.subject)
        else:
            diags.append(diag)
    if not ediags.has_errors:
        given[decl.name] = _Given(value, None, source)


def _cli_var(config: Config, arg: str, given: dict[str, _Given], diags: Diagnostics) -> None:
    name, sep, raw = arg.partition("=")
    name = name.strip()
    if not sep or not name:
        diags.error(
            "Invalid -var option",
            f'The given -var option "{arg}" is not correctly specified. Must be a variable name '
            'and value separated by an equals sign, like -var="key=value".',
        )
        return
    decl = config.variables.get(name)
    if decl is None:
        diags.error(
            "Value for undeclared variable",
            f'A variable named "{name}" was assigned on the command line, but the root module '
            'does not declare a variable of that name. To use this value, add a "variable" '
            "block to the configuration.",
        )
        return
    _raw(decl, raw, "command line", given, diags)


def _load_file(
    config: Config, path: str, given: dict[str, _Given], diags: Diagnostics, policy: FilePolicy | None = None
) -> None:
    try:
        text = (policy or FilePolicy.unconfined()).read_bytes(path, ".").decode("utf-8")
    except FileAccessDenied as err:
        diags.error("Variables file refused", f"{path}: {err}.")
        return
    except (OSError, UnicodeDecodeError) as err:
        diags.error(
            "Failed to read variables file",
            f"Given variables file {path} could not be read: {err}.",
        )
        return
    body, pdiags = parse_json_vars(text, path) if path.endswith(".json") else parse_body(text, path)
    diags.extend(pdiags)
    if body is None:
        return
    for block in body.blocks:
        diags.error("Unexpected block", "Blocks are not allowed in variables files.", block.range)
    for attr in body.attributes.values():
        if attr.name not in config.variables:
            _undeclared(attr.name, path, attr.range, diags)
            continue
        if attr.expr.references():
            diags.error("Variables not allowed", "Variables may not be used here.", attr.range)
            continue
        value, ediags = attr.expr.evaluate(Scope())
        diags.extend(ediags)
        if not ediags.has_errors:
            given[attr.name] = _Given(value, attr.expr.range, path)


def _undeclared(name: str, path: str, rng: SourceRange, diags: Diagnostics) -> None:
    diags.warning(
        "Value for undeclared variable",
        f'The root module does not declare a variable named "{name}" but a value was found in '
        f'file "{path}". If you meant to use this value, add a "variable" block to the '
        "configuration.",
        rng,
    )


def _finalize(decl: Variable, given: _Given | None, diags: Diagnostics) -> Value:
    if given is None:
        if decl.required:
            diags.error(
                "No value for required variable",
                f'The root module input variable "{decl.name}" is not set, and has no default '
                "value. Use a -var or -var-file command line argument or set a "
                f"TF_VAR_{decl.name} environment variable to provide a value for this variable.",
                decl.range,
            )
            return _MISSING
        return decl.default
    subject = given.range or decl.range
    if given.value is None and not decl.nullable:
        diags.error(
            "Required variable not set",
            f"Unsuitable value for var.{decl.name} set from the {given.source}: required "
            "variable may not be set to null.",
            subject,
        )
        return _MISSING
    try:
        return convert(given.value, decl.type)
    except ConversionError as err:
        diags.error(
            "Invalid value for input variable",
            f"The given value is not suitable for var.{decl.name} declared at {decl.range}: {err}.",
            subject,
        )
        return _MISSING


def _validate(decl: Variable, scope: Scope, given: _Given | None, diags: Diagnostics) -> None:
    for rule in decl.validations:
        ok, cdiags = rule.condition.evaluate(scope)
        diags.extend(cdiags)
        if cdiags.has_errors or ok is UNKNOWN or ok is True:
            continue
        if ok is not False:
            diags.error(
                "Invalid validation result",
                "The condition must be true or false.",
                rule.condition.range,
            )
            continue
        message, mdiags = rule.error_message.evaluate(scope)
        diags.extend(mdiags)
        text = message if isinstance(message, str) else "Invalid value."
        diags.error(
            "Invalid value for variable",
            f"{text}\n\nThis was checked by the validation rule at {rule.range}.",
            given.range if given is not None and given.range is not None else decl.range,
        )
