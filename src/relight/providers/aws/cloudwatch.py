"""``aws_cloudwatch_metric_alarm``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from relight.providers.aws import _tfshapes
from relight.providers.aws._api import AwsError
from relight.providers.aws._common import AwsResource, from_tag_list, known, to_tag_list
from relight.providers.base import (
    Attribute,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DeleteResponse,
    FindCreatedRequest,
    ImportRequest,
    ImportResponse,
    PlanRequest,
    PlanResponse,
    ReadRequest,
    ReadResponse,
    Schema,
    UpdateRequest,
    UpdateResponse,
    schema_plan,
)
from relight.providers.framework import CallError
from relight.values import UNKNOWN, is_wholly_known

__all__ = ["MetricAlarm"]

_CHOICES = {
    "comparison_operator": (
        "GreaterThanOrEqualToThreshold",
        "GreaterThanThreshold",
        "LessThanThreshold",
        "LessThanOrEqualToThreshold",
        "LessThanLowerOrGreaterThanUpperThreshold",
        "LessThanLowerThreshold",
        "GreaterThanUpperThreshold",
    ),
    "statistic": ("SampleCount", "Average", "Sum", "Minimum", "Maximum"),
    "treat_missing_data": ("missing", "ignore", "breaching", "notBreaching"),
}
_ACTIONS = (
    ("alarm_actions", "AlarmActions"),
    ("ok_actions", "OKActions"),
    ("insufficient_data_actions", "InsufficientDataActions"),
)
# attribute -> (PutMetricAlarm parameter, converter), for the optional scalar settings
_OPTIONAL: dict[str, tuple[str, Any]] = {
    "metric_name": ("MetricName", str),
    "namespace": ("Namespace", str),
    "period": ("Period", int),
    "statistic": ("Statistic", str),
    "extended_statistic": ("ExtendedStatistic", str),
    "threshold": ("Threshold", float),
    "alarm_description": ("AlarmDescription", str),
    "datapoints_to_alarm": ("DatapointsToAlarm", int),
    "unit": ("Unit", str),
}


class MetricAlarm(AwsResource):
    """``aws_cloudwatch_metric_alarm``: PutMetricAlarm creates and updates (everything but the
    name changes in place), DescribeAlarms reads, DeleteAlarms deletes. Tags are managed on the
    alarm ARN with TagResource/UntagResource, since PutMetricAlarm ignores tags on an existing
    alarm.

    ``comparison_operator``, ``statistic`` and ``treat_missing_data`` are checked at plan time
    against the values AWS accepts (the local cloud accepts anything).

    Creating is idempotent (PutMetricAlarm by name overwrites), so no create token is journaled.
    """

    name = "aws_cloudwatch_metric_alarm"
    terraform = _tfshapes.METRIC_ALARM
    schema = Schema(
        attributes={
            "id": Attribute("string", computed=True),
            "arn": Attribute("string", computed=True),
            "alarm_name": Attribute("string", required=True, force_new=True),
            "comparison_operator": Attribute("string", required=True),
            "evaluation_periods": Attribute("number", required=True),
            "metric_name": Attribute("string", optional=True),
            "namespace": Attribute("string", optional=True),
            "period": Attribute("number", optional=True),
            "statistic": Attribute("string", optional=True),
            "extended_statistic": Attribute("string", optional=True),
            "threshold": Attribute("number", optional=True),
            "dimensions": Attribute("map", element="string", optional=True),
            "alarm_actions": Attribute("set", element="string", optional=True),
            "ok_actions": Attribute("set", element="string", optional=True),
            "insufficient_data_actions": Attribute("set", element="string", optional=True),
            "alarm_description": Attribute("string", optional=True),
            "actions_enabled": Attribute("bool", optional=True, default=True),
            "treat_missing_data": Attribute("string", optional=True, default="missing"),
            "datapoints_to_alarm": Attribute("number", optional=True),
            "unit": Attribute("string", optional=True),
            "tags": Attribute("map", element="string", optional=True),
        },
    )

    def plan_change(self, req: PlanRequest) -> PlanResponse:
        resp = schema_plan(self.schema, req)
        planned = resp.planned_state
        if planned is None:
            return resp
        for attr, choices in _CHOICES.items():
            value = planned.get(attr)
            if known(value) and value not in choices:
                raise CallError(
                    f"Invalid value for {attr}",
                    f'expected {attr} to be one of [{", ".join(choices)}], got "{value}".',
                    attribute=(attr,),
                )
        for attr, _param in _ACTIONS:
            planned[attr] = _string_set(planned.get(attr))
        for attr in ("evaluation_periods", "period", "threshold", "datapoints_to_alarm"):
            planned[attr] = _number(planned.get(attr))
        for attr in ("dimensions", "tags"):
            value = planned.get(attr)
            planned[attr] = None if isinstance(value, dict) and not value else value
        if known(planned.get("alarm_name")):
            planned["id"] = planned["alarm_name"]
        return resp

    def create(self, req: CreateRequest) -> CreateResponse:
        p = req.planned_state
        params = self._params(p)
        tags = to_tag_list(p.get("tags"))
        if tags:
            params["Tags"] = tags
        self.api.call("cloudwatch", "PutMetricAlarm", **params)
        name = str(p["alarm_name"])
        alarm = self.api.wait(f"alarm {name}", lambda: self._describe(name), timeout=60)
        return CreateResponse(self._state(alarm))

    def read(self, req: ReadRequest) -> ReadResponse:
        alarm = self._describe(str(req.current_state.get("alarm_name") or req.current_state["id"]))
        return ReadResponse(self._state(alarm) if alarm is not None else None)

    def update(self, req: UpdateRequest) -> UpdateResponse:
        p = req.planned_state
        name = str(req.prior_state["alarm_name"])
        self.api.call("cloudwatch", "PutMetricAlarm", **self._params(p))
        arn = str(req.prior_state.get("arn") or "")
        before, after = dict(req.prior_state.get("tags") or {}), dict(p.get("tags") or {})
        gone = sorted(k for k in before if k not in after)
        if gone and arn:
            self.api.call("cloudwatch", "UntagResource", ResourceARN=arn, TagKeys=gone)
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        if changed and arn:
            self.api.call("cloudwatch", "TagResource", ResourceARN=arn, Tags=to_tag_list(changed))
        alarm = self._describe(name)
        if alarm is None:
            raise AwsError("DescribeAlarms", "ResourceNotFound", f"The alarm {name} does not exist")
        return UpdateResponse(self._state(alarm))

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        name = str(req.prior_state.get("alarm_name") or req.prior_state["id"])
        self.api.try_call("cloudwatch", "DeleteAlarms", ("ResourceNotFound",), AlarmNames=[name])
        return DeleteResponse()

    def import_(self, req: ImportRequest) -> ImportResponse:
        alarm = self._describe(req.id)
        if alarm is None:
            raise AwsError("DescribeAlarms", "ResourceNotFound", f"No metric alarm named {req.id!r} exists")
        return ImportResponse(self._state(alarm))

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        """The name is fixed by the configuration, so an alarm of that name is the one made."""
        name = req.planned_state.get("alarm_name")
        if not known(name):
            return ReadResponse(None)
        alarm = self._describe(str(name))
        return ReadResponse(self._state(alarm) if alarm is not None else None)

    # -- helpers ------------------------------------------------------------------------
    def _describe(self, name: str) -> dict[str, Any] | None:
        out = self.api.call("cloudwatch", "DescribeAlarms", AlarmNames=[name])
        for alarm in out.get("MetricAlarms", []):
            if alarm.get("AlarmName") == name:
                found: dict[str, Any] = alarm
                return found
        return None

    def _params(self, p: Mapping[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "AlarmName": str(p["alarm_name"]),
            "ComparisonOperator": str(p["comparison_operator"]),
            "EvaluationPeriods": int(p["evaluation_periods"]),
            "ActionsEnabled": p.get("actions_enabled") is not False,
            "TreatMissingData": str(p.get("treat_missing_data") or "missing"),
        }
        for attr, (param, convert) in _OPTIONAL.items():
            value = p.get(attr)
            if value is not None and value != "":
                params[param] = convert(value)
        for attr, param in _ACTIONS:
            params[param] = [str(a) for a in p.get(attr) or ()]
        dimensions = p.get("dimensions") or {}
        if dimensions:
            params["Dimensions"] = [{"Name": str(k), "Value": str(v)} for k, v in sorted(dimensions.items())]
        return params

    def _state(self, alarm: Mapping[str, Any]) -> dict[str, Any]:
        arn = str(alarm.get("AlarmArn", ""))
        tags = self.api.try_call("cloudwatch", "ListTagsForResource", ("ResourceNotFound",), ResourceARN=arn)
        dimensions = {str(d["Name"]): str(d["Value"]) for d in alarm.get("Dimensions") or ()}
        state: dict[str, Any] = {
            "id": alarm["AlarmName"],
            "arn": arn,
            "alarm_name": alarm["AlarmName"],
            "comparison_operator": alarm.get("ComparisonOperator"),
            "evaluation_periods": _number(alarm.get("EvaluationPeriods")),
            "dimensions": dimensions or None,
            "actions_enabled": bool(alarm.get("ActionsEnabled", True)),
            "treat_missing_data": alarm.get("TreatMissingData") or "missing",
            "tags": from_tag_list((tags or {}).get("Tags")),
        }
        for attr, param in _ACTIONS:
            state[attr] = _string_set(alarm.get(param))
        for attr, (param, _convert) in _OPTIONAL.items():
            value = alarm.get(param)
            state[attr] = _number(value) if isinstance(value, int | float) else value or None
        return state


def _string_set(value: Any) -> Any:
    """A set of strings in the canonical order read uses (null plans as empty)."""
    if value is None:
        return []
    if value is UNKNOWN or not is_wholly_known(value):
        return UNKNOWN
    return sorted({str(v) for v in value})


def _number(value: Any) -> Any:
    """Whole floats as ints (AWS reports ``80.0`` for a threshold of 80)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
