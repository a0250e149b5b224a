"""The tree-sitter boundary: parsing HCL text, positions, and syntax errors in Terraform's words.

tree-sitter-hcl (pinned with tree-sitter in pyproject) parses natively and always returns a
tree; mistakes show up as ``ERROR`` nodes and zero-width "missing" nodes where it recovered.
This module is the only one that knows that: :func:`parse` returns the tree,
:class:`Source` turns node positions (0-based rows, byte columns) into 1-based line:column
in characters, and :func:`syntax_errors` translates the first error of each top-level item
into the diagnostic Terraform's own parser gives for the same mistake ("Invalid expression",
"Unclosed configuration block", "Argument or block definition required"...), never a list of
parser tokens. Later errors in the same item are usually echoes of the first, so they are
left out; an error in another top-level item is reported too.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Final

import tree_sitter
import tree_sitter_hcl

from relight.diagnostics import Diagnostics, SourcePos, SourceRange
from relight.lang.expr import Pos

__all__ = ["Node", "Source", "parse", "syntax_errors"]

Node = tree_sitter.Node

_LANGUAGE: Final = tree_sitter.Language(tree_sitter_hcl.language())


def parse(data: bytes) -> tree_sitter.Tree:
    """Parse ``data`` (UTF-8); never raises for bad syntax (see :func:`syntax_errors`)."""
    return tree_sitter.Parser(_LANGUAGE).parse(data)


@dataclass(slots=True)
class Source:
    """One parsed text: its bytes, file name and where line 1 column 1 really is.

    ``line``/``column`` place a snippet inside a larger file (an expression written inside a
    template): positions on the snippet's first line are shifted by ``column - 1 - prefix``
    (``prefix`` is the length of text the caller put in front, such as ``"x = "``).
    """

    data: bytes
    filename: str
    line: int = 1
    column: int = 1
    prefix: int = 0
    substitutions: dict[int, str] = field(default_factory=dict)
    ascii: bool = field(init=False)
    _line_starts: list[int] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.ascii = self.data.isascii()

    def text(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def point(self, row: int, byte_col: int, byte: int) -> tuple[int, int]:
        """(line, column) in characters for a 0-based row and byte column ending at ``byte``."""
        col = byte_col if self.ascii else len(self.data[byte - byte_col : byte].decode("utf-8", "replace"))
        if row == 0:
            return self.line, self.column + col - self.prefix
        return self.line + row, col + 1

    def pos(self, node: Node) -> Pos:
        srow, scol = node.start_point
        erow, ecol = node.end_point
        line, col = self.point(srow, scol, node.start_byte)
        end_line, end_col = self.point(erow, ecol, node.end_byte)
        return Pos(line, col, end_line, end_col)

    def at_byte(self, byte: int) -> SourcePos:
        """The position of a byte offset (for text that lies between nodes)."""
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer(b"\n", self.data)]
        row = bisect.bisect_right(self._line_starts, byte) - 1
        line, col = self.point(row, byte - self._line_starts[row], byte)
        return SourcePos(line, col)

    def range(self, node: Node) -> SourceRange:
        p = self.pos(node)
        return SourceRange(self.filename, SourcePos(p.line, p.column), SourcePos(p.end_line, p.end_column))

    def range_at(self, byte: int) -> SourceRange:
        return SourceRange(self.filename, self.at_byte(byte))


# --- syntax errors -----------------------------------------------------------------------------

_EXPR_START = "Expected the start of an expression, but found an invalid expression token."
_EXPR_EOF = "Expected the start of an expression, but found the end of the file."
_UNCLOSED_BLOCK = (
    "There is no closing brace for this block before the end of the file. This may be caused by "
    "incorrect brace nesting elsewhere in this file."
)
_MULTILINE = (
    "Quoted strings may not be split over multiple lines. To produce a multi-line string, either "
    'use the \\n escape to represent a newline character or use the "heredoc" multi-line template '
    "syntax."
)
_DEFINITION = "An argument or block definition is required here."
_DEFINITION_EQ = _DEFINITION + ' To set an argument, use the equals sign "=" to introduce the argument value.'
# Characters HCL's scanner refuses outright ("Invalid character").
_INVALID_CHARS = frozenset("@$&|^`;\\'")
# What each kind of missing closer means, as (summary, detail, where): "open" points at the
# construct's start, "here" at the gap.
_MISSING: Final[dict[tuple[str, str], tuple[str, str, str]]] = {
    ("}", "block_end"): ("Unclosed configuration block", _UNCLOSED_BLOCK, "open"),
    ("]", "tuple_end"): (
        "Unterminated tuple constructor expression",
        "There is no corresponding closing bracket before the end of the file. This may be caused "
        "by incorrect bracket nesting elsewhere in this file.",
        "open",
    ),
    ("}", "object_end"): (
        "Unterminated object constructor expression",
        "There is no corresponding closing brace before the end of the file. This may be caused by "
        "incorrect brace nesting elsewhere in this file.",
        "open",
    ),
    (")", "function_call"): (
        "Unterminated function call",
        "There is no closing parenthesis for this function call before the end of the file. This "
        "may be caused by incorrect parenthesis nesting elsewhere in this file.",
        "open",
    ),
    (")", "expression"): (
        "Unbalanced parentheses",
        "Expected a closing parenthesis to terminate the expression.",
        "here",
    ),
    ("template_interpolation_end", "template_interpolation"): (
        "Unclosed template interpolation sequence",
        "There is no closing brace for this interpolation sequence before the end of the quoted "
        "template. This might be caused by incorrect nesting inside the given expression.",
        "open",
    ),
    ("heredoc_identifier", "heredoc_template"): (
        "Unterminated template string",
        "No closing marker was found for the string.",
        "eof",
    ),
    (":", "conditional"): (
        "Missing false expression in conditional",
        "The conditional operator (...?...:...) requires a false expression, delimited by a colon.",
        "here",
    ),
    (":", "for_intro"): (
        "Invalid 'for' expression",
        "For expression requires a colon after the collection expression.",
        "here",
    ),
    ("identifier", "get_attr"): ("Invalid attribute name", "An attribute name is required after a dot.", "here"),
}


def syntax_errors(tree: tree_sitter.Tree, src: Source, diags: Diagnostics) -> bool:
    """Add a diagnostic for the first error in each top-level item; True when there was none."""
    root = tree.root_node
    if not root.has_error:
        return True
    items: list[Node] = []
    for child in root.children:
        items.extend(child.children if child.type == "body" else [child])
    for item in items:
        if item.has_error or item.is_error or item.is_missing:
            first = _first_error(item)
            if first is not None:
                _describe(first, src, diags)
    if not diags.has_errors:  # an error the walk could not place: say so at the start
        diags.error("Invalid syntax", "This file could not be parsed.", src.range_at(0))
    return False


def _first_error(node: Node) -> Node | None:
    if node.is_error or node.is_missing:
        return node
    for child in node.children:
        if child.has_error or child.is_error or child.is_missing:
            found = _first_error(child)
            if found is not None:
                return found
    return None


def _describe(node: Node, src: Source, diags: Diagnostics) -> None:
    if node.is_missing:
        _describe_missing(node, src, diags)
    else:
        _describe_error(node, src, diags)


def _describe_missing(node: Node, src: Source, diags: Diagnostics) -> None:
    parent = node.parent
    ptype = parent.type if parent is not None else ""
    if node.type == "quoted_template_end":
        line_end = src.data.find(b"\n", node.parent.start_byte if node.parent else 0)
        diags.error("Invalid multi-line string", _MULTILINE, src.range_at(line_end if line_end >= 0 else len(src.data)))
        return
    entry = _MISSING.get((node.type, ptype))
    if entry is None and node.type in (")", "}", "]") and parent is not None and parent.parent is not None:
        entry = _MISSING.get((node.type, parent.parent.type))
    if entry is not None:
        summary, detail, where = entry
        diags.error(summary, detail, _where(where, node, src))
        return
    _missing_expression(node, src, diags)


def _where(where: str, node: Node, src: Source) -> SourceRange:
    if where == "eof":
        return src.range_at(len(src.data))
    if where == "here":
        return src.range_at(_next_token(src.data, _previous_end(node), newlines=True))
    opener = node.parent
    while opener is not None and opener.type in ("block_end", "tuple_end", "object_end"):
        opener = opener.parent
    if opener is not None and opener.type == "block":
        start = next((c for c in opener.children if c.type == "block_start"), opener)
        return src.range(start)
    return src.range(opener) if opener is not None else src.range(node)


def _previous_end(node: Node) -> int:
    """The end of the last real token before ``node`` (a missing node has no extent of its own)."""
    cur: Node | None = node
    while cur is not None:
        prev = cur.prev_sibling
        while prev is not None and (prev.end_byte > node.start_byte or prev.is_missing):
            prev = prev.prev_sibling
        if prev is not None:
            return int(prev.end_byte)
        cur = cur.parent
    return 0


def _next_token(data: bytes, byte: int, newlines: bool) -> int:
    """The offset of the next character that is not a blank (nor a newline when ``newlines``)."""
    skip = b" \t\r\n" if newlines else b" \t"
    while byte < len(data) and data[byte] in skip:
        byte += 1
    return byte


def _inside_brackets(node: Node) -> bool:
    """Whether newlines are insignificant here (inside (), [] or {} of an expression)."""
    cur = node.parent
    while cur is not None and cur.type not in ("attribute", "block", "body", "config_file"):
        if cur.type in ("tuple", "object", "function_call", "for_tuple_expr", "for_object_expr", "new_index"):
            return True
        if cur.type == "expression" and cur.child_count and cur.children[0].type == "(":
            return True
        cur = cur.parent
    return False


def _missing_expression(node: Node, src: Source, diags: Diagnostics) -> None:
    start = _previous_end(node)
    nxt = _next_token(src.data, start, newlines=_inside_brackets(node))
    if nxt >= len(src.data):
        diags.error("Missing expression", _EXPR_EOF, src.range_at(len(src.data)))
    else:
        diags.error("Invalid expression", _EXPR_START, src.range_at(nxt))


def _describe_error(node: Node, src: Source, diags: Diagnostics) -> None:
    text = src.data[node.start_byte : node.end_byte]
    if text[:1] == b"\\" and _inside(node, ("template_literal", "quoted_template", "string_lit")):
        symbol = src.data[node.start_byte + 1 : node.start_byte + 2].decode("utf-8", "replace")
        diags.error(
            "Invalid escape sequence",
            f'The symbol "{symbol}" is not a valid escape sequence selector.',
            src.range_at(node.start_byte),
        )
        return
    bad = next((i for i, b in enumerate(text) if chr(b) in _INVALID_CHARS and not _in_string(node, i)), None)
    if bad is not None:
        rng = src.range_at(node.start_byte + bad)
        diags.error("Invalid character", "This character is not used within the language.", rng)
        return
    if _unbalanced_template(node, src, diags):
        return
    parent = node.parent
    ptype = parent.type if parent is not None else "config_file"
    if ptype in ("body", "config_file"):
        _describe_body_error(node, src, diags)
    elif ptype == "tuple":
        diags.error(
            "Missing item separator", "Expected a comma to mark the beginning of the next item.", src.range(node)
        )
    elif ptype == "object":
        diags.error(
            "Missing attribute separator",
            "Expected a newline or comma to mark the beginning of the next attribute.",
            src.range(node),
        )
    elif ptype == "block":
        _describe_body_error(node, src, diags)
    else:
        diags.error("Invalid expression", _EXPR_START, src.range(node))


_OPENERS: Final = {"template_if_intro": ("if", "endif"), "template_for_start": ("for", "endfor")}
_CLOSERS: Final = frozenset({"endif", "else", "endfor"})


def _unbalanced_template(node: Node, src: Source, diags: Diagnostics) -> bool:
    """``%{if}``/``%{for}`` without their end, or an end without its start, in Terraform's words."""
    kids = node.children
    for i, child in enumerate(kids):
        if child.type in _OPENERS:
            word, closer = _OPENERS[child.type]
            diags.error(
                "Unexpected end of template",
                f"The {word} directive at {_hcl_range(src, child)} is missing its corresponding {closer} directive.",
                src.range_at(_template_end(node, child, src)),
            )
            return True
        if child.type == "template_directive_start" and i + 1 < len(kids) and kids[i + 1].type in _CLOSERS:
            diags.error(
                f"Unexpected {kids[i + 1].type} directive",
                "The control directives within this template are unbalanced.",
                src.range(child),
            )
            return True
    return False


