"""Terraform's built-in functions, as an explicit registry.

Contract: :data:`FUNCTIONS` maps each function name to a :class:`FunctionSpec` whose ``impl`` is
``impl(ctx, *args) -> Value`` over the plain-Python value model of :mod:`relight.values`.
:func:`call_function` is what the evaluator calls: it checks arity, applies the unknown rule and
then runs the implementation. Every user mistake raises :class:`FunctionError` with a message in
Terraform's words; nothing else is raised on bad input, and no function mutates its arguments.

Terraform's automatic conversions are reproduced where a parameter has a primitive type: a
number or bool given for a string becomes its string form, a decimal string given for a number
becomes that number, and ``"true"``/``"false"`` given for a bool become bools. Bools are never
numbers. Sets are lists; a set of strings or of numbers is kept sorted, as Terraform orders them.
Numbers are ``int`` or ``float``, and an integral float result is returned as an ``int``.

Strings are measured in user-perceived characters (grapheme clusters) by a compact
approximation of Unicode's segmentation rules, enough for accents, emoji and flags.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import math
import os
import re
import unicodedata
import urllib.parse
import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC
from decimal import Decimal
from typing import Any

from relight.lang.funcbase import FuncContext, FunctionError, FunctionSpec
from relight.values import UNKNOWN, Value, is_wholly_known

__all__ = ["FUNCTIONS", "call_function"]

Number = int | float


# ---------------------------------------------------------------------------------------------
# Argument checking and Terraform's automatic conversions
# ---------------------------------------------------------------------------------------------


def _invalid(param: str, message: str) -> FunctionError:
    """The error Terraform reports as "Invalid function argument"."""
    return FunctionError(f'Invalid value for "{param}" parameter: {message}.')


def _type_name(value: Value) -> str:
    """Terraform's friendly name for the type of a literal value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "tuple"
    if isinstance(value, dict):
        return "object"
    return "dynamic"


