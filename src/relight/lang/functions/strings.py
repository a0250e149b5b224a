"""String functions: case, trimming, ``split``/``join``, ``substr``, ``indent``, ``urlencode``."""

from __future__ import annotations

import urllib.parse

from relight.lang.funcbase import FuncContext, FunctionError
from relight.lang.functions._args import as_int, as_seq, as_str, invalid
from relight.lang.functions._graphemes import graphemes
from relight.values import Value


def fn_lower(ctx: FuncContext, s: Value) -> Value:
    # One character for one, as Go's unicode.ToLower maps them ("İ" becomes "i").
    return "".join(c.lower()[:1] or c for c in as_str(s, "str"))


def fn_upper(ctx: FuncContext, s: Value) -> Value:
    # One character for one, as Go's unicode.ToUpper maps them ("ß" stays "ß").
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in as_str(s, "str"))


def fn_title(ctx: FuncContext, s: Value) -> Value:
    # Go's strings.Title: upper-case a letter that follows a separator (anything but a letter,
    # digit or underscore); leave every other character as it is.
    out = []
    previous = " "
    for char in as_str(s, "str"):
        separator = not (previous.isalnum() or previous == "_")
        out.append(char.title() if separator and len(char.title()) == 1 else char)
        previous = char
    return "".join(out)


# Go's unicode.IsSpace: Python's whitespace less the four ASCII information separators.
_GO_SPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c not in "\x1c\x1d\x1e\x1f")


def fn_trimspace(ctx: FuncContext, s: Value) -> Value:
    return as_str(s, "str").strip(_GO_SPACE)


def fn_trim(ctx: FuncContext, s: Value, cutset: Value) -> Value:
    return as_str(s, "str").strip(as_str(cutset, "cutset"))


def fn_trimprefix(ctx: FuncContext, s: Value, prefix: Value) -> Value:
    return as_str(s, "str").removeprefix(as_str(prefix, "prefix"))


def fn_trimsuffix(ctx: FuncContext, s: Value, suffix: Value) -> Value:
    return as_str(s, "str").removesuffix(as_str(suffix, "suffix"))


def fn_chomp(ctx: FuncContext, s: Value) -> Value:
    return as_str(s, "str").rstrip("\r\n")


def fn_indent(ctx: FuncContext, spaces: Value, s: Value) -> Value:
    pad = " " * max(as_int(spaces, "spaces"), 0)
    return as_str(s, "str").replace("\n", "\n" + pad)


def fn_strrev(ctx: FuncContext, s: Value) -> Value:
    return "".join(reversed(graphemes(as_str(s, "str"))))


def fn_startswith(ctx: FuncContext, s: Value, prefix: Value) -> Value:
    return as_str(s, "str").startswith(as_str(prefix, "prefix"))


def fn_endswith(ctx: FuncContext, s: Value, suffix: Value) -> Value:
    return as_str(s, "str").endswith(as_str(suffix, "suffix"))


def fn_strcontains(ctx: FuncContext, s: Value, substr: Value) -> Value:
    return as_str(substr, "substr") in as_str(s, "str")


def fn_substr(ctx: FuncContext, s: Value, offset: Value, length: Value) -> Value:
    chars = graphemes(as_str(s, "str"))
    start = as_int(offset, "offset")
    count = as_int(length, "length")
    if start < 0:
        start = max(len(chars) + start, 0)
    if start >= len(chars):
        return ""
    end = len(chars) if count < 0 else min(start + count, len(chars))
    return "".join(chars[start:end])


def fn_split(ctx: FuncContext, sep: Value, s: Value) -> Value:
    separator = as_str(sep, "separator")
    text = as_str(s, "str")
    if separator == "":
        return list(text)
    return text.split(separator)


def fn_join(ctx: FuncContext, sep: Value, *lists: Value) -> Value:
    separator = as_str(sep, "separator")
    if not lists:
        raise FunctionError("at least one list is required")
    parts: list[str] = []
    for lst in lists:
        for item in as_seq(lst, "lists"):
            if item is None:
                raise invalid("lists", f"element {len(parts)} is null; cannot concatenate null values")
            parts.append(as_str(item, "lists"))
    return separator.join(parts)


def fn_urlencode(ctx: FuncContext, s: Value) -> Value:
    return urllib.parse.quote_plus(as_str(s, "str"), safe="-_.~")


def go_quote(text: str) -> str:
    """Go's strconv.Quote: a double-quoted string with Go escapes."""
    escapes = {
        "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
        "\v": "\\v", "\\": "\\\\", '"': '\\"',
    }  # fmt: skip
    out = ['"']
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)
