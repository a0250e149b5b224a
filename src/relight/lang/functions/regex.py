"""Regular-expression functions (``regex``, ``regexall``, ``replace``), RE2 patterns run by Python's ``re``."""

from __future__ import annotations

import re
from collections.abc import Iterator

from relight.lang.funcbase import FuncContext, FunctionError
from relight.lang.functions._args import as_str, invalid
from relight.values import Value


def _compile(pattern: str, param: str = "pattern") -> re.Pattern[str]:
    """Compile an RE2 pattern as a Python pattern (the syntaxes agree on the common subset)."""
    translated = re.sub(r"\(\?<(?![=!])", "(?P<", pattern.replace("\\z", "\\Z"))
    try:
        return re.compile(translated)
    except re.error as exc:
        raise invalid(param, f"invalid regexp pattern: {exc}") from None


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


def fn_replace(ctx: FuncContext, s: Value, substr: Value, replacement: Value) -> Value:
    text = as_str(s, "str")
    search = as_str(substr, "substr")
    repl = as_str(replacement, "replace")
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
    compiled = _compile(as_str(pattern, "pattern"))
    if compiled.groupindex and len(compiled.groupindex) != compiled.groups:
        raise invalid("pattern", "invalid regexp pattern: cannot mix both named and unnamed capture groups")
    return compiled


def fn_regex(ctx: FuncContext, pattern: Value, s: Value) -> Value:
    compiled = _regex_pattern(pattern)
    match = compiled.search(as_str(s, "string"))
    if match is None:
        raise FunctionError("pattern did not match any part of the given string")
    return _match_result(compiled, match)


def fn_regexall(ctx: FuncContext, pattern: Value, s: Value) -> Value:
    compiled = _regex_pattern(pattern)
    return [_match_result(compiled, m) for m in _go_matches(compiled, as_str(s, "string"))]
