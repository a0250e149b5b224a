"""Reading a Terraform state file's JSON for :mod:`relight.state.tfstate`: typed field access that
stops at the first structural problem with a diagnostic naming the JSON path and, when it can, the
line of the resource; and the merging of repeated diagnostics.

Python's JSON parser gives no positions, so the line of a resource is found by a second, cheap pass
over the text (:func:`resource_offsets`), made only when a problem needs it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, NoReturn

from relight.diagnostics import Diagnostic, Diagnostics, SourcePos, SourceRange

__all__ = ["NOTHING", "Reader", "Refused", "kind_of", "merge", "resource_offsets"]

class Refused(Exception):
    """The file's structure is wrong; carries the one diagnostic that says where."""

    def __init__(self, diag: Diagnostic) -> None:
        super().__init__(diag.summary)
        self.diag = diag


class Reader:
    """Typed access to the parsed file; the first structural problem aborts with a diagnostic."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.text = text
        self._offsets: list[int] | None = None

    def where(self, resource: int | None) -> SourceRange:
        """Where resource number ``resource`` starts (found only when a problem needs it: it
        takes a second pass over the text)."""
        if self._offsets is None:
            self._offsets = resource_offsets(self.text)
        offsets = self._offsets
        offset = offsets[resource] if resource is not None and resource < len(offsets) else 0
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return SourceRange(self.source, SourcePos(line, column))

    def fail(self, path: str, problem: str, resource: int | None = None) -> NoReturn:
        detail = f"{path}: {problem}." if path else f"{problem}."
        raise Refused(Diagnostic.error("Invalid Terraform state", f"{detail}{NOTHING}", self.where(resource)))

    def get(self, doc: Mapping[str, Any], key: str, kind: type, path: str, res: int | None = None) -> Any:
        if key not in doc:
            self.fail(path, f'missing field "{key}"', res)
        return self.check(doc[key], kind, f"{path}.{key}" if path else key, res)

    def opt(self, doc: Mapping[str, Any], key: str, kind: type, default: Any, path: str, res: int | None) -> Any:
        if doc.get(key) is None:
            return default
        return self.check(doc[key], kind, f"{path}.{key}", res)

    def check(self, value: Any, kind: type, path: str, res: int | None = None) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(path, f"expected {_KINDS.get(kind, kind.__name__)}, found {kind_of(value)}", res)
        return value


NOTHING = " Nothing was written."
_KINDS = {dict: "an object", list: "an array", str: "a string", int: "an integer", bool: "a boolean"}


def kind_of(value: object) -> str:
    if value is None:
        return "null"
    for kind, name in _KINDS.items():
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return name
    return "a number" if isinstance(value, float) else type(value).__name__


def merge(diags: Diagnostics) -> Diagnostics:
    """One diagnostic per distinct problem, naming every instance it hit (an unknown type with
    forty instances is one message, not forty)."""
    groups: dict[tuple[object, ...], list[Diagnostic]] = {}
    for d in diags:
        groups.setdefault((d.severity, d.summary, d.detail), []).append(d)
    out = Diagnostics()
    for same in groups.values():
        first = same[0]
        if len(same) > 1:
            others = ", ".join(d.address or "" for d in same[1:])
            first = replace(first, detail=f"{first.detail}\n\nAlso: {others}")
        out.append(first)
    return out


def resource_offsets(text: str) -> list[int]:
    """Where each entry of the top-level ``resources`` array starts, for line numbers."""
    decoder = json.JSONDecoder()
    pos = _skip(text, 0)
    if not text.startswith("{", pos):
        return []
    pos = _skip(text, pos + 1)
    try:
        while pos < len(text) and text[pos] != "}":
            key, pos = decoder.raw_decode(text, pos)
            pos = _skip(text, _skip(text, pos) + 1)  # past the colon
            if key == "resources" and text.startswith("[", pos):
                return _array_offsets(decoder, text, pos)
            _, pos = decoder.raw_decode(text, pos)
            pos = _skip(text, _skip(text, pos) + 1)  # past the comma
    except (json.JSONDecodeError, IndexError):
        pass
    return []


def _array_offsets(decoder: json.JSONDecoder, text: str, pos: int) -> list[int]:
    offsets: list[int] = []
    pos = _skip(text, pos + 1)
    while pos < len(text) and text[pos] != "]":
        offsets.append(pos)
        _, pos = decoder.raw_decode(text, pos)
        pos = _skip(text, _skip(text, pos) + 1) if text[_skip(text, pos)] == "," else _skip(text, pos)
    return offsets


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos
