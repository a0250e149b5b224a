"""Template assembly shared by the compilers: flat template tokens -> a nested :class:`Template`.

Whatever parses a quoted string, a heredoc or a ``templatefile`` template produces a flat list of
:class:`relight.lang._tscan.Tok` (literal text, interpolations, directive markers). This module
applies strip markers (``~``), heredoc line splitting and ``<<-`` dedenting exactly as HCL does,
and nests ``%{if}``/``%{for}`` directives, reporting unbalanced ones as diagnostics.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from relight.diagnostics import Diagnostics, SourcePos, SourceRange
from relight.lang._tscan import Tok
from relight.lang.expr import Expr, Literal, PosLike, Template, TemplateFor, TemplateIf, TemplatePart

__all__ = ["TemplateAssembler", "apply_strip_markers", "dedent", "split_lines", "unescape"]

_ESCAPE_RE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def unescape(text: str, rng: Callable[[], SourceRange], diags: Diagnostics) -> str:
    """Resolve HCL's backslash escapes in a quoted string's literal text."""
    if "\\" not in text:
        return text

    def repl(match: re.Match[str]) -> str:
        sel = match.group(1)
        if sel in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[sel]
        if sel[0] in "uU" and len(sel) > 1:
            return chr(int(sel[1:], 16))
        diags.error(
            "Invalid escape sequence",
            f'The symbol "{sel}" is not a valid escape sequence selector.',
            rng(),
        )
        return sel

    return _ESCAPE_RE.sub(repl, text)



class TemplateAssembler:
    """Nests a flat token list into template parts; ``bound`` tracks names bound by ``%{for}``."""

    file: str
    diags: Diagnostics
    bound: frozenset[str]

    def template(self, toks: list[Tok], pos: PosLike, compile_raw: Callable[[Any], Expr]) -> Expr:
        """Strip markers, nest directives and compile a flat token list into a Template."""
        apply_strip_markers(toks)
        it = iter(toks)
        parts, end = self._nest(it, compile_raw, ())
        if end is not None:
            self._template_error(end, f"Unexpected %{{{end.kind}}} directive.")
        if all(isinstance(p, str) for p in parts):
            return Literal(self.file, pos, "".join(p for p in parts if isinstance(p, str)))
        return Template(self.file, pos, tuple(parts))

    def _nest(
        self, it: Iterator[Tok], compile_raw: Callable[[Any], Expr], closers: tuple[str, ...]
    ) -> tuple[list[TemplatePart], Tok | None]:
        parts: list[TemplatePart] = []
        for tok in it:
            if tok.kind == "lit":
                if tok.text:
                    if parts and isinstance(parts[-1], str):
                        parts[-1] += tok.text
                    else:
                        parts.append(tok.text)
            elif tok.kind == "interp":
                parts.append(compile_raw(tok.raw))
            elif tok.kind == "if":
                parts.append(self._nest_if(tok, it, compile_raw))
            elif tok.kind == "for":
                parts.append(self._nest_for(tok, it, compile_raw))
            elif tok.kind in closers:
                return parts, tok
            else:
                self._template_error(tok, f"Unexpected %{{{tok.kind}}} directive.")
        return parts, None

    def _nest_if(self, tok: Tok, it: Iterator[Tok], compile_raw: Callable[[Any], Expr]) -> TemplateIf:
        cond = compile_raw(tok.raw)
        then, end = self._nest(it, compile_raw, ("else", "endif"))
        otherwise: list[TemplatePart] = []
        if end is not None and end.kind == "else":
            otherwise, end = self._nest(it, compile_raw, ("endif",))
        if end is None:
            self._template_error(tok, "This %{if} directive has no matching %{endif}.")
        return TemplateIf(cond, tuple(then), tuple(otherwise))

    def _nest_for(self, tok: Tok, it: Iterator[Tok], compile_raw: Callable[[Any], Expr]) -> TemplateFor:
        coll = compile_raw(tok.raw)
        key_var, value_var = tok.names
        saved = self.bound
        self.bound = saved | {value_var} | ({key_var} if key_var else set())
        try:
            body, end = self._nest(it, compile_raw, ("endfor",))
        finally:
            self.bound = saved
        if end is None:
            self._template_error(tok, "This %{for} directive has no matching %{endfor}.")
        return TemplateFor(key_var, value_var, coll, tuple(body))

    def _template_error(self, tok: Tok, detail: str) -> None:
        self.diags.error(
            "Invalid template directive",
            detail,
            SourceRange(self.file, SourcePos(tok.line, tok.column)),
        )


def apply_strip_markers(toks: list[Tok]) -> None:
    for i, tok in enumerate(toks):
        if tok.kind == "lit":
            continue
        if tok.strip_left and i > 0 and toks[i - 1].kind == "lit":
            toks[i - 1].text = toks[i - 1].text.rstrip(" \t\r\n")
        if tok.strip_right and i + 1 < len(toks) and toks[i + 1].kind == "lit":
            toks[i + 1].text = toks[i + 1].text.lstrip(" \t\r\n")
        tok.strip_left = tok.strip_right = False


def split_lines(toks: list[Tok]) -> list[Tok]:
    """Heredoc literals are one token per line in HCL, so a strip marker (``%{~``) only trims
    the fragment of its own line; we split the same way to get the same results."""
    out: list[Tok] = []
    for tok in toks:
        if tok.kind != "lit" or "\n" not in tok.text[:-1]:
            out.append(tok)
            continue
        line = tok.line
        for i, chunk in enumerate(tok.text.splitlines(keepends=True)):
            out.append(Tok("lit", line + i, tok.column if i == 0 else 1, text=chunk))
    return out


def dedent(toks: list[Tok]) -> None:
    """``<<-`` heredocs, exactly as HCL flushes them (after strip markers are applied).

    Lines that are entirely whitespace do not count; a line that starts with an interpolation
    or directive has no indentation, so then nothing is removed.
    """
    width: int | None = None
    at_line_start = True
    line_starts: list[Tok] = []
    for tok in toks:
        if at_line_start:
            at_line_start = False
            if tok.kind == "lit":
                trimmed = tok.text.lstrip()
                if not (trimmed == "" and tok.text.endswith("\n")):
                    spaces = len(tok.text) - len(trimmed)
                    width = spaces if width is None else min(width, spaces)
                    line_starts.append(tok)
            else:
                width = 0
        if tok.kind == "lit" and tok.text.endswith("\n"):
            at_line_start = True
    if not width:
        return
    for tok in line_starts:
        tok.text = tok.text[width:]
