"""User-facing problems as values.

A :class:`Diagnostic` carries a severity, a one-line summary, an optional detail and an optional
source range. Code that finds a user mistake returns diagnostics instead of raising; only bugs and
I/O failures raise. :func:`render` turns diagnostics into the text a person reads, with the source
line and a caret under the offending column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import Enum

__all__ = ["Diagnostic", "Diagnostics", "Severity", "SourcePos", "SourceRange", "render"]


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class SourcePos:
    """A 1-based line and column in a file."""

    line: int
    column: int

    def __reduce__(self) -> tuple[type[SourcePos], tuple[int, int]]:
        # Parsed configurations are cached with pickle, and hold many positions: a plain tuple
        # of arguments pickles several times faster than a dataclass's generic state.
        return (SourcePos, (self.line, self.column))


@dataclass(frozen=True, slots=True)
class SourceRange:
    """A span of source text: the file name and where it starts (and, if known, ends)."""

    filename: str
    start: SourcePos
    end: SourcePos | None = None

    def __str__(self) -> str:
        return f"{self.filename}:{self.start.line}:{self.start.column}"

    def __reduce__(self) -> tuple[type[SourceRange], tuple[str, SourcePos, SourcePos | None]]:
        return (SourceRange, (self.filename, self.start, self.end))  # see SourcePos.__reduce__


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem. ``subject`` points at the source that caused it, when there is one.

    ``address`` names the object it concerns (``aws_instance.node``); ``attribute`` the argument
    within it (``("private_ip",)``, ``("ingress", 0, "from_port")``): a provider sets it so that
    the engine can point at the argument's line (see :meth:`stamped`).
    """

    severity: Severity
    summary: str
    detail: str = ""
    subject: SourceRange | None = None
    address: str | None = None
    attribute: tuple[str | int, ...] = ()

    def stamped(
        self,
        address: str,
        ranges: Mapping[str, SourceRange] | None = None,
        fallback: SourceRange | None = None,
    ) -> Diagnostic:
        """This diagnostic attributed to the object at ``address`` (unless it names one), with
        its subject found from its attribute path in ``ranges`` (argument name -> source range)
        or else ``fallback`` (the block), unless it has one."""
        subject = self.subject
        if subject is None and self.attribute and ranges:
            subject = ranges.get(str(self.attribute[0]))
        if subject is None:
            subject = fallback
        if self.address and subject is self.subject:
            return self
        return replace(self, address=self.address or address, subject=subject)

    @classmethod
    def error(
        cls,
        summary: str,
        detail: str = "",
        subject: SourceRange | None = None,
        address: str | None = None,
        attribute: tuple[str | int, ...] = (),
    ) -> Diagnostic:
        return cls(Severity.ERROR, summary, detail, subject, address, attribute)

    @classmethod
    def warning(
        cls,
        summary: str,
        detail: str = "",
        subject: SourceRange | None = None,
        address: str | None = None,
        attribute: tuple[str | int, ...] = (),
    ) -> Diagnostic:
        return cls(Severity.WARNING, summary, detail, subject, address, attribute)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "severity": self.severity.value,
            "summary": self.summary,
            "detail": self.detail,
        }
        if self.address:
            out["address"] = self.address
        if self.attribute:
            out["attribute"] = list(self.attribute)
        if self.subject is not None:
            out["range"] = {
                "filename": self.subject.filename,
                "start": {"line": self.subject.start.line, "column": self.subject.start.column},
            }
        return out


class Diagnostics:
    """An ordered collection of diagnostics; ``has_errors`` decides whether work may go on.

    Every addition goes through :meth:`append` (subclasses may watch additions there).
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[Diagnostic] = ()) -> None:
        self._items: list[Diagnostic] = list(items)

    def append(self, diag: Diagnostic) -> None:
        self._items.append(diag)

    def extend(self, diags: Iterable[Diagnostic]) -> None:
        for diag in diags:
            self.append(diag)

    def error(
        self,
        summary: str,
        detail: str = "",
        subject: SourceRange | None = None,
        address: str | None = None,
        attribute: tuple[str | int, ...] = (),
    ) -> None:
        self.append(Diagnostic.error(summary, detail, subject, address, attribute))

    def warning(
        self,
        summary: str,
        detail: str = "",
        subject: SourceRange | None = None,
        address: str | None = None,
        attribute: tuple[str | int, ...] = (),
    ) -> None:
        self.append(Diagnostic.warning(summary, detail, subject, address, attribute))

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self._items)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self._items if d.severity is Severity.ERROR]

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __repr__(self) -> str:
        return f"Diagnostics({self._items!r})"


def render(
    diags: Iterable[Diagnostic],
    sources: Mapping[str, str] | None = None,
    color: bool = False,
) -> str:
    """Format diagnostics like Terraform: a boxed block with file:line:col, source and caret."""
    blocks = [_render_one(d, sources or {}, color) for d in diags]
    return "\n".join(blocks)


def _render_one(diag: Diagnostic, sources: Mapping[str, str], color: bool) -> str:
    red, yellow, bold, reset = (
        ("\x1b[31m", "\x1b[33m", "\x1b[1m", "\x1b[0m") if color else ("",) * 4
    )
    tint = red if diag.severity is Severity.ERROR else yellow
    label = "Error" if diag.severity is Severity.ERROR else "Warning"
    lines = [
        f"{tint}╷{reset}",
        f"{tint}│{reset} {bold}{tint}{label}:{reset}{bold} {diag.summary}{reset}",
    ]
    if diag.subject is not None or diag.address:
        lines.append(f"{tint}│{reset}")
    if diag.subject is not None:
        lines.append(f"{tint}│{reset}   on {diag.subject}:")
        text = _source_line(sources, diag.subject)
        if text is not None:
            num = diag.subject.start.line
            lines.append(f"{tint}│{reset}   {num:>4} | {text}")
            caret_col = max(diag.subject.start.column, 1)
            pad = " " * (caret_col - 1)
            lines.append(f"{tint}│{reset}   {'':>4} | {pad}^")
    if diag.address:
        lines.append(f"{tint}│{reset}   with {diag.address}")
    if diag.detail:
        lines.append(f"{tint}│{reset}")
        for para in diag.detail.splitlines():
            lines.append(f"{tint}│{reset} {para}")
    lines.append(f"{tint}╵{reset}")
    return "\n".join(lines)


def _source_line(sources: Mapping[str, str], rng: SourceRange) -> str | None:
    text = sources.get(rng.filename)
    if text is None:
        try:
            with open(rng.filename, encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            return None
    all_lines = text.splitlines()
    if 1 <= rng.start.line <= len(all_lines):
        return all_lines[rng.start.line - 1].expandtabs(1)
    return None
