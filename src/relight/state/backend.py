"""The seams between the engine and where state lives: :class:`StateBackend` and :class:`Journal`.

A backend stores snapshots (whole states, each at a serial) and a journal of changes made since
the last snapshot. During apply the engine records every provider result in the journal, which
returns only once the record is durable, and compacts it into a new snapshot at the end. The
cost of a record is the size of that record, not of the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from relight.addrs import InstanceAddr
from relight.state.locks import LockInfo
from relight.state.model import CreateIntent, ObjectState, OutputState, State

__all__ = ["Journal", "StateBackend", "VersionInfo"]


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One stored snapshot in a backend's history."""

    serial: int
    lineage: str
    written_at: datetime
    path: str
    resource_count: int


class Journal(Protocol):
    """Durable, thread-safe change records for one run, based on one state.

    Each recording method returns only after its record is durable, and raises
    :class:`relight.errors.StateError` if it could not be made so. Call :meth:`commit` with the
    final state to compact; leaving without it keeps the records for the next ``read``.
    """

    def set(self, addr: InstanceAddr, provider: str, obj: ObjectState | None, *, intent_done: bool = False) -> None: ...

    def set_deposed(
        self, addr: InstanceAddr, key: str, provider: str, obj: ObjectState | None
    ) -> None: ...

    def remove(self, addr: InstanceAddr) -> None: ...

    def set_outputs(self, outputs: Mapping[str, OutputState]) -> None: ...

    def set_intent(self, addr: InstanceAddr, intent: CreateIntent | None) -> None: ...

    def retain(self, record: Mapping[str, Any]) -> None: ...

    def batch(self, durable: bool = True) -> AbstractContextManager[None]: ...

    def commit(self, final: State) -> State: ...

    def close(self) -> None: ...

    def __enter__(self) -> Journal: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class StateBackend(Protocol):
    """Where one state lives: snapshots, a journal, history and a lock."""

    def read(self) -> State: ...

    def open_journal(self, state: State) -> Journal: ...

    def write(self, state: State, *, force: bool = False) -> State: ...

    def history(self) -> list[VersionInfo]: ...

    def read_version(self, serial: int) -> State: ...

    def lock(self, operation: str, timeout: float = 0.0) -> AbstractContextManager[LockInfo]: ...

    def force_unlock(self, lock_id: str) -> None: ...
