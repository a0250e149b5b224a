"""Built-in functions: the case table, the unknown rule, files, and properties."""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import string
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relight.lang.funcbase import FuncContext, FunctionError, FunctionSpec
from relight.lang.functions import FUNCTIONS, call_function
from relight.values import UNKNOWN

sys.path.insert(0, str(Path(__file__).parent))

from function_cases import CASES, Err

CTX = FuncContext()


def typed(value: Any) -> str:
    """A rendering in which 2 differs from 2.0 and True from 1, for exact comparison."""
    return json.dumps(value, sort_keys=True)


def call(name: str, *args: Any, ctx: FuncContext = CTX) -> Any:
    return call_function(name, ctx, list(args))


# --- the table ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    CASES,
    ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(CASES)],
)
def test_case(name: str, args: list[Any], expected: Any) -> None:
    if isinstance(expected, Err):
        with pytest.raises(FunctionError) as info:
            call_function(name, CTX, args)
        assert expected.text in str(info.value)
    else:
        assert typed(call_function(name, CTX, args)) == typed(expected)


def test_table_is_large_and_covers_the_required_functions() -> None:
    required = [
        "length",
        "lookup",
        "merge",
        "concat",
        "join",
        "split",
        "format",
        "formatlist",
        "lower",
        "upper",
        "title",
        "trimspace",
        "replace",
        "substr",
        "contains",
        "keys",
        "values",
        "element",
        "coalesce",
        "compact",
        "distinct",
        "flatten",
        "zipmap",
        "range",
        "min",
        "max",
        "abs",
        "ceil",
        "floor",
        "tostring",
        "tonumber",
        "tobool",
        "tolist",
        "tomap",
        "toset",
        "jsonencode",
        "jsondecode",
        "yamlencode",
        "base64encode",
        "base64decode",
        "sha256",
        "md5",
        "cidrsubnet",
        "cidrhost",
        "sum",
        "reverse",
        "sort",
        "slice",
        "index",
        "one",
        "startswith",
        "endswith",
        "trim",
        "trimprefix",
        "trimsuffix",
        "regex",
        "regexall",
        "basename",
        "dirname",
        "sha1",
        "base64sha256",
        "setproduct",
        "setunion",
        "chunklist",
        "coalescelist",
        "alltrue",
        "anytrue",
        "parseint",
        "pow",
        "signum",
        "log",
        "strrev",
        "indent",
        "chomp",
    ]
    assert len(CASES) >= 150
    assert set(required) <= {name for name, _, _ in CASES}
    assert set(required) <= set(FUNCTIONS)


def test_registry_is_consistent() -> None:
    for name, spec in FUNCTIONS.items():
        assert isinstance(spec, FunctionSpec)
        assert spec.name == name
        assert spec.max_args is None or spec.max_args >= spec.min_args


# --- arity and unknowns ------------------------------------------------------------------------

ARITY = [
    ("length", [], 'Function "length" expects 1 argument, got 0'),
    ("length", [[1], [2]], 'Function "length" expects 1 argument, got 2'),
    ("lookup", [{}], 'Function "lookup" expects 2 to 3 arguments, got 1'),
    ("substr", ["a"], 'Function "substr" expects 3 arguments, got 1'),
    ("join", [], 'Function "join" expects at least 1 arguments, got 0'),
    ("timestamp", [1], 'Function "timestamp" expects 0 arguments, got 1'),
    ("nosuch", [], 'There is no function named "nosuch"'),
]


@pytest.mark.parametrize(("name", "args", "message"), ARITY)
def test_arity(name: str, args: list[Any], message: str) -> None:
    with pytest.raises(FunctionError, match=message):
        call_function(name, CTX, args)


UNKNOWNS = [
    ("upper", [UNKNOWN], UNKNOWN),
    ("join", [",", ["a", UNKNOWN]], UNKNOWN),
    ("jsonencode", [{"a": UNKNOWN}], UNKNOWN),
    ("length", [UNKNOWN], UNKNOWN),
    ("length", [[UNKNOWN, UNKNOWN]], 2),
    ("length", [{"a": UNKNOWN}], 1),
    ("keys", [{"b": UNKNOWN, "a": 1}], ["a", "b"]),
    ("keys", [UNKNOWN], UNKNOWN),
    ("values", [{"b": UNKNOWN, "a": 1}], [1, UNKNOWN]),
    ("concat", [[1], [UNKNOWN]], [1, UNKNOWN]),
    ("concat", [[1], UNKNOWN], UNKNOWN),
    ("merge", [{"a": UNKNOWN}, {"b": 2}], {"a": UNKNOWN, "b": 2}),
    ("merge", [{"a": 1}, UNKNOWN], UNKNOWN),
    ("element", [[1, UNKNOWN], 0], 1),
    ("element", [[1, 2], UNKNOWN], UNKNOWN),
    ("lookup", [{"a": 1, "b": UNKNOWN}, "a"], 1),
    ("lookup", [{"a": 1}, UNKNOWN], UNKNOWN),
    ("lookup", [{"a": 1}, "b", UNKNOWN], UNKNOWN),
    ("lookup", [{"a": 1}, "a", UNKNOWN], 1),
]


