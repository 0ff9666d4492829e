"""CloudWatch metric alarms evaluated locally, with CloudWatch's SNS notifications.

moto stores alarms and metric data but never evaluates an alarm. ``AlarmEvaluator`` evaluates every metric
alarm in moto's CloudWatch once per ``Period`` (times ``time_scale``) over the last ``EvaluationPeriods``
periods, with ``DatapointsToAlarm``, ``ComparisonOperator``, ``Threshold`` and ``TreatMissingData``; it sets
the alarm state in moto and, on a change, publishes CloudWatch's alarm-notification JSON to the SNS topics of
``AlarmActions`` / ``OKActions`` / ``InsufficientDataActions``.

Datapoints come from where AWS would take them:
- ``AWS/SQS`` queue gauges (``ApproximateNumberOfMessagesVisible`` etc., dimension ``QueueName``): sampled
  from moto's queue at each evaluation, one sample per period;
- ``AWS/States`` ``ExecutionsFailed`` / ``ExecutionsTimedOut`` / ``ExecutionsAborted`` /
  ``ExecutionsSucceeded`` (dimension ``StateMachineArn``): executions that ended with that status within the
  period (no datapoint when none did, as Step Functions publishes none);
- anything else: moto's stored ``PutMetricData`` values.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends
from moto.stepfunctions.responses import get_backend

from localaws.delivery.ended_executions import EndedExecutions, as_utc
from localaws.patches import registry

if TYPE_CHECKING:
    from localaws.lambda_.runtime import Invoker

logger = logging.getLogger(__name__)

registry.register(
    "moto.cloudwatch.models.cloudwatch_backends", "alarms (dict name → Alarm) and metric_data, in-process"
)
registry.register(
    "moto.cloudwatch.models.Alarm",
    "attributes name, alarm_arn, namespace, metric_name, dimensions, period, evaluation_periods, "
    "datapoints_to_alarm, comparison_operator, threshold, statistic, extended_statistic, treat_missing_data, "
    "actions_enabled, alarm_actions, ok_actions, insufficient_data_actions, state_value, state_reason, "
    "metric_data_queries, description, configuration_updated_timestamp, unit; update_state (moto starts an "
    "alarm in OK, AWS in INSUFFICIENT_DATA)",
)
registry.register("moto.cloudwatch.models.CloudWatchBackend.set_alarm_state", "record each state change")
registry.register(
    "moto.cloudwatch.models.MetricDatum", "namespace, name, dimensions, timestamp, value of PutMetricData"
)
registry.register(
    "moto.cloudwatch.models.MetricAggregatedDatum", "StatisticValues data: sum, min, max, sample_count"
)
registry.register("moto.sqs.models.sqs_backends", "queue depths for AWS/SQS gauges")
registry.register_attributes(
    "moto.sqs.models.Queue",
    [
        "_messages",
        "approximate_number_of_messages",
        "approximate_number_of_messages_not_visible",
        "approximate_number_of_messages_delayed",
    ],
    "AWS/SQS gauges: visible messages, and the age of the oldest",
)
registry.register_attributes("moto.sqs.models.Message", ["sent_timestamp"], "the age of the oldest message")
registry.register(
    "moto.stepfunctions.responses.get_backend", "state machines and their executions (status, stop_date)"
)
registry.register("moto.sns.models.sns_backends", "publish alarm notifications in-process")

# A newly created alarm is picked up within this long, even when every known alarm has a longer period.
DISCOVERY_SECONDS = 1.0
MOTO_INITIAL_REASON = "Unchecked: Initial alarm creation"

_SQS_GAUGES: dict[str, Callable[[Any], float]] = {
    "ApproximateNumberOfMessagesVisible": lambda q: float(q.approximate_number_of_messages),
    "ApproximateNumberOfMessagesNotVisible": lambda q: float(q.approximate_number_of_messages_not_visible),
    "ApproximateNumberOfMessagesDelayed": lambda q: float(q.approximate_number_of_messages_delayed),
    "ApproximateAgeOfOldestMessage": lambda q: max(
        [time.time() - m.sent_timestamp / 1000 for m in list(q._messages)], default=0.0
    ),
}
_STATES_STATUSES = {
    "ExecutionsFailed": "FAILED",
    "ExecutionsTimedOut": "TIMED_OUT",
    "ExecutionsAborted": "ABORTED",
    "ExecutionsSucceeded": "SUCCEEDED",
}
_COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
_STATISTIC_NAMES = {
    "SampleCount": "SAMPLE_COUNT",
    "Average": "AVERAGE",
    "Sum": "SUM",
    "Minimum": "MINIMUM",
    "Maximum": "MAXIMUM",
}
_REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-north-1": "EU (Stockholm)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ca-central-1": "Canada (Central)",
    "sa-east-1": "South America (Sao Paulo)",
}


def region_long_name(region: str) -> str:
    return _REGION_NAMES.get(region, region)


def _aws_time(moment: dt.datetime) -> str:
    """CloudWatch's notification timestamp format, e.g. 2024-05-01T12:00:00.000+0000."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def statistic_of(values: list[float], statistic: str) -> float:
    """One CloudWatch statistic over raw samples (percentiles as ``pNN``)."""
    if statistic == "SampleCount":
        return float(len(values))
    if statistic == "Sum":
        return float(sum(values))
    if statistic == "Minimum":
        return float(min(values))
    if statistic == "Maximum":
        return float(max(values))
    if statistic == "Average":
        return float(sum(values)) / len(values)
    if statistic.lower().startswith("p"):
        ordered = sorted(values)
        rank = max(0, math.ceil(float(statistic[1:]) / 100 * len(ordered)) - 1)
        return float(ordered[rank])
    raise ValueError(f"unsupported statistic {statistic}")