def _is_number(value: Value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _norm(number: Number) -> Number:
    """Return an integral, finite float as an int (the value model's canonical number)."""
    if isinstance(number, float) and math.isfinite(number) and number.is_integer():
        # Via the shortest decimal, so 1.5e300 is 15 followed by zeros, as Terraform has it.
        return int(Decimal(repr(number)))
    return number


def _fmt_num(number: Number) -> str:
    """Format a number as Terraform does: shortest exact decimal, never an exponent."""
    if isinstance(number, int):
        return str(number)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    text = format(Decimal(repr(number)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _decimal(number: Number) -> Decimal:
    """The exact decimal a number stands for (its shortest form, for floats)."""
    return Decimal(number) if isinstance(number, int) else Decimal(repr(number))


def _from_decimal(number: Decimal) -> Number:
    return int(number) if number == number.to_integral_value() else float(number)


def _parse_number(text: str) -> Number | None:
    """Parse a decimal number string, or return None if it is not one."""
    if not _DECIMAL.fullmatch(text):
        return None
    return _from_decimal(Decimal(text))


def _not_null(value: Value, param: str) -> None:
    if value is None:
        raise _invalid(param, "argument must not be null")


def _str(value: Value, param: str) -> str:
    """Convert an argument for a string parameter."""
    _not_null(value, param)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        return _fmt_num(value)
    raise _invalid(param, "string required")


def _num(value: Value, param: str) -> Number:
    """Convert an argument for a number parameter."""
    _not_null(value, param)
    if _is_number(value):
        return _norm(value)
    if isinstance(value, str):
        parsed = _parse_number(value)
        if parsed is not None:
            return parsed
        raise _invalid(param, "a number is required")
    raise _invalid(param, "number required")


def _int(value: Value, param: str) -> int:
    """Convert an argument for a number parameter that must be whole."""
    number = _num(value, param)
    if not isinstance(number, int):
        raise _invalid(param, "value must be a whole number")
    return number


def _bool(value: Value, param: str) -> bool:
    """Convert an argument for a bool parameter."""
    _not_null(value, param)
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise _invalid(param, "bool required")


def _seq(value: Value, param: str, message: str = "list, set or tuple required") -> list[Value]:
    """Check an argument for a list, set or tuple parameter."""
    _not_null(value, param)
    if not isinstance(value, list):
        raise _invalid(param, message)
    return value


def _mapping(value: Value, param: str, message: str = "map or object required") -> dict[str, Value]:
    """Check an argument for a map or object parameter."""
    _not_null(value, param)
    if not isinstance(value, dict):
        raise _invalid(param, message)
    return value


def _str_list(value: Value, param: str) -> list[str]:
    """Convert an argument for a ``list(string)`` parameter; elements must not be null."""
    items = _seq(value, param)
    out = []
    for i, item in enumerate(items):
        if item is None:
            raise _invalid(param, f"element {i} is null")
        if not isinstance(item, str | int | float):
            raise _invalid(param, f"element {i}: string required")
        out.append(_str(item, param))
    return out


def _whole(value: Value, param: str, context: str = "") -> int:
    """A number that must be whole, refused in cty's words (``context`` leads the message)."""
    number = _num(value, param)
    if not isinstance(number, int):
        raise FunctionError(
            f"{context}value must be a whole number, between -9223372036854775808 and 9223372036854775807"
        )
    return number


# ---------------------------------------------------------------------------------------------
# Equality, unification and set order
# ---------------------------------------------------------------------------------------------


def _key(value: Value) -> Any:
    """A hashable key under which two values are equal exactly when Terraform says so."""
    if value is None:
        return ("null",)
    if value is UNKNOWN:
        return ("unknown", id(value))
    if isinstance(value, bool):
        return ("bool", value)
    if _is_number(value):
        return ("number", _norm(value))
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("list", tuple(_key(v) for v in value))
    if isinstance(value, dict):
        return ("map", tuple(sorted((k, _key(v)) for k, v in value.items())))
    return ("other", repr(value))


def _equal(a: Value, b: Value) -> bool:
    return bool(_key(a) == _key(b))


def _distinct(values: Iterable[Value]) -> list[Value]:
    seen: set[Any] = set()
    out = []
    for value in values:
        k = _key(value)
        if k not in seen:
            seen.add(k)
            out.append(value)
    return out


def _kind(value: Value) -> str:
    if isinstance(value, bool):
        return "bool"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    return "null"


def _unify(values: list[Value]) -> list[Value] | None:
    """Convert the elements of a tuple to one element type, or None if Terraform cannot.

    Mixed primitives become strings when any of them is a string (bool and number alone do not
    unify); nested lists unify element-wise. Objects are left as they are.
    """
    kinds = {_kind(v) for v in values} - {"null"}
    if len(kinds) <= 1 and kinds != {"list"}:
        return list(values)
    if kinds == {"list"}:
        inner = _unify([item for v in values if v is not None for item in v])
        if inner is None:
            return None
        out: list[Value] = []
        pos = 0
        for v in values:
            if v is None:
                out.append(None)
            else:
                out.append(inner[pos : pos + len(v)])
                pos += len(v)
        return out
    if kinds <= {"string", "number", "bool"} and "string" in kinds:
        return [None if v is None else _str(v, "v") for v in values]
    return None


def _set_order(values: list[Value]) -> list[Value]:
    """Order set elements as Terraform does for primitive and list-of-primitive sets."""
    kinds = {_kind(v) for v in values}
    if kinds == {"string"}:
        return sorted(values)
    if kinds == {"number"}:
        return sorted(values)
    if kinds == {"bool"}:
        return sorted(values)
    if kinds == {"list"}:
        try:
            return sorted(values, key=lambda v: [_key(x) for x in v])
        except TypeError:
            return values
    return values


def _to_set(values: list[Value], param: str) -> list[Value]:
    unified = _unify(values)
    if unified is None:
        raise _invalid(param, "cannot convert tuple to set of any single type")
    return _set_order(_distinct(unified))


# ---------------------------------------------------------------------------------------------
# Grapheme clusters (approximation of UAX #29: marks, joiners, modifiers, flags, CRLF)
# ---------------------------------------------------------------------------------------------

_ZWJ = "\u200d"


def _extends(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
        or char == _ZWJ
    )


def _is_regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _hangul(char: str) -> str:
    """The Hangul syllable type of a character: L, V, T, LV, LVT or "" for none."""
    code = ord(char)
    if 0x1100 <= code <= 0x115F or 0xA960 <= code <= 0xA97F:
        return "L"
    if 0x1160 <= code <= 0x11A7 or 0xD7B0 <= code <= 0xD7C6:
        return "V"
    if 0x11A8 <= code <= 0x11FF or 0xD7CB <= code <= 0xD7FB:
        return "T"
    if 0xAC00 <= code <= 0xD7A3:
        return "LV" if (code - 0xAC00) % 28 == 0 else "LVT"
    return ""


_HANGUL_JOINS = {("L", "L"), ("L", "V"), ("L", "LV"), ("L", "LVT"), ("LV", "V"), ("LV", "T"),
                 ("V", "V"), ("V", "T"), ("LVT", "T"), ("T", "T")}  # fmt: skip


def _graphemes(text: str) -> list[str]:
    clusters: list[str] = []
    for char in text:
        if clusters:
            last = clusters[-1]
            joins = (
                _extends(char)
                or last[-1] == _ZWJ
                or (last == "\r" and char == "\n")
                or (len(last) == 1 and _is_regional(last) and _is_regional(char))
                or (_hangul(last[-1]), _hangul(char)) in _HANGUL_JOINS
            )
            if joins and not (last[-1] in "\r\n" and char != "\n"):
                clusters[-1] = last + char
                continue
        clusters.append(char)
    return clusters


# ---------------------------------------------------------------------------------------------
# Strings
# ---------------------------------------------------------------------------------------------


def _fn_lower(ctx: FuncContext, s: Value) -> Value:
    # One character for one, as Go's unicode.ToLower maps them ("İ" becomes "i").
    return "".join(c.lower()[:1] or c for c in _str(s, "str"))


def _fn_upper(ctx: FuncContext, s: Value) -> Value:
    # One character for one, as Go's unicode.ToUpper maps them ("ß" stays "ß").
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in _str(s, "str"))


def _fn_title(ctx: FuncContext, s: Value) -> Value:
    # Go's strings.Title: upper-case a letter that follows a separator (anything but a letter,
    # digit or underscore); leave every other character as it is.
    out = []
    previous = " "
    for char in _str(s, "str"):
        separator = not (previous.isalnum() or previous == "_")
        out.append(char.title() if separator and len(char.title()) == 1 else char)
        previous = char
    return "".join(out)


# Go's unicode.IsSpace: Python's whitespace less the four ASCII information separators.
_GO_SPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c not in "\x1c\x1d\x1e\x1f")


def _fn_trimspace(ctx: FuncContext, s: Value) -> Value:
    return _str(s, "str").strip(_GO_SPACE)


def _fn_trim(ctx: FuncContext, s: Value, cutset: Value) -> Value:
    return _str(s, "str").strip(_str(cutset, "cutset"))


def _fn_trimprefix(ctx: FuncContext, s: Value, prefix: Value) -> Value:
    return _str(s, "str").removeprefix(_str(prefix, "prefix"))


def _fn_trimsuffix(ctx: FuncContext, s: Value, suffix: Value) -> Value:
    return _str(s, "str").removesuffix(_str(suffix, "suffix"))


def _fn_chomp(ctx: FuncContext, s: Value) -> Value:
    return _str(s, "str").rstrip("\r\n")


def _fn_indent(ctx: FuncContext, spaces: Value, s: Value) -> Value:
    pad = " " * max(_int(spaces, "spaces"), 0)
    return _str(s, "str").replace("\n", "\n" + pad)


def _fn_strrev(ctx: FuncContext, s: Value) -> Value:
    return "".join(reversed(_graphemes(_str(s, "str"))))


def _fn_startswith(ctx: FuncContext, s: Value, prefix: Value) -> Value:
    return _str(s, "str").startswith(_str(prefix, "prefix"))


def _fn_endswith(ctx: FuncContext, s: Value, suffix: Value) -> Value:
    return _str(s, "str").endswith(_str(suffix, "suffix"))


def _fn_strcontains(ctx: FuncContext, s: Value, substr: Value) -> Value:
    return _str(substr, "substr") in _str(s, "str")


def _fn_substr(ctx: FuncContext, s: Value, offset: Value, length: Value) -> Value:
    chars = _graphemes(_str(s, "str"))
    start = _int(offset, "offset")
    count = _int(length, "length")
    if start < 0:
        start = max(len(chars) + start, 0)
    if start >= len(chars):
        return ""
    end = len(chars) if count < 0 else min(start + count, len(chars))
    return "".join(chars[start:end])


def _fn_split(ctx: FuncContext, sep: Value, s: Value) -> Value:
    separator = _str(sep, "separator")
    text = _str(s, "str")
    if separator == "":
        return list(text)
    return text.split(separator)


def _fn_join(ctx: FuncContext, sep: Value, *lists: Value) -> Value:
    separator = _str(sep, "separator")
    if not lists:
        raise FunctionError("at least one list is required")
    parts: list[str] = []
    for lst in lists:
        for item in _seq(lst, "lists"):
            if item is None:
                raise _invalid("lists", f"element {len(parts)} is null; cannot concatenate null values")
            parts.append(_str(item, "lists"))
    return separator.join(parts)


def _fn_urlencode(ctx: FuncContext, s: Value) -> Value:
    return urllib.parse.quote_plus(_str(s, "str"), safe="-_.~")


def _go_quote(text: str) -> str:
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


# --- regular expressions --------------------------------------------------------------------


def _compile(pattern: str, param: str = "pattern") -> re.Pattern[str]:
    """Compile an RE2 pattern as a Python pattern (the syntaxes agree on the common subset)."""
    translated = re.sub(r"\(\?<(?![=!])", "(?P<", pattern.replace("\\z", "\\Z"))
    try:
        return re.compile(translated)
    except re.error as exc:
        raise _invalid(param, f"invalid regexp pattern: {exc}") from None


def _expand_template(template: str, match: re.Match[str]) -> str:
    """Go's Regexp.Expand: ``$1``, ``${1}``, ``$name``, ``${name}`` and ``$$``."""
    out = []
    i = 0
    while i < len(template):
        char = template[i]
        if char != "$" or i + 1 >= len(template):
            out.append(char)
            i += 1
            continue
        rest = template[i + 1 :]
        if rest[0] == "$":
            out.append("$")
            i += 2
            continue
        braced = re.match(r"\{(\w+)\}", rest)
        bare = re.match(r"\w+", rest)
        found = braced or bare
        if not found:
            out.append("$")
            i += 1
            continue
        name = found.group(1) if braced else found.group(0)
        i += 1 + found.end()
        group: str | None = None
        if name.isdigit():
            if int(name) <= (match.re.groups or 0):
                group = match.group(int(name))
        elif name in match.re.groupindex:
            group = match.group(name)
        out.append(group or "")
    return "".join(out)


def _go_matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Successive matches as Go finds them: an empty match right after a match is ignored."""
    last_end = -1
    for match in pattern.finditer(text):
        if match.start() == match.end() == last_end:
            continue
        last_end = match.end()
        yield match


def _fn_replace(ctx: FuncContext, s: Value, substr: Value, replacement: Value) -> Value:
    text = _str(s, "str")
    search = _str(substr, "substr")
    repl = _str(replacement, "replace")
    if len(search) > 1 and search.startswith("/") and search.endswith("/"):
        pattern = _compile(search[1:-1], "substr")
        out, pos = [], 0
        for match in _go_matches(pattern, text):
            out += [text[pos : match.start()], _expand_template(repl, match)]
            pos = match.end()
        return "".join(out) + text[pos:]
    if search == "":
        return repl + repl.join(text) + repl if text else repl
    return text.replace(search, repl)


def _match_result(pattern: re.Pattern[str], match: re.Match[str]) -> Value:
    if pattern.groups == 0:
        return match.group(0)
    if pattern.groupindex:
        return {name: match.group(name) for name in pattern.groupindex}
    return list(match.groups())


def _regex_pattern(pattern: Value) -> re.Pattern[str]:
    compiled = _compile(_str(pattern, "pattern"))
    if compiled.groupindex and len(compiled.groupindex) != compiled.groups:
        raise _invalid("pattern", "invalid regexp pattern: cannot mix both named and unnamed capture groups")
    return compiled


def _fn_regex(ctx: FuncContext, pattern: Value, s: Value) -> Value:
    compiled = _regex_pattern(pattern)
    match = compiled.search(_str(s, "string"))
    if match is None:
        raise FunctionError("pattern did not match any part of the given string")
    return _match_result(compiled, match)


def _fn_regexall(ctx: FuncContext, pattern: Value, s: Value) -> Value:
    compiled = _regex_pattern(pattern)
    return [_match_result(compiled, m) for m in _go_matches(compiled, _str(s, "string"))]


# --- format ---------------------------------------------------------------------------------

_VERB = re.compile(r"%(?:\[(\d+)\])?([-+# 0]*)(\d+)?(?:\.(\d*))?(?:\[(\d+)\])?(.?)", re.S)


def _pad(text: str, flags: str, width: int | None) -> str:
    """Pad to ``width`` as Go does: left-justified with "-", zero-filled after any sign with "0"."""
    if width is None or len(text) >= width:
        return text
    if "-" in flags:
        return text.ljust(width)
    if "0" in flags:
        sign = text[0] if text[:1] in ("+", "-", " ") and text[1:2].isdigit() else ""
        return sign + text[len(sign) :].rjust(width - len(sign), "0")
    return text.rjust(width)


def _shortest_digits(number: Number) -> tuple[bool, str, int]:
    """Sign, shortest significant digits and decimal exponent of a number (d.ddd x 10^exp)."""
    if isinstance(number, int):
        text = str(abs(number))
        return number < 0, text.rstrip("0") or "0", len(text) - 1
    sign, digit_tuple, exp = Decimal(repr(number)).as_tuple()
    digits = "".join(map(str, digit_tuple))
    stripped = digits.rstrip("0") or "0"
    exponent = len(digits) - 1 + int(exp) if stripped != "0" else 0
    return bool(sign), stripped, exponent


def _go_shortest_g(number: Number) -> str:
    """Go's %g with the shortest precision, which is also what %v does for numbers."""
    if isinstance(number, float) and not math.isfinite(number):
        return _fmt_num(number)
    negative, digits, exponent = _shortest_digits(number)
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        text = f"{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"
    elif exponent >= len(digits) - 1:
        text = digits + "0" * (exponent - len(digits) + 1)
    elif exponent >= 0:
        text = digits[: exponent + 1] + "." + digits[exponent + 1 :]
    else:
        text = "0." + "0" * (-exponent - 1) + digits
    return ("-" if negative else "") + text


def _go_float(number: Number, verb: str, precision: int | None, flags: str) -> str:
    """Go's %e, %f and %g (shortest representation when %g has no precision)."""
    if verb in "gG" and precision is None:
        text = _go_shortest_g(number)
    else:
        prec = 6 if precision is None else precision
        text = f"%.{prec}{verb.lower()}" % number
    if verb.isupper():
        text = text.upper()
    if not text.startswith("-"):
        text = ("+" if "+" in flags else (" " if " " in flags else "")) + text
    return text


def _format_one(verb: str, flags: str, width: int | None, precision: int | None, arg: Value) -> str:
    """Format one argument for one verb; raises ValueError with the reason on a bad value."""
    if arg is None:
        raise ValueError("null value cannot be formatted")
    if verb == "v" and "#" in flags:
        return _pad(_json_encode(arg), flags, width)
    if verb == "v":
        if isinstance(arg, list | dict):
            return _pad(_json_encode(arg), flags, width)
        if _is_number(arg):
            return _pad(_go_shortest_g(arg), flags, width)
        return _format_one("s", flags, width, precision, arg)
    if verb in "sq":
        if not isinstance(arg, str | int | float):
            raise ValueError("string required")
        text = _str(arg, "args")
        if precision is not None:
            text = text[:precision]
        return _pad(_go_quote(text) if verb == "q" else text, flags, width)
    if verb == "t":
        if not (isinstance(arg, bool) or arg in ("true", "false")):
            raise ValueError("bool is required")
        return _str(arg, "args")  # Terraform ignores the width of %t
    parsed = _parse_number(arg) if isinstance(arg, str) else arg
    if not isinstance(parsed, int | float) or isinstance(parsed, bool):
        raise ValueError("a number is required")
    number: Number = parsed
    if verb in "bdoxX":
        number = _norm(number)
        if not isinstance(number, int):
            raise ValueError("an integer is required")
        base = {"b": "b", "d": "d", "o": "o", "x": "x", "X": "X"}[verb]
        body = format(abs(number), base)
        if "#" in flags and verb in "oxX":
            body = {"o": "0", "x": "0x", "X": "0X"}[verb] + body
        sign = "-" if number < 0 else ("+" if "+" in flags else (" " if " " in flags else ""))
        return _pad(sign + body, flags, width)
    return _pad(_go_float(number, verb, precision, flags), flags, width)


def _format(fmt: str, args: list[Value]) -> str:
    """Terraform's format(): Go-like verbs %v %#v %t %s %q %d %b %o %x %X %e %E %f %g %G %%."""
    out = []
    pos = 0
    next_arg = 0
    used = 0
    while pos < len(fmt):
        cut = fmt.find("%", pos)
        if cut < 0:
            out.append(fmt[pos:])
            break
        out.append(fmt[pos:cut])
        match = _VERB.match(fmt, cut)
        assert match is not None
        index1, flags, width, precision, index2, verb = match.groups()
        if verb == "":
            raise FunctionError(f"invalid format string starting at offset {match.end()}")
        pos = match.end()
        if verb == "%":
            out.append("%")
            continue
        if verb not in "vtsqdboxXeEfgG":
            raise FunctionError(f"unsupported format verb '{verb}' in \"{match.group(0)}\" at offset {cut}")
        index = index1 or index2
        if index:
            next_arg = int(index) - 1
        if next_arg >= len(args):
            raise FunctionError(
                f'not enough arguments for "{match.group(0)}" at {cut}: '
                f"need index {next_arg + 1} but have {len(args)} total"
            )
        prec = None if precision is None else int(precision or "0")
        try:
            out.append(_format_one(verb, flags, int(width) if width else None, prec, args[next_arg]))
        except ValueError as exc:
            raise FunctionError(f'unsupported value for "{match.group(0)}" at {cut}: {exc}') from None
        next_arg += 1
        used = max(used, next_arg)
    if used < len(args):
        raise _invalid("args", f"too many arguments; only {used} used by format string")
    return "".join(out)


def _fn_format(ctx: FuncContext, fmt: Value, *args: Value) -> Value:
    return _format(_str(fmt, "format"), list(args))


def _fn_formatlist(ctx: FuncContext, fmt: Value, *args: Value) -> Value:
    template = _str(fmt, "format")
    length: int | None = None
    length_at = 0
    for i, arg in enumerate(args):
        if isinstance(arg, list):
            if length is not None and len(arg) != length:
                raise _invalid(
                    "args",
                    f"argument {i + 1} has length {len(arg)}, which is inconsistent with "
                    f"argument {length_at + 1} of length {length}",
                )
            if length is None:
                length, length_at = len(arg), i
    rows = 1 if length is None else length
    out = []
    for row in range(rows):
        row_args = [arg[row] if isinstance(arg, list) else arg for arg in args]
        try:
            out.append(_format(template, row_args))
        except FunctionError as exc:
            raise FunctionError(f"error on format iteration {row}: {exc}") from None
    return out


# ---------------------------------------------------------------------------------------------
# Collections
# ---------------------------------------------------------------------------------------------


def _fn_length(ctx: FuncContext, value: Value) -> Value:
    _not_null(value, "value")
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, str):
        return len(_graphemes(value))
    if isinstance(value, list | dict):
        return len(value)
    raise FunctionError("argument must be a string, a collection type, or a structural type")


