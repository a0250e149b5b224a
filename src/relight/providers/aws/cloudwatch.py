"""``aws_cloudwatch_metric_alarm``: a single metric (``metric_name``, ``namespace``,
``dimensions``, ``statistic``...) or metric math (``metric_query`` blocks, one of them returning
the alarm's data, optionally with ``threshold_metric_id`` for anomaly bands)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from relight.providers.aws import _tfshapes
from relight.providers.aws._api import AwsError
from relight.providers.aws._common import AwsResource, all_tags, known, to_tag_list
from relight.providers.aws._gaps import Gap, changed, keep_gaps, note_gaps
from relight.providers.base import (
    Attribute,
    BlockType,
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
from relight.values import UNKNOWN, is_wholly_known, strip_unknown

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
    "evaluate_low_sample_count_percentiles": ("evaluate", "ignore"),
}
# A metric_query cannot be combined with these single-metric arguments (Terraform's rule).
_SINGLE_METRIC = ("metric_name", "namespace", "dimensions", "period", "statistic", "extended_statistic")
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
    "threshold_metric_id": ("ThresholdMetricId", str),
    "evaluate_low_sample_count_percentiles": ("EvaluateLowSampleCountPercentile", str),
}

_METRIC = Schema(
    attributes={
        "dimensions": Attribute("map", element="string", optional=True),
        "metric_name": Attribute("string", required=True),
        "namespace": Attribute("string", optional=True),
        "period": Attribute("number", required=True),
        "stat": Attribute("string", required=True),
        "unit": Attribute("string", optional=True),
    }
)
_QUERY = Schema(
    attributes={
        "id": Attribute("string", required=True),
        "account_id": Attribute("string", optional=True),
        "expression": Attribute("string", optional=True),
        "label": Attribute("string", optional=True),
        "period": Attribute("number", optional=True),
        "return_data": Attribute("bool", optional=True, default=False),
    },
    blocks={"metric": BlockType(_METRIC, nesting="list", max_items=1)},
)


def _queries_other_accounts(alarm: Mapping[str, Any]) -> bool:
    queries = alarm.get("metric_query")
    return isinstance(queries, list) and any(isinstance(q, dict) and q.get("account_id") for q in queries)


ALARM_GAPS = (
    Gap(
        "cross-account metric queries",
        ("metric_query",),
        changed(_queries_other_accounts, "metric_query"),
        _queries_other_accounts,
        missing="accepts a metric query's account_id and drops it",
    ),
)


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
            "threshold_metric_id": Attribute("string", optional=True),
            "evaluate_low_sample_count_percentiles": Attribute("string", optional=True, computed=True),
            "tags": Attribute("map", element="string", optional=True),
            "tags_all": Attribute("map", element="string", computed=True),
        },
        blocks={"metric_query": BlockType(_QUERY, nesting="set")},
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
        _check_arguments(req.config or {})
        planned["metric_query"] = _normalize_queries(planned.get("metric_query"))
        for attr, _param in _ACTIONS:
            planned[attr] = _string_set(planned.get(attr))
        for attr in ("evaluation_periods", "period", "threshold", "datapoints_to_alarm"):
            planned[attr] = _number(planned.get(attr))
        for attr in ("dimensions", "tags"):
            value = planned.get(attr)
            planned[attr] = None if isinstance(value, dict) and not value else value
        if known(planned.get("alarm_name")):
            planned["id"] = planned["alarm_name"]
        note_gaps(self, ALARM_GAPS, planned, req.prior_state, resp.diagnostics)
        return resp

    def create(self, req: CreateRequest) -> CreateResponse:
        p = strip_unknown(req.planned_state)
        params = self._params(p)
        tags = to_tag_list(p.get("tags_all"))
        if tags:
            params["Tags"] = tags
        self.api.call("cloudwatch", "PutMetricAlarm", **params)
        name = str(p["alarm_name"])
        alarm = self.api.wait(f"alarm {name}", lambda: self._describe(name), timeout=60)
        return CreateResponse(self._state(alarm, p))

    def read(self, req: ReadRequest) -> ReadResponse:
        alarm = self._describe(str(req.current_state.get("alarm_name") or req.current_state["id"]))
        return ReadResponse(self._state(alarm, req.current_state) if alarm is not None else None)

    def update(self, req: UpdateRequest) -> UpdateResponse:
        p = strip_unknown(req.planned_state)
        name = str(req.prior_state["alarm_name"])
        self.api.call("cloudwatch", "PutMetricAlarm", **self._params(p))
        arn = str(req.prior_state.get("arn") or "")
        before, after = dict(all_tags(req.prior_state) or {}), dict(p.get("tags_all") or {})
        gone = sorted(k for k in before if k not in after)
        if gone and arn:
            self.api.call("cloudwatch", "UntagResource", ResourceARN=arn, TagKeys=gone)
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        if changed and arn:
            self.api.call("cloudwatch", "TagResource", ResourceARN=arn, Tags=to_tag_list(changed))
        alarm = self._describe(name)
        if alarm is None:
            raise AwsError("DescribeAlarms", "ResourceNotFound", f"The alarm {name} does not exist")
        return UpdateResponse(self._state(alarm, p))

    def delete(self, req: DeleteRequest) -> DeleteResponse:
        name = str(req.prior_state.get("alarm_name") or req.prior_state["id"])
        self.api.try_call("cloudwatch", "DeleteAlarms", ("ResourceNotFound",), AlarmNames=[name])
        return DeleteResponse()

    def import_(self, req: ImportRequest) -> ImportResponse:
        alarm = self._describe(req.id)
        if alarm is None:
            raise AwsError("DescribeAlarms", "ResourceNotFound", f"No metric alarm named {req.id!r} exists")
        return ImportResponse(self._state(alarm, {}))

    def find_created(self, req: FindCreatedRequest) -> ReadResponse:
        """The name is fixed by the configuration, so an alarm of that name is the one made."""
        name = req.planned_state.get("alarm_name")
        if not known(name):
            return ReadResponse(None)
        alarm = self._describe(str(name))
        return ReadResponse(self._state(alarm, req.planned_state) if alarm is not None else None)

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
            params["Dimensions"] = _dimensions_to_aws(dimensions)
        queries = p.get("metric_query") or []
        if queries:
            params["Metrics"] = [_query_to_aws(q) for q in queries]
        return params

    def _state(self, alarm: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
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
            "metric_query": _normalize_queries([_query_from_aws(m) for m in alarm.get("Metrics") or ()]),
            **self.tag_state((tags or {}).get("Tags"), base),
        }
        for attr, param in _ACTIONS:
            state[attr] = _string_set(alarm.get(param))
        for attr, (param, _convert) in _OPTIONAL.items():
            value = alarm.get(param)
            state[attr] = _number(value) if isinstance(value, int | float) else value or None
        return keep_gaps(self.api, ALARM_GAPS, state, base)


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


def _check_arguments(config: Mapping[str, Any]) -> None:
    """Terraform's argument rules for the metric and its statistic."""
    given = {k for k, v in config.items() if v not in (None, [], {})}
    if "metric_query" in given:
        for other in _SINGLE_METRIC:
            if other in given:
                raise CallError(
                    "Conflicting configuration arguments",
                    f'"metric_query": conflicts with {other}',
                    attribute=(other,),
                )
        for query in config.get("metric_query") or ():
            if isinstance(query, dict) and known(query.get("expression")) and query.get("metric") not in (None, []):
                raise CallError(
                    "Invalid metric_query block",
                    "No metric_query may have both `expression` and a `metric` specified",
                    attribute=("metric_query",),
                )
    if "threshold" in given and "threshold_metric_id" in given:
        raise CallError(
            "Conflicting configuration arguments",
            '"threshold": conflicts with threshold_metric_id',
            attribute=("threshold_metric_id",),
        )
    if "metric_name" in given and ("statistic" in given) == ("extended_statistic" in given):
        raise CallError(
            "One of `statistic` or `extended_statistic` must be set for a cloudwatch metric alarm",
            attribute=("statistic" if "statistic" in given else "metric_name",),
        )


