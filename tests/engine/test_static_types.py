"""Types found from expressions alone, checked against schema types; required_providers: tables."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from relight.diagnostics import Diagnostic, SourcePos, SourceRange
from relight.engine.requirements import required_provider_checks
from relight.engine.static import unique
from relight.engine.typecheck import _mismatch, static_type
from relight.lang import RequiredProvider, load_config, parse_expression
from relight.providers.registry import ProviderRegistry

# (expression, its static type): what can be told without values, "dynamic" for the rest.
TYPES: list[tuple[str, Any]] = [
    ('"sg-1"', "string"),
    ("3", "number"),
    ("true", "bool"),
    ("null", "dynamic"),
    ('"${var.x}-a"', "string"),
    ('["a", 1]', ["tuple", ["string", "number"]]),
    ('{ Name = "x" }', ["object", {"Name": "string"}]),
    ('split(",", "a,b")', ["list", "string"]),
    ('toset(["a"])', ["set", "dynamic"]),
    ('tomap({ a = "b" })', ["map", "dynamic"]),
    ('join(",", [])', "string"),
    ("length([])", "number"),
    ('contains([], "a")', "bool"),
    ("1 + 2", "number"),
    ("1 < 2", "bool"),
    ("!true", "bool"),
    ('true ? "a" : "b"', "string"),
    ('true ? "a" : ["b"]', "dynamic"),
    ('true ? "a" : null', "dynamic"),
    ("[for s in [] : s]", ["list", "dynamic"]),
    ("{for k, v in {} : k => v}", ["map", "dynamic"]),
    ('["a", "b"][0]', "string"),
    ('{ a = 1 }["a"]', "number"),
    ("some_unknown_function()", "dynamic"),
]


@pytest.mark.parametrize(("text", "expected"), TYPES)
def test_static_types_of_expressions(text: str, expected: Any) -> None:
    expr, diags = parse_expression(text, "test.tf")
    assert expr is not None and not diags.has_errors
    assert static_type(expr) == expected


# (found, wanted, Terraform's reason or None when the conversion can work).
MISMATCHES: list[tuple[Any, Any, str | None]] = [
    ("string", ["set", "string"], "set of string required"),
    ("string", ["list", "string"], "list of string required"),
    (["tuple", ["string"]], "string", "string required"),
    (["object", {"a": "string"}], ["list", "string"], "list of string required"),
    ("number", "string", None),  # numbers and bools convert to strings
    ("bool", "string", None),
    ("string", "number", None),  # a string may hold a number: the known value decides
    ("bool", "number", "number required"),
    ("number", "bool", None),  # 0.11-era 1/0
    (["tuple", ["string", "number"]], ["set", "string"], None),
    (["tuple", ["string", ["tuple", []]]], ["list", "string"], "element 1: string required"),
    (["object", {"Name": "string", "n": "number"}], ["map", "string"], None),
    (["object", {"Name": ["tuple", ["string"]]}], ["map", "string"], 'element "Name": string required'),
    (["tuple", [["object", {"a": "string"}]]], ["map", "string"], None),  # the 0.11 block form
    (["list", "number"], ["list", "string"], None),
    (["list", ["list", "string"]], ["list", "string"], "list of string required"),
    ("dynamic", ["set", "string"], None),
    ("string", "dynamic", None),
]


@pytest.mark.parametrize(("found", "wanted", "reason"), MISMATCHES)
def test_which_types_cannot_convert(found: Any, wanted: Any, reason: str | None) -> None:
    assert _mismatch(found, wanted) == reason


def _req(name: str, source: str, version: str | None = None) -> RequiredProvider:
    return RequiredProvider(name, source, version, SourceRange("main.tf", SourcePos(3, 5)))


# (local name, normalised source, version, expected (severity, summary) or None).
REQUIRED: list[tuple[str, str, str | None, tuple[str, str] | None]] = [
    ("aws", "hashicorp/aws", None, None),
    ("aws", "hashicorp/aws", "~> 5.0", None),
    ("aws", "hashicorp/aws", ">= 3.0, < 4.0", None),
    ("aws", "hashicorp/aws", "= 5.31.0", None),
    ("aws", "hashicorp/aws", "~> 2.70", ("warning", "Provider version constraint not met")),
    ("aws", "hashicorp/aws", ">= 6.0", ("warning", "Provider version constraint not met")),
    ("terraform", "terraform.io/builtin/terraform", None, None),
    ("terraform", "terraform.io/builtin/terraform", ">= 1.0", ("error", "Invalid dependency on built-in provider")),
    ("google", "hashicorp/google", None, ("error", 'Provider "hashicorp/google" is not available')),
    ("aws", "acme/aws", None, ("error", 'Provider "acme/aws" is not available')),
    ("amazon", "hashicorp/aws", None, ("error", "Unsupported provider local name")),
]


@pytest.mark.parametrize(("name", "source", "version", "expected"), REQUIRED)
def test_required_providers(
    tmp_path: Path, name: str, source: str, version: str | None, expected: tuple[str, str] | None
) -> None:
    (tmp_path / "main.tf").write_text("")
    config, _ = load_config(str(tmp_path))
    assert config is not None
    asked = replace(config, required_providers={name: _req(name, source, version)})
    found = required_provider_checks(asked, ProviderRegistry())
    assert [(d.severity.value, d.summary) for d in found] == ([expected] if expected else [])


def test_unique_keeps_the_first_of_repeats_in_file_order() -> None:
    at = SourceRange("b.tf", SourcePos(2, 1))
    first = SourceRange("a.tf", SourcePos(9, 1))
    diags = [Diagnostic.error("X", "one", at), Diagnostic.error("X", "two", at), Diagnostic.error("Y", "", first)]
    assert [(d.summary, d.detail) for d in unique(diags)] == [("Y", ""), ("X", "one")]