def _fn_lookup(ctx: FuncContext, mapping: Value, key: Value, *default: Value) -> Value:
    if mapping is UNKNOWN or not is_wholly_known(key):
        return UNKNOWN
    inputs = _mapping(mapping, "inputMap", "lookup() requires a map as the first argument")
    name = _str(key, "key")
    if name in inputs:
        return inputs[name]
    if default:
        return default[0]
    raise _invalid("inputMap", f'the given object has no attribute "{name}"')


def _fn_merge(ctx: FuncContext, *maps: Value) -> Value:
    out: dict[str, Value] = {}
    for mapping in maps:
        if mapping is None:
            continue
        if mapping is UNKNOWN:
            return UNKNOWN
        if not isinstance(mapping, dict):
            raise FunctionError(f'arguments must be maps or objects, got "{_type_name(mapping)}"')
        out.update(mapping)
    return out


def _fn_concat(ctx: FuncContext, *seqs: Value) -> Value:
    if not seqs:
        raise FunctionError("at least one argument is required")
    out: list[Value] = []
    for seq in seqs:
        if seq is UNKNOWN:
            return UNKNOWN
        if not isinstance(seq, list):
            raise _invalid("seqs", f"all arguments must be lists or tuples; got {_type_name(seq)}")
        out.extend(seq)
    return out


