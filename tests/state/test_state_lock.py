"""The state lock: contention, between processes too, dead holders, and force-unlock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from relight.errors import StateError, StateLockedError
from relight.state import LocalBackend, LockInfo


def backend(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "relight.tfstate")


def test_the_lock_records_its_holder_and_is_released(tmp_path: Path) -> None:
    b = backend(tmp_path)
    with b.lock("apply") as info:
        on_disk = json.loads(Path(b.lock_path).read_text())
        assert on_disk["ID"] == info.id and on_disk["Operation"] == "apply"
        assert on_disk["Pid"] == os.getpid() and "@" in on_disk["Who"]
        assert on_disk["Path"] == b.path
        assert info.took_over_from is None
    assert not os.path.exists(b.lock_path)


def test_a_held_lock_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    b = backend(tmp_path)
    with b.lock("apply") as held:
        began = time.monotonic()
        with pytest.raises(StateLockedError) as err, b.lock("plan", timeout=0.3):
            pass
        assert time.monotonic() - began >= 0.3
    message = str(err.value)
    assert message.startswith("Error acquiring the state lock")
    for part in (
        f"ID:        {held.id}",
        "Operation: apply",
        f"Who:       {held.who}",
        f"Path:      {b.path}",
        "-lock-timeout=DURATION",
        f"relight force-unlock {held.id}",
    ):
        assert part in message
    assert err.value.info["ID"] == held.id


def test_a_waiting_run_gets_the_lock_when_it_is_released(tmp_path: Path) -> None:
    b = backend(tmp_path)
    got = threading.Event()

    def holder() -> None:
        with b.lock("apply"):
            got.set()
            time.sleep(0.3)

    th = threading.Thread(target=holder)
    th.start()
    got.wait()
    with b.lock("apply", timeout=10) as info:
        assert info.took_over_from is None
    th.join()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from relight.state import LocalBackend
    with LocalBackend(sys.argv[1]).lock("apply") as info:
        print(info.id, flush=True)
        time.sleep(600)
    """
)


def test_lock_contention_between_processes_and_take_over_after_kill(tmp_path: Path) -> None:
    b = backend(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", HOLDER, b.path], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        child_id = child.stdout.readline().strip()
        assert child_id

        with pytest.raises(StateLockedError) as err, b.lock("apply", timeout=0.5):
            pass
        assert f"ID:        {child_id}" in str(err.value)
        assert f"pid {child.pid}" in str(err.value)

        child.send_signal(signal.SIGKILL)
        child.wait()
        with b.lock("apply", timeout=0) as info:
            assert info.took_over_from is not None
            assert info.took_over_from.id == child_id
            assert info.took_over_from.pid == child.pid
            assert json.loads(Path(b.lock_path).read_text())["ID"] == info.id
        assert not os.path.exists(b.lock_path)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def _plant(b: LocalBackend, **changes: object) -> LockInfo:
    info = LockInfo.new("apply", b.path)
    doc = {**info.to_json(), **changes}
    Path(b.lock_path).write_text(json.dumps(doc))
    return LockInfo.from_json(doc)


def test_a_reused_pid_does_not_keep_a_dead_lock_alive(tmp_path: Path) -> None:
    b = backend(tmp_path)
    planted = _plant(b, Pid=os.getppid(), ProcessStart="1")  # alive, but not the holder
    with b.lock("apply") as info:
        assert info.took_over_from is not None and info.took_over_from.id == planted.id


def test_a_lock_from_another_boot_is_taken_over(tmp_path: Path) -> None:
    b = backend(tmp_path)
    planted = _plant(b, BootID="another-boot")
    with b.lock("apply") as info:
        assert info.took_over_from is not None and info.took_over_from.id == planted.id


def test_a_lock_held_on_another_host_is_never_taken_over(tmp_path: Path) -> None:
    b = backend(tmp_path)
    planted = _plant(b, Host="elsewhere.example", Pid=999_999_999)
    with pytest.raises(StateLockedError, match=r"pid 999999999 on elsewhere\.example"), b.lock("apply"):
        pass
    assert json.loads(Path(b.lock_path).read_text())["ID"] == planted.id


def test_force_unlock_needs_the_right_id(tmp_path: Path) -> None:
    b = backend(tmp_path)
    with pytest.raises(StateError, match="not locked"):
        b.force_unlock("nope")
    with b.lock("apply") as info:
        with pytest.raises(StateError, match=f"held by .*ID {info.id}"):
            b.force_unlock("wrong-id")
        assert os.path.exists(b.lock_path)
        b.force_unlock(info.id)
        assert not os.path.exists(b.lock_path)
        planted = _plant(b, Host="elsewhere.example")  # someone else takes it meanwhile
    # Leaving the block did not remove a lock that is no longer ours.
    assert json.loads(Path(b.lock_path).read_text())["ID"] == planted.id