@pytest.mark.parametrize(("name", "args", "expected"), UNKNOWNS)
def test_unknowns(name: str, args: list[Any], expected: Any) -> None:
    result = call_function(name, CTX, args)
    if expected is UNKNOWN:
        assert result is UNKNOWN
    else:
        assert result == expected


def test_errors_still_win_over_unknowns_in_functions_that_handle_them() -> None:
    with pytest.raises(FunctionError, match="must not be null"):
        call("length", None)


# --- files, templates and time -----------------------------------------------------------------


@pytest.fixture
def module_dir(tmp_path: Path) -> Path:
    (tmp_path / "hello.txt").write_text("hi\n")
    (tmp_path / "bin.dat").write_bytes(b"\xff")
    (tmp_path / "tpl.tftpl").write_text("Hello, ${name}!")
    (tmp_path / "sub").mkdir()
    return tmp_path


def _render(text: str, variables: Mapping[str, Any], filename: str, ctx: FuncContext) -> Any:
    return {"text": text, "vars": dict(variables), "file": filename}


FILE_CASES = [
    ("file", ["hello.txt"], "hi\n"),
    ("file", ["sub/../hello.txt"], "hi\n"),
    ("file", ["nope.txt"], Err('no file exists at "nope.txt"; this function works only')),
    ("file", ["bin.dat"], Err('contents of "bin.dat" are not valid UTF-8')),
    ("fileexists", ["hello.txt"], True),
    ("fileexists", ["nope"], False),
    ("fileexists", ["sub"], Err('"sub" is a directory, not a file')),
    ("filebase64", ["hello.txt"], "aGkK"),
    ("filebase64", ["bin.dat"], "/w=="),
    ("filemd5", ["hello.txt"], "764efa883dda1e11db47671c4a3bbd9e"),
    (
        "templatefile",
        ["tpl.tftpl", {"name": "x"}],
        {"text": "Hello, ${name}!", "vars": {"name": "x"}, "file": "tpl.tftpl"},
    ),
    ("templatefile", ["tpl.tftpl", {"1a": 1}], Err('invalid template variable name "1a"')),
    ("templatefile", ["tpl.tftpl", [1]], Err("invalid vars value: must be a map")),
    ("templatefile", ["nope", {}], Err('no file exists at "nope"')),
]


@pytest.mark.parametrize(("name", "args", "expected"), FILE_CASES)
def test_files(module_dir: Path, name: str, args: list[Any], expected: Any) -> None:
    ctx = FuncContext(base_dir=str(module_dir), render_template=_render)
    if isinstance(expected, Err):
        with pytest.raises(FunctionError) as info:
            call_function(name, ctx, args)
        assert expected.text in str(info.value)
    else:
        assert call_function(name, ctx, args) == expected


def test_file_accepts_absolute_paths(module_dir: Path) -> None:
    assert call("file", str(module_dir / "hello.txt")) == "hi\n"


def test_templatefile_without_a_renderer_says_so(module_dir: Path) -> None:
    ctx = FuncContext(base_dir=str(module_dir))
    with pytest.raises(FunctionError, match="templates are not available"):
        call("templatefile", "tpl.tftpl", {}, ctx=ctx)


def test_timestamp_uses_the_context_clock_in_utc() -> None:
    local = timezone(timedelta(hours=2))
    ctx = FuncContext(now=lambda: datetime(2026, 11, 27, 3, 2, 3, 999, tzinfo=local))
    assert call("timestamp", ctx=ctx) == "2026-11-27T01:02:03Z"
    utc = FuncContext(now=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert call("timestamp", ctx=utc) == "2026-01-02T03:04:05Z"


def test_uuid_is_a_fresh_version_4_uuid() -> None:
    first, second = call("uuid"), call("uuid")
    assert first != second
    assert len(first) == 36 and first[14] == "4"


def test_abspath_and_pathexpand() -> None:
    assert call("abspath", "x/../y") == os.path.join(os.getcwd(), "y")
    assert call("pathexpand", "~/x") == os.path.join(os.path.expanduser("~"), "x")
    assert call("pathexpand", "/abs") == "/abs"


# --- properties --------------------------------------------------------------------------------

texts = st.text(st.characters(codec="utf-8"), max_size=40)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=False, allow_infinity=False, width=64).filter(lambda f: not f.is_integer())
    | texts
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@given(texts)
def test_base64_round_trip(text: str) -> None:
    encoded = call("base64encode", text)
    assert encoded == base64.b64encode(text.encode()).decode()
    assert call("base64decode", encoded) == text


