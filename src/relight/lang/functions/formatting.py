"""``format`` and ``formatlist``: Go's fmt verbs as Terraform's ``format`` accepts them."""

from __future__ import annotations

import math
import re
from decimal import Decimal

from relight.lang.funcbase import FuncContext, FunctionError
from relight.lang.functions._args import Number, as_str, fmt_num, invalid, is_number, norm, parse_number
from relight.lang.functions.encoding import json_encode
from relight.lang.functions.strings import go_quote
from relight.values import Value

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
        return fmt_num(number)
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
        return _pad(json_encode(arg), flags, width)
    if verb == "v":
        if isinstance(arg, list | dict):
            return _pad(json_encode(arg), flags, width)
        if is_number(arg):
            return _pad(_go_shortest_g(arg), flags, width)
        return _format_one("s", flags, width, precision, arg)
    if verb in "sq":
        if not isinstance(arg, str | int | float):
            raise ValueError("string required")
        text = as_str(arg, "args")
        if precision is not None:
            text = text[:precision]
        return _pad(go_quote(text) if verb == "q" else text, flags, width)
    if verb == "t":
        if not (isinstance(arg, bool) or arg in ("true", "false")):
            raise ValueError("bool is required")
        return as_str(arg, "args")  # Terraform ignores the width of %t
    parsed = parse_number(arg) if isinstance(arg, str) else arg
    if not isinstance(parsed, int | float) or isinstance(parsed, bool):
        raise ValueError("a number is required")
    number: Number = parsed
    if verb in "bdoxX":
        number = norm(number)
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
        raise invalid("args", f"too many arguments; only {used} used by format string")
    return "".join(out)


def fn_format(ctx: FuncContext, fmt: Value, *args: Value) -> Value:
    return _format(as_str(fmt, "format"), list(args))


def fn_formatlist(ctx: FuncContext, fmt: Value, *args: Value) -> Value:
    template = as_str(fmt, "format")
    length: int | None = None
    length_at = 0
    for i, arg in enumerate(args):
        if isinstance(arg, list):
            if length is not None and len(arg) != length:
                raise invalid(
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
