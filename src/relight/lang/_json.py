"""Terraform's JSON syntax (``*.tf.json``, ``*.tfvars.json``) read into the same bodies as HCL.

The rules are HCL's JSON profile as Terraform uses it:

* the root is an object whose properties are block types (``resource``, ``variable``...); a
  block type's value nests one object level per label (``"resource": {"aws_instance": {"web":
  {...}}}``), and at any level an array of objects stands for several blocks;
* inside a block body, a property is a nested block when the block type has that kind of block
  (``lifecycle``, ``provisioner``, ``dynamic``, ``validation``, ``backend``...), otherwise an
  argument;
* a property named ``"//"`` in a body is a comment and is ignored;
* argument values are expressions: a string is a template (``"${var.x}"``, ``%{...}``; ``$${``
  escapes), numbers, bools and null are literals, arrays and objects are constructors whose
  object keys are templates too;
* where the native syntax takes a bare name or reference (a variable's ``type``, ``depends_on``,
  ``provider``, ``ignore_changes``, ``replace_triggered_by``, ``moved``/``removed``/``import``
  addresses), the string holds that expression's source.

Positions are line:column in characters; inside a template they are counted from the string's
opening quote, as HCL does (escapes before an interpolation can shift them slightly).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Final

from relight.diagnostics import Diagnostics, SourcePos, SourceRange
from relight.lang._hcl import compile_template, parse_snippet
from relight.lang._references import NAME_ATTRS
from relight.lang.body import Attribute, Block, Body
from relight.lang.expr import Expr, Literal, ObjectCons, Pos, TupleCons

__all__ = ["JValue", "parse_json", "parse_json_body", "parse_json_vars"]

# --- a JSON reader that keeps positions ------------------------------------------------------------

_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_STRING: Final = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_WS: Final = re.compile(r"[ \t\r\n]*")


@dataclass(slots=True)
class JValue:
    """A JSON value with where it starts: ``kind`` is object/array/string/number/bool/null."""

    kind: str
    value: object  # list[tuple[str, Pos, JValue]] | list[JValue] | str | int | float | bool | None
    pos: Pos


class JSONSyntaxError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def pos(self, offset: int) -> Pos:
        line = _bisect(self.line_starts, offset)
        col = offset - self.line_starts[line - 1] + 1
        return Pos(line, col, line, col)

    def skip(self) -> None:
        self.i = _WS.match(self.text, self.i).end()  # type: ignore[union-attr]

    def value(self) -> JValue:
        self.skip()
        text, i = self.text, self.i
        if i >= len(text):
            raise JSONSyntaxError("unexpected end of file; expected a value", i)
        c = text[i]
        if c == "{":
            return self.object()
        if c == "[":
            return self.array()
        if c == '"':
            return JValue("string", self.string(), self.pos(i))
        match = _NUMBER.match(text, i)
        if match:
            self.i = match.end()
            literal = match.group(0)
            number: int | float = int(literal) if re.fullmatch(r"-?[0-9]+", literal) else float(literal)
            return JValue("number", number, self.pos(i))
        for word, val in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, i):
                self.i = i + len(word)
                return JValue("bool" if val is not None else "null", val, self.pos(i))
        raise JSONSyntaxError(f"invalid character {c!r}; expected a value", i)

    def string(self) -> str:
        match = _STRING.match(self.text, self.i)
        if match is None:
            raise JSONSyntaxError("invalid or unterminated string", self.i)
        self.i = match.end()
        return str(json.loads(match.group(0)))  # the stdlib decoder resolves JSON escapes exactly

    def object(self) -> JValue:
        start = self.i
        self.i += 1
        items: list[tuple[str, Pos, JValue]] = []
        self.skip()
        if self.text.startswith("}", self.i):
            self.i += 1
            return JValue("object", items, self.pos(start))
        while True:
            self.skip()
            if not self.text.startswith('"', self.i):
                raise JSONSyntaxError("expected a property name in double quotes", self.i)
            key_at = self.i
            key = self.string()
            self.skip()
            if not self.text.startswith(":", self.i):
                raise JSONSyntaxError('expected ":" after a property name', self.i)
            self.i += 1
            items.append((key, self.pos(key_at), self.value()))
            self.skip()
            if self.text.startswith(",", self.i):
                self.i += 1
            elif self.text.startswith("}", self.i):
                self.i += 1
                return JValue("object", items, self.pos(start))
            else:
                raise JSONSyntaxError('expected "," or "}" after a property value', self.i)

    def array(self) -> JValue:
        start = self.i
        self.i += 1
        items: list[JValue] = []
        self.skip()
        if self.text.startswith("]", self.i):
            self.i += 1
            return JValue("array", items, self.pos(start))
        while True:
            items.append(self.value())
            self.skip()
            if self.text.startswith(",", self.i):
                self.i += 1
            elif self.text.startswith("]", self.i):
                self.i += 1
                return JValue("array", items, self.pos(start))
            else:
                raise JSONSyntaxError('expected "," or "]" after an array element', self.i)


def _bisect(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] <= offset:
            lo = mid + 1
        else:
            hi = mid
    return lo


def parse_json(text: str, filename: str, diags: Diagnostics) -> JValue | None:
    """The document's root value, or None with an "Invalid JSON syntax" diagnostic."""
    reader = _Reader(text)
    try:
        root = reader.value()
        reader.skip()
        if reader.i < len(text):
            raise JSONSyntaxError("extra characters after the end of the document", reader.i)
    except JSONSyntaxError as err:
        p = reader.pos(err.offset)
        diags.error("Invalid JSON syntax", f"{err.message}.", SourceRange(filename, SourcePos(p.line, p.column)))
        return None
    return root


