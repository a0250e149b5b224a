"""From HCL source text to compiled bodies and expressions: the entry points of the native syntax.

Pipeline, and why each step exists:

1. tree-sitter-hcl parses the text natively (:mod:`relight.lang._syntax`); a tree with errors
   becomes diagnostics in Terraform's words with exact file:line:column, and no body.
2. If parsing fails, a pre-pass rewrites what HCL accepts but the grammar does not, keeping
   every byte offset, and parsing is retried once: 0.11-style quoted argument names inside
   blocks (``"Name" = "x"``, which 2015-era configurations use) become bare names; numbers with
   an exponent but no fraction (``1e21``) and the keywords ``for``/``if``/``in`` as the first key
   of an object become same-length placeholder names, recorded in ``Source.substitutions`` so
   the compiler puts the original back. Rewrites are applied only where the first tree shows
   code, never inside strings, heredocs or comments.
3. The tree is compiled once into :mod:`relight.lang.expr` nodes (:mod:`relight.lang._compile`).
4. ``templatefile`` templates are plain text, not HCL files, so they go through the template
   scanner (:mod:`relight.lang._tscan`); each interpolation is parsed as a one-expression
   snippet with positions shifted back to where it is written.
"""

from __future__ import annotations

import re

import tree_sitter

from relight.diagnostics import Diagnostics, SourcePos, SourceRange
from relight.lang._compile import Compiler
from relight.lang._recognize import first_problem
from relight.lang._syntax import Node, Source, parse, syntax_errors
from relight.lang._tscan import TemplateSyntaxError, scan_template
from relight.lang.body import Body
from relight.lang.expr import Expr, Literal, Pos

__all__ = ["compile_template", "parse_body", "parse_expression", "parse_snippet"]

_QUOTED_ATTR_RE = re.compile(r'^([ \t]*)"([A-Za-z_][A-Za-z0-9_-]*)"([ \t]*=(?![=>]))', re.M)
_HEREDOC_START_RE = re.compile(r"<<-?([A-Za-z][A-Za-z0-9._-]*)[ \t]*\r?$")
_PREFIX = "x = "


def _rewrite_quoted_names(text: str) -> str:
    """Turn ``"Name" = x`` lines into ``Name   = x`` (same columns), outside heredocs."""
    out: list[str] = []
    heredoc_end: str | None = None
    for line in text.split("\n"):
        if heredoc_end is not None:
            if line.strip() == heredoc_end:
                heredoc_end = None
            out.append(line)
            continue
        match = _HEREDOC_START_RE.search(line)
        if match:
            heredoc_end = match.group(1)
        out.append(_QUOTED_ATTR_RE.sub(lambda m: f"{m[1]}{m[2]}  {m[3]}", line))
    return "\n".join(out)


_EXPONENT_RE = re.compile(rb"(?<![\w.])[0-9]+[eE][+-]?[0-9]+\b")
_KEYWORD_KEY_RE = re.compile(rb"\{\s*((?:for|if|in)\b)(?=\s*[=:])")
_TEXT_NODES = frozenset({"template_literal", "comment", "quoted_template", "heredoc_template", "string_lit"})
_CODE_IN_TEXT = frozenset({"template_interpolation", "template_if_intro", "template_for_start"})


def _parse(src: Source, text: str, diags: Diagnostics) -> tuple[tree_sitter.Tree, Source] | None:
    """The tree of ``text`` (retrying once with the lenient rewrites), or None with diagnostics."""
    tree = parse(src.data)
    if not tree.root_node.has_error:
        return tree, src
    lenient = _rewrite_quoted_names(text)
    data, substitutions = _placeholders(lenient.encode(), tree)
    if data != src.data:
        retry = Source(data, src.filename, src.line, src.column, src.prefix, substitutions)
        second = parse(retry.data)
        if not second.root_node.has_error:
            return second, retry
    problem = first_problem(lenient, src.filename)
    if problem is not None:
        where = src.range_at(len(lenient[: problem.offset].encode()))
        diags.error(problem.summary, problem.detail, where)
    else:  # valid HCL the grammar cannot read: say where the grammar stopped
        syntax_errors(tree, src, diags)
    return None


