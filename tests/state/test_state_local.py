"""The local backend's snapshot handling: missing, corrupt, whole writes, push rules, history."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest

from relight.addrs import ResourceAddr
from relight.errors import StateCorruptError, StateError
from relight.state import UNASSIGNED_LINEAGE, LocalBackend, ObjectState, State

NODE = ResourceAddr.managed("terraform_data", "node")


def with_node(state: State, i: int) -> State:
    state.set_current(NODE.instance(i), "terraform", ObjectState({"id": str(i)}))
    return state


def test_a_missing_file_is_a_new_empty_state(tmp_path: Path) -> None:
    b = LocalBackend(tmp_path / "relight.tfstate")
    first, second = b.read(), b.read()
    assert first.serial == 0 and len(first) == 0
    # No lineage yet, so a plan made from one read matches the apply's read.
    assert first.lineage == second.lineage == UNASSIGNED_LINEAGE
    assert list(tmp_path.iterdir()) == []


def test_the_first_write_or_commit_assigns_a_lineage(tmp_path: Path) -> None:
    by_write = LocalBackend(tmp_path / "a.tfstate")
    written = by_write.write(with_node(by_write.read(), 1))
    assert uuid.UUID(written.lineage) and by_write.read().lineage == written.lineage

    by_journal = LocalBackend(tmp_path / "b.tfstate")
    state = by_journal.read()
    with by_journal.open_journal(state) as j:
        j.set(NODE.instance(1), "terraform", ObjectState({"id": "1"}))
    recovered = by_journal.read()  # after a crash the journal's lineage is adopted
    assert uuid.UUID(recovered.lineage) and recovered.get(NODE.instance(1)) is not None
    with by_journal.open_journal(recovered) as j:
        final = j.commit(with_node(state, 1))  # the engine's copy still has no lineage
    assert final.lineage == recovered.lineage == by_journal.read().lineage


def test_write_bumps_the_serial_and_keeps_history(tmp_path: Path) -> None:
    b = LocalBackend(tmp_path / "relight.tfstate")
    one = b.write(with_node(b.read(), 1))
    two = b.write(with_node(b.read(), 2))
    assert (one.serial, two.serial) == (1, 2)
    assert b.read() == two
    versions = b.history()
    assert [(v.serial, v.resource_count, v.lineage) for v in versions] == [
        (1, 1, one.lineage),
        (2, 2, one.lineage),
    ]
    assert versions[0].path.endswith(".relight/history/relight.tfstate/00000001.json")
    assert b.read_version(1) == one
    with pytest.raises(StateError, match="no stored state version 9"):
        b.read_version(9)


def test_state_files_are_private(tmp_path: Path) -> None:
    b = LocalBackend(tmp_path / "relight.tfstate")
    b.write(with_node(b.read(), 1))
    for path in (b.path, b.history()[0].path):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize("content", [b"", b'{"format": "relight-state", ', b"\x00" * 64])
def test_a_corrupt_snapshot_is_refused_and_never_overwritten(tmp_path: Path, content: bytes) -> None:
    b = LocalBackend(tmp_path / "relight.tfstate")
    b.write(with_node(b.read(), 1))
    Path(b.path).write_bytes(content)
    with pytest.raises(StateCorruptError) as err:
        b.read()
    message = str(err.value)
    assert message.startswith(f"{b.path}: ")
    assert "the file was left untouched" in message
    assert "Restore it from " + b.history()[-1].path in message
    for attempt in (
        lambda: b.write(State.new()),
        lambda: b.write(State.new(), force=True),
        lambda: b.open_journal(State.new()),
    ):
        with pytest.raises(StateCorruptError):
            attempt()
    assert Path(b.path).read_bytes() == content


def test_push_refuses_another_lineage_or_an_older_serial_unless_forced(tmp_path: Path) -> None:
    b = LocalBackend(tmp_path / "relight.tfstate")
    for _ in range(3):
        stored = b.write(with_node(b.read(), 1))
    assert stored.serial == 3

    stranger = with_node(State.new(), 2)
    with pytest.raises(StateError, match="different states"):
        b.write(stranger)
    older = b.read_version(1)
    with pytest.raises(StateError, match=r"newer \(serial 3\)"):
        b.write(older)

    forced = b.write(stranger, force=True)
    assert forced.lineage == stranger.lineage and forced.serial == 4  # serials never go back
    assert b.read() == forced


def test_a_whole_write_archives_a_pending_journal(tmp_path: Path) -> None:
    b = LocalBackend(tmp_path / "relight.tfstate")
    b.write(with_node(b.read(), 1))
    with b.open_journal(b.read()) as j:
        j.set(NODE.instance(2), "terraform", ObjectState({"id": "2"}))
    state = b.read()  # includes the journal's record
    state.remove(NODE.instance(1))  # e.g. `state rm`
    written = b.write(state)
    assert not os.path.exists(b.journal_path)
    assert os.path.exists(os.path.join(b.history_dir, "before-00000002.journal"))
    assert b.read() == written and [a.key for a in written.addresses()] == [2]


def test_the_public_api_is_pinned() -> None:
    import relight.state

    assert sorted(relight.state.__all__) == [
        "CreateIntent",
        "DEFAULT_STATE_FILE",
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
        "UNASSIGNED_LINEAGE",
        "VersionInfo",
        "dumps",
        "loads",
    ]


def test_a_snapshot_with_outputs_but_no_instances_is_read_back(tmp_path: Path) -> None:
    # A State with no instances has len() 0; it must still count as a stored snapshot.
    from relight.state import LocalBackend, OutputState, State

    backend = LocalBackend(str(tmp_path / "relight.tfstate"))
    state = State.new()
    state.set_output("x", OutputState(1))
    backend.write(state)
    assert backend.read().outputs == {"x": OutputState(1)}