def _normalize_queries(value: Any) -> Any:
    """``metric_query`` blocks in the form read returns: every key, whole numbers, by id."""
    if value is None:
        return []
    if value is UNKNOWN or not is_wholly_known(value):
        return UNKNOWN
    out = []
    for query in value:
        metrics = query.get("metric") or []
        out.append(
            {
                "id": query.get("id"),
                "account_id": query.get("account_id") or None,
                "expression": query.get("expression") or None,
                "label": query.get("label") or None,
                "period": _number(query.get("period")) or None,
                "return_data": query.get("return_data") is True,
                "metric": [_normalize_metric(m) for m in metrics[:1]],
            }
        )
    return sorted(out, key=lambda q: str(q["id"]))


def _normalize_metric(metric: Mapping[str, Any]) -> dict[str, Any]:
    dimensions = metric.get("dimensions")
    return {
        "dimensions": dict(dimensions) if dimensions else None,
        "metric_name": metric.get("metric_name"),
        "namespace": metric.get("namespace") or None,
        "period": _number(metric.get("period")),
        "stat": metric.get("stat"),
        "unit": metric.get("unit") or None,
    }


def _query_to_aws(query: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Id": str(query["id"]), "ReturnData": query.get("return_data") is True}
    for attr, param in (("account_id", "AccountId"), ("expression", "Expression"), ("label", "Label")):
        if query.get(attr):
            out[param] = str(query[attr])
    if query.get("period"):
        out["Period"] = int(query["period"])
    for metric in (query.get("metric") or [])[:1]:
        stat: dict[str, Any] = {
            "Metric": {"MetricName": str(metric["metric_name"])},
            "Period": int(metric["period"]),
            "Stat": str(metric["stat"]),
        }
        if metric.get("namespace"):
            stat["Metric"]["Namespace"] = str(metric["namespace"])
        if metric.get("dimensions"):
            stat["Metric"]["Dimensions"] = _dimensions_to_aws(metric["dimensions"])
        if metric.get("unit"):
            stat["Unit"] = str(metric["unit"])
        out["MetricStat"] = stat
    return out


def _query_from_aws(query: Mapping[str, Any]) -> dict[str, Any]:
    stat = query.get("MetricStat")
    metric: list[dict[str, Any]] = []
    if stat:
        inner = stat.get("Metric") or {}
        metric.append(
            {
                "dimensions": {str(d["Name"]): str(d["Value"]) for d in inner.get("Dimensions") or ()} or None,
                "metric_name": inner.get("MetricName"),
                "namespace": inner.get("Namespace"),
                "period": stat.get("Period"),
                "stat": stat.get("Stat"),
                "unit": stat.get("Unit"),
            }
        )
    return {
        "id": query.get("Id"),
        "account_id": query.get("AccountId"),
        "expression": query.get("Expression"),
        "label": query.get("Label"),
        "period": query.get("Period"),
        "return_data": bool(query.get("ReturnData", False)),
        "metric": metric,
    }


def _dimensions_to_aws(dimensions: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"Name": str(k), "Value": str(v)} for k, v in sorted(dimensions.items())]