def _fn_keys(ctx: FuncContext, mapping: Value) -> Value:
    if mapping is UNKNOWN:
        return UNKNOWN
    return sorted(_mapping(mapping, "inputMap", "must have map or object type"))


def _fn_values(ctx: FuncContext, mapping: Value) -> Value:
    if mapping is UNKNOWN:
        return UNKNOWN
    if not isinstance(mapping, dict):
        raise FunctionError("values() requires a map as the first argument")
    return [mapping[k] for k in sorted(mapping)]


def _fn_element(ctx: FuncContext, seq: Value, index: Value) -> Value:
    if seq is UNKNOWN or not is_wholly_known(index):
        return UNKNOWN
    _not_null(seq, "list")
    if not isinstance(seq, list):
        raise FunctionError(f"cannot read elements from {_type_name(seq)}")
    position = _whole(index, "index", "invalid index: ")
    if not seq:
        raise FunctionError("cannot use element function with an empty list")
    if position < 0:
        raise FunctionError("cannot use element function with a negative index")
    return seq[position % len(seq)]


def _fn_contains(ctx: FuncContext, seq: Value, value: Value) -> Value:
    items = _seq(seq, "list", "argument must be list, tuple, or set")
    return any(_equal(item, value) for item in items)


def _fn_index(ctx: FuncContext, seq: Value, value: Value) -> Value:
    items = _seq(seq, "list", "argument must be a list or tuple")
    for i, item in enumerate(items):
        if _equal(item, value):
            return i
    raise FunctionError("item not found")


def _fn_coalesce(ctx: FuncContext, *args: Value) -> Value:
    unified = _unify(list(args))
    if unified is None or not args:
        raise FunctionError("all arguments must have the same type")
    for value in unified:
        if value is not None and value != "":
            return value
    raise FunctionError("no non-null, non-empty-string arguments")


def _fn_coalescelist(ctx: FuncContext, *args: Value) -> Value:
    if not args:
        raise FunctionError("at least one argument is required")
    for arg in args:
        if not isinstance(arg, list):
            raise FunctionError("coalescelist arguments must be lists or tuples")
        if arg:
            return arg
    raise FunctionError("no non-null arguments")


def _fn_compact(ctx: FuncContext, seq: Value) -> Value:
    items = _seq(seq, "list")
    return [_str(item, "list") for item in items if item is not None and item != ""]


def _fn_distinct(ctx: FuncContext, seq: Value) -> Value:
    unified = _unify(_seq(seq, "list"))
    if unified is None:
        raise _invalid("list", "list of any single type required")
    return _distinct(unified)


def _flatten(items: list[Value]) -> Iterator[Value]:
    for item in items:
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield item


def _fn_flatten(ctx: FuncContext, seq: Value) -> Value:
    if not isinstance(seq, list):
        raise FunctionError("can only flatten lists, sets and tuples")
    return list(_flatten(seq))


