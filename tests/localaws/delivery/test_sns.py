"""SNS fan-out: what moto already does right, and what ``SnsDelivery`` adds.

The first group of tests runs moto alone and pins the behaviour we rely on without patching it; the
``moto_alone_*`` tests pin moto's gaps (if one starts failing, moto fixed it and our patch can go); the rest
run with ``SnsDelivery`` and show the gaps filled.
"""

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
from moto.awslambda.utils import get_backend
from moto.sns.models import sns_backends

from localaws.delivery.sns import SnsDelivery
from localaws.lambda_.runtime import InvocationResult
from tests.localaws.support import MOTO_CONFIG, wait_until

REGION = "us-east-1"
ACCOUNT = "123456789012"
pytestmark = pytest.mark.timeout(30)

STATUS_FILTER = json.dumps({"status": ["SHIPPED", "CANCELLED"], "orderValue": [{"numeric": [">=", 100]}]})


class FakeInvoker:
    def __init__(self, fail_times: int = 0, gate: threading.Event | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_times = fail_times
        self.gate = gate
        self._lock = threading.Lock()

    def invoke(self, function_name_or_arn: str, event: Any) -> InvocationResult:
        if self.gate is not None:
            self.gate.wait(5)
        with self._lock:
            self.calls.append((function_name_or_arn, event))
            failing = len(self.calls) <= self.fail_times
        if failing:
            return InvocationResult({"errorMessage": "boom"}, "Unhandled", "RuntimeError", str(uuid.uuid4()))
        return InvocationResult(None, None, None, str(uuid.uuid4()))


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config=MOTO_CONFIG):
        yield


@pytest.fixture
def sns(aws: None) -> Any:
    return boto3.client("sns", region_name=REGION)


@pytest.fixture
def sqs(aws: None) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def topic_arn(sns: Any) -> str:
    return str(sns.create_topic(Name="order-status")["TopicArn"])


@pytest.fixture
def start_delivery() -> Iterator[Callable[..., SnsDelivery]]:
    started: list[SnsDelivery] = []

    def start(invoker: FakeInvoker | None = None, **kwargs: Any) -> SnsDelivery:
        delivery = SnsDelivery(invoker=invoker or FakeInvoker(), region=REGION, account_id=ACCOUNT, **kwargs)
        delivery.start()
        started.append(delivery)
        return delivery

    yield start
    for delivery in started:
        delivery.stop()


def subscribed_queue(sqs: Any, sns: Any, topic_arn: str, name: str, **attributes: str) -> str:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return str(url)


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    return list(
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
            "Messages", []
        )
    )


def publish_status(
    sns: Any, topic_arn: str, status: str, value: str, body: dict[str, Any] | None = None
) -> None:
    sns.publish(
        TopicArn=topic_arn,
        Message=json.dumps(body or {"orderId": "o-1", "status": status}),
        Subject="order status",
        MessageAttributes={
            "status": {"DataType": "String", "StringValue": status},
            "orderValue": {"DataType": "Number", "StringValue": value},
        },
    )


# -- what moto gives -----------------------------------------------------------------------------------------


def test_moto_filters_on_message_attributes_and_wraps_in_the_sns_envelope(
    sns: Any, sqs: Any, topic_arn: str
) -> None:
    # Given an SQS subscription with an attribute filter policy (moto alone)
    url = subscribed_queue(sqs, sns, topic_arn, "notification", FilterPolicy=STATUS_FILTER)

    # When one matching and two non-matching statuses are published
    publish_status(sns, topic_arn, "SHIPPED", "150")
    publish_status(sns, topic_arn, "SHIPPED", "20")
    publish_status(sns, topic_arn, "PLACED", "150")

    # Then only the match arrives, inside the SNS notification envelope
    (message,) = drain(sqs, url)
    envelope = json.loads(message["Body"])
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic_arn
    assert json.loads(envelope["Message"])["status"] == "SHIPPED"
    assert envelope["MessageAttributes"]["status"] == {"Type": "String", "Value": "SHIPPED"}


def test_moto_raw_delivery_passes_body_and_attributes(sns: Any, sqs: Any, topic_arn: str) -> None:
    # Given a raw-delivery subscription switched on through SetSubscriptionAttributes (moto alone)
    url = sqs.create_queue(QueueName="raw")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    sns.set_subscription_attributes(
        SubscriptionArn=subscription, AttributeName="RawMessageDelivery", AttributeValue="true"
    )

    # When a status is published
    publish_status(sns, topic_arn, "SHIPPED", "150")

    # Then the body is the message itself and SNS attributes became SQS message attributes
    (message,) = drain(sqs, url)
    assert json.loads(message["Body"]) == {"orderId": "o-1", "status": "SHIPPED"}
    assert message["MessageAttributes"]["status"] == {"StringValue": "SHIPPED", "DataType": "String"}
    assert message["MessageAttributes"]["orderValue"] == {"StringValue": "150", "DataType": "Number"}


