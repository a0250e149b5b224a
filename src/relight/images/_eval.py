"""Evaluating a Packer template's expressions: variables, locals, Packer's names and functions.

Variables are declared as Terraform declares them, so their values are collected by the
language engine's own :func:`relight.lang.collect_variable_values` (types, ``-var`` parsing,
var files, validation rules) over a configuration holding only those declarations; Packer's
``PKR_VAR_name`` environment variables stand where Terraform reads ``TF_VAR_name``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from relight.addrs import ResourceAddr
from relight.diagnostics import Diagnostics
from relight.lang import (
    NO_DEFAULT,
    Block,
    Condition,
    Config,
    Expr,
    FilePolicy,
    Scope,
    Variable,
    collect_variable_values,
    parse_type,
)
from relight.lang.funcbase import FuncContext, FunctionError, FunctionSpec
from relight.lang.functions import FUNCTIONS
from relight.values import Value

__all__ = ["PACKER_FUNCTIONS", "PackerScope", "decode_variables", "evaluate_locals"]

_VARIABLE_ARGS = frozenset({"type", "default", "description", "sensitive", "nullable"})


PACKER_VERSION = "1.11.2"  # the Packer language relight reads (``packer.version``)


@dataclass(frozen=True)
class PackerScope:
    """What a template's expressions see: variables, locals, ``path.root`` and, inside a source
    or build, ``source.name``/``source.type``/``build.name``; ``packer.version``."""

    variables: Mapping[str, Value]
    locals: Mapping[str, Value]
    root: str
    files: FilePolicy
    names: Mapping[str, Mapping[str, Value]] | None = None

    def for_source(self, kind: str, name: str, build_name: str = "") -> PackerScope:
        names = {
            "source": {"name": name, "type": kind},
            "build": {"name": build_name},
            "packer": {"version": PACKER_VERSION},
        }
        return PackerScope(self.variables, self.locals, self.root, self.files, names)

    def scope(self) -> Scope:
        names = self.names or {}

        def resource(addr: ResourceAddr) -> Value:
            group = names.get(addr.type)
            if group is None or addr.name not in group:
                raise KeyError(addr)
            return group[addr.name]

        return Scope(
            variables=self.variables,
            locals=self.locals,
            resource=resource,
            path_module=self.root,
            path_root=self.root,
            path_cwd=self.root,
            functions=PACKER_FUNCTIONS,
            file_policy=self.files,
        )


def decode_variables(
    blocks: Sequence[Block], cli_vars: Sequence[tuple[str, str]], env: Mapping[str, str], policy: FilePolicy
) -> tuple[dict[str, Value], set[str], Diagnostics]:
    """The value of every ``variable`` block (see the module docstring) and the sensitive names."""
    diags = Diagnostics()
    declared: dict[str, Variable] = {}
    for block in blocks:
        if block.type != "variable":
            continue
        if len(block.labels) != 1:
            diags.error("Invalid variable block", "A variable block needs one label: its name.", block.range)
            continue
        decl = _variable(block, diags)
        if decl is None:
            continue
        if decl.name in declared:
            diags.error("Duplicate variable", f'The variable "{decl.name}" is declared twice.', block.range)
            continue
        declared[decl.name] = decl
    if diags.has_errors:
        return {}, set(), diags
    config = Config(directory="", variables=declared)
    tf_env = {f"TF_VAR_{k[len('PKR_VAR_') :]}": v for k, v in env.items() if k.startswith("PKR_VAR_")}
    values, found = collect_variable_values(config, list(cli_vars), tf_env, file_policy=policy)
    diags.extend(found)
    return values, {n for n, d in declared.items() if d.sensitive}, diags


def _variable(block: Block, diags: Diagnostics) -> Variable | None:
    body = block.body
    name = block.labels[0]
    for attr in body.attributes.values():
        if attr.name not in _VARIABLE_ARGS:
            diags.error(
                "Unsupported argument",
                f'An argument named "{attr.name}" is not expected in a variable block.',
                attr.range,
            )
    for nested in body.blocks:
        if nested.type != "validation":
            diags.error(
                "Unsupported block type",
                f'Blocks of type "{nested.type}" are not expected in a variable block.',
                nested.range,
            )
    type_ = None
    if "type" in body.attributes:
        type_, d = parse_type(body.attributes["type"].expr)
        diags.extend(d)
    default: Value = NO_DEFAULT
    if "default" in body.attributes:
        default = _constant(body.attributes["default"].expr, diags)
    description = _constant(body.attributes["description"].expr, diags) if "description" in body.attributes else ""
    sensitive = _constant(body.attributes["sensitive"].expr, diags) if "sensitive" in body.attributes else False
    validations = []
    for nested in body.blocks_of("validation"):
        cond, msg = nested.body.attributes.get("condition"), nested.body.attributes.get("error_message")
        if cond is None or msg is None:
            diags.error(
                "Invalid validation block", "A validation block needs condition and error_message.", nested.range
            )
            continue
        validations.append(Condition(cond.expr, msg.expr, nested.range))
    return Variable(
        name, type_, default, str(description or ""), sensitive is True, True, tuple(validations), block.range
    )


def _constant(expr: Expr, diags: Diagnostics) -> Value:
    if expr.references():
        diags.error("Variables not allowed", "Variables may not be used here.", expr.range)
        return None
    value, d = expr.evaluate(Scope(functions=PACKER_FUNCTIONS))
    diags.extend(d)
    return value


def evaluate_locals(
    blocks: Sequence[Block], variables: Mapping[str, Value], root: str, policy: FilePolicy
) -> tuple[dict[str, Value], Diagnostics]:
    """Every local, in dependency order; a cycle or an unknown local is an error at its line."""
    diags = Diagnostics()
    exprs: dict[str, Expr] = {}
    for block in blocks:
        if block.type == "locals":
            for nested in block.body.blocks:
                diags.error("Unsupported block type", "A locals block holds arguments only.", nested.range)
            for attr in block.body.attributes.values():
                _add_local(exprs, attr.name, attr.expr, diags)
        elif block.type == "local":
            found = block.body.attributes.get("expression")
            extra = [a for a in block.body.attributes if a not in ("expression", "sensitive")]
            for name in extra:
                diags.error(
                    "Unsupported argument",
                    f'An argument named "{name}" is not expected in a local block.',
                    block.body.attributes[name].range,
                )
            if len(block.labels) != 1 or found is None:
                diags.error("Invalid local block", "A local block needs a name and expression = ... .", block.range)
                continue
            _add_local(exprs, block.labels[0], found.expr, diags)
    values: dict[str, Value] = {}
    pending = dict(exprs)
    while pending:
        ready = [n for n, e in pending.items() if all(r.kind != "local" or r.name in values for r in e.references())]
        if not ready:
            for name, expr in pending.items():
                missing = sorted({r.name for r in expr.references() if r.kind == "local" and r.name not in exprs})
                why = f"local.{missing[0]} is not declared" if missing else "the locals refer to each other in a cycle"
                diags.error("Invalid local value", f"local.{name} cannot be evaluated: {why}.", expr.range)
            break
        for name in ready:
            scope = PackerScope(variables, values, root, policy).for_source("", "").scope()
            value, d = pending.pop(name).evaluate(scope)
            diags.extend(d)
            values[name] = value
    return values, diags


def _add_local(exprs: dict[str, Expr], name: str, expr: Expr, diags: Diagnostics) -> None:
    if name in exprs:
        diags.error("Duplicate local value", f"local.{name} is defined twice.", expr.range)
        return
    exprs[name] = expr


# -- Packer's functions beyond Terraform's -----------------------------------------------------

_FORMAT_TOKENS = (
    ("YYYY", "%Y"), ("YY", "%y"), ("MMMM", "%B"), ("MMM", "%b"), ("MM", "%m"), ("M", "%-m"),
    ("DD", "%d"), ("D", "%-d"), ("EEEE", "%A"), ("EEE", "%a"), ("hh", "%H"), ("h", "%-H"),
    ("HH", "%I"), ("H", "%-I"), ("AA", "%p"), ("aa", "%p"), ("mm", "%M"), ("m", "%-M"),
    ("ss", "%S"), ("s", "%-S"), ("ZZZZZ", "%:z"), ("ZZZZ", "%z"), ("ZZZ", "%Z"), ("Z", "Z"),
)  # fmt: skip


def _formatdate(ctx: FuncContext, spec: Value, timestamp: Value) -> Value:
    """``formatdate(spec, RFC 3339 timestamp)`` with Terraform's and Packer's format letters."""
    try:
        when = datetime.fromisoformat(str(timestamp).replace("Z", "+00:00"))
    except ValueError:
        raise FunctionError(f'not a valid RFC3339 timestamp: "{timestamp}"') from None
    text, out, i = str(spec), [], 0
    while i < len(text):
        if text[i] == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise FunctionError("unterminated literal quote in the format")
            out.append(text[i + 1 : end] or "'")
            i = end + 1
            continue
        for token, code in _FORMAT_TOKENS:
            if text.startswith(token, i):
                out.append(_strftime(when, code))
                i += len(token)
                break
        else:
            if text[i].isalpha():
                raise FunctionError(f'invalid date format verb "{text[i]}": quote literal letters with \'')
            out.append(text[i])
            i += 1
    return "".join(out)


def _strftime(when: datetime, code: str) -> str:
    if code == "Z":
        return "Z" if when.utcoffset() in (None, UTC.utcoffset(None)) else when.strftime("%:z")
    if code.startswith("%-"):
        return str(int(when.strftime("%" + code[2:])))
    return when.strftime(code)


def _regex_replace(ctx: FuncContext, text: Value, pattern: Value, replacement: Value) -> Value:
    """Packer's ``regex_replace(string, pattern, replacement)`` (RE2 ``$1`` groups)."""
    try:
        compiled = re.compile(str(pattern))
    except re.error as exc:
        raise FunctionError(f"invalid regular expression: {exc}") from None
    python_repl = re.sub(r"\$\{?(\d+)\}?", r"\\g<\1>", str(replacement))
    return compiled.sub(python_repl, str(text))


PACKER_FUNCTIONS: Mapping[str, FunctionSpec] = {
    **FUNCTIONS,
    **({} if "formatdate" in FUNCTIONS else {"formatdate": FunctionSpec("formatdate", _formatdate, 2, 2)}),
    "regex_replace": FunctionSpec("regex_replace", _regex_replace, 3, 3),
}
