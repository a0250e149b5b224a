"""Type constraints and conversion, templates, and the pinned public API."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import relight.lang as lang
from relight.lang import (
    ConversionError,
    Scope,
    convert,
    parse_expression,
    parse_type,
    render_template,
    to_bool,
)
from relight.lang.funcbase import FuncContext, FunctionError
from relight.values import UNKNOWN, TypedDict, TypedList, type_of

sys.path.insert(0, str(Path(__file__).parent))

from type_cases import CASES as TYPE_CASES


def _type(src: str) -> Any:
    expr, diags = parse_expression(src, names_as_symbols=True)
    assert expr is not None, list(diags)
    constraint, tdiags = parse_type(expr)
    assert constraint is not None, [d.detail for d in tdiags]
    return constraint


# (type, input, expected output)
CONVERSIONS: list[tuple[str, Any, Any]] = [
    ("string", "x", "x"),
    ("string", 5, "5"),
    ("string", 1.5, "1.5"),
    ("string", True, "true"),
    ("number", "42", 42),
    ("number", "-1.5", -1.5),
    ("number", 7, 7),
    ("bool", "true", True),
    ("bool", "false", False),
    ("bool", 1, True),
    ("bool", "0", False),
    ("any", {"a": [1]}, {"a": [1]}),
    ("list(string)", [1, True], ["1", "true"]),
    ("list(number)", ["1", 2], [1, 2]),
    ("set(string)", ["b", "a", "b"], ["a", "b"]),
    ("map(number)", {"a": "1"}, {"a": 1}),
    ("map(list(string))", {"a": [1]}, {"a": ["1"]}),
    ("tuple([string, number])", [1, "2"], ["1", 2]),
    ("object({a = string, b = number})", {"a": 1, "b": "2", "c": 3}, {"a": "1", "b": 2}),
    ('object({a = optional(string, "d"), b = optional(number)})', {}, {"a": "d", "b": None}),
    ("list(object({n = optional(number, 1)}))", [{}, {"n": 5}], [{"n": 1}, {"n": 5}]),
    ("string", None, None),
    ("list(string)", UNKNOWN, UNKNOWN),
    ("list(string)", ["a", UNKNOWN], ["a", UNKNOWN]),
    ('"string"', 5, "5"),
    ('"list"', ["a"], ["a"]),
    ('"map"', {"a": 1}, {"a": 1}),
]


@pytest.mark.parametrize(("type_src", "value", "expected"), CONVERSIONS)
def test_convert(type_src: str, value: Any, expected: Any) -> None:
    result = convert(value, _type(type_src))
    if expected is UNKNOWN:
        assert result is UNKNOWN
    else:
        assert result == expected


CONVERSION_ERRORS: list[tuple[str, Any, str]] = [
    ("number", "abc", "a number is required"),
    ("number", True, "number required"),
    ("bool", "yes", "a bool is required"),
    ("string", [1], "string required"),
    ("list(string)", "x", "list of string required"),
    ("map(string)", [1], "map of string required"),
    ("list(number)", [1, "x"], "element 1: a number is required"),
    ("object({a = number})", {}, 'attribute "a" is required'),
    ("object({a = object({b = bool})})", {"a": {"b": "x"}}, 'attribute "a", attribute "b"'),
    ("tuple([string])", [1, 2], "tuple required"),
]


@pytest.mark.parametrize(("type_src", "value", "message"), CONVERSION_ERRORS)
def test_convert_errors(type_src: str, value: Any, message: str) -> None:
    with pytest.raises(ConversionError) as info:
        convert(value, _type(type_src))
    assert message in str(info.value)


@pytest.mark.parametrize("src", ["strng", "list(strng)", "list()", "foo(string)", "1"])
def test_invalid_type_specifications(src: str) -> None:
    expr, _ = parse_expression(src, names_as_symbols=True)
    assert expr is not None
    constraint, diags = parse_type(expr)
    assert constraint is None
    assert diags.errors[0].summary == "Invalid type specification"


@given(st.integers(-(10**12), 10**12))
def test_number_string_round_trip(n: int) -> None:
    assert convert(convert(n, _type("string")), _type("number")) == n


def test_to_bool_legacy_forms() -> None:
    assert [to_bool(v) for v in (True, "true", 1, "1", False, "false", 0, "0")] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    with pytest.raises(ConversionError):
        to_bool(2)


# --- templates -------------------------------------------------------------------------------

TEMPLATES: list[tuple[str, dict[str, Any], Any]] = [
    ("Hello, ${name}!", {"name": "world"}, "Hello, world!"),
    ("%{ for ip in ips ~}\nserver ${ip}\n%{ endfor ~}\n", {"ips": ["a", "b"]}, "server a\nserver b\n"),
    ("%{if on}yes%{else}no%{endif}", {"on": False}, "no"),
    ("${jsonencode({a = x})}", {"x": 1}, '{"a":1}'),
    ("$${not} %%{this}", {}, "${not} %{this}"),
    ('${ "}" }', {}, "}"),
    ("${x}", {"x": [1, 2]}, [1, 2]),
]


@pytest.mark.parametrize(("text", "variables", "expected"), TEMPLATES)
def test_render_template(text: str, variables: dict[str, Any], expected: Any) -> None:
    assert render_template(text, variables, "t.tpl") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${missing}", 'no variable named "missing"'),
        ("%{ if x }", "no matching %{endif}"),
        ("${", "missing '}'"),
        ("%{ while x }", "Invalid template directive"),
    ],
)
def test_render_template_errors(text: str, message: str) -> None:
    with pytest.raises(FunctionError) as info:
        render_template(text, {"x": True}, "t.tpl")
    assert message in str(info.value)
    assert "t.tpl:1:" in str(info.value)


def test_templatefile_through_the_evaluator(tmp_path: Path) -> None:
    (tmp_path / "user_data.tpl").write_text("#!/bin/sh\necho ${name}\n")
    expr, _ = parse_expression('templatefile("${path.module}/user_data.tpl", { name = "ghe" })')
    assert expr is not None
    value, diags = expr.evaluate(Scope(path_module=str(tmp_path)))
    assert not diags.has_errors, [(d.summary, d.detail) for d in diags]
    assert value == "#!/bin/sh\necho ghe\n"
    ctx_scope = Scope(path_module=str(tmp_path), func_ctx=FuncContext(base_dir=str(tmp_path)))
    _value, diags = expr.evaluate(ctx_scope)  # a context without a renderer: a clean error
    assert diags.errors[0].summary == "Error in function call"


# --- the public API is pinned ----------------------------------------------------------------


def test_public_api() -> None:
    assert set(lang.__all__) == {
        "NO_DEFAULT",
        "TERRAFORM_VERSION",
        "Check",
        "Condition",
        "Import",
        "ModuleCall",
        "RequiredProvider",
        "Attribute",
        "BackendBlock",
        "Block",
        "Body",
        "Config",
        "ConversionError",
        "Expr",
        "FileAccessDenied",
        "FilePolicy",
        "Lifecycle",
        "Local",
        "Moved",
        "Output",
        "ParseCache",
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
    }
    for name in lang.__all__:
        assert hasattr(lang, name)


# --- result types as Terraform has them --------------------------------------------------------


def _terraform_syntax(t: Any) -> str:
    """A JSON type expression as Terraform prints a type: ``list(string)``, ``tuple([number])``."""
    if isinstance(t, str):
        return t
    kind, inner = t[0], t[1]
    if kind in ("list", "set", "map"):
        return f"{kind}({_terraform_syntax(inner)})"
    if kind == "tuple":
        return "tuple([" + ",".join(_terraform_syntax(e) for e in inner) + "])"
    return "object({" + ",".join(f"{k}:{_terraform_syntax(v)}" for k, v in inner.items()) + "})"


@pytest.mark.parametrize(("source", "expected"), TYPE_CASES, ids=[c[0] for c in TYPE_CASES])
def test_result_types_match_terraform(source: str, expected: str) -> None:
    expr, diags = lang.parse_expression(source)
    assert expr is not None and not diags.has_errors, list(diags)
    value, diags = expr.evaluate(Scope())
    assert not diags.has_errors, list(diags)
    assert _terraform_syntax(type_of(value)) == expected


@pytest.mark.parametrize(
    ("type_src", "value", "expected"),
    [
        ("list(string)", [], ["list", "string"]),
        ("set(number)", [3, 1, 3], ["set", "number"]),
        ("map(list(number))", {"a": [1]}, ["map", ["list", "number"]]),
        ("tuple([string, number])", ["a", None], ["tuple", ["string", "number"]]),
        ("object({a = string, b = optional(list(string))})", {"a": "x"}, ["object", {"a": "string", "b": ["list", "string"]}]),
        ("any", [1, "a"], ["tuple", ["number", "string"]]),
    ],
)
def test_converted_values_carry_their_declared_type(type_src: str, value: Any, expected: Any) -> None:
    expr, _ = lang.parse_expression(type_src, names_as_symbols=True)
    assert expr is not None
    constraint, diags = parse_type(expr)
    assert constraint is not None and not diags.has_errors
    converted = convert(value, constraint)
    assert type_of(converted) == expected
    assert converted == convert(value, constraint)  # still compares as a plain value


def test_typed_values_are_plain_lists_and_dicts() -> None:
    listed = TypedList(["a"], ["list", "string"])
    mapped = TypedDict({"a": 1}, ["map", "number"])
    assert listed == ["a"] and isinstance(listed, list) and json.dumps(listed) == '["a"]'
    assert mapped == {"a": 1} and isinstance(mapped, dict) and json.dumps(mapped) == '{"a": 1}'
    assert type_of([x for x in listed]) == ["tuple", ["string"]]  # a new list is a tuple again
    copied = pickle.loads(pickle.dumps(mapped))
    assert type_of(copied) == ["map", "number"]
