"""Encoding functions: JSON (Terraform's exact encoding), base64 and ``yamlencode``."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from relight.lang.funcbase import FuncContext, FunctionError
from relight.lang.functions._args import Number, as_str, fmt_num, is_number, norm
from relight.values import Value

_JSON_HTML = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                            "\u2028": "\\u2028", "\u2029": "\\u2029"})  # fmt: skip


def json_encode(value: Value) -> str:
    """Encode as Terraform does: sorted keys, no spaces, HTML characters escaped as in Go, and
    numbers written out in full decimal (never with an exponent)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        if isinstance(value, float) and not math.isfinite(value):
            raise FunctionError("cannot encode an infinite number as JSON")
        return fmt_num(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).translate(_JSON_HTML)
    if isinstance(value, list):
        return "[" + ",".join(json_encode(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{json_encode(k)}:{json_encode(value[k])}" for k in sorted(value))
        return "{" + ",".join(items) + "}"
    raise FunctionError(f"cannot encode a value of type {type(value).__name__} as JSON")


def fn_jsonencode(ctx: FuncContext, value: Value) -> Value:
    return json_encode(value)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def _json_error(text: str, exc: json.JSONDecodeError) -> str:
    """Go's wording for the common JSON syntax errors."""
    if exc.msg == "Extra data":
        return "extraneous data after JSON object"
    if exc.pos >= len(text.rstrip()):
        return "EOF"
    if exc.msg == "Expecting value":
        return f"invalid character {text[exc.pos]!r} looking for beginning of value"
    return f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"


def _json_number(text: str) -> Number:
    return norm(float(text))


def fn_jsondecode(ctx: FuncContext, s: Value) -> Value:
    text = as_str(s, "str")
    try:
        return json.loads(text, parse_float=_json_number, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise FunctionError(_json_error(text, exc)) from None
    except ValueError as exc:
        raise FunctionError(str(exc)) from None


def fn_base64encode(ctx: FuncContext, s: Value) -> Value:
    return base64.b64encode(as_str(s, "str").encode()).decode("ascii")


def fn_base64decode(ctx: FuncContext, s: Value) -> Value:
    text = as_str(s, "str")
    try:
        data = base64.b64decode(text, validate=True)
    except ValueError:
        raise FunctionError(f'failed to decode base64 data "{text}"') from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FunctionError("the result of decoding the provided string is not valid UTF-8") from None


# --- yamlencode -----------------------------------------------------------------------------

_YAML_ESCAPES = {
    "\0": "\\0", "\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f",
    "\r": "\\r", "\x1b": "\\e", '"': '\\"', "\\": "\\\\", "\x85": "\\N", "\xa0": "\\_",
    "\u2028": "\\L", "\u2029": "\\P",
}  # fmt: skip
_YAML_WIDTH = 80


def _yaml_printable(char: str) -> bool:
    code = ord(char)
    return (
        code == 0x0A
        or 0x20 <= code <= 0x7E
        or code == 0x85
        or 0xA0 <= code <= 0xD7FF
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
        or 0x10000 <= code <= 0x10FFFF
    )


def _yaml_double_quoted(text: str, indent: int, column: int) -> str:
    """A double-quoted YAML scalar, folded at spaces past column 80 as the Go emitter does."""
    out = ['"']
    column += 1
    spaces = False
    i = 0
    while i < len(text):
        char = text[i]
        if not _yaml_printable(char) or char in _YAML_ESCAPES:
            code = ord(char)
            escape = _YAML_ESCAPES.get(char) or (
                f"\\x{code:02X}" if code <= 0xFF else
                f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"
            )  # fmt: skip
            out.append(escape)
            column += len(escape)
            spaces = False
        elif char == " ":
            if not spaces and column > _YAML_WIDTH and 0 < i < len(text) - 1:
                out.append("\n" + " " * indent)
                column = indent
                if text[i + 1] == " ":
                    out.append("\\")
                    column += 1
            else:
                out.append(" ")
                column += 1
            spaces = True
        else:
            out.append(char)
            column += 1
            spaces = False
        i += 1
    out.append('"')
    return "".join(out)


def _yaml_literal_ok(text: str) -> bool:
    return (
        "\n" in text
        and " \n" not in text
        and not text.endswith(" ")
        and all(_yaml_printable(c) and c not in "\t\r\x85\u2028\u2029\ufeff" for c in text)
    )


def _yaml_literal(text: str, indent: int) -> str:
    header = "|"
    if text[:1] in (" ", "\n"):
        header += "2"
    if not text.endswith("\n"):
        header += "-"
    elif text.endswith("\n\n") or text == "\n":
        header += "+"
    body = text[:-1] if text.endswith("\n") else text
    lines = [(" " * indent + line) if line else "" for line in body.split("\n")]
    return header + "\n" + "\n".join(lines)


def _yaml_scalar(value: Value, indent: int, column: int) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return fmt_num(value)
    if isinstance(value, list):
        return "[]"
    if isinstance(value, dict):
        return "{}"
    if _yaml_literal_ok(value):
        return _yaml_literal(value, indent)
    return _yaml_double_quoted(value, indent, column)


def _yaml_map(value: dict[str, Value], col: int, first_prefix: str | None = None) -> list[str]:
    """Lines of a block mapping whose keys sit at column ``col``."""
    lines = []
    for n, key in enumerate(sorted(value)):
        lead = first_prefix if (n == 0 and first_prefix is not None) else " " * col
        head = lead + _yaml_double_quoted(key, col + 2, col) + ":"
        item = value[key]
        if isinstance(item, dict) and item:
            lines.append(head)
            lines.extend(_yaml_map(item, col + 2))
        elif isinstance(item, list) and item:
            lines.append(head)
            lines.extend(_yaml_seq(item, col))
        else:
            lines.append(head + " " + _yaml_scalar(item, col + 2, len(head) + 1))
    return lines


def _yaml_seq(value: list[Value], col: int, first_prefix: str | None = None) -> list[str]:
    """Lines of a block sequence whose dashes sit at column ``col``."""
    lines = []
    for n, item in enumerate(value):
        lead = (first_prefix if (n == 0 and first_prefix is not None) else " " * col) + "- "
        if isinstance(item, dict) and item:
            lines.extend(_yaml_map(item, col + 2, lead))
        elif isinstance(item, list) and item:
            lines.extend(_yaml_seq(item, col + 2, lead))
        else:
            lines.append(lead + _yaml_scalar(item, col + 2, len(lead)))
    return lines


def fn_yamlencode(ctx: FuncContext, value: Value) -> Value:
    json_encode(value)  # the same values are encodable, with the same errors
    if isinstance(value, dict) and value:
        return "\n".join(_yaml_map(value, 0)) + "\n"
    if isinstance(value, list) and value:
        return "\n".join(_yaml_seq(value, 0)) + "\n"
    text = _yaml_scalar(value, 2, 0) + "\n"
    if not isinstance(value, str | list | dict):
        text += "...\n"
    return text
