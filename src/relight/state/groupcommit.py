"""The one group-commit mechanism behind every journal (a local file, a database table...).

A recording call returns only after its record is durable. Callers from many threads share
the cost of making records durable: whoever finds no flush in progress becomes the leader,
writes everything queued so far in one batch (one ``write`` + ``fsync``, one transaction...),
then wakes the others; a caller returns once a flush that covered its own record has finished.
A failed flush fails every record it carried and every later one (the journal is then
unusable; what was durable before stays for the next read).

Subclasses say how a batch is written (:meth:`GroupCommitJournal._write_batch`), how the
journal is compacted (``commit``) and what closing keeps (``close``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from relight.addrs import InstanceAddr
from relight.errors import StateError
from relight.state import codec
from relight.state.model import CreateIntent, ObjectState, OutputState, State

__all__ = ["GroupCommitJournal"]


class GroupCommitJournal:
    """The recording half of a :class:`relight.state.backend.Journal`, based on ``base``.

    ``where`` names the journal in messages. ``prior_records`` counts records already kept from
    an interrupted run; they make the run count as a change. ``flushes`` counts batches written.
    """

    def __init__(self, base: State, where: str, prior_records: int = 0) -> None:
        self._base = base.copy()
        self.where = where
        self._cond = threading.Condition()
        self._queue: list[bytes] = []
        self._queued = 0  # sequence number of the last record queued
        self._durable = 0  # every record up to this sequence number is durable
        self._flushing = False
        self._failure: StateError | None = None
        self._records = prior_records
        self._closed = False
        self._batch_thread: int | None = None
        self.flushes = 0

    def _write_batch(self, lines: list[bytes], durable: bool) -> None:
        """Write ``lines`` (encoded records, in order); with ``durable``, return only once they
        are durable. Raise :class:`StateError` when they could not be written."""
        raise NotImplementedError

    # -- recording -------------------------------------------------------------------------

    def set(self, addr: InstanceAddr, provider: str, obj: ObjectState | None, *, intent_done: bool = False) -> None:
        """Durably record ``obj`` as the current object at ``addr`` (None: it is gone).

        ``intent_done`` also clears the create intent at ``addr`` in the same record.
        """
        record: dict[str, Any] = {"op": "set", "addr": str(addr), "provider": provider, "object": _object(obj)}
        if intent_done:
            record["intent_done"] = True
        self._append(record)

    def set_deposed(self, addr: InstanceAddr, key: str, provider: str, obj: ObjectState | None) -> None:
        """Durably record (or with None, forget) deposed object ``key`` at ``addr``."""
        self._append(
            {"op": "set_deposed", "addr": str(addr), "deposed": key, "provider": provider, "object": _object(obj)}
        )

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
        """Record several changes from this thread with one flush: each recording call inside
        returns at once, and leaving the block returns only when all of them are durable.

        With ``durable=False`` leaving does not wait either: the records become durable with the
        next flush or at commit. Only for records the next run can recompute.
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
                raise StateError(f"{self.where}: the journal is closed")
            if self._failure is not None:
                raise StateError(
                    f"{self.where}: an earlier journal write failed; commit the state instead"
                ) from self._failure
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
        """Write everything queued; called with the lock held, releases it meanwhile."""
        lines, upto = self._queue, self._queued
        self._queue = []
        self._flushing = True
        self._cond.release()
        failure: StateError | None = None
        try:
            self._write_batch(lines, durable=True)
        except StateError as exc:
            failure = exc
        finally:
            self._cond.acquire()
            self._flushing = False
            self.flushes += 1
            if failure is None:
                self._durable = upto
            else:
                self._failure = failure
            self._cond.notify_all()

    # -- finishing -------------------------------------------------------------------------

    def _stop(self) -> None:
        """No more records: wait for a flush in flight, then write what ``batch(durable=False)``
        left queued (best effort: those records can be recomputed)."""
        with self._cond:
            if self._closed:
                raise StateError(f"{self.where}: the journal was already committed or closed")
            self._closed = True
            while self._flushing:
                self._cond.wait()
            if self._queue and self._failure is None:
                lines, self._queue = self._queue, []
                with contextlib.suppress(StateError):
                    self._write_batch(lines, durable=False)


def _object(obj: ObjectState | None) -> dict[str, Any] | None:
    return None if obj is None else codec.object_to_json(obj)
