"""Glob patterns as ``fileset`` reads them (doublestar's syntax), compiled to regular expressions.

``*`` matches within one path segment, ``?`` one character of a segment, ``[...]`` a character
class (``[!...]``/``[^...]`` negated), ``{a,b}`` alternatives, ``**`` as a whole segment any number
of directories (zero included), and ``\\`` escapes the next character. A malformed pattern (an
unclosed ``[`` or ``{``) raises ``ValueError`` with doublestar's wording.
"""

from __future__ import annotations

import re

__all__ = ["compile_glob", "literal_prefix"]

_META = frozenset("*?[{\\")


def literal_prefix(pattern: str) -> str:
    """The longest leading run of whole path segments that holds no glob syntax."""
    segments = pattern.split("/")
    kept: list[str] = []
    for segment in segments[:-1]:
        if any(c in _META for c in segment):
            break
        kept.append(segment)
    else:
        last = segments[-1]
        if not any(c in _META for c in last):
            kept.append(last)
    prefix = "/".join(kept)
    return prefix or ("/" if pattern.startswith("/") else ".")


def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regular expression that matches exactly the paths ``pattern`` matches."""
    parts: list[str] = []
    segments = pattern.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:[^/]*/)*")
            continue
        parts.append(_segment(segment))
        if not last:
            parts.append("/")
    return re.compile("".join(parts), re.S)


def _segment(segment: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "\\" and i + 1 < len(segment):
            out.append(re.escape(segment[i + 1]))
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            i = _char_class(segment, i, out)
        elif char == "{":
            i = _alternatives(segment, i, out)
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def _char_class(segment: str, i: int, out: list[str]) -> int:
    end = segment.find("]", i + 2 if segment[i + 1 : i + 2] in ("!", "^") else i + 1)
    if end < 0:
        raise ValueError("syntax error in pattern")
    body = segment[i + 1 : end]
    negate = body[:1] in ("!", "^")
    if negate:
        body = body[1:]
    escaped = body.replace("\\", "\\\\").replace("]", "\\]")
    out.append(f"[{'^/' if negate else ''}{escaped}]")
    return end + 1


def _alternatives(segment: str, i: int, out: list[str]) -> int:
    depth = 0
    for end in range(i, len(segment)):
        if segment[end] == "{":
            depth += 1
        elif segment[end] == "}":
            depth -= 1
            if depth == 0:
                options = _split_top(segment[i + 1 : end])
                out.append("(?:" + "|".join(_segment(o) for o in options) + ")")
                return end + 1
    raise ValueError("syntax error in pattern")


def _split_top(body: str) -> list[str]:
    options: list[str] = []
    depth = 0
    current: list[str] = []
    for char in body:
        if char == "," and depth == 0:
            options.append("".join(current))
            current = []
            continue
        depth += (char == "{") - (char == "}")
        current.append(char)
    options.append("".join(current))
    return options
