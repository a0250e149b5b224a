"""Expressions: the value table, the error table (summary and line:column), and properties."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relight.diagnostics import Diagnostics
from relight.lang import Expr, Scope, parse_expression
from relight.values import UNKNOWN

sys.path.insert(0, str(Path(__file__).parent))

from expr_cases import CASES, SCOPE


def _parse(src: str) -> Expr:
    expr, diags = parse_expression(src)
    assert expr is not None and not diags.has_errors, [d.summary for d in diags]
    return expr


@pytest.mark.parametrize(("src", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_expression_value(src: str, expected: Any) -> None:
    value, diags = _parse(src).evaluate(SCOPE)
    assert not diags.has_errors, [(d.summary, d.detail) for d in diags]
    if expected is UNKNOWN:
        assert value is UNKNOWN
    else:
        assert value == expected
        assert type(value) is type(expected)


def test_case_table_is_broad() -> None:
    assert len(CASES) >= 80


# (source, summary substring, line, column); evaluated in SCOPE (or a parse/compile error).
ERRORS: list[tuple[str, str, int, int]] = [
    ("1 +", "Invalid expression", 1, 4),
    ("[1, 2", "Unterminated tuple constructor expression", 1, 1),
    ("var", "Invalid reference", 1, 1),
    ("aws_instance", "Invalid reference", 1, 1),
    ("data.aws_ami", "Invalid reference", 1, 1),
    ("count.foo", 'Invalid "count" attribute', 1, 1),
    ("each.nope", 'Invalid "each" attribute', 1, 1),
    ("path.nope", 'Invalid "path" attribute', 1, 1),
    ("terraform.nope", 'Invalid "terraform" attribute', 1, 1),
    ("module", "Invalid reference", 1, 1),
    ("module.x.out", "Reference to undeclared module", 1, 1),
    ("{a.b = 1}", "Ambiguous attribute key", 1, 2),
    (r'"bad \q escape"', "Invalid escape sequence", 1, 6),
    ("var.nope", "Reference to undeclared input variable", 1, 1),
    ("local.nope", "Reference to undeclared local value", 1, 1),
    ("aws_instance.nope.id", "Reference to undeclared resource", 1, 1),
    ("var.map.z", "Unsupported attribute", 1, 1),
    ("1 + var.map.z", "Unsupported attribute", 1, 5),
    ("var.nul.x", "Attempt to get attribute from null value", 1, 1),
    ("var.names.x", "Unsupported attribute", 1, 1),
    ("var.name.x", "Unsupported attribute", 1, 1),
    ("var.nums[5]", "Invalid index", 1, 1),
    ('var.map["q"]', "Invalid index", 1, 1),
    ("var.nul[0]", "Attempt to index null value", 1, 1),
    ('1 + "a"', "Invalid operand", 1, 5),
    ('"a" * 2', "Invalid operand", 1, 1),
    ("null + 1", "Invalid operand", 1, 1),
    ("1 / 0", "Operation failed", 1, 1),
    ('!"maybe"', "Invalid operand", 1, 1),
    ('"x" && true', "Invalid operand", 1, 1),
    ("null ? 1 : 2", "Null condition", 1, 1),
    ('"x" ? 1 : 2', "Incorrect condition type", 1, 1),
    ('"${var.names} x"', "Invalid template interpolation value", 1, 4),
    ('"${null} x"', "Invalid template interpolation value", 1, 4),
    ("[for x in 5 : x]", "Iteration over non-iterable value", 1, 11),
    ("[for x in null : x]", "Iteration over null value", 1, 11),
    ('{for s in ["a", "a"] : s => 1}', "Duplicate object key", 1, 24),
    ("[for x in [1] : x if 5]", "Incorrect condition type", 1, 22),
    ("nosuch(1)", "Call to unknown function", 1, 1),
    ("upper()", "Not enough function arguments", 1, 1),
    ('upper("a", "b")', "Too many function arguments", 1, 1),
    ("max(5...)", "Invalid expanding argument value", 1, 5),
    ("max(null...)", "Invalid expanding argument value", 1, 5),
    ("try(var.map.z, var.nope)", "Error in function call", 1, 1),
    ("{(null) = 1}", "Null value as key", 1, 3),
    ("<<EOT\nline\n${var.nope}\nEOT\n", "Reference to undeclared input variable", 3, 3),
    ("<<EOT\n  %{if true}x\nEOT\n", "Unexpected end of template", 3, 1),
    ('"%{if true}x"', "Unexpected end of template", 1, 13),
    ('"%{ endif }"', "Unexpected endif directive", 1, 2),
    ("var.n + path.module", "Invalid operand", 1, 9),
]


@pytest.mark.parametrize(("src", "summary", "line", "col"), ERRORS, ids=[e[0] for e in ERRORS])
def test_expression_error(src: str, summary: str, line: int, col: int) -> None:
    expr, diags = parse_expression(src, "expr.tf")
    if expr is not None and not diags.has_errors:
        value, diags = expr.evaluate(SCOPE)
        assert value is UNKNOWN
    errors = diags.errors
    assert errors, f"expected an error for {src!r}"
    first = errors[0]
    assert summary in first.summary, (first.summary, first.detail)
    assert first.subject is not None
    assert (first.subject.start.line, first.subject.start.column) == (line, col)
    assert first.subject.filename == "expr.tf"


def test_evaluate_never_raises_and_defaults_to_empty_scope() -> None:
    value, diags = _parse("var.x").evaluate()
    assert value is UNKNOWN
    assert diags.has_errors


def test_references_are_static_and_cached() -> None:
    expr = _parse(
        '"${aws_instance.web[0].id} ${data.aws_ami.base.id} ${var.a} ${local.b} ${count.index}'
        ' ${each.key} ${path.module} ${terraform.workspace} ${self.x}"'
    )
    refs = expr.references()
    assert refs is expr.references()
    assert [r.kind for r in refs] == [
        "resource",
        "data",
        "var",
        "local",
        "count",
        "each",
        "path",
        "terraform",
        "self",
    ]
    web = refs[0]
    assert str(web.resource) == "aws_instance.web"
    assert web.key == 0
    assert web.remaining == ("id",)
    assert (web.range.start.line, web.range.start.column) == (1, 4)
    assert refs[2].name == "a"


def test_reference_keys_and_bound_names() -> None:
    legacy = _parse("aws_instance.web.0.id").references()[0]
    assert legacy.key == 0
    keyed = _parse('aws_instance.each["b"].tags.Name').references()[0]
    assert (keyed.key, keyed.remaining) == ("b", ("tags", "Name"))
    dynamic = _parse("aws_instance.web[count.index].id").references()
    assert [r.kind for r in dynamic] == ["resource", "count"]
    assert dynamic[0].key is None
    # names bound by a for expression are not references
    bound = _parse("[for s in var.list : s.id if s.ok]").references()
    assert [str(r) for r in bound] == ["var.list"]
    splat = _parse("aws_instance.web[*].id").references()
    assert [str(r) for r in splat] == ["aws_instance.web"]


# --- properties ------------------------------------------------------------------------------

_json_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
    max_size=30,
)


_SIMPLE = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _quote(text: str) -> str:
    """HCL's quoted-string form of ``text``."""
    out = []
    for ch in text:
        if ch in _SIMPLE:
            out.append(_SIMPLE[ch])
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