def _fn_zipmap(ctx: FuncContext, keys: Value, values: Value) -> Value:
    names = _str_list(keys, "keys")
    items = _seq(values, "values")
    if len(names) != len(items):
        raise FunctionError(f"number of keys ({len(names)}) does not match number of values ({len(items)})")
    return dict(zip(names, items, strict=True))


def _fn_reverse(ctx: FuncContext, seq: Value) -> Value:
    _not_null(seq, "list")
    if not isinstance(seq, list):
        raise _invalid("list", f"can only reverse list or tuple values, not {_type_name(seq)}")
    return list(reversed(seq))


def _fn_sort(ctx: FuncContext, seq: Value) -> Value:
    return sorted(_str_list(seq, "list"))


def _fn_slice(ctx: FuncContext, seq: Value, start: Value, end: Value) -> Value:
    items = _seq(seq, "list", "must be a list or tuple value")
    first = _int(start, "start_index")
    last = _int(end, "end_index")
    if first < 0:
        raise _invalid("start_index", "start index must not be less than zero")
    if last > len(items):
        raise _invalid("end_index", "end index must not be greater than the length of the list")
    if first > last:
        raise _invalid("start_index", "start index must not be greater than end index")
    return items[first:last]


def _fn_one(ctx: FuncContext, seq: Value) -> Value:
    if not isinstance(seq, list) or len(seq) > 1:
        raise _invalid("list", "must be a list, set, or tuple value with either zero or one elements")
    return seq[0] if seq else None


def _fn_chunklist(ctx: FuncContext, seq: Value, size: Value) -> Value:
    items = _seq(seq, "list")
    chunk = _int(size, "size")
    if chunk < 0:
        raise FunctionError("the size argument must be positive")
    if chunk == 0:
        return [list(items)] if items else []
    return [items[i : i + chunk] for i in range(0, len(items), chunk)]


def _bool_list(seq: Value) -> list[bool]:
    items = _seq(seq, "list")
    out = []
    for i, item in enumerate(items):
        if not (isinstance(item, bool) or item in ("true", "false")):
            raise _invalid("list", f"element {i}: bool required")
        out.append(_bool(item, "list"))
    return out


def _fn_alltrue(ctx: FuncContext, seq: Value) -> Value:
    return all(_bool_list(seq))


def _fn_anytrue(ctx: FuncContext, seq: Value) -> Value:
    return any(_bool_list(seq))


def _fn_setproduct(ctx: FuncContext, *sets: Value) -> Value:
    if len(sets) < 2:
        raise FunctionError("at least two arguments are required")
    rows: list[list[Value]] = [[]]
    for s in sets:
        items = _seq(s, "sets")
        rows = [[*row, item] for row in rows for item in items]
    return rows


def _set_args(sets: tuple[Value, ...]) -> list[list[Value]]:
    if not sets:
        raise FunctionError("at least one argument is required")
    return [_seq(s, "first_set" if i == 0 else "other_sets") for i, s in enumerate(sets)]


def _fn_setunion(ctx: FuncContext, *sets: Value) -> Value:
    return _to_set([item for s in _set_args(sets) for item in s], "sets")


def _fn_setintersection(ctx: FuncContext, *sets: Value) -> Value:
    lists = _set_args(sets)
    result = _to_set(lists[0], "first_set")
    for other in lists[1:]:
        keys = {_key(v) for v in _to_set(other, "other_sets")}
        result = [v for v in result if _key(v) in keys]
    return result


def _fn_setsubtract(ctx: FuncContext, a: Value, b: Value) -> Value:
    remove = {_key(v) for v in _to_set(_seq(b, "b"), "b")}
    return [v for v in _to_set(_seq(a, "a"), "a") if _key(v) not in remove]


def _fn_transpose(ctx: FuncContext, mapping: Value) -> Value:
    out: dict[str, list[str]] = {}
    for key in sorted(_mapping(mapping, "values")):
        for value in _str_list(mapping[key], "values"):
            out.setdefault(value, []).append(key)
    return out


def _fn_matchkeys(ctx: FuncContext, values: Value, keys: Value, searchset: Value) -> Value:
    items = _seq(values, "values")
    names = _seq(keys, "keys")
    wanted = _seq(searchset, "searchset")
    if len(items) != len(names):
        raise FunctionError("length of keys and values should be equal")
    wanted_keys = {_key(w) for w in wanted}
    return [v for v, k in zip(items, names, strict=True) if _key(k) in wanted_keys]


def _fn_range(ctx: FuncContext, *params: Value) -> Value:
    nums = [_num(p, "params") for p in params]
    start: Number
    limit: Number
    step: Number
    if len(nums) == 1:
        start, limit, step = 0, nums[0], (1 if nums[0] >= 0 else -1)
    elif len(nums) == 2:
        start, limit = nums
        step = 1 if limit >= start else -1
    else:
        start, limit, step = nums
        if step < 0 and limit > start:
            raise _invalid("params", "end must be less than start when step is negative")
        if step > 0 and limit < start:
            raise _invalid("params", "end must be greater than start when step is positive")
    # Decimal steps, so range(0.1, 0.5, 0.1) yields 0.3 and not 0.30000000000000004.
    first, increment = _decimal(start), _decimal(step)
    out: list[Value] = []
    current = first
    while (step >= 0 and current < limit) or (step < 0 and current > limit):
        if len(out) >= 1024:
            raise FunctionError(
                "more than 1024 values were generated; either decrease the difference "
                "between start and end or use a smaller step"
            )
        out.append(_from_decimal(current))
        current = first + increment * len(out)
    return out


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------


def _numbers(args: tuple[Value, ...], param: str) -> list[Number]:
    return [_num(a, param) for a in args]


def _fn_min(ctx: FuncContext, *numbers: Value) -> Value:
    if not numbers:
        raise FunctionError("must pass at least one number")
    return min(_numbers(numbers, "numbers"))


def _fn_max(ctx: FuncContext, *numbers: Value) -> Value:
    if not numbers:
        raise FunctionError("must pass at least one number")
    return max(_numbers(numbers, "numbers"))


def _fn_sum(ctx: FuncContext, seq: Value) -> Value:
    items = _seq(seq, "list", "argument must be list, set, or tuple of number values")
    if not items:
        raise _invalid("list", "cannot sum an empty list")
    total = Decimal(0)
    for item in items:
        if not (_is_number(item) or isinstance(item, str)):
            raise _invalid("list", "argument must be list, set, or tuple of number values")
        total += _decimal(_num(item, "list"))
    return _from_decimal(total)


def _fn_abs(ctx: FuncContext, n: Value) -> Value:
    return abs(_num(n, "num"))


def _fn_ceil(ctx: FuncContext, n: Value) -> Value:
    number = _num(n, "num")
    return number if isinstance(number, int) or math.isinf(number) else math.ceil(number)


def _fn_floor(ctx: FuncContext, n: Value) -> Value:
    number = _num(n, "num")
    return number if isinstance(number, int) or math.isinf(number) else math.floor(number)