def _placeholders(data: bytes, tree: tree_sitter.Tree) -> tuple[bytes, dict[int, str]]:
    """Replace ``1e21``-style numbers and keyword object keys with placeholders of equal length."""
    out = bytearray(data)
    found: dict[int, str] = {}
    root = tree.root_node
    spans = [m.span() for m in _EXPONENT_RE.finditer(data)] + [m.span(1) for m in _KEYWORD_KEY_RE.finditer(data)]
    for start, end in spans:
        node = root.descendant_for_byte_range(start, start + 1)
        if _in_text(node):
            continue
        found[start] = data[start:end].decode()
        out[start:end] = b"_" * (end - start)
    return bytes(out), found


def _in_text(node: Node | None) -> bool:
    """Whether ``node`` is literal text (a string, heredoc or comment) rather than code."""
    while node is not None:
        if node.type in _CODE_IN_TEXT:
            return False
        if node.type in _TEXT_NODES:
            return True
        node = node.parent
    return False


def _top_body(tree: tree_sitter.Tree) -> Node | None:
    return next((c for c in tree.root_node.children if c.type == "body"), None)


def parse_body(text: str, filename: str) -> tuple[Body | None, Diagnostics]:
    """Parse a whole file into a :class:`Body`; None when the syntax is invalid."""
    diags = Diagnostics()
    parsed = _parse(Source(text.encode(), filename), text, diags)
    if parsed is None:
        return None, diags
    tree, src = parsed
    body = Compiler(src, diags).body(_top_body(tree), top=True, where=tree.root_node)
    return body, diags


def parse_expression(
    text: str, filename: str = "<expression>", *, names_as_symbols: bool = False
) -> tuple[Expr | None, Diagnostics]:
    """Parse one expression (a ``-var`` value, a test case); None when it is invalid.

    With ``names_as_symbols`` every root name compiles to a plain symbol instead of a
    reference, so a caller can reject "variables" in a constant context with its own message.
    """
    diags = Diagnostics()
    return parse_snippet(text, filename, 1, 1, names_as_symbols, diags), diags


def parse_snippet(
    text: str,
    filename: str,
    line: int,
    column: int,
    as_symbols: bool,
    diags: Diagnostics,
    bound: frozenset[str] = frozenset(),
) -> Expr | None:
    """One expression written at ``line``:``column`` of ``filename`` (inside a template, a JSON
    string...); ``bound`` names are symbols (template ``for`` variables). None when invalid."""
    source = _PREFIX + text + "\n"  # a line of its own, as in a file
    src = Source(source.encode(), filename, line, column, len(_PREFIX))
    parsed = _parse(src, source, diags)
    if parsed is None:
        return None
    tree, src = parsed
    body = _top_body(tree)
    kids = [c for c in body.children if c.type != "comment"] if body is not None else []
    if len(kids) != 1 or kids[0].type != "attribute":
        diags.error(
            "Invalid expression", "Expected exactly one expression.", SourceRange(filename, SourcePos(line, column))
        )
        return None
    compiler = Compiler(src, diags, template_vars=as_symbols)
    compiler.bound = bound
    return compiler.expr(kids[0].children[2])


def compile_template(
    text: str,
    filename: str,
    diags: Diagnostics,
    all_names_are_symbols: bool = True,
    start: Pos | None = None,
    bound: frozenset[str] = frozenset(),
) -> Expr | None:
    """Compile a template's text: a ``templatefile`` template (every root name is a template
    variable) or, with ``all_names_are_symbols`` False, a JSON string written at ``start``."""
    line, column = (start.line, start.column) if start is not None else (1, 1)
    try:
        toks = scan_template(text, line, column)
    except TemplateSyntaxError as err:
        diags.error("Invalid template", err.message, SourceRange(filename, SourcePos(err.line, err.column)))
        return None
    compiler = Compiler(Source(b"", filename), diags, template_vars=all_names_are_symbols)
    compiler.bound = bound

    def snippet(raw: tuple[str, int, int]) -> Expr:
        source, at_line, at_col = raw
        expr = parse_snippet(source, filename, at_line, at_col, all_names_are_symbols, diags, compiler.bound)
        return expr if expr is not None else Literal(filename, Pos(at_line, at_col, at_line, at_col), None)

    return compiler.template(toks, start or Pos(1, 1, 1, 1), snippet)
