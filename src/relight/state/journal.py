"""The local journal: an append-only file of JSON lines, made durable with group commit.

Line 1 is a header naming the snapshot the journal is based on (lineage and serial); every
further line is one change. A recording call returns only after its line has been written and
fsynced; callers from many threads share fsyncs (the mechanism is
:mod:`relight.state.groupcommit`: one ``write`` and one ``fsync`` per batch).

Reading treats a damaged *last* line as a write torn by a crash (its caller never got an answer)
and ignores it; a damaged line followed by good ones is corruption and is refused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from relight.addrs import InstanceAddr
from relight.errors import StateError
from relight.state import codec
from relight.state.groupcommit import GroupCommitJournal
from relight.state.model import UNASSIGNED_LINEAGE, State

__all__ = ["JOURNAL_FORMAT", "JournalScan", "LocalJournal", "apply_records", "scan_journal"]

JOURNAL_FORMAT = "relight-state-journal"
JOURNAL_VERSION = 1


@dataclass(frozen=True, slots=True)
class JournalScan:
    """What a journal file holds: its base, its good records and where they end."""

    lineage: str
    base_serial: int
    records: list[dict[str, Any]]
    good_length: int
    torn_tail: bool


def header_line(lineage: str, base_serial: int) -> bytes:
    doc = {
        "journal": JOURNAL_FORMAT,
        "version": JOURNAL_VERSION,
        "lineage": lineage,
        "base_serial": base_serial,
    }
    return codec.encode_line(doc)


def scan_journal(data: bytes, source: str, restore_from: str | None) -> JournalScan | None:
    """Parse journal bytes; None when not even the header made it to disk."""
    r = codec.Reader(source, restore_from)
    lines = data.split(b"\n")
    # The piece after the last newline is a write cut short; a bad final line counts the same.
    tail = lines.pop()
    docs: list[dict[str, Any] | None] = [_parse_line(line) for line in lines]
    torn = bool(tail)
    if not torn and docs and docs[-1] is None:
        docs.pop()
        lines.pop()
        torn = True
    for i, doc in enumerate(docs):
        if doc is None:
            r.fail(f"line {i + 1}", "not a valid journal record (and records follow it)")
    if not docs:
        return None
    header = docs[0]
    assert header is not None
    if header.get("journal") != JOURNAL_FORMAT or header.get("version") != JOURNAL_VERSION:
        r.fail("line 1", f"not a relight journal header (expected {JOURNAL_FORMAT!r} "
                         f"version {JOURNAL_VERSION})")
    return JournalScan(
        lineage=r.get(header, "lineage", str, "line 1"),
        base_serial=r.get(header, "base_serial", int, "line 1"),
        records=[d for d in docs[1:] if d is not None],
        good_length=sum(len(line) + 1 for line in lines),
        torn_tail=torn,
    )


def _parse_line(line: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(line)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def apply_records(
    state: State, records: list[dict[str, Any]], source: str, restore_from: str | None
) -> None:
    """Replay ``records`` onto ``state`` in order; a malformed record raises StateCorruptError."""
    r = codec.Reader(source, restore_from)
    for n, rec in enumerate(records, start=2):
        where = f"line {n}"
        op = r.get(rec, "op", str, where)
        if op == "outputs":
            outputs = r.get(rec, "outputs", dict, where)
            state.outputs = codec.outputs_from_json(r, outputs, f"{where}.outputs")
            continue
        if op == "retain":
            state.retained.append(r.get(rec, "record", dict, where))
            continue
        raw_addr = r.get(rec, "addr", str, where)
        try:
            addr = InstanceAddr.parse(raw_addr)
        except ValueError as exc:
            r.fail(f"{where}.addr", str(exc))
        if op == "remove":
            state.remove(addr)
            continue
        if op == "intent":
            raw_intent = rec.get("intent")
            if raw_intent is None:
                state.intents.pop(addr, None)
            else:
                at = f"{where}.intent"
                state.intents[addr] = codec.intent_from_json(r, r.check(raw_intent, dict, at), at)
            continue
        provider = r.get(rec, "provider", str, where)
        raw_obj = rec.get("object")
        obj = None if raw_obj is None else codec.object_from_json(
            r, r.check(raw_obj, dict, f"{where}.object"), f"{where}.object")
        if op == "set":
            state.set_current(addr, provider, obj)
            if rec.get("intent_done"):
                state.intents.pop(addr, None)
        elif op == "set_deposed":
            state.set_deposed(addr, r.get(rec, "deposed", str, where), provider, obj)
        else:
            r.fail(f"{where}.op", f"unknown journal operation {op!r}")


class LocalJournal(GroupCommitJournal):
    """The :class:`relight.state.backend.Journal` of a local file backend.

    ``install`` writes a snapshot durably (used by :meth:`commit`). ``prior_records`` counts
    records already in the file from an interrupted run; they make the run count as a change.
    A batch is one ``write`` and one ``fsync`` (see :mod:`relight.state.groupcommit`).
    """

    def __init__(
        self,
        path: str,
        base: State,
        install: Callable[[State], None],
        prior_records: int = 0,
    ) -> None:
        super().__init__(base, path, prior_records)
        self.path = path
        self._install = install
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)

    @property
    def fsyncs(self) -> int:
        return self.flushes

    def _write_batch(self, lines: list[bytes], durable: bool) -> None:
        try:
            _write_all(self._fd, b"".join(lines))
            if durable:
                os.fsync(self._fd)
        except OSError as exc:
            failure = StateError(f"{self.path}: could not record a change durably: {exc}")
            raise failure from exc

    # -- finishing -------------------------------------------------------------------------

    def commit(self, final: State) -> State:
        """Compact: store ``final`` as the next snapshot, then delete the journal.

        The new snapshot has serial base + 1. If nothing was recorded and ``final`` has the
        same content as the base, nothing is written and the base serial is kept. Returns the
        state as stored (a never-written state gets its lineage here). If writing the snapshot
        fails, the journal stays for the next read.
        """
        if final.lineage not in (self._base.lineage, UNASSIGNED_LINEAGE):
            raise ValueError(f"cannot commit lineage {final.lineage} into a journal for "
                             f"lineage {self._base.lineage}")
        self._stop()
        result = final.copy()
        result.lineage = self._base.lineage
        result.serial = self._base.serial
        if self._records or not final.same_content(self._base):
            result.serial += 1
            self._install(result)
        _unlink_durably(self.path)
        return result

    def close(self) -> None:
        """Stop recording and keep the records for the next read (a journal with none goes)."""
        if self._closed:
            return
        self._stop()
        if self._records == 0:
            _unlink_durably(self.path)

    def _stop(self) -> None:
        super()._stop()  # raises (leaving the file alone) when already committed or closed
        os.close(self._fd)

    def __enter__(self) -> LocalJournal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _unlink_durably(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    fsync_dir(os.path.dirname(path))


def fsync_dir(path: str) -> None:
    """Make a rename or unlink inside ``path`` durable."""
    fd = os.open(path or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
