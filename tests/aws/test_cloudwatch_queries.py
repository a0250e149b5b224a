"""aws_cloudwatch_metric_alarm with metric math (``metric_query``), ``threshold_metric_id`` and
``evaluate_low_sample_count_percentiles``, through the CLI on the local cloud: created, read
back, changed in place, changed outside relight, imported; Terraform's argument rules at plan
time; a cross-account query (which the local cloud drops) planned and said.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from relight.localcloud import LocalCloud

from .harness import Workspace, import_state
from .stack import Cloud

# From the Terraform AWS provider's documentation: an error rate from two metrics, and an
# anomaly-detection band as the threshold.
ERROR_RATE = """
provider "aws" {}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name                = "errors"
  comparison_operator       = "GreaterThanOrEqualToThreshold"
  evaluation_periods        = 2
  threshold                 = %(threshold)s
  alarm_description         = "Request error rate has exceeded 10%%"
  insufficient_data_actions = []

  metric_query {
    id          = "e1"
    expression  = "m2/m1*100"
    label       = "Error Rate"
    return_data = true
  }

  metric_query {
    id = "m1"
    metric {
      metric_name = "RequestCount"
      namespace   = "AWS/ApplicationELB"
      period      = 120
      stat        = "Sum"
      unit        = "Count"
      dimensions = {
        LoadBalancer = "app/web"
      }
    }
  }

  metric_query {
    id = "m2"
    metric {
      metric_name = "HTTPCode_ELB_5XX_Count"
      namespace   = "AWS/ApplicationELB"
      period      = %(period)s
      stat        = "Sum"
      unit        = "Count"
      dimensions = {
        LoadBalancer = "app/web"
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "band" {
  alarm_name          = "band"
  comparison_operator = "GreaterThanUpperThreshold"
  evaluation_periods  = 2
  threshold_metric_id = "e1"
  alarm_description   = "CPU outside its usual band"

  metric_query {
    id          = "e1"
    expression  = "ANOMALY_DETECTION_BAND(m1)"
    label       = "CPUUtilization (Expected)"
    return_data = true
  }

  metric_query {
    id          = "m1"
    return_data = true
    metric {
      metric_name = "CPUUtilization"
      namespace   = "AWS/EC2"
      period      = 120
      stat        = "Average"
      unit        = "Count"
      dimensions = {
        InstanceId = "i-abc123"
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "p99" {
  alarm_name                            = "latency-p99"
  comparison_operator                   = "GreaterThanThreshold"
  evaluation_periods                    = 1
  metric_name                           = "TargetResponseTime"
  namespace                             = "AWS/ApplicationELB"
  period                                = 60
  extended_statistic                    = "p99"
  threshold                             = 2
  evaluate_low_sample_count_percentiles = "%(low)s"
}
"""


def config(threshold: int = 10, period: int = 120, low: str = "ignore") -> str:
    return ERROR_RATE % {"threshold": threshold, "period": period, "low": low}


@pytest.fixture
def ws(cloud: LocalCloud, tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def test_metric_math_alarms_are_created_read_back_and_changed_in_place(ws: Workspace) -> None:
    view = Cloud()
    ws.write(config())
    ws.apply()
    alarms = view.alarms()
    errors = alarms["errors"]
    assert sorted(m["Id"] for m in errors["Metrics"]) == ["e1", "m1", "m2"]
    m2 = next(m for m in errors["Metrics"] if m["Id"] == "m2")
    assert m2["MetricStat"]["Metric"]["MetricName"] == "HTTPCode_ELB_5XX_Count" and m2["MetricStat"]["Period"] == 120
    assert alarms["band"]["ThresholdMetricId"] == "e1"
    assert alarms["latency-p99"]["EvaluateLowSampleCountPercentile"] == "ignore"
    state = ws.state("aws_cloudwatch_metric_alarm.errors")
    assert [q["id"] for q in state["metric_query"]] == ["e1", "m1", "m2"]
    assert state["metric_query"][0] == {
        "id": "e1", "account_id": None, "expression": "m2/m1*100", "label": "Error Rate", "period": None,
        "return_data": True, "metric": [],
    }  # fmt: skip
    assert state["metric_query"][1]["metric"] == [
        {"dimensions": {"LoadBalancer": "app/web"}, "metric_name": "RequestCount", "namespace": "AWS/ApplicationELB",
         "period": 120, "stat": "Sum", "unit": "Count"},
    ]  # fmt: skip
    assert state["metric_name"] is None and state["dimensions"] is None
    assert ws.state("aws_cloudwatch_metric_alarm.band")["threshold_metric_id"] == "e1"
    assert ws.state("aws_cloudwatch_metric_alarm.band")["threshold"] is None
    assert ws.state("aws_cloudwatch_metric_alarm.p99")["evaluate_low_sample_count_percentiles"] == "ignore"
    assert ws.plan().code == 0

    ws.write(config(threshold=20, period=300, low="evaluate"))
    res = ws.plan()
    assert res.code == 2 and "0 to add, 2 to change, 0 to destroy" in res.out, res.out
    ws.apply()
    alarms = view.alarms()
    m2 = next(m for m in alarms["errors"]["Metrics"] if m["Id"] == "m2")
    assert alarms["errors"]["Threshold"] == 20 and m2["MetricStat"]["Period"] == 300
    assert alarms["latency-p99"]["EvaluateLowSampleCountPercentile"] == "evaluate"
    assert ws.plan().code == 0

    # the query changed behind relight's back: seen, put back
    view.cloudwatch.put_metric_alarm(
        AlarmName="band", ComparisonOperator="GreaterThanUpperThreshold", EvaluationPeriods=2, ThresholdMetricId="e1",
        Metrics=[{"Id": "e1", "Expression": "ANOMALY_DETECTION_BAND(m1, 3)", "ReturnData": True},
                 {"Id": "m1", "ReturnData": True, "MetricStat": {"Metric": {"MetricName": "CPUUtilization", "Namespace": "AWS/EC2"},
                                                                 "Period": 120, "Stat": "Average"}}],
    )  # fmt: skip
    res = ws.plan()
    assert res.code == 2 and "Objects have changed outside" in res.out and "ANOMALY_DETECTION_BAND(m1, 3)" in res.out
    ws.apply()
    assert ws.plan().code == 0

    imported = import_state("aws_cloudwatch_metric_alarm", "errors")
    assert imported["metric_query"] == ws.state("aws_cloudwatch_metric_alarm.errors")["metric_query"]


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ('  threshold_metric_id = "e1"', '  threshold_metric_id = "e1"\n  threshold = 3', "conflicts with threshold_metric_id"),
        ('  threshold_metric_id = "e1"', '  threshold_metric_id = "e1"\n  metric_name = "x"\n  statistic = "Sum"', '"metric_query": conflicts with metric_name'),
        ('expression  = "ANOMALY_DETECTION_BAND(m1)"', 'expression  = "ANOMALY_DETECTION_BAND(m1)"\n    metric {\n      metric_name = "x"\n      period = 60\n      stat = "Sum"\n    }',
         "both `expression` and a `metric`"),
        ('  extended_statistic                    = "p99"\n', "", "One of `statistic` or `extended_statistic` must be set"),
        ('evaluate_low_sample_count_percentiles = "%(low)s"', 'evaluate_low_sample_count_percentiles = "sometimes"', 'got "sometimes"'),
    ],
)  # fmt: skip
def test_terraform_alarm_argument_rules_are_plan_errors(ws: Workspace, replace: str, by: str, message: str) -> None:
    text = ERROR_RATE.replace(replace, by)
    ws.write(text % {"threshold": 1, "period": 60, "low": "ignore"} if "%(" in text else text)
    res = ws.run("plan", "-no-color")
    assert res.code == 1 and message in res.err and "main.tf:" in res.err and "Traceback" not in res.text, res.text


def test_a_cross_account_query_is_planned_and_said_on_the_local_cloud(ws: Workspace) -> None:
    text = config().replace('    id = "m1"\n', '    id = "m1"\n    account_id = "210987654321"\n', 1)
    ws.write(text)
    res = ws.run("plan", "-no-color")
    assert res.code == 0 and "The local cloud does not implement cross-account metric queries: planned, not applied" in res.text
    ws.apply()
    [m1] = [q for q in ws.state("aws_cloudwatch_metric_alarm.errors")["metric_query"] if q["id"] == "m1"]
    assert m1["account_id"] == "210987654321"
    assert ws.plan().code == 0
