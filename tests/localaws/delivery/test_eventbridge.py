"""EventBridge rule → Step Functions / Lambda targets, delivered by ``EventBridgeDelivery``."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localaws.delivery.eventbridge import EventBridgeDelivery, TargetDeliveryError, render_input_template
from localaws.lambda_.runtime import InvocationResult
from tests.localaws.support import MOTO_CONFIG, wait_until

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUS = "orderflow-orders"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/events"
pytestmark = pytest.mark.timeout(30)

PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


class FakeInvoker:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def invoke(self, function_name_or_arn: str, event: Any) -> InvocationResult:
        self.events.append((function_name_or_arn, event))
        return InvocationResult(None, None, None, str(uuid.uuid4()))


class FlakyDelivery(EventBridgeDelivery):
    """Fails the first ``failures`` StartExecution attempts with a retryable error, recording when."""

    failures = 0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attempt_times: list[float] = []
        self.retry_delays: list[float | None] = []

    def _attempt(self, pending: Any) -> float | None:
        delay = super()._attempt(pending)
        self.retry_delays.append(delay)
        return delay

    def _start_execution(self, state_machine_arn: str, name: str, payload: str) -> None:
        self.attempt_times.append(time.monotonic())
        if len(self.attempt_times) <= self.failures:
            raise TargetDeliveryError("THROTTLING", "Rate exceeded")
        super()._start_execution(state_machine_arn, name, payload)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config=MOTO_CONFIG):
        yield


@pytest.fixture
def events(aws: None) -> Any:
    client = boto3.client("events", region_name=REGION)
    client.create_event_bus(Name=BUS)
    client.put_rule(
        Name="order-placed", EventBusName=BUS, EventPattern=json.dumps({"source": ["orderflow.orders"]})
    )
    return client


@pytest.fixture
def state_machine_arn(aws: None) -> str:
    return boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name="order-workflow", definition=PASS_MACHINE, roleArn=ROLE
    )["stateMachineArn"]


@pytest.fixture
def sqs(aws: None) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def start_delivery() -> Iterator[Callable[..., EventBridgeDelivery]]:
    started: list[EventBridgeDelivery] = []

    def start(cls: type[EventBridgeDelivery] = EventBridgeDelivery, **kwargs: Any) -> EventBridgeDelivery:
        kwargs.setdefault("invoker", FakeInvoker())
        delivery = cls(region=REGION, account_id=ACCOUNT, **kwargs)
        delivery.start()
        started.append(delivery)
        return delivery

    yield start
    for delivery in started:
        delivery.stop()


def put_order(events: Any, detail: dict[str, Any]) -> str:
    response = events.put_events(
        Entries=[
            {
                "Source": "orderflow.orders",
                "DetailType": "OrderPlaced",
                "Detail": json.dumps(detail),
                "EventBusName": BUS,
            }
        ]
    )
    assert response["FailedEntryCount"] == 0
    return str(response["Entries"][0]["EventId"])


def executions(state_machine_arn: str) -> list[Any]:
    client = boto3.client("stepfunctions", region_name=REGION)
    listed = client.list_executions(stateMachineArn=state_machine_arn)["executions"]
    return [client.describe_execution(executionArn=e["executionArn"]) for e in listed]


def make_dlq(sqs: Any, name: str = "orders-rule-dlq") -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive_all(sqs: Any, url: str, count: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    wait_until(
        lambda: (
            int(
                sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
                    "Attributes"
                ]["ApproximateNumberOfMessages"]
            )
            >= count
        )
    )
    while len(messages) < count:
        messages += sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
    return messages


def test_each_matching_event_starts_one_execution_with_the_event_as_input(
    events: Any, state_machine_arn: str, start_delivery: Callable[..., EventBridgeDelivery]
) -> None:
    # Given a rule with a Step Functions target
    events.put_targets(
        Rule="order-placed",
        EventBusName=BUS,
        Targets=[{"Id": "wf", "Arn": state_machine_arn, "RoleArn": ROLE}],
    )
    start_delivery()

    # When two orders are placed (moto's StartExecution without a name would clash on the second)
    first = put_order(events, {"orderId": "o-1"})
    second = put_order(events, {"orderId": "o-2"})

    # Then two executions start, named after their events, each with the AWS-shaped event as input
    wait_until(lambda: len(executions(state_machine_arn)) == 2)
    by_event = {json.loads(e["input"])["id"]: e for e in executions(state_machine_arn)}
    assert set(by_event) == {first, second}
    started = by_event[first]
    assert started["name"].startswith(first) and len(started["name"]) <= 80
    event = json.loads(started["input"])
    assert event["detail"] == {"orderId": "o-1"}
    assert event["detail-type"] == "OrderPlaced" and event["source"] == "orderflow.orders"
    assert event["account"] == ACCOUNT and event["region"] == REGION and event["version"] == "0"
    assert event["time"].endswith("Z") and "T" in event["time"]
    assert "ingestion-time" not in event


def test_non_matching_events_start_nothing(
    events: Any, state_machine_arn: str, start_delivery: Callable[..., EventBridgeDelivery]
) -> None:
    # Given a rule for orderflow.orders only
    events.put_targets(
        Rule="order-placed",
        EventBusName=BUS,
        Targets=[{"Id": "wf", "Arn": state_machine_arn, "RoleArn": ROLE}],
    )
    delivery = start_delivery()

    # When an event from another source is put
    events.put_events(Entries=[{"Source": "other", "DetailType": "X", "Detail": "{}", "EventBusName": BUS}])

    # Then nothing is delivered
    wait_until(delivery.idle)
    assert executions(state_machine_arn) == []


def test_input_transformer_and_input_path_shape_the_execution_input(
    events: Any, state_machine_arn: str, start_delivery: Callable[..., EventBridgeDelivery]
) -> None:
    # Given one target with an InputTransformer and one with an InputPath
    transformer = {
        "InputPathsMap": {"order": "$.detail.orderId", "total": "$.detail.total", "id": "$.id"},
        "InputTemplate": (
            '{"orderId": <order>, "total": <total>, "note": "order <order> placed", "eventId": <id>}'
        ),
    }
    events.put_targets(
        Rule="order-placed",
        EventBusName=BUS,
        Targets=[
            {"Id": "shaped", "Arn": state_machine_arn, "RoleArn": ROLE, "InputTransformer": transformer},
            {"Id": "detail-only", "Arn": state_machine_arn, "RoleArn": ROLE, "InputPath": "$.detail"},
        ],
    )
    start_delivery()

    # When an order is placed
    event_id = put_order(events, {"orderId": "o-7", "total": 19.98})

    # Then each target's execution gets its own input
    wait_until(lambda: len(executions(state_machine_arn)) == 2)
    inputs = sorted((json.loads(e["input"]) for e in executions(state_machine_arn)), key=len)
    assert inputs[0] == {"orderId": "o-7", "total": 19.98}
    assert inputs[1] == {"orderId": "o-7", "total": 19.98, "note": "order o-7 placed", "eventId": event_id}


def test_render_input_template_handles_plain_text_and_nested_values() -> None:
    # Given values of several JSON types
    values = {"id": "o-1", "items": [{"sku": "A"}], "count": 2}

    # When templates are rendered
    as_text = render_input_template("Order <id> has <count> items", values)
    as_json = render_input_template('{"items": <items>, "label": "<id>: \\"x\\" <count>"}', values)

    # Then plain text becomes a JSON string and JSON placeholders keep their types
    assert json.loads(as_text) == "Order o-1 has 2 items"
    assert json.loads(as_json) == {"items": [{"sku": "A"}], "label": 'o-1: "x" 2'}


def test_retryable_failures_are_retried_with_growing_backoff(
    events: Any, state_machine_arn: str, start_delivery: Callable[..., EventBridgeDelivery]
) -> None:
    # Given a target whose first two StartExecution calls are throttled
    events.put_targets(
        Rule="order-placed",
        EventBusName=BUS,
        Targets=[{"Id": "wf", "Arn": state_machine_arn, "RoleArn": ROLE}],
    )
    FlakyDelivery.failures = 2
    delivery = start_delivery(FlakyDelivery, time_scale=0.05)
    assert isinstance(delivery, FlakyDelivery)

    # When an order is placed
    put_order(events, {"orderId": "o-1"})

    # Then the third attempt starts the execution, after backoffs of 1 s and 2 s scaled by 0.05, waited out
    # (the execution exists a moment before the third attempt returns and its outcome is recorded)
    wait_until(lambda: len(delivery.retry_delays) == 3)
    assert len(executions(state_machine_arn)) == 1
    assert delivery.retry_delays == pytest.approx([0.05, 0.1, None])
    first, second, third = delivery.attempt_times
    assert second - first >= 0.04
    assert third - second >= 0.09


def test_put_events_returns_before_a_slow_delivery(
    events: Any, state_machine_arn: str, start_delivery: Callable[..., EventBridgeDelivery]
) -> None:
    # Given a delivery whose StartExecution takes half a second
    gate = threading.Event()

    class SlowDelivery(EventBridgeDelivery):
        def _start_execution(self, state_machine_arn: str, name: str, payload: str) -> None:
            gate.wait(5)
            super()._start_execution(state_machine_arn, name, payload)

    events.put_targets(
        Rule="order-placed",
        EventBusName=BUS,
        Targets=[{"Id": "wf", "Arn": state_machine_arn, "RoleArn": ROLE}],
    )
    start_delivery(SlowDelivery)

    # When an order is placed
    put_order(events, {"orderId": "o-1"})

    # Then PutEvents returned while the target was still held (a synchronous delivery would have waited
    # out the gate and started the execution), and the execution starts once the target answers
    assert executions(state_machine_arn) == []
    gate.set()
    wait_until(lambda: len(executions(state_machine_arn)) == 1)


def test_exhausted_retries_go_to_the_dlq_with_eventbridges_attributes(
    events: Any, sqs: Any, state_machine_arn: str, start_delivery: Callable[..., EventBridgeDelivery]
) -> None:
    # Given a target that is always throttled, two retries allowed, and a DLQ
    dlq_url, dlq_arn = make_dlq(sqs)
    events.put_targets(
        Rule="order-placed",
        EventBusName=BUS,
        Targets=[
            {
                "Id": "wf",
                "Arn": state_machine_arn,
                "RoleArn": ROLE,
                "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
                "DeadLetterConfig": {"Arn": dlq_arn},
            }
        ],
    )
    FlakyDelivery.failures = 100
    delivery = start_delivery(FlakyDelivery, time_scale=0.01)
    assert isinstance(delivery, FlakyDelivery)

    # When an order is placed
    event_id = put_order(events, {"orderId": "o-1"})

    # Then after 1 attempt + 2 retries the event lands in the DLQ with the failure described
    (message,) = receive_all(sqs, dlq_url, 1)
    assert len(delivery.attempt_times) == 3
    assert json.loads(message["Body"])["id"] == event_id
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "THROTTLING"
    assert attributes["ERROR_MESSAGE"] == "Rate exceeded"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttemptsExhausted"
    assert attributes["RETRY_ATTEMPTS"] == "2"
    assert attributes["TARGET_ARN"] == state_machine_arn
    assert attributes["RULE_ARN"].endswith(f":rule/{BUS}/order-placed")


def test_missing_state_machine_goes_to_the_dlq_without_retries(
    events: Any, sqs: Any, start_delivery: Callable[..., EventBridgeDelivery]
) -> None:
    # Given a target whose state machine does not exist
    dlq_url, dlq_arn = make_dlq(sqs)
    missing = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:gone"
    events.put_targets(
        Rule="order-placed",
        EventBusName=BUS,
        Targets=[{"Id": "wf", "Arn": missing, "RoleArn": ROLE, "DeadLetterConfig": {"Arn": dlq_arn}}],
    )
    start_delivery(time_scale=0.01)

    # When an order is placed
    put_order(events, {"orderId": "o-1"})

    # Then it is dead-lettered at once as RESOURCE_NOT_FOUND
    (message,) = receive_all(sqs, dlq_url, 1)
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "RESOURCE_NOT_FOUND"
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes


def test_lambda_targets_go_through_the_invoker_and_sqs_targets_stay_with_moto(
    events: Any, sqs: Any, start_delivery: Callable[..., EventBridgeDelivery]
) -> None:
    # Given a rule with a Lambda target and an SQS target
    queue_url, queue_arn = make_dlq(sqs, "order-audit")
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"
    events.put_targets(
        Rule="order-placed",
        EventBusName=BUS,
        Targets=[{"Id": "fn", "Arn": function_arn}, {"Id": "audit", "Arn": queue_arn}],
    )
    invoker = FakeInvoker()
    start_delivery(invoker=invoker)

    # When an order is placed
    event_id = put_order(events, {"orderId": "o-1"})

    # Then the function gets the event and moto still puts it on the queue
    wait_until(lambda: len(invoker.events) == 1)
    arn, event = invoker.events[0]
    assert arn == function_arn and event["id"] == event_id and event["detail"] == {"orderId": "o-1"}
    (message,) = receive_all(sqs, queue_url, 1)
    assert json.loads(message["Body"])["id"] == event_id


def test_sns_targets_publish_the_transformed_input_to_the_topic(
    events: Any, sqs: Any, start_delivery: Callable[..., EventBridgeDelivery]
) -> None:
    # Given a rule whose target is a topic (moto has no SNS target), with an input transformer,
    # and a queue subscribed to that topic
    sns = boto3.client("sns", region_name=REGION)
    topic_arn = sns.create_topic(Name="alerts")["TopicArn"]
    inbox_url, inbox_arn = make_dlq(sqs, "alert-inbox")
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
    transformer = {
        "InputPathsMap": {"order": "$.detail.orderId"},
        "InputTemplate": '{"kind": "order-alert", "order": <order>}',
    }
    events.put_targets(
        Rule="order-placed",
        EventBusName=BUS,
        Targets=[{"Id": "alerts", "Arn": topic_arn, "InputTransformer": transformer}],
    )
    start_delivery()

    # When an order is placed
    put_order(events, {"orderId": "o-9"})

    # Then the topic's subscriber receives the rendered input as the message
    (message,) = receive_all(sqs, inbox_url, 1)
    notification = json.loads(message["Body"])
    assert notification["TopicArn"] == topic_arn
    assert json.loads(notification["Message"]) == {"kind": "order-alert", "order": "o-9"}