def _hcl_range(src: Source, node: Node) -> str:
    """A range as Terraform prints one inside a message: ``file:line,col-endcol``."""
    p = src.pos(node)
    end = f"{p.end_column}" if p.end_line == p.line else f"{p.end_line},{p.end_column}"
    return f"{src.filename}:{p.line},{p.column}-{end}"


def _template_end(node: Node, intro: Node, src: Source) -> int:
    """Where the template that holds ``intro`` ends: its closing quote or heredoc marker line."""
    heredoc = next(
        (c for c in node.children if c.type == "heredoc_identifier" and c.end_byte <= intro.start_byte), None
    )
    data = src.data
    if heredoc is not None:
        marker = src.text(heredoc).encode()
        line_start = data.find(b"\n", intro.end_byte) + 1
        while 0 < line_start < len(data):
            line_end = data.find(b"\n", line_start)
            line_end = len(data) if line_end < 0 else line_end
            if data[line_start:line_end].strip() == marker:
                return line_start
            line_start = line_end + 1
        return len(data)
    quote = data.find(b'"', intro.end_byte)
    return quote if quote >= 0 else len(data)


def _inside(node: Node, kinds: tuple[str, ...]) -> bool:
    cur = node.parent
    while cur is not None:
        if cur.type in kinds:
            return True
        cur = cur.parent
    return False