def test_moto_filters_on_the_message_body_when_the_scope_comes_first(
    sns: Any, sqs: Any, topic_arn: str
) -> None:
    # Given a MessageBody-scoped policy passed with Subscribe (moto sets the scope before the policy)
    url = subscribed_queue(
        sqs,
        sns,
        topic_arn,
        "body-scope",
        FilterPolicyScope="MessageBody",
        FilterPolicy=json.dumps({"status": ["CANCELLED"]}),
    )

    # When two bodies are published
    publish_status(sns, topic_arn, "X", "1", body={"status": "CANCELLED"})
    publish_status(sns, topic_arn, "X", "1", body={"status": "SHIPPED"})

    # Then only the matching body arrives
    (message,) = drain(sqs, url)
    assert json.loads(json.loads(message["Body"])["Message"]) == {"status": "CANCELLED"}


def set_raw_delivery_in_process(topic_arn: str, queue_arn: str, value: str) -> None:
    """Subscribe the way in-process code does (straight on moto's backend, no API string parsing)."""

    backend = sns_backends[ACCOUNT][REGION]
    subscription = backend.subscribe(topic_arn, queue_arn, "sqs")
    backend.set_subscription_attributes(subscription.arn, "RawMessageDelivery", value)


def queue_arn_of(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def test_moto_alone_takes_an_in_process_raw_delivery_false_as_raw(sns: Any, sqs: Any, topic_arn: str) -> None:
    # Given RawMessageDelivery "false" set on moto's backend (the API path converts it; this one does not)
    url = sqs.create_queue(QueueName="not-raw")["QueueUrl"]
    set_raw_delivery_in_process(topic_arn, queue_arn_of(sqs, url), "false")

    # When a message is published
    publish_status(sns, topic_arn, "SHIPPED", "150")

    # Then moto delivers it raw anyway (the gap SnsDelivery closes)
    (message,) = drain(sqs, url)
    assert "TopicArn" not in json.loads(message["Body"])


def test_moto_alone_keeps_the_old_scope_when_filter_policy_scope_comes_second(
    sns: Any, sqs: Any, topic_arn: str
) -> None:
    # Given a body policy whose scope is set after it (as an attribute-by-attribute update does)
    url = subscribe_with_late_scope(sns, sqs, topic_arn)

    # When a matching body is published without message attributes
    sns.publish(TopicArn=topic_arn, Message=json.dumps({"status": "CANCELLED"}))

    # Then moto still matches attributes and drops it (the gap SnsDelivery closes)
    assert drain(sqs, url) == []


def subscribe_with_late_scope(sns: Any, sqs: Any, topic_arn: str) -> str:
    url = sqs.create_queue(QueueName="late-scope")["QueueUrl"]
    subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn_of(sqs, url))[
        "SubscriptionArn"
    ]
    sns.set_subscription_attributes(
        SubscriptionArn=subscription,
        AttributeName="FilterPolicy",
        AttributeValue=json.dumps({"status": ["CANCELLED"]}),
    )
    sns.set_subscription_attributes(
        SubscriptionArn=subscription, AttributeName="FilterPolicyScope", AttributeValue="MessageBody"
    )
    return str(url)


