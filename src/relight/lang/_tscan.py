"""Template text scanning (``templatefile`` templates).

A ``templatefile`` template is plain text, not HCL, so its ``${...}`` and ``%{...}`` are found here.
The scanner only splits text into flat tokens; each interpolation's expression stays source text
(with its absolute line and column) for the compiler to parse. Quoted strings inside an
interpolation may contain braces, so the scanner skips over them.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["TemplateSyntaxError", "Tok", "TokKind", "scan_template"]

TokKind = Literal["lit", "interp", "if", "else", "endif", "for", "endfor"]


@dataclass(slots=True)
class Tok:
    """One flat template token. ``raw`` is the expression (a tree node or source text)."""

    kind: TokKind
    line: int
    column: int
    text: str = ""
    raw: Any = None
    names: tuple[str | None, str] = (None, "")
    strip_left: bool = False
    strip_right: bool = False


class TemplateSyntaxError(ValueError):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


_IF_RE = re.compile(r"^if\s+(.+)$", re.S)
_FOR_RE = re.compile(r"^for\s+([A-Za-z_][A-Za-z0-9_-]*)\s*(?:,\s*([A-Za-z_][A-Za-z0-9_-]*)\s*)?\s+in\s+(.+)$", re.S)


class _Scanner:
    def __init__(self, text: str, line: int, column: int) -> None:
        self.text = text
        self.base_line = line
        self.base_col = column
        self.line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def where(self, offset: int) -> tuple[int, int]:
        idx = bisect.bisect_right(self.line_starts, offset) - 1
        col = offset - self.line_starts[idx] + 1
        if idx == 0:
            col += self.base_col - 1
        return self.base_line + idx, col

    def error(self, message: str, offset: int) -> TemplateSyntaxError:
        line, col = self.where(offset)
        return TemplateSyntaxError(message, line, col)

    def closing_brace(self, i: int) -> int:
        """Index of the ``}`` that closes the sequence starting at ``i``."""
        text = self.text
        depth = 0
        while i < len(text):
            c = text[i]
            if c == '"':
                i = self.string_end(i + 1)
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                if depth == 0:
                    return i
                depth -= 1
            i += 1
        raise self.error("Unterminated template sequence: missing '}'", i)

    def string_end(self, i: int) -> int:
        text = self.text
        while i < len(text):
            c = text[i]
            if c == "\\":
                i += 2
                continue
            if c == '"':
                return i + 1
            if c in "$%" and text.startswith("{", i + 1):
                i = self.closing_brace(i + 2) + 1
                continue
            if c == "\n":
                break
            i += 1
        raise self.error("Unterminated string in template expression", i)

    def scan(self) -> list[Tok]:
        text = self.text
        toks: list[Tok] = []
        lit: list[str] = []
        lit_start = 0
        i = 0
        while i < len(text):
            if text.startswith(("$${", "%%{"), i):
                lit.append(text[i + 1 : i + 3])
                i += 3
                continue
            if text.startswith(("${", "%{"), i):
                if lit:
                    toks.append(self._lit("".join(lit), lit_start))
                    lit = []
                i = self._sequence(i, toks)
                lit_start = i
                continue
            lit.append(text[i])
            i += 1
        if lit:
            toks.append(self._lit("".join(lit), lit_start))
        return toks

    def _lit(self, text: str, offset: int) -> Tok:
        line, col = self.where(offset)
        return Tok("lit", line, col, text=text)

    def _sequence(self, i: int, toks: list[Tok]) -> int:
        is_interp = self.text[i] == "$"
        end = self.closing_brace(i + 2)
        start = i + 2
        inner_end = end
        strip_left = self.text.startswith("~", start)
        if strip_left:
            start += 1
        stripped = self.text[start:end].rstrip()
        strip_right = stripped.endswith("~")
        if strip_right:
            inner_end = start + len(stripped) - 1
        inner = self.text[start:inner_end]
        lead = len(inner) - len(inner.lstrip())
        line, col = self.where(start + lead)
        body = inner.strip()
        if is_interp:
            if not body:
                raise self.error("Invalid template interpolation: an expression is required", i)
            tok = Tok("interp", line, col, raw=(body, line, col))
        else:
            tok = self._directive(body, start + lead, line, col)
        tok.strip_left = strip_left
        tok.strip_right = strip_right
        toks.append(tok)
        return end + 1

    def _directive(self, body: str, offset: int, line: int, col: int) -> Tok:
        if body in ("else", "endif", "endfor"):
            return Tok(body, line, col)  # type: ignore[arg-type]
        match = _IF_RE.match(body)
        if match:
            eline, ecol = self.where(offset + match.start(1))
            return Tok("if", line, col, raw=(match.group(1).strip(), eline, ecol))
        match = _FOR_RE.match(body)
        if match:
            first, second, coll = match.group(1), match.group(2), match.group(3)
            names: tuple[str | None, str] = (first, second) if second else (None, first)
            eline, ecol = self.where(offset + match.start(3))
            return Tok("for", line, col, raw=(coll.strip(), eline, ecol), names=names)
        raise self.error("Invalid template directive: expected if, else, endif, for or endfor", offset)


def scan_template(text: str, line: int = 1, column: int = 1) -> list[Tok]:
    """Split template ``text`` (starting at ``line``:``column``) into flat tokens.

    Raises :class:`TemplateSyntaxError` for an unterminated or unknown sequence.
    """
    return _Scanner(text, line, column).scan()
