"""Amazon CloudWatch: metric alarms and dashboards."""

from __future__ import annotations

from localaws.deploy.model import DeployedResource
from localaws.deploy.resources.base import ResourceRequest, json_text

_ALARM_FIELDS = (
    "AlarmDescription",
    "ActionsEnabled",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)


def alarm(request: ResourceRequest) -> DeployedResource:
    """AWS::CloudWatch::Alarm."""
    props = request.properties
    previous = request.previous
    name = previous.physical_id if previous else props.get("AlarmName") or request.generated_name(255)
    settings = {k: props[k] for k in _ALARM_FIELDS if k in props}
    for number in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if number in settings:
            settings[number] = int(settings[number])
    if "Threshold" in settings:
        settings["Threshold"] = float(settings["Threshold"])
    request.client("cloudwatch").put_metric_alarm(
        AlarmName=name, **settings
    )  # an upsert: redeploy repeats it
    arn = f"arn:aws:cloudwatch:{request.region}:{request.account_id}:alarm:{name}"
    return request.kept() if previous else request.created(name, arn=arn, attributes={"Arn": arn})


def dashboard(request: ResourceRequest) -> DeployedResource:
    """AWS::CloudWatch::Dashboard; put again on every deploy (an upsert)."""
    props = request.properties
    previous = request.previous
    name = previous.physical_id if previous else props.get("DashboardName") or request.generated_name(255)
    request.client("cloudwatch").put_dashboard(
        DashboardName=name, DashboardBody=json_text(props["DashboardBody"])
    )
    return request.kept() if previous else request.created(name)
