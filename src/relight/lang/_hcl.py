"""From source text to compiled bodies and expressions, through python-hcl2's typed tree.

Pipeline, and why each step exists:

1. ``hcl2.parses`` builds the typed tree (python-hcl2 8.1.4 is pinned: its tree shape is our
   contract). Lark syntax errors become diagnostics with file:line:column here, at the boundary.
2. If parsing fails, a pre-pass rewrites 0.11-style quoted attribute names inside blocks
   (``"Name" = "x"``) to bare names, keeping every line and column, and parsing is retried.
3. The tree is compiled once into :mod:`relight.lang.expr` nodes. Names bound by ``for``
   expressions, template ``for`` directives and ``dynamic`` blocks are known at this point, so a
   reference is classified (``var``, resource, symbol...) statically and never re-derived.
4. Heredocs are opaque tokens in python-hcl2, so their bodies go through the template scanner;
   each interpolation is parsed as a one-attribute snippet with positions shifted back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import hcl2
from hcl2.rules.base import AttributeRule, BlockRule
from hcl2.rules.containers import (
    ObjectElemKeyExpressionRule,
    ObjectElemKeyRule,
    ObjectRule,
    TupleRule,
)
from hcl2.rules.directives import (
    TemplateElseRule,
    TemplateEndforRule,
    TemplateEndifRule,
    TemplateForRule,
    TemplateForStartRule,
    TemplateIfRule,
    TemplateIfStartRule,
)
from hcl2.rules.expressions import (
    BinaryOpRule,
    ConditionalRule,
    ExprTermRule,
    UnaryOpRule,
)
from hcl2.rules.for_expressions import ForObjectExprRule, ForTupleExprRule
from hcl2.rules.functions import FunctionCallRule
from hcl2.rules.indexing import (
    AttrSplatExprTermRule,
    FullSplatExprTermRule,
    GetAttrExprTermRule,
    GetAttrRule,
    IndexExprTermRule,
    ShortIndexRule,
    SqbIndexRule,
)
from hcl2.rules.literal_rules import (
    FloatLitRule,
    IdentifierRule,
    IntLitRule,
    KeywordRule,
    LiteralValueRule,
)
from hcl2.rules.strings import (
    HeredocTemplateRule,
    HeredocTrimTemplateRule,
    InterpolationRule,
    StringPartRule,
    StringRule,
    TemplateStringRule,
)
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from relight.diagnostics import Diagnostics, SourcePos, SourceRange
from relight.lang._prim import normalize_number
from relight.lang._references import NAME_ATTRS, Op, ReferenceClassifier
from relight.lang._templates import TemplateAssembler, apply_strip_markers, dedent, split_lines, unescape
from relight.lang._tscan import TemplateSyntaxError, Tok, scan_template
from relight.lang.body import Attribute, Block, Body
from relight.lang.expr import (
    BinaryOp,
    Conditional,
    Expr,
    ForExpr,
    FunctionCall,
    GetAttr,
    Index,
    Literal,
    ObjectCons,
    Pos,
    PosLike,
    Splat,
    SplatStep,
    TupleCons,
    UnaryOp,
    make_range,
)

__all__ = ["compile_template", "parse_body", "parse_expression"]

_QUOTED_ATTR_RE = re.compile(r'^([ \t]*)"([A-Za-z_][A-Za-z0-9_-]*)"([ \t]*=(?![=>]))', re.M)
_HEREDOC_START_RE = re.compile(r"<<-?([A-Za-z][A-Za-z0-9._-]*)[ \t]*\r?$")


# --- step 1 and 2: parsing with diagnostics -------------------------------------------------


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


def _syntax_diag(err: Exception, filename: str, diags: Diagnostics) -> None:
    line = getattr(err, "line", 1) or 1
    col = getattr(err, "column", 1) or 1
    if isinstance(err, UnexpectedToken):
        tok = err.token
        found = "end of file" if tok.type == "$END" else f"{tok.type} {str(tok.value)!r}"
        expected = ", ".join(sorted(err.expected)[:6])
        detail = f"Unexpected {found}; expected one of: {expected}."
    elif isinstance(err, UnexpectedCharacters):
        detail = f"Unexpected character {err.char!r}."
    else:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    rng = SourceRange(filename, SourcePos(line, col))
    diags.error("Invalid syntax", detail, rng)


def _parse_tree(text: str, filename: str, diags: Diagnostics) -> Any:
    try:
        return hcl2.parses(text)
    except UnexpectedInput as first:
        rewritten = _rewrite_quoted_names(text)
        if rewritten != text:
            try:
                return hcl2.parses(rewritten)
            except LarkError as err:
                _syntax_diag(err, filename, diags)
                return None
        _syntax_diag(first, filename, diags)
    except LarkError as err:  # a transformer failure inside python-hcl2
        cause = err.__context__
        _syntax_diag(cause if isinstance(cause, Exception) else err, filename, diags)
    return None


def parse_body(text: str, filename: str) -> tuple[Body | None, Diagnostics]:
    """Parse a whole file into a :class:`Body`; None when the syntax is invalid."""
    diags = Diagnostics()
    tree = _parse_tree(text, filename, diags)
    if tree is None:
        return None, diags
    compiler = _Compiler(filename, diags)
    return compiler.body(tree.body, top=True), diags


def parse_expression(
    text: str, filename: str = "<expression>", *, names_as_symbols: bool = False
) -> tuple[Expr | None, Diagnostics]:
    """Parse one expression (a ``-var`` value, a test case); None when it is invalid.

    With ``names_as_symbols`` every root name compiles to a plain symbol instead of a
    reference, so a caller can reject "variables" in a constant context with its own message.
    """
    diags = Diagnostics()
    source = "x = " + text
    tree = _parse_tree(source, filename, diags)
    if tree is None:
        return None, _shift_columns(diags, filename)
    attrs = [c for c in tree.body.children if isinstance(c, AttributeRule)]
    if len(attrs) != 1 or any(isinstance(c, BlockRule) for c in tree.body.children):
        diags.error("Invalid expression", "Expected exactly one expression.")
        return None, diags
    compiler = _Compiler(filename, diags, offset=(1, 1), template_vars=names_as_symbols)
    expr = compiler.expr(attrs[0].expression)
    return expr, diags


def _shift_columns(diags: Diagnostics, filename: str) -> Diagnostics:
    out = Diagnostics()
    for d in diags:
        subj = d.subject
        if subj is not None and subj.start.line == 1:
            pos = SourcePos(1, max(1, subj.start.column - 4))
            subj = SourceRange(filename, pos)
        out.append(type(d)(d.severity, d.summary, d.detail, subj, d.address))
    return out


def compile_template(text: str, filename: str, diags: Diagnostics, all_names_are_symbols: bool = True) -> Expr | None:
    """Compile a template file's text (``templatefile``); every root name is a template var."""
    compiler = _Compiler(filename, diags, template_vars=all_names_are_symbols)
    try:
        toks = scan_template(text)
    except TemplateSyntaxError as err:
        diags.error("Invalid template", err.message, SourceRange(filename, SourcePos(err.line, err.column)))
        return None
    return compiler.template(toks, Pos(1, 1, 1, 1), compiler.snippet)