def _fn_pow(ctx: FuncContext, n: Value, power: Value) -> Value:
    base, exponent = _num(n, "num"), _num(power, "power")
    if isinstance(base, int) and isinstance(exponent, int) and exponent >= 0:
        return base**exponent
    try:
        return _norm(math.pow(base, exponent))
    except (OverflowError, ValueError) as exc:
        raise FunctionError(f"cannot raise {_fmt_num(base)} to {_fmt_num(exponent)}: {exc}") from None


def _fn_signum(ctx: FuncContext, n: Value) -> Value:
    number = _whole(n, "num")
    return (number > 0) - (number < 0)


def _ln(number: Number) -> float:
    if number == 0:
        return -math.inf
    return math.nan if number < 0 else math.log(number)


def _fn_log(ctx: FuncContext, n: Value, base: Value) -> Value:
    # IEEE division as in Go: log(2, 1) is +Inf, log(2, 0) is 0; only NaN is an error.
    number, b = _num(n, "num"), _num(base, "base")
    top, bottom = _ln(number), _ln(b)
    if math.isnan(top) or math.isnan(bottom) or (math.isinf(top) and math.isinf(bottom)):
        raise FunctionError(f"cannot take the logarithm of {_fmt_num(number)} in base {_fmt_num(b)}")
    if bottom == 0 and top == 0:
        raise FunctionError(f"cannot take the logarithm of {_fmt_num(number)} in base 1")
    if bottom == 0:
        return math.copysign(math.inf, top)
    return _norm(top / bottom)


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _fn_parseint(ctx: FuncContext, number: Value, base: Value) -> Value:
    radix = _num(base, "base")
    if not isinstance(radix, int) or not 2 <= radix <= 62:
        raise _invalid("base", "base must be a whole number between 2 and 62 inclusive")
    if not isinstance(number, str):
        raise _invalid("number", "string required")
    text = number[1:] if number[:1] in "+-" else number
    total = 0
    for char in text:
        digit = _DIGITS.find(char.lower() if radix <= 36 else char)
        if digit < 0 or digit >= radix:
            total = -1
            break
        total = total * radix + digit
    if not text or total < 0:
        raise _invalid("number", f'cannot parse "{number}" as a base {radix} integer')
    return -total if number.startswith("-") else total


# ---------------------------------------------------------------------------------------------
# Type conversion
# ---------------------------------------------------------------------------------------------


def _fn_sensitivity(ctx: FuncContext, v: Value) -> Value:
    """``sensitive``/``nonsensitive``: the value itself. Sensitivity is tracked per output and
    per schema attribute, not per value, so marking a value changes nothing else."""
    return v


def _fn_tostring(ctx: FuncContext, v: Value) -> Value:
    if v is None:
        return None
    if isinstance(v, list | dict):
        raise _invalid("v", f"cannot convert {_type_name(v)} to string")
    return _str(v, "v")


def _fn_tonumber(ctx: FuncContext, v: Value) -> Value:
    if v is None:
        return None
    if _is_number(v):
        return _norm(v)
    if isinstance(v, str):
        parsed = _parse_number(v)
        if parsed is None:
            raise _invalid(
                "v",
                f'cannot convert "{v}" to number; given string must be a decimal representation of a number',
            )
        return parsed
    raise _invalid("v", f"cannot convert {_type_name(v)} to number")


def _fn_tobool(ctx: FuncContext, v: Value) -> Value:
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str):
        if v in ("true", "false"):
            return v == "true"
        raise _invalid("v", f'cannot convert "{v}" to bool; only the strings "true" or "false" are allowed')
    raise _invalid("v", f"cannot convert {_type_name(v)} to bool")


def _fn_tolist(ctx: FuncContext, v: Value) -> Value:
    if v is None:
        return None
    unified = _unify(v) if isinstance(v, list) else None
    if unified is None:
        raise _invalid("v", f"cannot convert {_type_name(v)} to list of any single type")
    return unified


def _fn_toset(ctx: FuncContext, v: Value) -> Value:
    if v is None:
        return None
    if not isinstance(v, list):
        raise _invalid("v", f"cannot convert {_type_name(v)} to set of any single type")
    return _to_set(v, "v")


def _fn_tomap(ctx: FuncContext, v: Value) -> Value:
    if v is None:
        return None
    unified = _unify(list(v.values())) if isinstance(v, dict) else None
    if unified is None:
        raise _invalid("v", f"cannot convert {_type_name(v)} to map of any single type")
    return dict(zip(v, unified, strict=True))


# ---------------------------------------------------------------------------------------------
# Encodings and hashes
# ---------------------------------------------------------------------------------------------


_JSON_HTML = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                            "\u2028": "\\u2028", "\u2029": "\\u2029"})  # fmt: skip