# python-hcl2's grammar only knows "$${...}" with a closing brace, so texts with "${" or "%{"
# are covered by table cases instead.
@given(_json_text.filter(lambda t: "${" not in t and "%{" not in t))
def test_string_escapes_round_trip(text: str) -> None:
    value, diags = _parse(_quote(text)).evaluate()
    assert not diags.has_errors
    assert value == text


_literals = st.recursive(
    st.integers(-(10**9), 10**9) | st.text(alphabet="abcxyz _-.", max_size=8) | st.booleans(),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=12,
)


def _hcl(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_hcl(v) for v in value) + "]"
    return json.dumps(value)


@given(_literals)
def test_literal_evaluates_to_itself(value: Any) -> None:
    result, diags = _parse(_hcl(value)).evaluate()
    assert not diags.has_errors
    assert result == value


_ints = st.integers(-(10**6), 10**6)


@settings(max_examples=60)
@given(_ints, _ints, st.sampled_from(["+", "-", "*", "<", ">", "<=", ">=", "==", "!="]))
def test_arithmetic_matches_python(a: int, b: int, op: str) -> None:
    result, diags = _parse(f"{a} {op} {b}").evaluate()
    assert not diags.has_errors
    assert result == eval(f"{a} {op} {b}")  # integers and a known operator only


@given(_ints, _ints.filter(lambda b: b != 0))
def test_modulo_keeps_sign_of_dividend(a: int, b: int) -> None:
    result, _ = _parse(f"{a} % {b}").evaluate()
    assert abs(result) < abs(b)
    assert result == 0 or (result > 0) == (a > 0)
    assert (a - result) % b == 0


@given(st.lists(st.integers(-50, 50), max_size=6))
def test_for_expression_matches_comprehension(xs: list[int]) -> None:
    scope = Scope(variables={"xs": xs})
    result, _ = _parse("[for x in var.xs : x * 2 if x > 0]").evaluate(scope)
    assert result == [x * 2 for x in xs if x > 0]


def test_diagnostics_type() -> None:
    _, diags = _parse("1").evaluate()
    assert isinstance(diags, Diagnostics)
