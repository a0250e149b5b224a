"""The journal: durability, replay after a crash, damaged files, compaction and group commit."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from relight.addrs import InstanceAddr, ResourceAddr
from relight.errors import StateCorruptError, StateError
from relight.state import LocalBackend, ObjectState, OutputState, State, StateBackend, loads

NODE = ResourceAddr.managed("terraform_data", "node")


def addr(i: int) -> InstanceAddr:
    return NODE.instance(i)


def obj(i: int) -> ObjectState:
    return ObjectState({"id": f"id-{i}", "input": i})


def backend(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "relight.tfstate")


def committed(b: LocalBackend, n: int) -> State:
    """A stored snapshot holding instances 0..n-1."""
    state = b.read()
    with b.open_journal(state) as j:
        for i in range(n):
            j.set(addr(i), "terraform", obj(i))
            state.set_current(addr(i), "terraform", obj(i))
        return j.commit(state)


def snapshot_files(tmp_path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}


def test_local_backend_satisfies_the_protocol(tmp_path: Path) -> None:
    b: StateBackend = backend(tmp_path)
    assert b.read().serial == 0


def test_commit_compacts_into_the_next_serial_and_deletes_the_journal(tmp_path: Path) -> None:
    b = backend(tmp_path)
    state = committed(b, 3)
    assert state.serial == 1
    assert not os.path.exists(b.journal_path)
    again = b.read()
    assert again == state and len(again) == 3


def test_records_survive_a_crash_and_replay_on_read(tmp_path: Path) -> None:
    b = backend(tmp_path)
    base = committed(b, 2)
    j = b.open_journal(b.read())
    j.set(addr(5), "terraform", obj(5))
    j.remove(addr(0))
    j.set_deposed(addr(1), "dead0001", "terraform", obj(99))
    j.set_outputs({"ip": OutputState("10.0.0.9", sensitive=True)})
    del j  # the process dies here: no commit, no close

    after = b.read()
    assert after.serial == base.serial
    assert [a.key for a in after.addresses()] == [1, 5]
    inst = after.get(addr(1))
    assert inst is not None and inst.deposed["dead0001"] == obj(99)
    assert after.outputs == {"ip": OutputState("10.0.0.9", sensitive=True)}


def test_a_replayed_journal_counts_as_a_change(tmp_path: Path) -> None:
    b = backend(tmp_path)
    committed(b, 1)
    with b.open_journal(b.read()) as j:
        j.set(addr(7), "terraform", obj(7))  # crash: closed without commit

    state = b.read()
    with b.open_journal(state) as j:
        result = j.commit(state)  # nothing new recorded in this run
    assert result.serial == 2
    assert b.read() == result and result.get(addr(7)) is not None


def test_a_second_crash_keeps_the_first_crash_records(tmp_path: Path) -> None:
    b = backend(tmp_path)
    with b.open_journal(b.read()) as j:
        j.set(addr(1), "terraform", obj(1))
    with b.open_journal(b.read()) as j:
        j.set(addr(2), "terraform", obj(2))
    state = b.read()
    assert [a.key for a in state.addresses()] == [1, 2]
    assert state.serial == 0  # a first run that never committed: no snapshot yet


def test_a_torn_last_line_is_ignored_and_cut_before_appending(tmp_path: Path) -> None:
    b = backend(tmp_path)
    committed(b, 1)
    with b.open_journal(b.read()) as j:
        j.set(addr(1), "terraform", obj(1))
    with open(b.journal_path, "ab") as fh:
        fh.write(b'{"op": "set", "addr": "terraform_data.node[2]", "prov')

    state = b.read()
    assert [a.key for a in state.addresses()] == [0, 1]
    with b.open_journal(state) as j:
        j.set(addr(3), "terraform", obj(3))
    assert [a.key for a in b.read().addresses()] == [0, 1, 3]


def test_a_torn_header_means_no_journal(tmp_path: Path) -> None:
    b = backend(tmp_path)
    committed(b, 1)
    Path(b.journal_path).write_bytes(b'{"journal": "relight-st')
    assert len(b.read()) == 1


def test_a_corrupt_middle_line_is_refused_and_nothing_is_touched(tmp_path: Path) -> None:
    b = backend(tmp_path)
    committed(b, 1)
    with b.open_journal(b.read()) as j:
        j.set(addr(1), "terraform", obj(1))
        j.set(addr(2), "terraform", obj(2))
    lines = Path(b.journal_path).read_bytes().split(b"\n")
    lines[1] = b"#### scribbled ####"
    Path(b.journal_path).write_bytes(b"\n".join(lines))
    before = snapshot_files(tmp_path)

    with pytest.raises(StateCorruptError, match=r"journal: line 2: not a valid journal record"):
        b.read()
    with pytest.raises(StateCorruptError):
        b.open_journal(loads(Path(b.path).read_bytes(), b.path))
    assert snapshot_files(tmp_path) == before


def test_a_stale_journal_left_by_compaction_is_ignored(tmp_path: Path) -> None:
    b = backend(tmp_path)
    committed(b, 1)
    with b.open_journal(b.read()) as j:
        j.set(addr(8), "terraform", obj(8))
        stale = Path(b.journal_path).read_bytes()
    state = b.read()
    state.remove(addr(8))  # this run decided against it before compacting
    with b.open_journal(state) as j:
        j.remove(addr(8))
        j.commit(state)
    # The crash came after the snapshot was replaced but before the journal was deleted.
    Path(b.journal_path).write_bytes(stale)
    after = b.read()
    assert after.serial == 2 and after.get(addr(8)) is None
    with b.open_journal(after) as j:  # replaces the stale journal
        assert j.record_count == 0


def test_a_journal_ahead_of_the_snapshot_is_refused(tmp_path: Path) -> None:
    b = backend(tmp_path)
    committed(b, 1)
    old_snapshot = Path(b.path).read_bytes()
    committed_state = b.read()
    with b.open_journal(committed_state) as j:
        j.set(addr(1), "terraform", obj(1))
        j.commit(committed_state)
    with b.open_journal(b.read()) as j:
        j.set(addr(2), "terraform", obj(2))
    Path(b.path).write_bytes(old_snapshot)  # someone restored an old snapshot by hand
    with pytest.raises(StateCorruptError, match="restored or replaced by hand"):
        b.read()


def test_commit_without_changes_writes_nothing(tmp_path: Path) -> None:
    b = backend(tmp_path)
    state = b.read()
    with b.open_journal(state) as j:
        result = j.commit(state)
    assert result.serial == 0
    assert not os.path.exists(b.path) and b.history() == []
    assert not os.path.exists(b.journal_path)


def test_close_without_records_leaves_no_journal(tmp_path: Path) -> None:
    b = backend(tmp_path)
    with b.open_journal(b.read()):
        pass
    assert not os.path.exists(b.journal_path)


def test_a_journal_on_a_state_that_moved_on_is_refused(tmp_path: Path) -> None:
    b = backend(tmp_path)
    committed(b, 1)
    old = b.read()
    b.write(old)
    with pytest.raises(StateError, match="changed since it was read"):
        b.open_journal(old)


def test_recording_after_commit_is_an_error(tmp_path: Path) -> None:
    b = backend(tmp_path)
    state = b.read()
    j = b.open_journal(state)
    j.commit(state)
    with pytest.raises(StateError, match="closed"):
        j.set(addr(1), "terraform", obj(1))


def test_a_failed_fsync_fails_the_caller_and_commit_still_saves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = backend(tmp_path)
    state = b.read()
    j = b.open_journal(state)
    real_fsync = os.fsync

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(StateError, match="could not record a change durably"):
        j.set(addr(1), "terraform", obj(1))
    with pytest.raises(StateError, match="earlier journal write failed"):
        j.set(addr(2), "terraform", obj(2))
    monkeypatch.setattr(os, "fsync", real_fsync)
    state.set_current(addr(1), "terraform", obj(1))
    assert j.commit(state).serial == 1
    assert b.read().get(addr(1)) is not None


# -- group commit --------------------------------------------------------------------------


def _record_from_threads(j: Any, threads: int, per_thread: int) -> None:
    start = threading.Barrier(threads)

    def work(t: int) -> None:
        start.wait()
        for k in range(per_thread):
            i = t * per_thread + k
            j.set(addr(i), "terraform", obj(i))

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()


def test_ten_threads_lose_no_record(tmp_path: Path) -> None:
    b = backend(tmp_path)
    j = b.open_journal(b.read())
    _record_from_threads(j, threads=10, per_thread=100)
    j.close()
    state = b.read()
    assert len(state) == 1000
    assert all(state.current(addr(i)) == obj(i) for i in range(1000))


def test_group_commit_shares_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = backend(tmp_path)
    j = b.open_journal(b.read())
    calls = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)
        time.sleep(0.001)  # a slow disk makes batching certain, not just likely

    monkeypatch.setattr(os, "fsync", counting_fsync)
    _record_from_threads(j, threads=10, per_thread=100)
    assert j.record_count == 1000
    assert len(calls) == j.fsyncs
    assert len(calls) < 250, f"{len(calls)} fsyncs for 1000 records: no batching"
    j.close()
    assert len(b.read()) == 1000