def _json_encode(value: Value) -> str:
    """Encode as Terraform does: sorted keys, no spaces, HTML characters escaped as in Go, and
    numbers written out in full decimal (never with an exponent)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        if isinstance(value, float) and not math.isfinite(value):
            raise FunctionError("cannot encode an infinite number as JSON")
        return _fmt_num(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).translate(_JSON_HTML)
    if isinstance(value, list):
        return "[" + ",".join(_json_encode(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{_json_encode(k)}:{_json_encode(value[k])}" for k in sorted(value))
        return "{" + ",".join(items) + "}"
    raise FunctionError(f"cannot encode a value of type {type(value).__name__} as JSON")


def _fn_jsonencode(ctx: FuncContext, value: Value) -> Value:
    return _json_encode(value)


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
    return _norm(float(text))


def _fn_jsondecode(ctx: FuncContext, s: Value) -> Value:
    text = _str(s, "str")
    try:
        return json.loads(text, parse_float=_json_number, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise FunctionError(_json_error(text, exc)) from None
    except ValueError as exc:
        raise FunctionError(str(exc)) from None


def _fn_base64encode(ctx: FuncContext, s: Value) -> Value:
    return base64.b64encode(_str(s, "str").encode()).decode("ascii")


def _fn_base64decode(ctx: FuncContext, s: Value) -> Value:
    text = _str(s, "str")
    try:
        data = base64.b64decode(text, validate=True)
    except ValueError:
        raise FunctionError(f'failed to decode base64 data "{text}"') from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FunctionError("the result of decoding the provided string is not valid UTF-8") from None


def _hash(algorithm: str) -> Callable[[FuncContext, Value], Value]:
    def impl(ctx: FuncContext, s: Value) -> Value:
        return hashlib.new(algorithm, _str(s, "str").encode()).hexdigest()

    return impl


def _fn_base64sha256(ctx: FuncContext, s: Value) -> Value:
    return base64.b64encode(hashlib.sha256(_str(s, "str").encode()).digest()).decode("ascii")


def _fn_base64sha512(ctx: FuncContext, s: Value) -> Value:
    return base64.b64encode(hashlib.sha512(_str(s, "str").encode()).digest()).decode("ascii")


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
    if _is_number(value):
        return _fmt_num(value)
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


def _fn_yamlencode(ctx: FuncContext, value: Value) -> Value:
    _json_encode(value)  # the same values are encodable, with the same errors
    if isinstance(value, dict) and value:
        return "\n".join(_yaml_map(value, 0)) + "\n"
    if isinstance(value, list) and value:
        return "\n".join(_yaml_seq(value, 0)) + "\n"
    text = _yaml_scalar(value, 2, 0) + "\n"
    if not isinstance(value, str | list | dict):
        text += "...\n"
    return text


# ---------------------------------------------------------------------------------------------
# Files and paths
# ---------------------------------------------------------------------------------------------


def _resolve(ctx: FuncContext, path: str) -> str:
    expanded = os.path.expanduser(path)
    return expanded if os.path.isabs(expanded) else os.path.join(ctx.base_dir, expanded)


def _read_bytes(ctx: FuncContext, path: Value) -> tuple[str, bytes]:
    name = _str(path, "path")
    try:
        with open(_resolve(ctx, name), "rb") as handle:
            return name, handle.read()
    except FileNotFoundError:
        raise _invalid(
            "path",
            f'no file exists at "{name}"; this function works only with files that are '
            "distributed as part of the configuration source code, so if this file will be "
            "created by a resource in this configuration you must instead obtain this result "
            "from an attribute of that resource",
        ) from None
    except OSError as exc:
        raise FunctionError(f'failed to read file "{name}": {exc.strerror}') from None


def _read_text(ctx: FuncContext, path: Value) -> tuple[str, str]:
    name, data = _read_bytes(ctx, path)
    try:
        return name, data.decode("utf-8")
    except UnicodeDecodeError:
        raise FunctionError(
            f'contents of "{name}" are not valid UTF-8; use the filebase64 function to obtain '
            "the Base64 encoded contents or the other file functions (e.g. filemd5, filesha256) "
            "to obtain file hashing results instead"
        ) from None


def _fn_file(ctx: FuncContext, path: Value) -> Value:
    return _read_text(ctx, path)[1]


def _fn_filebase64(ctx: FuncContext, path: Value) -> Value:
    return base64.b64encode(_read_bytes(ctx, path)[1]).decode("ascii")


def _file_hash(algorithm: str) -> Callable[[FuncContext, Value], Value]:
    def impl(ctx: FuncContext, path: Value) -> Value:
        return hashlib.new(algorithm, _read_bytes(ctx, path)[1]).hexdigest()

    return impl


def _fn_fileexists(ctx: FuncContext, path: Value) -> Value:
    name = _str(path, "path")
    resolved = _resolve(ctx, name)
    if not os.path.exists(resolved):
        return False
    if os.path.isdir(resolved):
        raise FunctionError(f'"{name}" is a directory, not a file')
    if not os.path.isfile(resolved):
        raise FunctionError(f'"{name}" is not a regular file')
    return True


_TEMPLATE_VAR = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def _fn_templatefile(ctx: FuncContext, path: Value, variables: Value) -> Value:
    if not isinstance(variables, dict):
        raise _invalid("vars", "invalid vars value: must be a map")
    for name in variables:
        if not _TEMPLATE_VAR.fullmatch(name):
            raise _invalid(
                "vars",
                f'invalid template variable name "{name}": must start with a letter, followed '
                "by zero or more letters, digits, and underscores",
            )
    filename, text = _read_text(ctx, path)
    return ctx.render_template(text, variables, filename)


def _clean_path(path: str) -> str:
    """Go's filepath.Clean for slash-separated paths."""
    if path == "":
        return "."
    cleaned = os.path.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def _fn_basename(ctx: FuncContext, path: Value) -> Value:
    text = _str(path, "path").rstrip("/")
    if text == "":
        return "/" if _str(path, "path") else "."
    return text.rsplit("/", 1)[-1]


def _fn_dirname(ctx: FuncContext, path: Value) -> Value:
    text = _str(path, "path")
    head = text[: text.rfind("/") + 1]
    return _clean_path(head)


def _fn_abspath(ctx: FuncContext, path: Value) -> Value:
    return os.path.abspath(_str(path, "path"))


def _fn_pathexpand(ctx: FuncContext, path: Value) -> Value:
    return os.path.expanduser(_str(path, "path"))


# ---------------------------------------------------------------------------------------------
# Network addresses
# ---------------------------------------------------------------------------------------------

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network(prefix: Value) -> IPNetwork:
    text = _str(prefix, "prefix")
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise FunctionError(f"invalid CIDR expression: invalid CIDR address: {text}") from None


def _subnet(network: IPNetwork, newbits: int, netnum: int) -> IPNetwork:
    new_length = network.prefixlen + newbits
    if newbits < 0 or new_length > network.max_prefixlen:
        raise FunctionError(f"insufficient address space to extend prefix of {network.prefixlen} by {newbits}")
    if netnum < 0 or netnum >= 1 << newbits:
        raise FunctionError(f"prefix extension of {newbits} does not accommodate a subnet numbered {netnum}")
    address = int(network.network_address) | (netnum << (network.max_prefixlen - new_length))
    return ipaddress.ip_network((address, new_length))


def _fn_cidrsubnet(ctx: FuncContext, prefix: Value, newbits: Value, netnum: Value) -> Value:
    network = _network(prefix)
    return str(_subnet(network, _int(newbits, "newbits"), _int(netnum, "netnum")))


def _fn_cidrhost(ctx: FuncContext, prefix: Value, hostnum: Value) -> Value:
    network = _network(prefix)
    number = _int(hostnum, "hostnum")
    size = network.num_addresses
    offset = number + size if number < 0 else number
    if not 0 <= offset < size:
        shown = number if number >= 0 else offset
        raise FunctionError(f"prefix of {network.prefixlen} does not accommodate a host numbered {shown}")
    return str(network.network_address + offset)


def _fn_cidrnetmask(ctx: FuncContext, prefix: Value) -> Value:
    network = _network(prefix)
    if network.version == 6:
        raise FunctionError(f"IPv6 addresses cannot have a netmask: {_str(prefix, 'prefix')}")
    return str(network.netmask)


