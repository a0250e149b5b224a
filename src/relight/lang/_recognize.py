"""A recogniser for HCL's native syntax that finds the first mistake as Terraform's parser words it.

tree-sitter parses valid files natively and fast, but its error recovery does not say what a
person did wrong. When a file does not parse, this module reads it again the way HCL's own
recursive-descent parser does (same grammar, same notion of where newlines matter) and stops at
the first problem with HCL's summary, detail and position: "Missing newline after argument",
"Unterminated tuple constructor expression", "Invalid multi-line string"... It builds nothing;
it only runs on files that already failed, so its speed does not matter.

:func:`first_problem` returns ``(summary, detail, byte offset)`` or None when it finds the text
valid (then the caller falls back to the tree's own error).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, NoReturn

__all__ = ["Problem", "first_problem"]

_IDENT_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NUMBER_RE: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_PUNCT: Final = (
    "...", "==", "!=", "<=", ">=", "&&", "||", "=>", "::", "${", "%{",
    "{", "}", "[", "]", "(", ")", "=", "<", ">", "!", "+", "-", "*", "/", "%", ".", ",", "?", ":",
)  # fmt: skip
_BINARY: Final = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%"))
_ESCAPES: Final = frozenset('ntr"\\')
_EXPR_START = "Expected the start of an expression, but found an invalid expression token."
_EXPR_EOF = "Expected the start of an expression, but found the end of the file."


@dataclass(frozen=True, slots=True)
class Problem:
    summary: str
    detail: str
    offset: int  # character offset into the text


class _Stop(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.summary)
        self.problem = problem


@dataclass(slots=True)
class _Tok:
    kind: str  # "ident", "number", "quote", "heredoc", "nl", "eof", "invalid" or the punctuation
    start: int
    end: int


def first_problem(text: str, filename: str) -> Problem | None:
    """The first syntax mistake in ``text`` as HCL reports it, or None when there is none."""
    try:
        _Recognizer(text, filename).file()
    except _Stop as stop:
        return stop.problem
    except RecursionError:
        return None
    return None


class _Recognizer:
    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.pos = 0

    # -- errors ----------------------------------------------------------------------------

    def fail(self, summary: str, detail: str, offset: int) -> NoReturn:
        raise _Stop(Problem(summary, detail, offset))

    def expected_expression(self, tok: _Tok) -> NoReturn:
        if tok.kind == "eof":
            self.fail("Missing expression", _EXPR_EOF, tok.start)
        if tok.kind == "invalid":
            self.fail("Invalid character", "This character is not used within the language.", tok.start)
        self.fail("Invalid expression", _EXPR_START, tok.start)

    def where(self, start: int, end: int) -> str:
        line = self.text.count("\n", 0, start) + 1
        col = start - (self.text.rfind("\n", 0, start) + 1) + 1
        end_col = end - (self.text.rfind("\n", 0, end) + 1) + 1
        return f"{self.filename}:{line},{col}-{end_col}"

    # -- tokens ----------------------------------------------------------------------------

    def skip(self, newlines: bool) -> None:
        self.pos = self.skipped(self.pos, newlines)

    def skipped(self, i: int, newlines: bool) -> int:
        """The offset after blanks and comments from ``i`` (and newlines when ``newlines``)."""
        text = self.text
        while i < len(text):
            c = text[i]
            if c in " \t\r" or (newlines and c == "\n"):
                i += 1
            elif c == "#" or text.startswith("//", i):
                end = text.find("\n", i)
                i = len(text) if end < 0 else end
            elif text.startswith("/*", i):
                end = text.find("*/", i + 2)
                i = len(text) if end < 0 else end + 2
            else:
                break
        return i

    def peek(self, newlines: bool = False) -> _Tok:
        """The next token, without consuming anything."""
        text = self.text
        i = self.skipped(self.pos, newlines)
        if i >= len(text):
            return _Tok("eof", i, i)
        c = text[i]
        if c == "\n":
            return _Tok("nl", i, i + 1)
        if c == '"':
            return _Tok("quote", i, i + 1)
        if text.startswith("<<", i):
            return _Tok("heredoc", i, i + 2)
        match = _IDENT_RE.match(text, i)
        if match:
            return _Tok("ident", i, match.end())
        match = _NUMBER_RE.match(text, i)
        if match:
            return _Tok("number", i, match.end())
        for punct in _PUNCT:
            if text.startswith(punct, i):
                return _Tok(punct, i, i + len(punct))
        return _Tok("invalid", i, i + 1)

    def take(self, newlines: bool = False) -> _Tok:
        tok = self.peek(newlines)
        self.pos = tok.end
        return tok

    def word(self, tok: _Tok) -> str:
        return self.text[tok.start : tok.end]

    # -- bodies ----------------------------------------------------------------------------

    def file(self) -> None:
        self.body(None)

    def body(self, opener: _Tok | None) -> None:
        while True:
            tok = self.take(newlines=True)
            if tok.kind == "eof":
                if opener is not None:
                    self.fail(
                        "Unclosed configuration block",
                        "There is no closing brace for this block before the end of the file. This "
                        "may be caused by incorrect brace nesting elsewhere in this file.",
                        opener.start,
                    )
                return
            if tok.kind == "}" and opener is not None:
                return
            if tok.kind == "quote":
                self.fail("Invalid argument name", "Argument names must not be quoted.", tok.start)
            if tok.kind != "ident":
                detail = "An argument or block definition is required here."
                self.fail("Argument or block definition required", detail, tok.start)
            self.item(tok, opener is not None)

    def item(self, name: _Tok, nested: bool) -> None:
        nxt = self.peek()
        if nxt.kind == "=":
            self.take()
            self.expression()
            self.end_of_line("Missing newline after argument", "An argument definition must end with a newline.")
            return
        if nxt.kind in ("ident", "quote", "{"):
            self.block()
            return
        self.fail(
            "Argument or block definition required",
            "An argument or block definition is required here. To set an argument, use the equals "
            'sign "=" to introduce the argument value.',
            name.start,
        )

    def end_of_line(self, summary: str, detail: str) -> None:
        tok = self.peek()
        if tok.kind not in ("nl", "eof"):
            self.fail(summary, detail, tok.start)

    def block(self) -> None:
        while True:
            tok = self.peek()
            if tok.kind == "ident":
                self.take()
            elif tok.kind == "quote":
                self.take()
                self.quoted(tok)
            else:
                break
        opener = self.take()
        if opener.kind != "{":
            self.fail(
                "Invalid block definition",
                'A block definition must have block content delimited by "{" and "}", starting on '
                "the same line as the block header.",
                opener.start,
            )
        if self.peek().kind in ("nl", "eof"):
            self.body(opener)
        else:
            self.single_line_block(opener)
        self.end_of_line("Missing newline after block definition", "A block definition must end with a newline.")

    def single_line_block(self, opener: _Tok) -> None:
        tok = self.take()
        if tok.kind == "}":
            return
        if tok.kind != "ident" or self.peek().kind != "=":
            self.fail(
                "Invalid single-argument block definition",
                "A single-line block definition can contain only a single argument. To define a "
                "nested block, place it on a line of its own within its parent block.",
                tok.start,
            )
        self.take()
        self.expression()
        close = self.take()
        if close.kind != "}":
            self.fail(
                "Invalid single-argument block definition",
                "Single-line block syntax can include only one argument definition. To define "
                "multiple arguments, use the multi-line block syntax with one argument definition "
                "per line.",
                close.start,
            )

    # -- expressions -----------------------------------------------------------------------

    def expression(self, nl: bool = False) -> None:
        self.binary(0, nl)
        if self.peek(nl).kind == "?":
            self.take(nl)
            self.expression(nl)
            colon = self.peek(nl)
            if colon.kind != ":":
                self.fail(
                    "Missing false expression in conditional",
                    "The conditional operator (...?...:...) requires a false expression, delimited by a colon.",
                    colon.start,
                )
            self.take(nl)
            self.expression(nl)

    def binary(self, level: int, nl: bool) -> None:
        if level == len(_BINARY):
            self.unary(nl)
            return
        self.binary(level + 1, nl)
        while self.peek(nl).kind in _BINARY[level]:
            self.take(nl)
            self.binary(level + 1, nl)

    def unary(self, nl: bool) -> None:
        if self.peek(nl).kind in ("!", "-"):
            self.take(nl)
            self.unary(nl)
            return
        self.primary(nl)
        self.postfix(nl)

    def primary(self, nl: bool) -> None:
        tok = self.take(nl)
        kind = tok.kind
        if kind == "number":
            return
        if kind == "ident":
            if self.peek().kind in ("(", "::"):
                self.call(tok)
            return
        if kind == "quote":
            self.quoted(tok)
        elif kind == "heredoc":
            self.heredoc(tok)
        elif kind == "(":
            self.expression(nl=True)
            close = self.take(newlines=True)
            if close.kind != ")":
                self.fail(
                    "Unbalanced parentheses", "Expected a closing parenthesis to terminate the expression.", close.start
                )
        elif kind == "[":
            self.tuple_cons(tok)
        elif kind == "{":
            self.object_cons(tok)
        else:
            self.expected_expression(tok)

    def postfix(self, nl: bool) -> None:
        while True:
            tok = self.peek(nl)
            if tok.kind == ".":
                self.take(nl)
                name = self.take()
                if name.kind not in ("ident", "number", "*"):
                    self.fail("Invalid attribute name", "An attribute name is required after a dot.", name.start)
            elif tok.kind == "[":
                self.take(nl)
                if self.peek(True).kind == "*" and self.text.startswith("]", self.peek(True).end):
                    self.take(True)
                    self.take(True)
                    continue
                self.expression(nl=True)
                close = self.take(newlines=True)
                if close.kind != "]":
                    self.fail(
                        "Missing close bracket on index",
                        'The index operator must end with a closing bracket ("]").',
                        close.start,
                    )
            else:
                return

    def call(self, name: _Tok) -> None:
        while self.peek().kind == "::":
            self.take()
            self.take()
        self.take()  # (
        if self.peek(True).kind == ")":
            self.take(True)
            return
        while True:
            self.expression(nl=True)
            tok = self.take(newlines=True)
            if tok.kind == "...":
                tok = self.take(newlines=True)
                if tok.kind != ")":
                    self.fail(
                        "Missing closing parenthesis",
                        "An expanded function argument (with ...) must be immediately followed by closing parentheses.",
                        tok.start,
                    )
                return
            if tok.kind == ")":
                return
            if tok.kind == "eof":
                self.fail(
                    "Unterminated function call",
                    "There is no closing parenthesis for this function call before the end of the "
                    "file. This may be caused by incorrect parenthesis nesting elsewhere in this file.",
                    name.start,
                )
            if tok.kind != ",":
                self.fail(
                    "Missing argument separator",
                    "A comma is required to separate each function argument from the next.",
                    tok.start,
                )
            if self.peek(True).kind == ")":
                self.take(True)
                return

    def tuple_cons(self, opener: _Tok) -> None:
        if self.is_keyword(self.peek(True), "for"):
            self.for_expr(opener, "]")
            return
        while True:
            tok = self.peek(True)
            if tok.kind == "]":
                self.take(True)
                return
            if tok.kind == "eof":
                self.unterminated_tuple(opener)
            self.expression(nl=True)
            sep = self.take(newlines=True)
            if sep.kind == "]":
                return
            if sep.kind == "eof":
                self.unterminated_tuple(opener)
            if sep.kind != ",":
                self.fail(
                    "Missing item separator", "Expected a comma to mark the beginning of the next item.", sep.start
                )

    def unterminated_tuple(self, opener: _Tok) -> NoReturn:
        self.fail(
            "Unterminated tuple constructor expression",
            "There is no corresponding closing bracket before the end of the file. This may be "
            "caused by incorrect bracket nesting elsewhere in this file.",
            opener.start,
        )

    def object_cons(self, opener: _Tok) -> None:
        if self.is_keyword(self.peek(True), "for") and self.looks_like_for():
            self.for_expr(opener, "}")
            return
        while True:
            self.skip(True)
            tok = self.peek()
            if tok.kind == "}":
                self.take()
                return
            self.expression(nl=False)
            sep = self.take()
            if sep.kind not in ("=", ":"):
                self.fail(
                    "Missing key/value separator",
                    'Expected an equals sign ("=") to mark the beginning of the attribute value.',
                    sep.start,
                )
            self.expression(nl=False)
            sep = self.peek()
            if sep.kind in ("nl", ","):
                self.take()
            elif sep.kind == "}":
                continue
            elif sep.kind == "eof":
                self.fail(
                    "Unterminated object constructor expression",
                    "There is no corresponding closing brace before the end of the file. This may "
                    "be caused by incorrect brace nesting elsewhere in this file.",
                    opener.start,
                )
            else:
                self.fail(
                    "Missing attribute separator",
                    "Expected a newline or comma to mark the beginning of the next attribute.",
                    sep.start,
                )

    def looks_like_for(self) -> bool:
        """``{for = 1}`` is an object whose key is "for"; ``{for k in m : ...}`` is a for."""
        saved = self.pos
        self.take(True)
        nxt = self.peek(True)
        self.pos = saved
        return nxt.kind == "ident"

    def is_keyword(self, tok: _Tok, word: str) -> bool:
        return tok.kind == "ident" and self.word(tok) == word

    def for_expr(self, opener: _Tok, closer: str) -> None:
        self.take(True)  # for
        invalid = "Invalid 'for' expression"
        name = self.take(True)
        if name.kind != "ident":
            self.fail(invalid, "For expression requires variable name after 'for'.", name.start)
        if self.peek(True).kind == ",":
            self.take(True)
            if self.take(True).kind != "ident":
                self.fail(invalid, "For expression requires value variable name after comma.", self.pos)
        if not self.is_keyword(self.take(True), "in"):
            self.fail(invalid, "For expression requires the 'in' keyword after its name declarations.", self.pos)
        self.expression(nl=True)
        colon = self.take(True)
        if colon.kind != ":":
            self.fail(invalid, "For expression requires a colon after the collection expression.", colon.start)
        first = self.peek(True)
        self.expression(nl=True)
        if closer == "}":
            arrow = self.take(True)
            if arrow.kind != "=>":
                self.fail(invalid, "Key expression is required when building an object.", first.start)
            self.expression(nl=True)
            if self.peek(True).kind == "...":
                self.take(True)
        if self.is_keyword(self.peek(True), "if"):
            self.take(True)
            self.expression(nl=True)
        end = self.take(True)
        if end.kind != closer:
            what = "tuple" if closer == "]" else "object"
            self.fail(invalid, f"Extra characters after the end of the 'for' expression building a {what}.", end.start)

    # -- templates -------------------------------------------------------------------------

    def quoted(self, quote: _Tok) -> None:
        """A quoted template from just after its opening quote to just after its closing one."""
        self.template(quote, quoted=True, marker="")

    def heredoc(self, tok: _Tok) -> None:
        text = self.text
        i = tok.end + (1 if text.startswith("-", tok.end) else 0)
        match = _IDENT_RE.match(text, i)
        line_end = text.find("\n", i)
        if match is None or line_end < 0 or text[match.end() : line_end].strip():
            self.fail("Invalid heredoc", "A heredoc marker must be followed by an identifier and a newline.", i)
        self.pos = line_end + 1
        self.template(tok, quoted=False, marker=match.group(0))

    def template(self, opener: _Tok, quoted: bool, marker: str) -> None:
        text = self.text
        stack: list[tuple[str, int, int]] = []  # (directive, start, end)
        while True:
            i = self.pos
            if not quoted and (i == 0 or text[i - 1] == "\n") and self.at_marker(i, marker):
                end = text.find("\n", i)
                self.pos = len(text) if end < 0 else end
                self.close_template(stack, i)
                return
            if i >= len(text):
                self.fail("Unterminated template string", "No closing marker was found for the string.", i)
            c = text[i]
            if quoted and c == '"':
                self.pos = i + 1
                self.close_template(stack, i)
                return
            if quoted and c == "\n":
                self.fail(
                    "Invalid multi-line string",
                    "Quoted strings may not be split over multiple lines. To produce a multi-line "
                    "string, either use the \\n escape to represent a newline character or use the "
                    '"heredoc" multi-line template syntax.',
                    i,
                )
            if quoted and c == "\\":
                self.escape(i)
            elif text.startswith(("$${", "%%{"), i):
                self.pos = i + 3
            elif text.startswith("${", i):
                self.interpolation(i, quoted)
            elif text.startswith("%{", i):
                self.directive(i, stack)
            else:
                self.pos = i + 1

    def at_marker(self, i: int, marker: str) -> bool:
        """Whether the line starting at ``i`` is the heredoc's closing marker."""
        end = self.text.find("\n", i)
        return self.text[i : end if end >= 0 else len(self.text)].strip() == marker

    def escape(self, i: int) -> None:
        sel = self.text[i + 1 : i + 2]
        if sel in _ESCAPES:
            self.pos = i + 2
        elif sel in ("u", "U"):
            self.pos = i + (6 if sel == "u" else 10)
        else:
            self.fail("Invalid escape sequence", f'The symbol "{sel}" is not a valid escape sequence selector.', i)

    def interpolation(self, i: int, quoted: bool) -> None:
        self.pos = i + 2
        if self.text.startswith("~", self.pos):
            self.pos += 1
        self.expression(nl=True)
        self.skip(True)
        if self.text.startswith("~", self.pos):
            self.pos += 1
            self.skip(True)
        if not self.text.startswith("}", self.pos):
            at = self.pos
            if at >= len(self.text) or self.text[at] in '"\n':
                self.fail(
                    "Unclosed template interpolation sequence",
                    "There is no closing brace for this interpolation sequence before the end of the "
                    "quoted template. This might be caused by incorrect nesting inside the given expression.",
                    i,
                )
            self.fail(
                "Extra characters after interpolation expression",
                "Expected a closing brace to end the interpolation expression, but found extra characters.",
                at,
            )
        self.pos += 1

    def directive(self, i: int, stack: list[tuple[str, int, int]]) -> None:
        self.pos = i + 2
        if self.text.startswith("~", self.pos):
            self.pos += 1
        keyword = self.take(True)
        word = self.word(keyword) if keyword.kind == "ident" else ""
        if word == "if":
            self.expression(nl=True)
        elif word == "for":
            self.take(True)
            if self.peek(True).kind == ",":
                self.take(True)
                self.take(True)
            self.take(True)  # in
            self.expression(nl=True)
        elif word in ("else", "endif", "endfor"):
            wanted = {"else": "if", "endif": "if", "endfor": "for"}[word]
            if not stack or stack[-1][0] != wanted:
                self.fail(
                    f"Unexpected {word} directive", "The control directives within this template are unbalanced.", i
                )
            if word != "else":
                stack.pop()
        else:
            self.fail(
                "Invalid template control keyword", f'"{word}" is not a valid template control keyword.', keyword.start
            )
        self.skip(True)
        if self.text.startswith("~", self.pos):
            self.pos += 1
        if not self.text.startswith("}", self.pos):
            self.fail("Invalid template directive", "Expected a closing brace to end the directive.", self.pos)
        self.pos += 1
        if word in ("if", "for"):
            stack.append((word, i, self.pos))

    def close_template(self, stack: list[tuple[str, int, int]], at: int) -> None:
        if stack:
            word, start, end = stack[-1]
            closer = "endif" if word == "if" else "endfor"
            self.fail(
                "Unexpected end of template",
                f"The {word} directive at {self.where(start, end)} is missing its corresponding {closer} directive.",
                at,
            )