# --- bodies ----------------------------------------------------------------------------------------

# Label counts of the block types each block type contains; anything else is an argument.
_TOP: Final = {
    "resource": 2, "data": 2, "variable": 1, "output": 1, "provider": 1, "module": 1, "check": 1,
    "locals": 0, "terraform": 0, "moved": 0, "import": 0, "removed": 0, "relight": 0,
}  # fmt: skip
_NESTED: Final[dict[str, dict[str, int]]] = {
    "resource": {"lifecycle": 0, "provisioner": 1, "connection": 0, "dynamic": 1},
    "data": {"lifecycle": 0, "dynamic": 1},
    "dynamic": {"content": 0},
    "lifecycle": {"precondition": 0, "postcondition": 0},
    "provisioner": {"connection": 0},
    "variable": {"validation": 0},
    "output": {"precondition": 0},
    "terraform": {"backend": 1, "required_providers": 0, "cloud": 0, "provider_meta": 1},
    "check": {"data": 2, "assert": 0},
    "removed": {"lifecycle": 0, "provisioner": 1, "connection": 0},
}
# Arguments whose strings hold expression source rather than a template.
_SOURCE_ARGS: Final = frozenset(
    {"type", "depends_on", "provider", "ignore_changes", "replace_triggered_by", "from", "to", "iterator"}
)