def _fn_cidrsubnets(ctx: FuncContext, prefix: Value, *newbits: Value) -> Value:
    network = _network(prefix)
    out: list[str] = []
    next_address = int(network.network_address)
    end = int(network.broadcast_address)
    for bits in newbits:
        extend = _int(bits, "newbits")
        if extend < 1 or network.prefixlen + extend > network.max_prefixlen:
            raise _invalid(
                "newbits",
                f"would extend prefix to {network.prefixlen + extend} bits, which is too long "
                f"for an IPv{network.version} address",
            )
        length = network.prefixlen + extend
        block = 1 << (network.max_prefixlen - length)
        start = -(-next_address // block) * block
        if start + block - 1 > end:
            raise _invalid(
                "newbits",
                f"not enough remaining address space for a subnet with a prefix "
                f"of {length} bits after {out[-1] if out else network}",
            )
        out.append(str(ipaddress.ip_network((start, length))))
        next_address = start + block
    return out


# ---------------------------------------------------------------------------------------------
# Time and identity
# ---------------------------------------------------------------------------------------------


def _fn_timestamp(ctx: FuncContext) -> Value:
    now = ctx.now().astimezone(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fn_uuid(ctx: FuncContext) -> Value:
    return str(uuidlib.uuid4())


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


def _spec(
    name: str,
    impl: Callable[..., Value],
    min_args: int,
    max_args: int | None = -1,
    handles_unknown: bool = False,
) -> FunctionSpec:
    """``max_args`` -1 means "same as min_args"; None means variadic."""
    upper = min_args if max_args == -1 else max_args
    return FunctionSpec(name, impl, min_args, upper, handles_unknown)


_SPECS = [
    # strings
    _spec("lower", _fn_lower, 1),
    _spec("upper", _fn_upper, 1),
    _spec("title", _fn_title, 1),
    _spec("trimspace", _fn_trimspace, 1),
    _spec("trim", _fn_trim, 2),
    _spec("trimprefix", _fn_trimprefix, 2),
    _spec("trimsuffix", _fn_trimsuffix, 2),
    _spec("chomp", _fn_chomp, 1),
    _spec("indent", _fn_indent, 2),
    _spec("strrev", _fn_strrev, 1),
    _spec("startswith", _fn_startswith, 2),
    _spec("endswith", _fn_endswith, 2),
    _spec("strcontains", _fn_strcontains, 2),
    _spec("substr", _fn_substr, 3),
    _spec("split", _fn_split, 2),
    _spec("join", _fn_join, 1, None),
    _spec("replace", _fn_replace, 3),
    _spec("regex", _fn_regex, 2),
    _spec("regexall", _fn_regexall, 2),
    _spec("format", _fn_format, 1, None),
    _spec("formatlist", _fn_formatlist, 1, None),
    _spec("urlencode", _fn_urlencode, 1),
    # collections
    _spec("length", _fn_length, 1, handles_unknown=True),
    _spec("lookup", _fn_lookup, 2, 3, handles_unknown=True),
    _spec("merge", _fn_merge, 0, None, handles_unknown=True),
    _spec("concat", _fn_concat, 0, None, handles_unknown=True),
    _spec("keys", _fn_keys, 1, handles_unknown=True),
    _spec("values", _fn_values, 1, handles_unknown=True),
    _spec("element", _fn_element, 2, handles_unknown=True),
    _spec("contains", _fn_contains, 2),
    _spec("index", _fn_index, 2),
    _spec("coalesce", _fn_coalesce, 0, None),
    _spec("coalescelist", _fn_coalescelist, 0, None),
    _spec("compact", _fn_compact, 1),
    _spec("distinct", _fn_distinct, 1),
    _spec("flatten", _fn_flatten, 1),
    _spec("zipmap", _fn_zipmap, 2),
    _spec("reverse", _fn_reverse, 1),
    _spec("sort", _fn_sort, 1),
    _spec("slice", _fn_slice, 3),
    _spec("one", _fn_one, 1),
    _spec("chunklist", _fn_chunklist, 2),
    _spec("alltrue", _fn_alltrue, 1),
    _spec("anytrue", _fn_anytrue, 1),
    _spec("setproduct", _fn_setproduct, 0, None),
    _spec("setunion", _fn_setunion, 1, None),
    _spec("setintersection", _fn_setintersection, 1, None),
    _spec("setsubtract", _fn_setsubtract, 2),
    _spec("transpose", _fn_transpose, 1),
    _spec("matchkeys", _fn_matchkeys, 3),
    _spec("range", _fn_range, 1, 3),
    # numbers
    _spec("min", _fn_min, 0, None),
    _spec("max", _fn_max, 0, None),
    _spec("sum", _fn_sum, 1),
    _spec("abs", _fn_abs, 1),
    _spec("ceil", _fn_ceil, 1),
    _spec("floor", _fn_floor, 1),
    _spec("pow", _fn_pow, 2),
    _spec("signum", _fn_signum, 1),
    _spec("log", _fn_log, 2),
    _spec("parseint", _fn_parseint, 2),
    # type conversion
    _spec("tostring", _fn_tostring, 1),
    _spec("sensitive", _fn_sensitivity, 1, handles_unknown=True),
    _spec("nonsensitive", _fn_sensitivity, 1, handles_unknown=True),
    _spec("tonumber", _fn_tonumber, 1),
    _spec("tobool", _fn_tobool, 1),
    _spec("tolist", _fn_tolist, 1),
    _spec("toset", _fn_toset, 1),
    _spec("tomap", _fn_tomap, 1),
    # encoding and hashing
    _spec("jsonencode", _fn_jsonencode, 1),
    _spec("jsondecode", _fn_jsondecode, 1),
    _spec("yamlencode", _fn_yamlencode, 1),
    _spec("base64encode", _fn_base64encode, 1),
    _spec("base64decode", _fn_base64decode, 1),
    _spec("base64sha256", _fn_base64sha256, 1),
    _spec("base64sha512", _fn_base64sha512, 1),
    _spec("md5", _hash("md5"), 1),
    _spec("sha1", _hash("sha1"), 1),
    _spec("sha256", _hash("sha256"), 1),
    _spec("sha512", _hash("sha512"), 1),
    # files and paths
    _spec("file", _fn_file, 1),
    _spec("filebase64", _fn_filebase64, 1),
    _spec("filemd5", _file_hash("md5"), 1),
    _spec("filesha1", _file_hash("sha1"), 1),
    _spec("filesha256", _file_hash("sha256"), 1),
    _spec("filesha512", _file_hash("sha512"), 1),
    _spec("fileexists", _fn_fileexists, 1),
    _spec("templatefile", _fn_templatefile, 2),
    _spec("abspath", _fn_abspath, 1),
    _spec("basename", _fn_basename, 1),
    _spec("dirname", _fn_dirname, 1),
    _spec("pathexpand", _fn_pathexpand, 1),
    # network
    _spec("cidrsubnet", _fn_cidrsubnet, 3),
    _spec("cidrhost", _fn_cidrhost, 2),
    _spec("cidrnetmask", _fn_cidrnetmask, 1),
    _spec("cidrsubnets", _fn_cidrsubnets, 1, None),
    # time and identity
    _spec("timestamp", _fn_timestamp, 0),
    _spec("uuid", _fn_uuid, 0),
]

FUNCTIONS: Mapping[str, FunctionSpec] = {spec.name: spec for spec in _SPECS}


def _arity_message(spec: FunctionSpec, given: int) -> str:
    if spec.max_args is None:
        expected = f"at least {spec.min_args}"
    elif spec.min_args == spec.max_args:
        expected = str(spec.min_args)
    else:
        expected = f"{spec.min_args} to {spec.max_args}"
    noun = "argument" if expected == "1" else "arguments"
    return f'Function "{spec.name}" expects {expected} {noun}, got {given}'


def call_function(name: str, ctx: FuncContext, args: list[Value]) -> Value:
    """Call the built-in ``name`` with already-evaluated ``args``.

    Raises :class:`FunctionError` for an unknown function name, a wrong number of arguments or
    arguments the function rejects. Unless the function handles unknowns itself, any argument
    that is not wholly known makes the result :data:`UNKNOWN` without calling it.
    """
    spec = FUNCTIONS.get(name)
    if spec is None:
        raise FunctionError(f'There is no function named "{name}".')
    count = len(args)
    if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
        raise FunctionError(_arity_message(spec, count))
    if not spec.handles_unknown and not all(is_wholly_known(a) for a in args):
        return UNKNOWN
    return spec.impl(ctx, *args)
