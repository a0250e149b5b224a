"""Durable state: the model, the snapshot codec, backends with a journal, and the state lock.

The engine reads a :class:`State` from a :class:`StateBackend`, records each provider result in a
:class:`Journal` (durable before the call returns), and commits the journal into the next
snapshot when the run ends. :class:`LocalBackend` keeps all of it in files next to the state.
"""

from relight.state.backend import Journal, StateBackend, VersionInfo
from relight.state.codec import dumps, loads
from relight.state.groupcommit import GroupCommitJournal
from relight.state.local import DEFAULT_STATE_FILE, LocalBackend
from relight.state.locks import LockInfo
from relight.state.model import (
    UNASSIGNED_LINEAGE,
    CreateIntent,
    ObjectState,
    ObjectStatus,
    OutputState,
    ResourceInstanceState,
    State,
)

__all__ = [
    "DEFAULT_STATE_FILE",
    "UNASSIGNED_LINEAGE",
    "CreateIntent",
    "GroupCommitJournal",
    "Journal",
    "LocalBackend",
    "LockInfo",
    "ObjectState",
    "ObjectStatus",
    "OutputState",
    "ResourceInstanceState",
    "State",
    "StateBackend",
    "VersionInfo",
    "dumps",
    "loads",
]
