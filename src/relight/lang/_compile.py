"""Compiling tree-sitter-hcl's tree into bodies and expression nodes, once per file.

Names bound by ``for`` expressions, template ``for`` directives and ``dynamic`` blocks are known
here, so each reference is classified statically (see :mod:`relight.lang._references`). String
templates and heredocs are assembled from the tree's interpolation and directive nodes, with
their literal text taken from the source bytes between them (the grammar drops whitespace from
its literal nodes), escapes resolved here with exact positions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, Final

from relight.diagnostics import Diagnostics, SourceRange
from relight.lang._prim import normalize_number
from relight.lang._references import NAME_ATTRS, Op, ReferenceClassifier
from relight.lang._syntax import Node, Source
from relight.lang._templates import TemplateAssembler, apply_strip_markers, dedent, split_lines
from relight.lang._tscan import Tok
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

__all__ = ["Compiler"]

_STEPS: Final = frozenset({"get_attr", "index", "splat"})
_BINARY: Final = frozenset({"+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||"})
_ESCAPES: Final = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)|\$\$\{|%%\{", re.S)
_TEMPLATE_ESCAPES: Final = re.compile(r"\$\$\{|%%\{")
_SIMPLE: Final = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
# Template nodes that are structure rather than literal text, with the token each becomes.
_DIRECTIVES: Final = {
    "template_interpolation": "interp",
    "template_if_intro": "if",
    "template_else_intro": "else",
    "template_if_end": "endif",
    "template_for_start": "for",
    "template_for_end": "endfor",
}


class _Span:
    """A traversal step's extent: from the traversal's head to the end of the step (``var.x``)."""

    __slots__ = ("first", "last")

    def __init__(self, first: Node, last: Node) -> None:
        self.first = first
        self.last = last


class Compiler(TemplateAssembler, ReferenceClassifier):
    """Compiles one parsed text; collects diagnostics as it goes."""

    def __init__(self, src: Source, diags: Diagnostics, template_vars: bool = False) -> None:
        self.src = src
        self.file = src.filename
        self.diags = diags
        self.bound: frozenset[str] = frozenset()
        self.template_vars = template_vars

    # positions

    def pos(self, node: Any) -> PosLike:
        if isinstance(node, _Span):
            start, end = self.src.pos(node.first), self.src.pos(node.last)
            return Pos(start.line, start.column, end.end_line, end.end_column)
        return self.src.pos(node)

    def range(self, node: Any) -> SourceRange:
        return make_range(self.file, self.pos(node))

    def error(self, node: Any, summary: str, detail: str) -> None:
        self.diags.error(summary, detail, self.range(node))

    # bodies

    def body(self, node: Node | None, top: bool = False, block_type: str = "", where: Node | None = None) -> Body:
        attrs: dict[str, Attribute] = {}
        blocks: list[Block] = []
        for child in node.children if node is not None else ():
            kind = child.type
            if kind == "attribute":
                self._attribute(child, block_type, attrs)
            elif kind == "block":
                blocks.append(self.block(child, top))
        anchor = node if node is not None else where
        return Body(attrs, tuple(blocks), self.range(anchor) if anchor is not None else None)

    def _attribute(self, node: Node, block_type: str, attrs: dict[str, Attribute]) -> None:
        kids = node.children
        name = self.src.text(kids[0])
        expr_node = kids[2]
        if name in attrs:
            self.error(
                node,
                "Attribute redefined",
                f'The argument "{name}" was already set at {attrs[name].range}. Each argument may be set only once.',
            )
            return
        if (block_type, name) in NAME_ATTRS:
            # Type constraints and ignore_changes hold bare names, not references.
            saved = self.template_vars
            self.template_vars = True
            try:
                expr = self.expr(expr_node)
            finally:
                self.template_vars = saved
        else:
            expr = self.expr(expr_node)
        attrs[name] = Attribute(name, expr, self.range(node))

    def block(self, node: Node, top: bool) -> Block:
        kids = node.children
        type_ = self.src.text(kids[0])
        labels = [self.label(k) for k in kids[1:] if k.type in ("string_lit", "identifier")]
        body_node = next((k for k in kids if k.type == "body"), None)
        saved = self.bound
        if type_ == "dynamic" and not top and labels:
            self.bound = saved | {self._iterator_name(body_node, labels[0])}
        try:
            body = self.body(body_node, block_type=type_, where=node)
        finally:
            self.bound = saved
        self._check_layout(kids, body_node)
        return Block(type_, tuple(labels), body, self.range(node))

    def _check_layout(self, kids: list[Node], body: Node | None) -> None:
        """HCL's newline rules, which the grammar does not enforce: a block either fits on one
        line with at most one argument, or its closing brace stands on a line of its own."""
        items = [c for c in body.children if c.type != "comment"] if body is not None else []
        opener = next((c for c in kids if c.type == "block_start"), None)
        closer = next((c for c in kids if c.type == "block_end"), None)
        if not items or opener is None or closer is None or closer.has_error or closer.end_byte == closer.start_byte:
            return
        if opener.start_point[0] == closer.start_point[0]:
            if len(items) > 1 or items[0].type != "attribute":
                self.error(
                    items[1] if len(items) > 1 else items[0],
                    "Invalid single-argument block definition",
                    "Single-line block syntax can include only one argument definition. To define "
                    "multiple arguments, use the multi-line block syntax with one argument definition "
                    "per line.",
                )
        elif items[0].start_point[0] == opener.start_point[0]:
            self.diags.error(
                "Invalid single-argument block definition",
                "A single-line block definition must end with a closing brace immediately after its "
                "single argument definition.",
                self.src.range_at(items[0].end_byte),
            )
        elif items[-1].end_point[0] == closer.start_point[0]:
            self.error(closer, "Missing newline after argument", "An argument definition must end with a newline.")

    def _iterator_name(self, body: Node | None, default: str) -> str:
        for child in body.children if body is not None else ():
            if child.type == "attribute" and self.src.text(child.children[0]) == "iterator":
                inner = child.children[2].children
                if len(inner) == 1 and inner[0].type == "variable_expr":
                    return self.src.text(inner[0])
        return default

    def label(self, node: Node) -> str:
        if node.type == "identifier":
            return self.src.text(node)
        return self._string_text(node)

    # expressions

    def expr(self, node: Node | None) -> Expr:
        """Compile an ``expression`` node (or any node that stands for one)."""
        if node is None:  # already reported as a syntax error
            return Literal(self.file, Pos(1, 1, 1, 1), None)
        if node.type != "expression":
            return self._term([node])
        kids = node.children
        if len(kids) == 1:
            return self._single(kids[0])
        return self._term(kids)

    def _single(self, node: Node) -> Expr:
        kind = node.type
        if kind == "conditional":
            return self._conditional(node)
        if kind == "operation":
            return self._operation(node.children[0])
        return self._term([node])

    def _conditional(self, node: Node) -> Expr:
        """``a ? b : c ? d : e`` is ``a ? b : (c ? d : e)`` in HCL; the grammar groups it the
        other way, as ``(a ? b : c) ? d : e``, which HCL can only mean with parentheses. So an
        unparenthesised conditional in the condition position is regrouped to the right."""
        cond, if_true, if_false = (k for k in node.children if k.type == "expression")
        inner = cond.children[0] if cond.child_count == 1 else None
        if inner is not None and inner.type == "conditional":
            a, b, c = (k for k in inner.children if k.type == "expression")
            rest = Conditional(
                self.file,
                Pos(*self._start(c), *self._end(node)),
                self.expr(c),
                self.expr(if_true),
                self.expr(if_false),
            )
            return self._regrouped(node, a, b, rest)
        return Conditional(self.file, self.pos(node), self.expr(cond), self.expr(if_true), self.expr(if_false))

    def _regrouped(self, node: Node, cond: Node, if_true: Node, if_false: Expr) -> Expr:
        inner = cond.children[0] if cond.child_count == 1 else None
        if inner is not None and inner.type == "conditional":  # three or more in a row
            a, b, c = (k for k in inner.children if k.type == "expression")
            span = Pos(*self._start(c), *self._end(node))
            rest = Conditional(self.file, span, self.expr(c), self.expr(if_true), if_false)
            return self._regrouped(node, a, b, rest)
        return Conditional(self.file, self.pos(node), self.expr(cond), self.expr(if_true), if_false)

    def _start(self, node: Node) -> tuple[int, int]:
        p = self.src.pos(node)
        return p.line, p.column

    def _end(self, node: Node) -> tuple[int, int]:
        p = self.src.pos(node)
        return p.end_line, p.end_column

    def _operation(self, node: Node) -> Expr:
        kids = node.children
        if node.type == "unary_operation":
            op = self.src.text(kids[0])
            operand = self._term(kids[1:])
            if op == "-" and isinstance(operand, Literal):
                value = operand.value
                if isinstance(value, int | float) and not isinstance(value, bool):
                    return Literal(self.file, self.pos(node), -value)
            return UnaryOp(self.file, self.pos(node), op, operand)
        at = next(i for i, k in enumerate(kids) if not k.is_named and k.type in _BINARY)
        lhs = self._term(kids[:at])
        rhs = self._term(kids[at + 1 :])
        return BinaryOp(self.file, self.pos(node), kids[at].type, lhs, rhs)

    def _term(self, nodes: list[Node]) -> Expr:
        """A head (literal, reference, call, parenthesised expression...) and its steps."""
        if nodes[0].type == "(":
            close = next(i for i, n in enumerate(nodes) if n.type == ")")
            head_nodes, steps = nodes[: close + 1], nodes[close + 1 :]
            head = self.expr(head_nodes[1])
            return self._apply(head, self._ops(nodes[0], steps))
        head_node, steps = nodes[0], nodes[1:]
        if head_node.type == "variable_expr" and head_node.start_byte in self.src.substitutions:
            return self._apply(self._substituted(head_node), self._ops(head_node, steps))
        if head_node.type == "variable_expr":
            ops = self._ops(head_node, steps)
            base, used = self._root(self.src.text(head_node), head_node, ops)
            return self._apply(base, ops[used:])
        if head_node.type in ("operation", "conditional"):
            return self._apply(self._single(head_node), self._ops(head_node, steps))
        return self._apply(self._head(head_node), self._ops(head_node, steps))

    def _substituted(self, node: Node) -> Expr:
        """What a placeholder stands for: a number such as ``1e21`` (keys are handled apart)."""
        text = self.src.substitutions[node.start_byte]
        return Literal(self.file, self.pos(node), normalize_number(float(text)))

    def _head(self, node: Node) -> Expr:
        kind = node.type
        handler = _HEADS.get(kind)
        if handler is None:
            if kind == "expression":
                return self.expr(node)
            raise TypeError(f"unexpected syntax node {kind}")  # a bug, not user input
        return handler(self, node)

    # traversal steps

    def _ops(self, head: Node, steps: list[Node]) -> list[Op]:
        """Each step with the extent from ``head`` to it (so ``var.x`` starts where ``var`` does)."""
        ops: list[Op] = []
        for step in steps:
            span = _Span(head, step)
            if step.type == "splat":
                ops.append(("splat", span, span))
            elif step.type == "get_attr":
                ops.append(("attr", self.src.text(step.children[1]), span))
            else:
                ops.append(("index", self._index_key(step.children[0]), span))
        return ops

    def _index_key(self, node: Node) -> Expr:
        if node.type == "legacy_index":
            return Literal(self.file, self.pos(node), int(self.src.text(node)[1:]))
        return self.expr(node.children[1])

    def _apply(self, base: Expr, ops: list[Op]) -> Expr:
        for kind, arg, node in ops:
            if kind == "attr":
                base = GetAttr(self.file, self.pos(node), base, arg)
            elif kind == "index":
                base = Index(self.file, self.pos(node), base, arg)
            else:
                base = self._splat(base, arg)
        return base

    def _splat(self, base: Expr, span: _Span) -> Expr:
        inner = span.last.children[0]
        full = inner.type == "full_splat"
        steps: list[SplatStep] = []
        after: list[Op] = []
        for step in inner.children[1:]:
            at = _Span(span.first, step)
            if step.type == "get_attr":
                op: Op = ("attr", self.src.text(step.children[1]), at)
            else:
                op = ("index", self._index_key(step.children[0]), at)
            if not after and (op[0] == "attr" or full):
                steps.append(op[1])
            else:
                after.append(op)
        splat = Splat(self.file, self.pos(span), base, tuple(steps))
        return self._apply(splat, after)

    # heads

    def _literal_value(self, node: Node) -> Expr:
        inner = node.children[0]
        kind = inner.type
        if kind == "numeric_lit":
            text = self.src.text(inner)
            try:
                value: Any = int(text)
            except ValueError:
                value = normalize_number(float(text))
            return Literal(self.file, self.pos(node), value)
        if kind == "bool_lit":
            return Literal(self.file, self.pos(node), self.src.text(inner) == "true")
        if kind == "null_lit":
            return Literal(self.file, self.pos(node), None)
        return Literal(self.file, self.pos(node), self._string_text(inner))

    def _string_text(self, node: Node) -> str:
        """The value of a ``string_lit`` (a quoted string without interpolations)."""
        kids = node.children
        start = kids[0].end_byte
        end = kids[-1].start_byte if kids[-1].type == "quoted_template_end" else node.end_byte
        return self._literal(start, end, quoted=True)

    def _literal(self, start: int, end: int, quoted: bool) -> str:
        """Source bytes ``start:end`` as literal template text, escapes resolved."""
        text = self.src.data[start:end].decode("utf-8", "replace")
        if "\\" not in text and "{" not in text:
            return text
        pattern = _ESCAPES if quoted else _TEMPLATE_ESCAPES

        def repl(match: re.Match[str]) -> str:
            whole = match.group(0)
            if whole[0] != "\\":
                return whole[1:]
            sel = match.group(1)
            if sel in _SIMPLE:
                return _SIMPLE[sel]
            if sel[0] in "uU" and len(sel) > 1:
                return chr(int(sel[1:], 16))
            where = start + len(text[: match.start()].encode())
            self.diags.error(
                "Invalid escape sequence",
                f'The symbol "{sel}" is not a valid escape sequence selector.',
                self.src.range_at(where),
            )
            return sel

        return pattern.sub(repl, text)

    def _collection(self, node: Node) -> Expr:
        inner = node.children[0]
        if inner.type == "tuple":
            items = tuple(self.expr(k) for k in inner.children if k.type == "expression")
            return TupleCons(self.file, self.pos(inner), items)
        pairs = []
        previous: Node | None = None
        for elem in inner.children:
            if elem.type == "object_elem":
                same_line = previous is not None and previous.end_point[0] == elem.start_point[0]
                if same_line and previous is not None and previous.type == "object_elem":
                    self.error(
                        elem,
                        "Missing attribute separator",
                        "Expected a newline or comma to mark the beginning of the next attribute.",
                    )
                key_node, value_node = (k for k in elem.children if k.type == "expression")
                pairs.append((self._object_key(key_node), self.expr(value_node)))
            previous = elem
        return ObjectCons(self.file, self.pos(inner), tuple(pairs))

    def _object_key(self, node: Node) -> Expr:
        kids = node.children
        if len(kids) == 1 and kids[0].type in ("variable_expr", "literal_value"):
            head = kids[0]
            original = self.src.substitutions.get(head.start_byte)
            if original is not None and not original[0].isdigit():
                return Literal(self.file, self.pos(head), original)
            if head.type == "variable_expr" or head.children[0].type in ("bool_lit", "null_lit", "numeric_lit"):
                return Literal(self.file, self.pos(head), self.src.text(head))
        if not self.template_vars and kids[0].type == "variable_expr" and all(k.type in _STEPS for k in kids[1:]):
            self.error(
                node,
                "Ambiguous attribute key",
                "If this expression is intended to be a reference, wrap it in parentheses. If it's "
                "instead intended as a literal name containing periods, wrap it in quotes to create "
                "a string literal.",
            )
        return self.expr(node)

    def _function(self, node: Node) -> Expr:
        kids = node.children
        name = self.src.text(kids[0])
        args_node = next((k for k in kids if k.type == "function_arguments"), None)
        args: tuple[Expr, ...] = ()
        expand = False
        if args_node is not None:
            arg_kids = args_node.children
            args = tuple(self.expr(k) for k in arg_kids if k.type == "expression")
            expand = any(k.type == "ellipsis" for k in arg_kids)
        return FunctionCall(self.file, self.pos(node), name, args, expand)

    def _for(self, node: Node) -> Expr:
        inner = node.children[0]
        kids = inner.children
        intro = next(k for k in kids if k.type == "for_intro")
        names = [self.src.text(k) for k in intro.children if k.type == "identifier"]
        key_var, value_var = (names[0], names[1]) if len(names) > 1 else (None, names[0])
        coll = self.expr(next(k for k in intro.children if k.type == "expression"))
        saved = self.bound
        self.bound = saved | {value_var} | ({key_var} if key_var else set())
        try:
            exprs = [k for k in kids if k.type == "expression"]
            is_object = inner.type == "for_object_expr"
            key_expr = self.expr(exprs[0]) if is_object else None
            value_expr = self.expr(exprs[1] if is_object else exprs[0])
            cond_node = next((k for k in kids if k.type == "for_cond"), None)
            cond = self.expr(cond_node.children[1]) if cond_node is not None else None
            group = is_object and any(k.type == "ellipsis" for k in kids)
        finally:
            self.bound = saved
        return ForExpr(self.file, self.pos(inner), key_var, value_var, coll, key_expr, value_expr, cond, group)

    # templates

    def _template(self, node: Node) -> Expr:
        inner = node.children[0]
        if inner.type == "heredoc_template":
            return self._heredoc(inner)
        kids = inner.children
        start = kids[0].end_byte
        end = kids[-1].start_byte if kids[-1].type == "quoted_template_end" else inner.end_byte
        toks = self._template_toks(kids[1:-1], start, end, quoted=True)
        if all(t.kind == "lit" for t in toks):
            return Literal(self.file, self.pos(inner), "".join(t.text for t in toks))
        return self.template(toks, self.pos(inner), self.expr)

    def _heredoc(self, node: Node) -> Expr:
        kids = node.children
        trim = kids[0].type == "heredoc_start" and self.src.text(kids[0]) == "<<-"
        opener = kids[1]
        newline = self.src.data.find(b"\n", opener.end_byte)
        start = newline + 1 if newline >= 0 else opener.end_byte
        closer = kids[-1] if len(kids) > 2 and kids[-1].type == "heredoc_identifier" else None
        end = self.src.data.rfind(b"\n", 0, closer.start_byte) + 1 if closer is not None else node.end_byte
        end = max(end, start)
        toks = split_lines(self._template_toks(kids[2:-1], start, end, quoted=False))
        if trim:
            apply_strip_markers(toks)
            dedent(toks)
        return self.template(toks, self.pos(node), self.expr)

    def _template_toks(self, parts: list[Node], start: int, end: int, quoted: bool) -> list[Tok]:
        """Flat tokens: literal text from the bytes between the structural nodes."""
        toks: list[Tok] = []
        cursor = start
        for node, kind in _structure(parts):
            if node.start_byte > cursor:
                toks.append(self._lit_tok(cursor, node.start_byte, quoted))
            toks.append(self._directive_tok(node, kind))
            cursor = node.end_byte
        if end > cursor:
            toks.append(self._lit_tok(cursor, end, quoted))
        return toks

    def _lit_tok(self, start: int, end: int, quoted: bool) -> Tok:
        where = self.src.at_byte(start)
        return Tok("lit", where.line, where.column, text=self._literal(start, end, quoted))

    def _directive_tok(self, node: Node, kind: Any) -> Tok:
        pos = self.pos(node)
        kids = node.children
        strips = [k for k in kids if k.type == "strip_marker"]
        tok = Tok(kind, pos.line, pos.column)
        if strips:
            tok.strip_left = strips[0].start_byte - node.start_byte <= 2
            tok.strip_right = strips[-1].end_byte >= node.end_byte - 1
        if kind in ("interp", "if", "for"):
            tok.raw = next((k for k in kids if k.type == "expression"), None)
            if tok.raw is None:
                self.diags.error(
                    "Invalid expression",
                    "Expected the start of an expression, but found an invalid expression token.",
                    self.src.range_at(kids[-1].start_byte),
                )
        if kind == "for":
            names = [self.src.text(k) for k in kids if k.type == "identifier"]
            tok.names = (names[0], names[1]) if len(names) > 1 else (None, names[0])
        return tok


def _structure(parts: list[Node]) -> Iterator[tuple[Node, str]]:
    """The interpolations and directive markers among template parts, in source order."""
    for node in parts:
        kind = node.type
        if kind in _DIRECTIVES:
            yield node, _DIRECTIVES[kind]
        elif kind in ("template_directive", "template_if", "template_for"):
            yield from _structure(node.children)


_HEADS: dict[str, Callable[[Compiler, Node], Expr]] = {
    "literal_value": Compiler._literal_value,
    "string_lit": lambda c, n: Literal(c.file, c.pos(n), c._string_text(n)),
    "collection_value": Compiler._collection,
    "function_call": Compiler._function,
    "for_expr": Compiler._for,
    "template_expr": Compiler._template,
}
