"""The local journal: an append-only file of JSON lines, made durable with group commit.

Line 1 is a header naming the snapshot the journal is based on (lineage and serial); every
further line is one change. A recording call returns only after its line has been written and
fsynced. Callers from many threads share fsyncs: whoever finds no flush in progress becomes the
leader, writes everything queued so far in one ``write`` and one ``fsync``, then wakes the others;
a caller returns once a flush that covered its own record has finished.

Reading treats a damaged *last* line as a write torn by a crash (its caller never got an answer)
and ignores it; a damaged line followed by good ones is corruption and is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from relight.addrs import InstanceAddr
from relight.errors import StateError
from relight.state import codec
from relight.state.model import UNASSIGNED_LINEAGE, CreateIntent, ObjectState, OutputState, State

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


def _object(obj: ObjectState | None) -> dict[str, Any] | None:
    return None if obj is None else codec.object_to_json(obj)


class LocalJournal:
    """The :class:`relight.state.backend.Journal` of a local file backend.

    ``install`` writes a snapshot durably (used by :meth:`commit`). ``prior_records`` counts
    records already in the file from an interrupted run; they make the run count as a change.
    """

    def __init__(
        self,
        path: str,
        base: State,
        install: Callable[[State], None],
        prior_records: int = 0,
    ) -> None:
        self.path = path
        self._base = base.copy()
        self._install = install
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        self._cond = threading.Condition()
        self._queue: list[bytes] = []
        self._queued = 0  # sequence number of the last record queued
        self._durable = 0  # every record up to this sequence number is on disk
        self._flushing = False
        self._failure: StateError | None = None
        self._records = prior_records
        self._closed = False
        self._batch_thread: int | None = None
        self.fsyncs = 0

    # -- recording -------------------------------------------------------------------------

    def set(self, addr: InstanceAddr, provider: str, obj: ObjectState | None, *, intent_done: bool = False) -> None:
        """Durably record ``obj`` as the current object at ``addr`` (None: it is gone).

        ``intent_done`` also clears the create intent at ``addr`` in the same record.
        """
        record: dict[str, Any] = {"op": "set", "addr": str(addr), "provider": provider, "object": _object(obj)}
        if intent_done:
            record["intent_done"] = True
        self._append(record)

    def set_deposed(
        self, addr: InstanceAddr, key: str, provider: str, obj: ObjectState | None
    ) -> None:
        """Durably record (or with None, forget) deposed object ``key`` at ``addr``."""
        self._append({"op": "set_deposed", "addr": str(addr), "deposed": key,
                      "provider": provider, "object": _object(obj)})

    def remove(self, addr: InstanceAddr) -> None:
        """Durably record that nothing at ``addr`` is managed any more."""
        self._append({"op": "remove", "addr": str(addr)})

    def set_intent(self, addr: InstanceAddr, intent: CreateIntent | None) -> None:
        """Durably record that a create is about to start (or, with None, that it finished)."""
        self._append(
            {"op": "intent", "addr": str(addr), "intent": None if intent is None else codec.intent_to_json(intent)}
        )

    def retain(self, record: Mapping[str, Any]) -> None:
        """Durably record something a delete kept on purpose (a final snapshot)."""
        self._append({"op": "retain", "record": dict(record)})

    def set_outputs(self, outputs: Mapping[str, OutputState]) -> None:
        """Durably record the complete set of root outputs."""
        self._append({"op": "outputs", "outputs": codec.outputs_to_json(dict(outputs))})

    @property
    def record_count(self) -> int:
        return self._records

    @contextlib.contextmanager
    def batch(self, durable: bool = True) -> Iterator[None]:
        """Record several changes from this thread with one fsync: each recording call inside
        returns at once, and leaving the block returns only when all of them are durable.

        With ``durable=False`` leaving does not wait either: the records reach the disk with the
        next flush or at commit, unsynced. Only for records the next run can recompute.
        """
        self._batch_thread = threading.get_ident()
        try:
            yield
        finally:
            self._batch_thread = None
            if durable:
                with self._cond:
                    self._wait_durable(self._queued)

    def _append(self, record: dict[str, Any]) -> None:
        line = codec.encode_line(record)  # encode outside the lock; may raise on UNKNOWN
        with self._cond:
            if self._closed:
                raise StateError(f"{self.path}: the journal is closed")
            if self._failure is not None:
                raise StateError(f"{self.path}: an earlier journal write failed; "
                                 f"commit the state instead") from self._failure
            self._queue.append(line)
            self._queued += 1
            self._records += 1
            if self._batch_thread != threading.get_ident():
                self._wait_durable(self._queued)

    def _wait_durable(self, seq: int) -> None:
        """Block (holding the condition) until record ``seq`` is durable, flushing if needed."""
        while self._durable < seq:
            if self._failure is not None:
                # A fresh exception per caller: threads must not share one traceback.
                raise StateError(str(self._failure)) from self._failure.__cause__
            if self._flushing:
                self._cond.wait()
            else:
                self._flush_locked()

    def _flush_locked(self) -> None:
        """Write and fsync everything queued; called with the lock held, releases it meanwhile."""
        batch, upto = b"".join(self._queue), self._queued
        self._queue = []
        self._flushing = True
        self._cond.release()
        failure: StateError | None = None
        try:
            _write_all(self._fd, batch)
            os.fsync(self._fd)
        except OSError as exc:
            failure = StateError(f"{self.path}: could not record a change durably: {exc}")
            failure.__cause__ = exc
        finally:
            self._cond.acquire()
            self._flushing = False
            self.fsyncs += 1
            if failure is None:
                self._durable = upto
            else:
                self._failure = failure
            self._cond.notify_all()

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
        with self._cond:
            if self._closed:
                raise StateError(f"{self.path}: the journal was already committed or closed")
            self._closed = True
            # Let records already queued by other threads reach the disk before the file closes.
            while self._flushing:
                self._cond.wait()
            if self._queue and self._failure is None:  # lazy records (batch(durable=False))
                with contextlib.suppress(OSError):
                    _write_all(self._fd, b"".join(self._queue))
                self._queue = []
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