class _Builder:
    def __init__(self, filename: str, diags: Diagnostics) -> None:
        self.file = filename
        self.diags = diags
        self.bound: frozenset[str] = frozenset()  # dynamic block iterators in scope

    def range(self, pos: Pos) -> SourceRange:
        return SourceRange(self.file, SourcePos(pos.line, pos.column))

    def error(self, pos: Pos, summary: str, detail: str) -> None:
        self.diags.error(summary, detail, self.range(pos))

    # blocks

    def top(self, root: JValue) -> Body:
        if root.kind != "object":
            self.error(
                root.pos, "Invalid JSON configuration", "The root of a configuration file must be a JSON object."
            )
            return Body({}, (), self.range(root.pos))
        blocks: list[Block] = []
        for key, key_pos, value in root.value:  # type: ignore[attr-defined]
            if key == "//":
                continue
            labels = _TOP.get(key, 0)
            blocks.extend(self.blocks(key, key_pos, value, labels, (), "<top>"))
        return Body({}, tuple(blocks), self.range(root.pos))

    def blocks(self, kind: str, at: Pos, value: JValue, labels: int, got: tuple[str, ...], parent: str) -> list[Block]:
        """The blocks a property stands for: one object per block, labels nested first."""
        if value.kind == "array":
            return [b for item in value.value for b in self.blocks(kind, at, item, labels, got, parent)]  # type: ignore[attr-defined]
        if value.kind != "object":
            self.error(value.pos, f"Invalid {kind} block", f'A JSON object is required for a "{kind}" block.')
            return []
        if len(got) < labels:
            out: list[Block] = []
            for label, _label_pos, inner in value.value:  # type: ignore[attr-defined]
                out.extend(self.blocks(kind, at, inner, labels, (*got, label), parent))
            return out
        if kind != "dynamic" or not got:
            return [Block(kind, got, self.body(kind, value), self.range(at))]
        saved = self.bound
        self.bound = saved | {_iterator(value, got[0])}
        try:
            return [Block(kind, got, self.body(kind, value), self.range(at))]
        finally:
            self.bound = saved

    def body(self, kind: str, value: JValue) -> Body:
        nested = _NESTED.get(kind, {})
        attrs: dict[str, Attribute] = {}
        blocks: list[Block] = []
        for key, key_pos, item in value.value:  # type: ignore[attr-defined]
            if key == "//":
                continue
            if key in nested:
                blocks.extend(self.blocks(key, key_pos, item, nested[key], (), kind))
                continue
            if key in attrs:
                self.error(
                    key_pos,
                    "Duplicate argument",
                    f'The argument "{key}" was already set at {attrs[key].range}. Each argument may be set only once.',
                )
                continue
            attrs[key] = Attribute(key, self.argument(kind, key, item), self.range(key_pos))
        return Body(attrs, tuple(blocks), self.range(value.pos))

    # expressions

    def argument(self, kind: str, name: str, value: JValue) -> Expr:
        if name in _SOURCE_ARGS and kind != "<vars>":
            return self.source(value, symbols=(kind, name) in NAME_ATTRS or name in ("provider", "iterator"))
        return self.expr(value)

    def source(self, value: JValue, symbols: bool) -> Expr:
        """A string (or array of strings) that holds expression source: ``"list(string)"``."""
        if value.kind == "array":
            items = tuple(self.source(v, symbols) for v in value.value)  # type: ignore[attr-defined]
            return TupleCons(self.file, value.pos, items)
        if value.kind != "string":
            return self.expr(value)
        line, column = value.pos.line, value.pos.column + 1
        expr = parse_snippet(str(value.value), self.file, line, column, symbols, self.diags, self.bound)
        return expr if expr is not None else Literal(self.file, value.pos, None)

    def expr(self, value: JValue) -> Expr:
        kind = value.kind
        if kind == "string":
            return self.template(str(value.value), value.pos)
        if kind == "array":
            return TupleCons(self.file, value.pos, tuple(self.expr(v) for v in value.value))  # type: ignore[attr-defined]
        if kind == "object":
            pairs = tuple(
                (self.template(key, key_pos), self.expr(item))
                for key, key_pos, item in value.value  # type: ignore[attr-defined]
            )
            return ObjectCons(self.file, value.pos, pairs)
        return Literal(self.file, value.pos, value.value)

    def template(self, text: str, pos: Pos) -> Expr:
        if "${" not in text and "%{" not in text:
            return Literal(self.file, pos, text)
        at = Pos(pos.line, pos.column + 1, pos.line, pos.column + 1)
        expr = compile_template(text, self.file, self.diags, all_names_are_symbols=False, start=at, bound=self.bound)
        return expr if expr is not None else Literal(self.file, pos, None)


def _iterator(value: JValue, default: str) -> str:
    """A dynamic block's iterator name: its ``iterator`` argument, else the block's label."""
    for key, _pos, item in value.value:  # type: ignore[attr-defined]
        if key == "iterator" and item.kind == "string":
            return str(item.value)
    return default


def parse_json_body(text: str, filename: str) -> tuple[Body | None, Diagnostics]:
    """A ``*.tf.json`` file as a body of top-level blocks; None when it is not valid JSON."""
    diags = Diagnostics()
    root = parse_json(text, filename, diags)
    if root is None:
        return None, diags
    return _Builder(filename, diags).top(root), diags


def parse_json_vars(text: str, filename: str) -> tuple[Body | None, Diagnostics]:
    """A ``*.tfvars.json`` file as a body of arguments (one per variable); None when invalid."""
    diags = Diagnostics()
    root = parse_json(text, filename, diags)
    if root is None:
        return None, diags
    builder = _Builder(filename, diags)
    if root.kind != "object":
        builder.error(root.pos, "Invalid variables file", "The root value must be a JSON object.")
        return None, diags
    attrs = {
        key: Attribute(key, builder.expr(item), builder.range(key_pos))
        for key, key_pos, item in root.value  # type: ignore[attr-defined]
        if key != "//"
    }
    return Body(attrs, (), builder.range(root.pos)), diags