def test_moto_alone_sends_lambda_a_canned_event(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given moto's own SNS → Lambda path, with the function it would run replaced by a recorder

    captured: list[dict[str, Any]] = []

    class RecordingFunction:
        def invoke(self, body: str, *_: Any) -> None:
            captured.append(json.loads(body))

    backend = get_backend(ACCOUNT, REGION)
    monkeypatch.setattr(
        backend._lambdas, "get_function_by_name_or_arn_with_qualifier", lambda *_: RecordingFunction()
    )

    # When moto delivers a notification
    backend.send_sns_message("fn", "hello", subject="real subject")

    # Then its TopicArn and attributes are placeholders (the gap SnsDelivery closes)
    sns_part = captured[0]["Records"][0]["Sns"]
    assert sns_part["TopicArn"] == "arn:aws:sns:EXAMPLE"
    assert "Test" in sns_part["MessageAttributes"]


# -- what SnsDelivery adds -----------------------------------------------------------------------------------


def test_raw_message_delivery_false_keeps_the_envelope(
    sns: Any, sqs: Any, topic_arn: str, start_delivery: Callable[..., SnsDelivery]
) -> None:
    # Given in-process subscriptions with RawMessageDelivery "false" and "true", and SnsDelivery running
    start_delivery()
    url = sqs.create_queue(QueueName="not-raw")["QueueUrl"]
    raw_url = sqs.create_queue(QueueName="raw")["QueueUrl"]
    set_raw_delivery_in_process(topic_arn, queue_arn_of(sqs, url), "false")
    set_raw_delivery_in_process(topic_arn, queue_arn_of(sqs, raw_url), "true")

    # When a message is published
    publish_status(sns, topic_arn, "SHIPPED", "150")

    # Then the "false" subscription gets the envelope and the "true" one the raw body
    (wrapped,) = drain(sqs, url)
    assert json.loads(wrapped["Body"])["TopicArn"] == topic_arn
    (raw,) = drain(sqs, raw_url)
    assert json.loads(raw["Body"]) == {"orderId": "o-1", "status": "SHIPPED"}


def test_filter_policy_scope_set_after_the_policy_takes_effect(
    sns: Any, sqs: Any, topic_arn: str, start_delivery: Callable[..., SnsDelivery]
) -> None:
    # Given a body policy whose scope is set after it, and SnsDelivery running
    start_delivery()
    url = subscribe_with_late_scope(sns, sqs, topic_arn)

    # When two bodies are published with no message attributes at all
    sns.publish(TopicArn=topic_arn, Message=json.dumps({"status": "CANCELLED"}))
    sns.publish(TopicArn=topic_arn, Message=json.dumps({"status": "SHIPPED"}))

    # Then the body filter decided
    (message,) = drain(sqs, url)
    assert json.loads(json.loads(message["Body"])["Message"]) == {"status": "CANCELLED"}


def test_lambda_subscription_gets_the_aws_event_asynchronously(
    sns: Any, topic_arn: str, start_delivery: Callable[..., SnsDelivery]
) -> None:
    # Given a Lambda subscription with a filter policy, and a function that is slow to answer
    gate = threading.Event()
    invoker = FakeInvoker(gate=gate)
    delivery = start_delivery(invoker)
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:dlq-inspector"
    subscription = sns.subscribe(
        TopicArn=topic_arn,
        Protocol="lambda",
        Endpoint=function_arn,
        Attributes={"FilterPolicy": STATUS_FILTER},
    )["SubscriptionArn"]

    # When a matching and a non-matching message are published
    publish_status(sns, topic_arn, "SHIPPED", "150")
    publish_status(sns, topic_arn, "PLACED", "150")

    # Then Publish returned while the function was still held (a synchronous delivery would have waited
    # out the gate and recorded the call), and the function gets one AWS-shaped event
    assert invoker.calls == []
    gate.set()
    wait_until(lambda: len(invoker.calls) == 1 and delivery.idle())
    arn, event = invoker.calls[0]
    assert arn == function_arn
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns" and record["EventSubscriptionArn"] == subscription
    assert record["Sns"]["TopicArn"] == topic_arn
    assert record["Sns"]["Subject"] == "order status"
    assert record["Sns"]["Type"] == "Notification"
    assert json.loads(record["Sns"]["Message"]) == {"orderId": "o-1", "status": "SHIPPED"}
    assert record["Sns"]["MessageAttributes"] == {
        "status": {"Type": "String", "Value": "SHIPPED"},
        "orderValue": {"Type": "Number", "Value": "150"},
    }


def test_lambda_function_errors_are_retried_twice_like_async_invocation(
    sns: Any, topic_arn: str, start_delivery: Callable[..., SnsDelivery]
) -> None:
    # Given a function that always fails, with Lambda's retry delays scaled down
    invoker = FakeInvoker(fail_times=100)
    delivery = start_delivery(invoker, time_scale=0.001)
    sns.subscribe(
        TopicArn=topic_arn, Protocol="lambda", Endpoint=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:alerts"
    )

    # When a message is published
    sns.publish(TopicArn=topic_arn, Message="alarm")

    # Then it is invoked three times in all and then given up
    wait_until(lambda: len(invoker.calls) == 3 and delivery.idle())
    time.sleep(0.2)  # a fourth attempt would come 0.12 s after the third at this scale
    assert len(invoker.calls) == 3