def _in_string(node: Node, offset: int) -> bool:
    """Whether byte ``offset`` of an ERROR node lies inside one of its string children."""
    byte = node.start_byte + offset
    return any(
        c.start_byte <= byte < c.end_byte and c.type in ("string_lit", "template_literal", "quoted_template", "comment")
        for c in node.children
    )


def _describe_body_error(node: Node, src: Source, diags: Diagnostics) -> None:
    prev = node.prev_sibling
    if prev is not None and prev.type == "attribute" and prev.end_point[0] == node.start_point[0]:
        diags.error(
            "Missing newline after argument", "An argument definition must end with a newline.", src.range(node)
        )
        return
    kinds = [c.type for c in node.children]
    if kinds and kinds[0] == "}":
        diags.error("Argument or block definition required", _DEFINITION, src.range(node))
        return
    if len(kinds) > 1 and kinds[0] == "identifier" and all(k in ("identifier", "string_lit") for k in kinds):
        end = _next_token(src.data, node.end_byte, newlines=False)
        diags.error(
            "Invalid block definition",
            'A block definition must have block content delimited by "{" and "}", starting on the '
            "same line as the block header.",
            src.range_at(end),
        )
        return
    if kinds and kinds[0] == "identifier" and "=" in kinds:
        after = node.children[kinds.index("=")]
        diags.error(
            "Invalid expression", _EXPR_START, src.range_at(_next_token(src.data, after.end_byte, newlines=False))
        )
        return
    diags.error("Argument or block definition required", _DEFINITION_EQ, src.range(node))
