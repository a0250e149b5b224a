"""Create intents and retained records: they survive the snapshot codec and a killed run."""

from __future__ import annotations

from pathlib import Path

from relight.addrs import InstanceAddr
from relight.state import CreateIntent, LocalBackend, ObjectState, State, dumps, loads

ADDR = InstanceAddr.parse("aws_instance.node")
KEPT = {"address": "aws_ebs_volume.data", "kind": "final_snapshot", "snapshot_id": "snap-1", "volume_id": "vol-1"}


def test_codec_round_trips_intents_and_retained() -> None:
    state = State.new()
    state.intents[ADDR] = CreateIntent("tok", "aws", {"ami": "ami-1", "tags": {"a": "b"}}, "2026-11-27T00:00:00+00:00")
    state.retained.append(dict(KEPT))
    back = loads(dumps(state), "test")
    assert back == state
    assert back.intents[ADDR].planned == {"ami": "ami-1", "tags": {"a": "b"}}


def test_a_state_without_them_writes_no_extra_keys() -> None:
    assert b"create_intents" not in dumps(State.new()) and b"retained" not in dumps(State.new())


def test_journaled_records_survive_a_run_that_never_committed(tmp_path: Path) -> None:
    backend = LocalBackend(str(tmp_path / "relight.tfstate"))
    base = backend.read()
    journal = backend.open_journal(base)
    journal.set_intent(ADDR, CreateIntent("tok-1", "aws"))
    journal.retain(KEPT)
    journal.set_intent(InstanceAddr.parse("aws_instance.other"), CreateIntent("tok-2", "aws"))
    journal.set(InstanceAddr.parse("aws_instance.other"), "aws", ObjectState({"id": "i-2"}))
    journal.set_intent(InstanceAddr.parse("aws_instance.other"), None)
    # no commit: the process "dies" here
    recovered = LocalBackend(str(tmp_path / "relight.tfstate")).read()
    assert set(recovered.intents) == {ADDR} and recovered.intents[ADDR].token == "tok-1"
    assert recovered.retained == [KEPT]
    assert recovered.current(InstanceAddr.parse("aws_instance.other")) is not None


def test_a_run_that_recorded_only_bookkeeping_can_be_followed_by_another(tmp_path: Path) -> None:
    # A first apply whose only create failed leaves a snapshot with no instances (serial 1).
    # Such a snapshot has len() 0; the next run must still see it as the stored version.
    backend = LocalBackend(str(tmp_path / "relight.tfstate"))
    base = backend.read()
    with backend.open_journal(base) as journal:
        journal.set_intent(ADDR, CreateIntent("tok", "aws"))
        journal.set_intent(ADDR, None)
        first = journal.commit(base)
    assert first.serial == 1 and len(first) == 0
    again = backend.read()
    with backend.open_journal(again) as journal:
        journal.set(ADDR, "aws", ObjectState({"id": "i-1"}))
        second = journal.commit(again)
    assert second.serial == 2
