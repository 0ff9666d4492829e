"""CloudWatch alarms evaluated by ``AlarmEvaluator``, notifying SNS like CloudWatch."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localaws.delivery.alarms import AlarmEvaluator, evaluate
from localaws.lambda_.runtime import InvocationResult
from tests.localaws.support import MOTO_CONFIG, wait_until

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sfn"
SCALE = 0.005  # a 60 s period lasts 0.3 s
pytestmark = pytest.mark.timeout(30)

FAILING_MACHINE = json.dumps(
    {
        "StartAt": "Decline",
        "States": {"Decline": {"Type": "Fail", "Error": "PaymentDeclined", "Cause": "card"}},
    }
)


class NoInvocations:
    def invoke(self, function_name_or_arn: str, event: Any) -> InvocationResult:
        raise AssertionError("alarms publish to SNS; nothing is invoked directly")


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config=MOTO_CONFIG):
        yield


@pytest.fixture
def cloudwatch(aws: None) -> Any:
    return boto3.client("cloudwatch", region_name=REGION)


@pytest.fixture
def sqs(aws: None) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def alerts(aws: None, sqs: Any) -> tuple[str, str]:
    """The system-alerts topic and an SQS inbox subscribed to it: (topic ARN, inbox URL)."""
    sns = boto3.client("sns", region_name=REGION)
    topic_arn = sns.create_topic(Name="system-alerts")["TopicArn"]
    inbox = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
    return topic_arn, inbox


@pytest.fixture
def evaluator(aws: None) -> Iterator[AlarmEvaluator]:
    running = AlarmEvaluator(invoker=NoInvocations(), region=REGION, account_id=ACCOUNT, time_scale=SCALE)
    running.start()
    yield running
    running.stop()


def alarm_state(cloudwatch: Any, name: str) -> str:
    return str(cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"])


def notifications(sqs: Any, inbox: str, count: int) -> list[tuple[str, dict[str, Any]]]:
    """(Subject, alarm message) of the SNS envelopes in the inbox."""
    found: list[tuple[str, dict[str, Any]]] = []

    def collect() -> bool:
        for message in sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", []):
            envelope = json.loads(message["Body"])
            found.append((envelope.get("Subject", ""), json.loads(envelope["Message"])))
            sqs.delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])
        return len(found) >= count

    wait_until(collect)
    return found


def test_dlq_depth_alarm_notifies_alarm_then_ok(
    cloudwatch: Any, sqs: Any, alerts: tuple[str, str], evaluator: AlarmEvaluator
) -> None:
    # Given an alarm on a DLQ's visible messages with ALARM and OK actions on system-alerts
    topic_arn, inbox = alerts
    dlq = sqs.create_queue(QueueName="orderflow-payment-dlq")["QueueUrl"]
    cloudwatch.put_metric_alarm(
        AlarmName="payment-dlq-not-empty",
        AlarmDescription="Payments are failing",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "orderflow-payment-dlq"}],
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[topic_arn],
        OKActions=[topic_arn],
    )
    wait_until(lambda: alarm_state(cloudwatch, "payment-dlq-not-empty") == "OK")
    assert notifications(sqs, inbox, 1)[0][1]["OldStateValue"] == "INSUFFICIENT_DATA"

    # When a message lands in the DLQ
    sqs.send_message(QueueUrl=dlq, MessageBody="failed payment")

    # Then the alarm fires and system-alerts carries CloudWatch's notification
    ((subject, alarm),) = notifications(sqs, inbox, 1)
    assert subject == 'ALARM: "payment-dlq-not-empty" in US East (N. Virginia)'
    assert alarm["AlarmName"] == "payment-dlq-not-empty"
    assert alarm["AlarmDescription"] == "Payments are failing"
    assert alarm["AWSAccountId"] == ACCOUNT
    assert (alarm["OldStateValue"], alarm["NewStateValue"]) == ("OK", "ALARM")
    assert alarm["NewStateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [1.0")
    assert alarm["Region"] == "US East (N. Virginia)"
    assert alarm["AlarmArn"].endswith(":alarm:payment-dlq-not-empty")
    assert alarm["StateChangeTime"].endswith("+0000")
    assert alarm["Trigger"] == {
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Namespace": "AWS/SQS",
        "StatisticType": "Statistic",
        "Statistic": "MAXIMUM",
        "Unit": None,
        "Dimensions": [{"value": "orderflow-payment-dlq", "name": "QueueName"}],
        "Period": 60,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 1.0,
        "TreatMissingData": "notBreaching",
        "EvaluateLowSampleCountPercentile": "",
    }
    assert alarm_state(cloudwatch, "payment-dlq-not-empty") == "ALARM"

    # And when the DLQ is drained the alarm returns to OK with an OK notification
    sqs.purge_queue(QueueUrl=dlq)
    ((subject, ok),) = notifications(sqs, inbox, 1)
    assert subject.startswith('OK: "payment-dlq-not-empty"')
    assert (ok["OldStateValue"], ok["NewStateValue"]) == ("ALARM", "OK")


def test_failed_executions_raise_the_workflow_alarm(
    cloudwatch: Any, sqs: Any, alerts: tuple[str, str], evaluator: AlarmEvaluator
) -> None:
    # Given an alarm on ExecutionsFailed of a state machine
    topic_arn, inbox = alerts
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(name="orders", definition=FAILING_MACHINE, roleArn=ROLE)[
        "stateMachineArn"
    ]
    cloudwatch.put_metric_alarm(
        AlarmName="workflow-failures",
        Namespace="AWS/States",
        MetricName="ExecutionsFailed",
        Dimensions=[{"Name": "StateMachineArn", "Value": machine}],
        Statistic="Sum",
        Period=300,  # 1.5 s at this scale: both failures fall in one period
        EvaluationPeriods=1,
        Threshold=2,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[topic_arn],
    )
    wait_until(lambda: alarm_state(cloudwatch, "workflow-failures") == "OK")

    # When two executions fail
    for _ in range(2):
        sfn.start_execution(stateMachineArn=machine, name=str(uuid.uuid4()), input="{}")

    # Then the alarm fires once with a datapoint of 2 executions
    ((_, alarm),) = notifications(sqs, inbox, 1)
    assert alarm["NewStateValue"] == "ALARM"
    assert alarm["Trigger"]["Statistic"] == "SUM"
    assert "[2.0" in alarm["NewStateReason"]
    assert alarm["Trigger"]["Dimensions"] == [{"value": machine, "name": "StateMachineArn"}]


def test_published_metric_data_drives_an_alarm(cloudwatch: Any, evaluator: AlarmEvaluator) -> None:
    # Given an alarm on a custom metric's Sum over one period, with no action
    cloudwatch.put_metric_alarm(
        AlarmName="declines",
        Namespace="orderflow",
        MetricName="PaymentDeclined",
        Dimensions=[{"Name": "service", "Value": "payment"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )

    wait_until(lambda: alarm_state(cloudwatch, "declines") == "INSUFFICIENT_DATA")  # picked up

    # When the service publishes three datapoints summing to 9 (and one with other dimensions)
    payment = [{"Name": "service", "Value": "payment"}]
    cloudwatch.put_metric_data(
        Namespace="orderflow",
        MetricData=[{"MetricName": "PaymentDeclined", "Value": v, "Dimensions": payment} for v in (2, 3, 4)]
        + [{"MetricName": "PaymentDeclined", "Value": 100}],
    )

    # Then the alarm is in ALARM with the sum in its reason
    wait_until(lambda: alarm_state(cloudwatch, "declines") == "ALARM")
    reason = cloudwatch.describe_alarms(AlarmNames=["declines"])["MetricAlarms"][0]["StateReason"]
    assert "[9.0" in reason


def test_alarm_without_data_is_insufficient_data(cloudwatch: Any, evaluator: AlarmEvaluator) -> None:
    # Given an alarm whose metric never gets data, missing data treated as missing
    cloudwatch.put_metric_alarm(
        AlarmName="silent",
        Namespace="orderflow",
        MetricName="Nothing",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )

    # When it has been evaluated (moto itself would report OK)
    wait_until(lambda: alarm_state(cloudwatch, "silent") != "OK")

    # Then it is INSUFFICIENT_DATA, as on AWS
    assert alarm_state(cloudwatch, "silent") == "INSUFFICIENT_DATA"


@pytest.mark.parametrize(
    ("values", "m", "treat", "expected"),
    [
        ([5.0, 0.0, 5.0], 2, "missing", "ALARM"),  # 2 of 3 breaching
        ([5.0, 0.0, 0.0], 2, "missing", "OK"),
        ([None, None, 5.0], 2, "breaching", "ALARM"),
        ([None, None, 5.0], 2, "notBreaching", "OK"),
        ([None, None, None], 1, "missing", "INSUFFICIENT_DATA"),
        ([None, None, None], 1, "ignore", None),  # keep the current state
    ],
)
def test_evaluate_applies_datapoints_to_alarm_and_missing_data(
    values: list[float | None], m: int, treat: str, expected: str | None
) -> None:
    # Given period values and a threshold of 1 (greater than)
    # When they are evaluated
    state = evaluate(values, m, lambda value: value > 1, treat)

    # Then the state follows CloudWatch's M-out-of-N rule
    assert state == expected
