"""The data plane's pure decisions, as tables: fstab, devices, mounts, host addresses, listening
ports, SSM parameters and statuses, which API calls change something."""

from __future__ import annotations

import io
from typing import Any

import pytest

from relight.localcloud.dataplane.instances import desired_mounts, parse_fstab, same_device
from relight.localcloud.dataplane.network import AddressBook, parse_listeners
from relight.localcloud.dataplane.ssm import RunShellScript, aggregate_status, parse_parameters
from relight.localcloud.gateway import action_of, changes_something

FSTAB_CASES = [
    ("/dev/xvdf /data ext4 defaults,nofail 0 2\n", [("/dev/xvdf", "/data")]),
    ("# comment\n\n/dev/sdf\t/data/\text4\n", [("/dev/sdf", "/data")]),
    ("UUID=abc / ext4 defaults 0 1\n/dev/xvdg none swap sw 0 0\n", [("UUID=abc", "/")]),
    ("/dev/xvdf /data ext4 defaults # trailing comment\nbroken-line\n", [("/dev/xvdf", "/data")]),
    ("tmpfs /tmp tmpfs defaults 0 0\nproc proc proc defaults 0 0\n", [("tmpfs", "/tmp")]),
]


@pytest.mark.parametrize(("text", "entries"), FSTAB_CASES)
def test_parse_fstab(text: str, entries: list[tuple[str, str]]) -> None:
    assert parse_fstab(text) == entries


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("/dev/xvdf", "/dev/xvdf", True),
        ("/dev/sdf", "/dev/xvdf", True),
        ("/dev/xvdf", "sdf", True),
        ("/dev/sdf", "/dev/sdg", False),
        ("/dev/xvdf", "/dev/xvdf1", False),
        ("UUID=abc", "/dev/xvdf", False),
    ],
)
def test_same_device(a: str, b: str, same: bool) -> None:
    assert same_device(a, b) is same


@pytest.mark.parametrize(
    ("fstab", "devices", "mounts"),
    [
        ([("/dev/xvdf", "/data")], {"/dev/xvdf": "vol-1"}, {"/data": "vol-1"}),
        ([("/dev/xvdf", "/data")], {"/dev/sdf": "vol-1"}, {"/data": "vol-1"}),
        ([("/dev/xvdf", "/data")], {}, {}),
        ([("/dev/xvdf", "/data")], {"/dev/xvdg": "vol-2"}, {}),
        ([("/dev/xvdf", "/"), ("/dev/xvdg", "/srv")], {"/dev/xvdf": "vol-1", "/dev/xvdg": "vol-2"}, {"/srv": "vol-2"}),
    ],
)
def test_desired_mounts(fstab: list[tuple[str, str]], devices: dict[str, str], mounts: dict[str, str]) -> None:
    assert desired_mounts(fstab, devices) == mounts


def test_host_addresses() -> None:
    book = AddressBook()
    assert book.allocate("i-1", "10.0.1.10") == "127.0.1.10"
    assert book.allocate("i-1", "10.0.1.10") == "127.0.1.10"  # stable
    assert book.allocate("i-2", "10.0.1.10") == "127.254.0.1"  # taken: from the pool
    assert book.allocate("i-3", "172.31.5.6") == "127.254.0.2"  # not in 10/8
    assert book.allocate("i-4", None) == "127.254.0.3"
    assert book.allocate("i-5", "10.0.0.1") == "127.254.0.4"  # would be 127.0.0.1, the local cloud's own
    book.release("i-1")
    assert book.allocate("i-6", "10.0.1.10") == "127.0.1.10"


_TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0A01000A:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1
   3: 00000000:0016 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4 1
"""
_TCP6 = """  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:20FB 00000000000000000000000000000000:0000 0A
   1: 00000000000000000000000001000000:2382 00000000000000000000000000000000:0000 0A
"""


def test_listening_ports_for_others_are_forwarded_loopback_only_ones_are_not() -> None:
    found = parse_listeners({"tcp": _TCP, "tcp6": _TCP6}, "10.0.1.10")
    assert found == {80: "127.0.0.1", 443: "10.0.1.10", 8443: "127.0.0.1"}
    assert parse_listeners({"tcp": _TCP}, None) == {80: "127.0.0.1"}


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"commands": ["a", "b"]}, RunShellScript(("a", "b"), None, 3600.0)),
        ({"commands": ["a"], "workingDirectory": ["/srv"], "executionTimeout": ["60"]}, RunShellScript(("a",), "/srv", 60.0)),
        ({"commands": ["a"], "workingDirectory": [""]}, RunShellScript(("a",), None, 3600.0)),
        ({}, "needs the parameter 'commands'"),
        ({"commands": []}, "needs the parameter 'commands'"),
        ({"commands": ["a"], "executionTimeout": ["0"]}, "between 1 and 172800"),
        ({"commands": ["a"], "executionTimeout": ["x"]}, "a number of seconds"),
        ({"commands": ["a"], "timeout": ["1"]}, "no parameter 'timeout'"),
    ],
)
def test_run_shell_script_parameters(parameters: dict[str, Any], expected: RunShellScript | str) -> None:
    got = parse_parameters(parameters)
    if isinstance(expected, str):
        assert isinstance(got, str) and expected in got
    else:
        assert got == expected


@pytest.mark.parametrize(
    ("statuses", "command"),
    [
        (["Pending"], "Pending"),
        (["Pending", "InProgress"], "InProgress"),
        (["Success", "InProgress"], "InProgress"),
        (["Success", "Success"], "Success"),
        (["Success", "Failed"], "Failed"),
        (["Failed", "TimedOut"], "TimedOut"),
    ],
)
def test_a_command_status_follows_its_invocations(statuses: list[str], command: str) -> None:
    assert aggregate_status(statuses) == command


def _environ(**kw: Any) -> dict[str, Any]:
    body = kw.pop("body", b"")
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "QUERY_STRING": "", "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)), **kw}  # fmt: skip


@pytest.mark.parametrize(
    ("environ", "action", "changes"),
    [
        (_environ(HTTP_X_AMZ_TARGET="AmazonSSM.SendCommand"), "SendCommand", True),
        (_environ(HTTP_X_AMZ_TARGET="AmazonSSM.GetCommandInvocation"), "GetCommandInvocation", False),
        (
            _environ(CONTENT_TYPE="application/x-www-form-urlencoded; charset=utf-8", body=b"Action=DescribeInstances"),
            "DescribeInstances",
            False,
        ),
        (_environ(CONTENT_TYPE="application/x-www-form-urlencoded", body=b"Action=RunInstances"), "RunInstances", True),
        (_environ(PATH_INFO="/service/GraniteServiceVersion20100801/operation/PutMetricAlarm"), "PutMetricAlarm", True),
        (_environ(REQUEST_METHOD="GET", PATH_INFO="/2013-04-01/hostedzone"), "GET", False),
        (_environ(PATH_INFO="/2013-04-01/hostedzone"), "POST", True),
        (_environ(QUERY_STRING="Action=ListMetrics"), "ListMetrics", False),
    ],
)
def test_which_calls_change_something(environ: dict[str, Any], action: str, changes: bool) -> None:
    body = environ["wsgi.input"].getvalue()
    assert action_of(environ) == action
    assert changes_something(action) is changes
    assert environ["wsgi.input"].read() == body  # the body is still there for the emulator