# --- step 3: compiling the tree --------------------------------------------------------------




class _Compiler(TemplateAssembler, ReferenceClassifier):
    """Compiles one file's (or one snippet's) tree; collects diagnostics as it goes."""

    def __init__(
        self,
        filename: str,
        diags: Diagnostics,
        offset: tuple[int, int] | None = None,
        template_vars: bool = False,
    ) -> None:
        self.file = filename
        self.diags = diags
        self.bound: frozenset[str] = frozenset()
        self.template_vars = template_vars
        # (line, column) where a snippet "x = <expr>" really starts; None for whole files.
        self.offset = offset

    # positions

    def pos(self, node: Any) -> PosLike:
        meta = node._meta
        if self.offset is None:
            return meta  # type: ignore[no-any-return]
        return Pos(*self._shift(meta.line, meta.column), *self._shift(meta.end_line, meta.end_column))

    def _shift(self, line: int, col: int) -> tuple[int, int]:
        assert self.offset is not None
        base_line, base_col = self.offset
        if line == 1:
            return base_line, base_col + col - 5
        return base_line + line - 1, col

    def range(self, node: Any) -> SourceRange:
        return make_range(self.file, self.pos(node))

    def error(self, node: Any, summary: str, detail: str) -> None:
        self.diags.error(summary, detail, self.range(node))

    # bodies

    def body(self, node: Any, top: bool = False, block_type: str = "") -> Body:
        attrs: dict[str, Attribute] = {}
        blocks: list[Block] = []
        for child in node.children:
            if isinstance(child, AttributeRule):
                name = str(child.identifier.token.value)
                if name in attrs:
                    self.error(
                        child,
                        "Attribute redefined",
                        f'The argument "{name}" was already set at {attrs[name].range}. Each '
                        "argument may only be set once.",
                    )
                    continue
                attrs[name] = Attribute(name, self._attr_expr(block_type, child), self.range(child))
            elif isinstance(child, BlockRule):
                blocks.append(self.block(child, top))
        return Body(attrs, tuple(blocks), self.range(node))

    def _attr_expr(self, block_type: str, node: Any) -> Expr:
        if (block_type, str(node.identifier.token.value)) not in NAME_ATTRS:
            return self.expr(node.expression)
        # Type constraints and ignore_changes hold bare names, not references.
        saved = self.template_vars
        self.template_vars = True
        try:
            return self.expr(node.expression)
        finally:
            self.template_vars = saved

    def block(self, node: Any, top: bool) -> Block:
        labels = [self.label(lbl) for lbl in node.labels]
        type_ = labels[0]
        saved = self.bound
        if type_ == "dynamic" and not top and len(labels) > 1:
            self.bound = saved | {self._iterator_name(node.body, labels[1])}
        try:
            body = self.body(node.body, block_type=type_)
        finally:
            self.bound = saved
        return Block(type_, tuple(labels[1:]), body, self.range(node))

    def _iterator_name(self, body: Any, default: str) -> str:
        for child in body.children:
            if isinstance(child, AttributeRule) and child.identifier.token.value == "iterator":
                inner = self._unwrap(child.expression)
                if isinstance(inner, IdentifierRule):
                    return str(inner.token.value)
        return default

    def label(self, node: Any) -> str:
        if isinstance(node, IdentifierRule):
            return str(node.token.value)
        value = self.expr(node)
        if isinstance(value, Literal) and isinstance(value.value, str):
            return value.value
        self.error(node, "Invalid block label", "Block labels must be literal strings.")
        return ""

    # expressions

    @staticmethod
    def _unwrap(node: Any) -> Any:
        while type(node) is ExprTermRule and not node.parentheses:
            node = node._children[2]
        return node

    def expr(self, node: Any) -> Expr:
        node = self._unwrap(node)
        handler = _DISPATCH.get(type(node))
        if handler is None:
            raise TypeError(f"unexpected syntax node {type(node).__name__}")  # a bug, not user input
        return handler(self, node)

    def _parens(self, node: Any) -> Expr:
        return self.expr(node._children[2])

    def _int(self, node: Any) -> Expr:
        return Literal(self.file, self.pos(node), int(node.token.value))

    def _float(self, node: Any) -> Expr:
        return Literal(self.file, self.pos(node), normalize_number(float(node.token.value)))

    def _literal_value(self, node: Any) -> Expr:
        value = {"true": True, "false": False, "null": None}[str(node.token.value)]
        return Literal(self.file, self.pos(node), value)

    def _template_string(self, node: Any) -> Expr:
        text = unescape(node.inner_value, lambda: self.range(node), self.diags)
        return Literal(self.file, self.pos(node), text)

    def _tuple(self, node: Any) -> Expr:
        items = tuple(self.expr(e) for e in node.elements)
        return TupleCons(self.file, self.pos(node), items)

    def _object(self, node: Any) -> Expr:
        items = []
        for elem in node.elements:
            items.append((self._object_key(elem.key), self.expr(elem.expression)))
        return ObjectCons(self.file, self.pos(node), tuple(items))

    def _object_key(self, key: Any) -> Expr:
        if isinstance(key, ObjectElemKeyRule):
            inner = self._unwrap(key.value)
            if isinstance(inner, IdentifierRule | KeywordRule | LiteralValueRule):
                return Literal(self.file, self.pos(inner), str(inner.token.value))
            if isinstance(inner, IntLitRule | FloatLitRule):
                return Literal(self.file, self.pos(inner), str(inner.token.value))
            return self.expr(inner)
        assert isinstance(key, ObjectElemKeyExpressionRule)
        term = key.expression
        if isinstance(term, ExprTermRule) and term.parentheses:
            return self.expr(term)
        inner = self._unwrap(term)
        if isinstance(inner, GetAttrExprTermRule | IndexExprTermRule):
            self.error(
                key,
                "Ambiguous attribute key",
                "If this expression is intended to be a reference, wrap it in parentheses. If "
                "it's instead intended as a literal name containing periods, wrap it in quotes "
                "to create a string literal.",
            )
        return self.expr(inner)

    def _conditional(self, node: Any) -> Expr:
        return Conditional(
            self.file,
            self.pos(node),
            self.expr(node.condition),
            self.expr(node.if_true),
            self.expr(node.if_false),
        )

    def _binary(self, node: Any) -> Expr:
        term = node.binary_term
        op = str(term.binary_operator.token.value).strip()
        lhs = self.expr(node.expr_term)
        rhs = self.expr(term.expr_term)
        return BinaryOp(self.file, self.pos(node), op, lhs, rhs)

    def _unary(self, node: Any) -> Expr:
        op = node.operator.strip()
        operand = self.expr(node.expr_term)
        if op == "-" and isinstance(operand, Literal):
            value = operand.value
            if isinstance(value, int | float) and not isinstance(value, bool):
                return Literal(self.file, self.pos(node), -value)
        return UnaryOp(self.file, self.pos(node), op, operand)

    def _function(self, node: Any) -> Expr:
        name = "::".join(str(i.token.value) for i in node.identifiers)
        args_rule = node.arguments
        args: tuple[Expr, ...] = ()
        expand = False
        if args_rule is not None:
            args = tuple(self.expr(a) for a in args_rule.arguments)
            expand = bool(args_rule.has_ellipsis)
        return FunctionCall(self.file, self.pos(node), name, args, expand)

    def _for(self, node: Any) -> Expr:
        intro = node.for_intro
        first = str(intro.first_iterator.token.value)
        second = intro.second_iterator
        key_var, value_var = (first, str(second.token.value)) if second else (None, first)
        coll = self.expr(intro.iterable)
        saved = self.bound
        self.bound = saved | {value_var} | ({key_var} if key_var else set())
        try:
            is_object = isinstance(node, ForObjectExprRule)
            key_expr = self.expr(node.key_expr) if is_object else None
            value_expr = self.expr(node.value_expr)
            cond = self.expr(node.condition.condition_expr) if node.condition else None
            group = is_object and node.ellipsis is not None
        finally:
            self.bound = saved
        return ForExpr(self.file, self.pos(node), key_var, value_var, coll, key_expr, value_expr, cond, group)

    # traversals: identifiers, attribute access, indexes and splats

    def _traversal(self, node: Any) -> Expr:
        ops: list[Op] = []
        cur = node
        while True:
            kind = type(cur)
            if kind is GetAttrExprTermRule:
                ops.append(("attr", self._attr_name(cur.get_attr), cur))
                cur = self._unwrap(cur.expr_term)
            elif kind is IndexExprTermRule:
                ops.append(("index", self._index_key(cur._children[1]), cur))
                cur = self._unwrap(cur._children[0])
            else:
                break
        ops.reverse()
        if type(cur) is IdentifierRule:
            base, used = self._root(str(cur.token.value), cur, ops)
        else:
            base, used = self.expr(cur), 0
        return self._apply(base, ops[used:])

    def _apply(self, base: Expr, ops: list[Op]) -> Expr:
        for kind, arg, node in ops:
            if kind == "attr":
                base = GetAttr(self.file, self.pos(node), base, arg)
            else:
                base = Index(self.file, self.pos(node), base, arg)
        return base

    @staticmethod
    def _attr_name(get_attr: Any) -> str:
        return str(get_attr._children[1].token.value)

    def _index_key(self, idx: Any) -> Expr:
        if isinstance(idx, ShortIndexRule):
            return Literal(self.file, self.pos(idx), int(idx.index.value))
        return self.expr(idx.index_expression)

    def _splat(self, node: Any) -> Expr:
        base = self.expr(node.expr_term)
        steps: list[SplatStep] = []
        after: list[Op] = []
        full = isinstance(node, FullSplatExprTermRule)
        for step in node.attr_splat.get_attrs:
            if isinstance(step, GetAttrRule) and not after:
                steps.append(self._attr_name(step))
            elif isinstance(step, SqbIndexRule | ShortIndexRule) and full and not after:
                steps.append(self._index_key(step))
            elif isinstance(step, GetAttrRule):
                after.append(("attr", self._attr_name(step), node))
            else:
                after.append(("index", self._index_key(step), node))
        splat = Splat(self.file, self.pos(node), base, tuple(steps))
        return self._apply(splat, after)

    # strings and templates

    def _string(self, node: Any) -> Expr:
        toks: list[Tok] = []
        for part in node.string_parts:
            self._flatten(part, toks)
        if all(t.kind == "lit" for t in toks):
            return Literal(self.file, self.pos(node), "".join(t.text for t in toks))
        return self.template(toks, self.pos(node), self._compile_node)

    def _compile_node(self, raw: Any) -> Expr:
        return self.expr(raw)

    def _flatten(self, part: Any, toks: list[Tok]) -> None:
        content = part._children[0] if isinstance(part, StringPartRule) else part
        pos = self.pos(part)
        kind = type(content)
        if kind is InterpolationRule:
            toks.append(Tok("interp", pos.line, pos.column, raw=content.expression))
        elif kind is TemplateIfRule or kind is TemplateForRule:
            for child in content.children:
                self._flatten(child, toks)
        elif kind is TemplateIfStartRule:
            toks.append(self._dtok("if", content, content.condition))
        elif kind is TemplateForStartRule:
            tok = self._dtok("for", content, content.collection)
            first = str(content.iterator.token.value)
            second = content.key_iterator
            tok.names = (first, str(second.token.value)) if second else (None, first)
            toks.append(tok)
        elif kind is TemplateElseRule:
            toks.append(self._dtok("else", content, None))
        elif kind is TemplateEndifRule:
            toks.append(self._dtok("endif", content, None))
        elif kind is TemplateEndforRule:
            toks.append(self._dtok("endfor", content, None))
        else:
            text = str(content.value)
            if content.lark_name() in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                text = text[1:]
            text = unescape(text, lambda: make_range(self.file, pos), self.diags)
            toks.append(Tok("lit", pos.line, pos.column, text=text))

    def _dtok(self, kind: Any, node: Any, raw: Any) -> Tok:
        pos = self.pos(node)
        return Tok(
            kind,
            pos.line,
            pos.column,
            raw=raw,
            strip_left=node.strip_open,
            strip_right=node.strip_close,
        )

    def snippet(self, raw: tuple[str, int, int]) -> Expr:
        """Compile expression source found inside a heredoc or template file."""
        text, line, col = raw
        sub = Diagnostics()
        tree = _parse_tree("x = " + text, self.file, sub)
        if tree is None:
            for d in sub:
                self.diags.error(d.summary, d.detail, SourceRange(self.file, SourcePos(line, col)))
            return Literal(self.file, Pos(line, col, line, col), None)
        attr = next(c for c in tree.body.children if isinstance(c, AttributeRule))
        saved = self.offset
        self.offset = (line, col)
        try:
            return self.expr(attr.expression)
        finally:
            self.offset = saved

    def _heredoc(self, node: Any) -> Expr:
        token = str(node.heredoc.value)
        trim = isinstance(node, HeredocTrimTemplateRule)
        first_nl = token.index("\n")
        body = token[first_nl + 1 :]
        # Drop the closing marker line; Terraform keeps the newline that ends the last line.
        last = body.rstrip("\r\n").rfind("\n")
        body = body[: last + 1] if last >= 0 else ""
        pos = self.pos(node)
        try:
            toks = scan_template(body, pos.line + 1, 1)
        except TemplateSyntaxError as err:
            self.diags.error(
                "Invalid template",
                err.message,
                SourceRange(self.file, SourcePos(err.line, err.column)),
            )
            return Literal(self.file, pos, None)
        toks = split_lines(toks)
        if trim:
            apply_strip_markers(toks)
            dedent(toks)
        return self.template(toks, pos, self.snippet)


_DISPATCH: dict[type, Callable[[_Compiler, Any], Expr]] = {
    ExprTermRule: _Compiler._parens,
    IntLitRule: _Compiler._int,
    FloatLitRule: _Compiler._float,
    LiteralValueRule: _Compiler._literal_value,
    TemplateStringRule: _Compiler._template_string,
    TupleRule: _Compiler._tuple,
    ObjectRule: _Compiler._object,
    ConditionalRule: _Compiler._conditional,
    BinaryOpRule: _Compiler._binary,
    UnaryOpRule: _Compiler._unary,
    FunctionCallRule: _Compiler._function,
    ForTupleExprRule: _Compiler._for,
    ForObjectExprRule: _Compiler._for,
    IdentifierRule: _Compiler._traversal,
    GetAttrExprTermRule: _Compiler._traversal,
    IndexExprTermRule: _Compiler._traversal,
    AttrSplatExprTermRule: _Compiler._splat,
    FullSplatExprTermRule: _Compiler._splat,
    StringRule: _Compiler._string,
    HeredocTemplateRule: _Compiler._heredoc,
    HeredocTrimTemplateRule: _Compiler._heredoc,
}