@dataclass
class _Window:
    start: dt.datetime
    end: dt.datetime
    value: float | None = None


@dataclass
class _AlarmState:
    """What we keep per alarm between evaluations."""

    next_due: float
    gauge_samples: deque[tuple[dt.datetime, float]] = field(default_factory=lambda: deque(maxlen=1440))


def evaluate(
    values: list[float | None],
    datapoints_to_alarm: int,
    breaches: Callable[[float], bool],
    treat_missing: str,
) -> str | None:
    """The new state from the last N period values (oldest first); None means keep the current state."""
    breaching = 0
    present = 0
    for value in values:
        if value is None:
            if treat_missing == "breaching":
                breaching += 1
                present += 1
            elif treat_missing == "notBreaching":
                present += 1
            continue
        present += 1
        if breaches(value):
            breaching += 1
    if breaching >= datapoints_to_alarm:
        return "ALARM"
    if present == 0:
        return None if treat_missing == "ignore" else "INSUFFICIENT_DATA"
    return "OK"


class AlarmEvaluator:
    """Evaluates the metric alarms of one account and region and sends their notifications."""

    def __init__(self, *, invoker: Invoker, region: str, account_id: str, time_scale: float = 1.0) -> None:
        self.invoker = invoker  # alarm actions are SNS topics; kept for the common constructor
        self.region = region
        self.account_id = account_id
        self.time_scale = time_scale
        self._states: dict[str, _AlarmState] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsupported_logged: set[str] = set()
        self._ended = EndedExecutions()
        self._longest_span = dt.timedelta(0)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="cloudwatch-alarms", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)

    def _backend(self) -> Any:

        return cloudwatch_backends[self.account_id][self.region]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.evaluate_due()
            except Exception:
                logger.exception("alarm evaluation failed")
                wait = DISCOVERY_SECONDS
            self._stop.wait(wait)

    def evaluate_due(self) -> float:
        """Evaluate every alarm whose period has come round; returns seconds until the next one is due."""
        now = time.monotonic()
        alarms = dict(self._backend().alarms)
        for name in [n for n in self._states if n not in alarms]:
            del self._states[name]
        next_due = now + DISCOVERY_SECONDS
        for name, alarm in alarms.items():
            if alarm.metric_data_queries or not alarm.metric_name:
                if name not in self._unsupported_logged:
                    self._unsupported_logged.add(name)
                    logger.warning("alarm %s uses metric math; not evaluated locally", name)
                continue
            state = self._states.get(name)
            if state is None:
                state = self._states[name] = _AlarmState(next_due=now)
                if alarm.state_reason == MOTO_INITIAL_REASON:
                    # AWS starts an alarm in INSUFFICIENT_DATA; moto starts it in OK.
                    alarm.update_state(MOTO_INITIAL_REASON, "{}", "INSUFFICIENT_DATA")
            if state.next_due <= now:
                self._evaluate(alarm, state)
                state.next_due = now + self._period_seconds(alarm)
            next_due = min(next_due, state.next_due)
        return max(0.0, next_due - time.monotonic())

    def _period_seconds(self, alarm: Any) -> float:
        return max(0.01, float(alarm.period) * self.time_scale)

    # -- datapoints -----------------------------------------------------------------------------------

    def _windows(self, alarm: Any) -> list[_Window]:
        period = dt.timedelta(seconds=self._period_seconds(alarm))
        end = dt.datetime.now(tz=dt.UTC)
        windows = []
        for i in range(int(alarm.evaluation_periods), 0, -1):
            windows.append(_Window(end - period * i, end - period * (i - 1)))
        return windows

    def _statistic(self, alarm: Any) -> str:
        return str(alarm.statistic or alarm.extended_statistic or "Average")

    def _dimension(self, alarm: Any, name: str) -> str | None:
        return next((d.value for d in alarm.dimensions if d.name == name), None)

    def _datapoints(self, alarm: Any, state: _AlarmState, windows: list[_Window]) -> None:
        if alarm.namespace == "AWS/SQS" and alarm.metric_name in _SQS_GAUGES:
            self._sqs_gauge(alarm, state, windows)
        elif alarm.namespace == "AWS/States" and alarm.metric_name in _STATES_STATUSES:
            self._executions_ended(alarm, windows)
        else:
            self._published(alarm, windows)

    def _sqs_gauge(self, alarm: Any, state: _AlarmState, windows: list[_Window]) -> None:

        queue = sqs_backends[self.account_id][self.region].queues.get(
            self._dimension(alarm, "QueueName") or ""
        )
        if queue is not None:
            state.gauge_samples.append((windows[-1].end, _SQS_GAUGES[alarm.metric_name](queue)))
        statistic = self._statistic(alarm)
        for window in windows:
            samples = [v for at, v in state.gauge_samples if window.start < at <= window.end]
            if samples:
                window.value = statistic_of(samples, statistic)

    def _executions_ended(self, alarm: Any, windows: list[_Window]) -> None:
        arn = self._dimension(alarm, "StateMachineArn")
        status = _STATES_STATUSES[alarm.metric_name]
        machines = list(get_backend(self.account_id, self.region).state_machines)
        stops = self._ended.stops(machines, arn, status, since=windows[0].start)
        for window in windows:
            count = sum(1 for at in stops if window.start < at <= window.end)
            if count:
                # Each ended execution is a datapoint of 1; Sum counts them, Maximum/Average are 1.
                window.value = statistic_of([1.0] * count, self._statistic(alarm))
        # What ended before every period still asked about is of no use to any alarm.
        span = windows[-1].end - windows[0].start
        self._longest_span = max(self._longest_span, span)
        self._ended.forget_before(windows[-1].end - self._longest_span)

    def _published(self, alarm: Any, windows: list[_Window]) -> None:
        wanted = {(d.name, d.value) for d in alarm.dimensions}
        data = [
            datum
            for datum in list(self._backend().metric_data)
            if datum.namespace == alarm.namespace
            and datum.name == alarm.metric_name
            and {(d.name, d.value) for d in datum.dimensions} == wanted
        ]
        statistic = self._statistic(alarm)
        for window in windows:
            values: list[float] = []
            aggregated: list[Any] = []
            for datum in data:
                at = as_utc(datum.timestamp)
                if at is None or not (window.start < at <= window.end):
                    continue
                if hasattr(datum, "value"):
                    values.append(float(datum.value))
                else:
                    aggregated.append(datum)
            if aggregated:
                window.value = self._combine(values, aggregated, statistic)
            elif values:
                window.value = statistic_of(values, statistic)

    @staticmethod
    def _combine(values: list[float], aggregated: list[Any], statistic: str) -> float:
        count = len(values) + sum(float(a.sample_count) for a in aggregated)
        total = sum(values) + sum(float(a.sum) for a in aggregated)
        if statistic == "SampleCount":
            return count
        if statistic == "Sum":
            return total
        if statistic == "Average":
            return total / count if count else 0.0
        if statistic == "Minimum":
            return min([*values, *(float(a.min) for a in aggregated)])
        return max([*values, *(float(a.max) for a in aggregated)])

    # -- state and notifications ----------------------------------------------------------------------

    def _evaluate(self, alarm: Any, state: _AlarmState) -> None:
        windows = self._windows(alarm)
        self._datapoints(alarm, state, windows)
        compare, wording = _COMPARISONS.get(alarm.comparison_operator, _COMPARISONS["GreaterThanThreshold"])
        threshold = float(alarm.threshold)
        treat_missing = alarm.treat_missing_data or "missing"
        required = int(alarm.datapoints_to_alarm or alarm.evaluation_periods)
        new_state = evaluate(
            [w.value for w in windows], required, lambda value: compare(value, threshold), treat_missing
        )
        if new_state is None or new_state == alarm.state_value:
            return
        reason = self._reason(
            windows, new_state=new_state, wording=wording, threshold=threshold, required=required
        )
        reason_data = json.dumps(
            {
                "version": "1.0",
                "queryDate": _aws_time(dt.datetime.now(tz=dt.UTC)),
                "startDate": _aws_time(windows[0].start),
                "statistic": self._statistic(alarm),
                "period": int(alarm.period),
                "recentDatapoints": [w.value for w in windows if w.value is not None],
                "threshold": threshold,
                "evaluatedDatapoints": [
                    {"timestamp": _aws_time(w.start), "value": w.value}
                    for w in windows
                    if w.value is not None
                ],
            }
        )
        old_state = alarm.state_value
        self._backend().set_alarm_state(alarm.name, reason, reason_data, new_state)
        logger.info("alarm %s: %s → %s (%s)", alarm.name, old_state, new_state, reason)
        self._notify(alarm, old_state, new_state, reason)

    @staticmethod
    def _reason(
        windows: list[_Window], *, new_state: str, wording: str, threshold: float, required: int
    ) -> str:
        present = [w for w in windows if w.value is not None]
        if not present:
            return f"Insufficient Data: {len(windows)} datapoints were unknown."
        shown = ", ".join(f"{w.value} ({w.start:%d/%m/%y %H:%M:%S})" for w in reversed(present))
        if new_state == "ALARM":
            return (
                f"Threshold Crossed: {len(present)} out of the last {len(windows)} datapoints [{shown}] "
                f"{'was' if len(present) == 1 else 'were'} {wording} the threshold ({threshold}) "
                f"(minimum {required} datapoint{'s' if required != 1 else ''} for OK -> ALARM transition)."
            )
        return (
            f"Threshold Crossed: {len(present)} out of the last {len(windows)} datapoints [{shown}] "
            f"{'was' if len(present) == 1 else 'were'} not {wording} the threshold ({threshold}) "
            f"(minimum {required} datapoint{'s' if required != 1 else ''} for ALARM -> OK transition)."
        )

    def notification(self, alarm: Any, old_state: str, new_state: str, reason: str) -> dict[str, Any]:
        """CloudWatch's alarm-notification message for a state change."""
        statistic = self._statistic(alarm)
        extended = bool(alarm.extended_statistic and not alarm.statistic)
        return {
            "AlarmName": alarm.name,
            "AlarmDescription": alarm.description or None,
            "AWSAccountId": self.account_id,
            "AlarmConfigurationUpdatedTimestamp": _aws_time(
                as_utc(alarm.configuration_updated_timestamp) or dt.datetime.now(tz=dt.UTC)
            ),
            "NewStateValue": new_state,
            "NewStateReason": reason,
            "StateChangeTime": _aws_time(dt.datetime.now(tz=dt.UTC)),
            "Region": region_long_name(self.region),
            "AlarmArn": alarm.alarm_arn,
            "OldStateValue": old_state,
            "OKActions": list(alarm.ok_actions),
            "AlarmActions": list(alarm.alarm_actions),
            "InsufficientDataActions": list(alarm.insufficient_data_actions),
            "Trigger": {
                "MetricName": alarm.metric_name,
                "Namespace": alarm.namespace,
                "StatisticType": "ExtendedStatistic" if extended else "Statistic",
                "Statistic": statistic if extended else _STATISTIC_NAMES.get(statistic, statistic.upper()),
                "Unit": alarm.unit,
                "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
                "Period": int(alarm.period),
                "EvaluationPeriods": int(alarm.evaluation_periods),
                "DatapointsToAlarm": int(alarm.datapoints_to_alarm or alarm.evaluation_periods),
                "ComparisonOperator": alarm.comparison_operator,
                "Threshold": float(alarm.threshold),
                "TreatMissingData": alarm.treat_missing_data or "missing",
                "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or "",
            },
        }

    def _notify(self, alarm: Any, old_state: str, new_state: str, reason: str) -> None:
        if not alarm.actions_enabled:
            return
        actions = {
            "ALARM": alarm.alarm_actions,
            "OK": alarm.ok_actions,
            "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
        }[new_state]
        if not actions:
            return
        message = json.dumps(self.notification(alarm, old_state, new_state, reason))
        subject = f'{new_state}: "{alarm.name}" in {region_long_name(self.region)}'
        if len(subject) > 100:  # SNS's limit; CloudWatch truncates the same way
            subject = subject[:97] + "..."

        for action in actions:
            parts = action.split(":")
            if len(parts) < 6 or parts[2] != "sns":
                logger.warning("alarm %s: action %s is not an SNS topic; skipped locally", alarm.name, action)
                continue
            try:
                sns_backends[parts[4]][parts[3]].publish(message, arn=action, subject=subject)
            except Exception:
                logger.exception("alarm %s: publishing to %s failed", alarm.name, action)