@given(json_values)
def test_json_round_trip(value: Any) -> None:
    assert typed(call("jsondecode", call("jsonencode", value))) == typed(value)


@given(st.lists(st.integers(-5, 5) | st.sampled_from(["a", "b", ""]), max_size=12))
def test_distinct_is_idempotent_and_keeps_first_occurrences(items: list[Any]) -> None:
    once = call("distinct", items)
    assert call("distinct", once) == once
    assert len(set(map(str, once))) == len(once)


@given(
    st.text(alphabet=string.ascii_letters + ",", max_size=30),
    st.sampled_from([",", "ab", "-"]),
)
def test_split_join_round_trip(text: str, sep: str) -> None:
    assert call("join", sep, call("split", sep, text)) == text


@given(st.lists(st.text(alphabet="abc ", max_size=5), max_size=6))
def test_join_split_round_trip(parts: list[str]) -> None:
    if parts:
        assert call("split", ",", call("join", ",", parts)) == parts


@given(
    st.integers(0, 2**32 - 1),
    st.integers(8, 24),
    st.integers(1, 6),
    st.data(),
)
def test_cidrhost_is_within_cidrsubnet(address: int, prefix: int, newbits: int, data: Any) -> None:
    base = f"{ipaddress.IPv4Address(address)}/{prefix}"
    netnum = data.draw(st.integers(0, 2**newbits - 1))
    subnet = call("cidrsubnet", base, newbits, netnum)
    network = ipaddress.ip_network(subnet)
    assert network.subnet_of(ipaddress.ip_network(base, strict=False))  # type: ignore[arg-type]
    size = network.num_addresses
    hostnum = data.draw(st.integers(-size, size - 1))
    assert ipaddress.ip_address(call("cidrhost", subnet, hostnum)) in network


@given(st.lists(st.text(alphabet="abcz", max_size=3), max_size=8))
def test_toset_is_sorted_distinct_and_stable(items: list[str]) -> None:
    result = call("toset", items)
    assert result == sorted(set(items))
    assert call("toset", result) == result


# Reversal works on grapheme clusters, so a string whose clusters regroup once reversed (a
# leading combining mark, a run of regional indicators, Hangul jamo) does not come back intact,
# in Terraform either. The property holds for text made of whole clusters.
cluster_texts = st.text(
    st.characters(codec="utf-8", categories=("Lu", "Ll", "Lt", "Nd", "Pc", "Pd", "Po", "Sm", "Zs")).filter(
        lambda c: not ("\u1100" <= c <= "\u11ff" or "\ua960" <= c <= "\ua97f" or "\ud7b0" <= c <= "\ud7ff")
    ),
    max_size=40,
)


@given(cluster_texts)
def test_strrev_twice_is_identity_and_length_is_preserved(text: str) -> None:
    assert call("strrev", call("strrev", text)) == text
    assert call("length", call("strrev", text)) == call("length", text)


def test_strrev_keeps_combining_marks_with_their_letter() -> None:
    assert call("strrev", "cafe\u0301!") == "!e\u0301fac"
    assert call("strrev", "\U000e00200") == "0\U000e0020"  # a leading mark joins the "0" once reversed


@given(st.integers(-(10**6), 10**6), st.sampled_from([2, 8, 10, 16, 36, 62]))
def test_parseint_inverts_formatting(number: int, base: int) -> None:
    digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    text, rest = "", abs(number)
    while True:
        text = digits[rest % base] + text
        rest //= base
        if not rest:
            break
    assert call("parseint", ("-" if number < 0 else "") + text, base) == number


@given(st.floats(-1e6, 1e6, allow_nan=False))
def test_floor_and_ceil_return_ints_bracketing_the_value(number: float) -> None:
    low, high = call("floor", number), call("ceil", number)
    assert isinstance(low, int) and isinstance(high, int)
    assert low <= number <= high and high - low <= 1


@given(st.lists(st.integers(-100, 100) | st.floats(-100, 100), min_size=1, max_size=8))
def test_min_max_agree_with_python(numbers: list[float]) -> None:
    assert call("min", *numbers) == min(numbers)
    assert call("max", *numbers) == max(numbers)


@given(st.lists(st.integers(0, 9), max_size=20), st.integers(1, 5))
def test_chunklist_concatenates_back(items: list[int], size: int) -> None:
    chunks = call("chunklist", items, size)
    assert call("flatten", chunks) == items
    assert all(len(chunk) == size for chunk in chunks[:-1])
