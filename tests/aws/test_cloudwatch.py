"""aws_cloudwatch_metric_alarm through the engine, on the local cloud."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from relight.localcloud import LocalCloud

from .harness import Workspace, create_with_token, find_created, import_state, read_state


@pytest.fixture
def ws(cloud: LocalCloud, tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def cw() -> Any:
    return boto3.client("cloudwatch")


def alarm(name: str = "cpu-high") -> dict[str, Any] | None:
    found: list[dict[str, Any]] = cw().describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return found[0] if found else None


def alarm_tags(arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in cw().list_tags_for_resource(ResourceARN=arn)["Tags"]}


ALARM = """
resource "aws_cloudwatch_metric_alarm" "cpu" {
  alarm_name          = "%(name)s"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = %(periods)s
  metric_name         = "CPUUtilization"
  namespace           = "AWS/EC2"
  period              = 60
  statistic           = "Average"
  threshold           = %(threshold)s
  alarm_description   = "CPU above threshold"
  dimensions = {
    InstanceId = "i-0123456789abcdef0"
  }
  alarm_actions = ["arn:aws:sns:us-east-1:123456789012:b", "arn:aws:sns:us-east-1:123456789012:a"]
  tags = {
    Team = "%(team)s"
  }
}
"""


def config(**kw: Any) -> str:
    values = {"name": "cpu-high", "periods": "2", "threshold": "80", "team": "ops"}
    values.update(kw)
    return ALARM % values


def test_alarm_create_update_drift_and_destroy(ws: Workspace) -> None:
    ws.write(config())
    ws.apply()
    found = alarm()
    assert found is not None
    assert found["Threshold"] == 80.0 and found["EvaluationPeriods"] == 2 and found["Period"] == 60
    assert found["Dimensions"] == [{"Name": "InstanceId", "Value": "i-0123456789abcdef0"}]
    assert sorted(found["AlarmActions"]) == [
        "arn:aws:sns:us-east-1:123456789012:a",
        "arn:aws:sns:us-east-1:123456789012:b",
    ]
    assert found["TreatMissingData"] == "missing" and found["ActionsEnabled"] is True
    state = ws.state("aws_cloudwatch_metric_alarm.cpu")
    assert state["id"] == "cpu-high" and state["arn"] == found["AlarmArn"] and state["threshold"] == 80
    assert state["alarm_actions"] == sorted(state["alarm_actions"]) and state["ok_actions"] == []
    assert alarm_tags(found["AlarmArn"]) == {"Team": "ops"}
    assert ws.plan().code == 0  # unsorted set, 80 vs 80.0, defaults: no spurious change

    # everything but the name changes in place, tags included
    ws.write(config(periods="3", threshold="92.5", team="sre"))
    res = ws.plan()
    assert res.code == 2 and "0 to add, 1 to change, 0 to destroy" in res.out
    ws.apply()
    found = alarm()
    assert found is not None and found["EvaluationPeriods"] == 3 and found["Threshold"] == 92.5
    assert alarm_tags(found["AlarmArn"]) == {"Team": "sre"}
    assert ws.plan().code == 0

    # changed behind relight's back: threshold and tag are put back
    cw().put_metric_alarm(
        AlarmName="cpu-high",
        ComparisonOperator="LessThanThreshold",
        EvaluationPeriods=3,
        MetricName="CPUUtilization",
        Namespace="AWS/EC2",
        Period=60,
        Statistic="Average",
        Threshold=1,
    )
    cw().tag_resource(ResourceARN=found["AlarmArn"], Tags=[{"Key": "Team", "Value": "someone"}])
    res = ws.plan()
    assert res.code == 2 and "1 to change" in res.out and "Objects have changed outside" in res.out
    ws.apply()
    found = alarm()
    assert found is not None and found["ComparisonOperator"] == "GreaterThanThreshold"
    assert found["Threshold"] == 92.5 and found["AlarmActions"]
    assert alarm_tags(found["AlarmArn"]) == {"Team": "sre"}

    # deleted behind relight's back: re-created
    cw().delete_alarms(AlarmNames=["cpu-high"])
    res = ws.plan()
    assert res.code == 2 and "deleted outside relight" in res.out
    ws.apply()
    assert alarm() is not None
    assert ws.plan().code == 0

    # a new name replaces it
    ws.write(config(name="cpu-very-high", periods="3", threshold="92.5", team="sre"))
    res = ws.plan()
    assert res.code == 2 and "1 to add, 0 to change, 1 to destroy" in res.out
    ws.apply()
    assert alarm() is None and alarm("cpu-very-high") is not None

    ws.destroy()
    assert alarm("cpu-very-high") is None


def test_alarm_invalid_values_are_refused(ws: Workspace) -> None:
    ws.write(config().replace('"GreaterThanThreshold"', '"Bigger"'))
    res = ws.run("plan", "-no-color")
    assert res.code == 1 and "Traceback" not in res.text
    assert "Invalid value for comparison_operator" in res.err and "GreaterThanOrEqualToThreshold" in res.err

    # refused by the cloud itself: the AWS code in the message, nothing created
    ws.write(config().replace('statistic           = "Average"', 'extended_statistic = "avg"'))
    res = ws.apply_fails()
    assert "PutMetricAlarm failed: InvalidParameterValue" in res.err and "avg" in res.err
    assert "aws_cloudwatch_metric_alarm.cpu" in res.err
    assert alarm() is None


def test_alarm_import_read_and_find_created(ws: Workspace) -> None:
    ws.write(config())
    ws.apply()
    state = ws.state("aws_cloudwatch_metric_alarm.cpu")
    assert import_state("aws_cloudwatch_metric_alarm", "cpu-high") == state
    assert read_state("aws_cloudwatch_metric_alarm", {**state, "id": "gone", "alarm_name": "gone"}) is None

    planned = {"alarm_name": "made", "comparison_operator": "LessThanThreshold", "evaluation_periods": 1}
    made = create_with_token(
        "aws_cloudwatch_metric_alarm",
        {**planned, "metric_name": "m", "namespace": "n", "period": 60, "statistic": "Sum", "threshold": 1},
        "tok-alarm",
    )
    assert made["id"] == "made" and made["tags"] is None and made["dimensions"] is None
    assert find_created("aws_cloudwatch_metric_alarm", "tok-alarm", planned) == made
    assert find_created("aws_cloudwatch_metric_alarm", "tok-other", {**planned, "alarm_name": "never"}) is None
