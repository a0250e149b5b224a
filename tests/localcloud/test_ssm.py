"""SSM Run Command (AWS-RunShellScript) inside instances, with boto3 exactly as against AWS."""

from __future__ import annotations

import pytest

from relight.localcloud import LocalCloud

from .machines import GHE_217, Machines


@pytest.fixture
def m(dataplane: LocalCloud) -> Machines:
    return Machines(dataplane)


def test_status_exit_code_stdout_and_stderr(m: Machines) -> None:
    node = m.launch(GHE_217)
    inv = m.run(node, "echo out; echo err >&2", "hostname", "exit 7")
    assert inv["Status"] == "Failed"
    assert inv["StatusDetails"] == "Failed"
    assert inv["ResponseCode"] == 7
    assert inv["StandardOutputContent"] == "out\nip-10-0-1-10\n"
    assert inv["StandardErrorContent"] == "err\n"
    assert inv["DocumentName"] == "AWS-RunShellScript"
    assert inv["ExecutionEndDateTime"] and inv["ExecutionElapsedTime"].startswith("PT")
    ok = m.run(node, "whoami", "echo $AWS_SSM_INSTANCE_ID", "pwd")
    assert ok["Status"] == "Success" and ok["ResponseCode"] == 0
    lines = ok["StandardOutputContent"].splitlines()
    assert lines[:2] == ["root", node]
    assert lines[2].startswith(f"/var/lib/amazon/ssm/{node}/document/orchestration/")


def test_the_boto3_waiter_and_the_command_record(m: Machines) -> None:
    node = m.launch(GHE_217)
    out = m.ssm.send_command(InstanceIds=[node], DocumentName="AWS-RunShellScript",
                             Parameters={"commands": ["sleep 0.3", "echo done"]})  # fmt: skip
    command_id = out["Command"]["CommandId"]
    assert out["Command"]["Status"] == "Pending"
    m.ssm.get_waiter("command_executed").wait(
        CommandId=command_id, InstanceId=node, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    inv = m.ssm.get_command_invocation(CommandId=command_id, InstanceId=node)
    assert inv["StandardOutputContent"] == "done\n"
    listed = m.ssm.list_commands(CommandId=command_id)["Commands"][0]
    assert (listed["Status"], listed["InstanceIds"]) == ("Success", [node])


def test_working_directory_and_timeout(m: Machines) -> None:
    node = m.launch(GHE_217)
    assert m.sh(node, "mkdir -p /srv/app") == ""
    inv = m.run(node, "pwd", workingDirectory=["/srv/app"])
    assert inv["StandardOutputContent"] == "/srv/app\n"
    missing = m.run(node, "pwd", workingDirectory=["/no/such/dir"])
    assert missing["Status"] == "Failed" and "/no/such/dir" in missing["StandardErrorContent"]
    slow = m.run(node, "echo started", "sleep 30", executionTimeout=["1"])
    assert (slow["Status"], slow["StatusDetails"], slow["ResponseCode"]) == ("TimedOut", "ExecutionTimedOut", 137)
    assert slow["StandardOutputContent"] == "started\n"


def test_output_is_cut_where_aws_cuts_it(m: Machines) -> None:
    node = m.launch(GHE_217)
    inv = m.run(node, "head -c 30000 /dev/zero | tr '\\0' a", "head -c 9000 /dev/zero | tr '\\0' b >&2")
    assert len(inv["StandardOutputContent"]) == 24000
    assert len(inv["StandardErrorContent"]) == 8000


def test_a_command_is_killed_when_its_instance_stops(m: Machines) -> None:
    import time

    node = m.launch(GHE_217)
    m.sh(node, "true")
    out = m.ssm.send_command(InstanceIds=[node], DocumentName="AWS-RunShellScript",
                             Parameters={"commands": ["sleep 60"]})  # fmt: skip
    command_id = out["Command"]["CommandId"]
    while m.ssm.get_command_invocation(CommandId=command_id, InstanceId=node)["Status"] != "InProgress":
        time.sleep(0.05)
    m.ec2.stop_instances(InstanceIds=[node])
    deadline = time.monotonic() + 10
    while (inv := m.ssm.get_command_invocation(CommandId=command_id, InstanceId=node))["Status"] == "InProgress":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (inv["Status"], inv["ResponseCode"]) == ("Failed", 137)


@pytest.mark.parametrize(
    ("document", "parameters", "error"),
    [
        ("AWS-RunPowerShellScript", {"commands": ["dir"]}, "InvalidDocument"),
        ("AWS-RunShellScript", {}, "ValidationException"),
        ("AWS-RunShellScript", {"commands": ["true"], "bogus": ["x"]}, "ValidationException"),
        ("AWS-RunShellScript", {"commands": ["true"], "executionTimeout": ["soon"]}, "ValidationException"),
    ],
)
def test_what_aws_would_refuse_is_refused(m: Machines, document: str, parameters: dict[str, list[str]], error: str) -> None:
    from botocore.exceptions import ClientError

    node = m.launch(GHE_217)
    with pytest.raises(ClientError) as err:
        m.ssm.send_command(InstanceIds=[node], DocumentName=document, Parameters=parameters)
    assert err.value.response["Error"]["Code"] == error


def test_an_unknown_or_terminated_instance_is_refused(m: Machines) -> None:
    node = m.launch(GHE_217)
    m.ec2.terminate_instances(InstanceIds=[node])
    for instance in (node, "i-0123456789abcdef0"):
        with pytest.raises(m.ssm.exceptions.InvalidInstanceId):
            m.ssm.send_command(InstanceIds=[instance], DocumentName="AWS-RunShellScript",
                               Parameters={"commands": ["true"]})  # fmt: skip


def test_one_command_to_several_instances(m: Machines) -> None:
    nodes = [m.launch(GHE_217, ip=f"10.0.1.{50 + i}") for i in range(3)]
    out = m.ssm.send_command(InstanceIds=nodes, DocumentName="AWS-RunShellScript",
                             Parameters={"commands": ["hostname"]})  # fmt: skip
    command_id = out["Command"]["CommandId"]
    for i, node in enumerate(nodes):
        m.ssm.get_waiter("command_executed").wait(CommandId=command_id, InstanceId=node,
                                                  WaiterConfig={"Delay": 1, "MaxAttempts": 30})  # fmt: skip
        inv = m.ssm.get_command_invocation(CommandId=command_id, InstanceId=node)
        assert inv["StandardOutputContent"] == f"ip-10-0-1-{50 + i}\n"
