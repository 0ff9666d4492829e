"""SQS → Lambda event-source mappings polled by ``SqsEventSource``, with a fake invoker."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localaws.delivery.sqs import SqsEventSource
from tests.localaws.support import MOTO_CONFIG, RecordingInvoker, placeholder_function, wait_until

REGION = "us-east-1"
ACCOUNT = "123456789012"
pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config=MOTO_CONFIG):
        yield


@pytest.fixture
def sqs(aws: None) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def function_arn(aws: None) -> str:
    return placeholder_function("consumer")


def make_queue(
    sqs: Any, name: str, *, visibility: int = 1, max_receive: int | None = None
) -> tuple[str, str]:
    attributes = {"VisibilityTimeout": str(visibility)}
    if name.endswith(".fifo"):
        attributes["FifoQueue"] = "true"
    if max_receive is not None:
        dlq_name = name.replace(".fifo", "") + "-dlq" + (".fifo" if name.endswith(".fifo") else "")
        dlq_attributes = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
        dlq_url = sqs.create_queue(QueueName=dlq_name, Attributes=dlq_attributes)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive}
        )
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def map_queue(queue_arn: str, function_arn: str, **settings: Any) -> str:
    return boto3.client("lambda", region_name=REGION).create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName=function_arn, **settings
    )["UUID"]


@pytest.fixture
def start_source() -> Iterator[Callable[..., SqsEventSource]]:
    started: list[SqsEventSource] = []

    def start(invoker: RecordingInvoker, **kwargs: Any) -> SqsEventSource:
        source = SqsEventSource(invoker=invoker, region=REGION, account_id=ACCOUNT, **kwargs)
        source.start()
        started.append(source)
        return source

    yield start
    for source in started:
        source.stop()


def queue_depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_batch_is_delivered_in_lambdas_sqs_event_shape_and_deleted(
    sqs: Any, function_arn: str, start_source: Callable[..., SqsEventSource]
) -> None:
    # Given a mapping (batch size 5) and a running source
    url, arn = make_queue(sqs, "orders-payment")
    map_queue(arn, function_arn, BatchSize=5)
    invoker = RecordingInvoker()
    start_source(invoker)

    # When a message with attributes is sent
    sqs.send_message(
        QueueUrl=url,
        MessageBody='{"orderId": "o-1"}',
        MessageAttributes={"status": {"DataType": "String", "StringValue": "PLACED"}},
    )

    # Then the function gets one AWS-shaped record and the message leaves the queue
    invoker.wait_for(lambda: len(invoker.events) == 1)
    (record,) = invoker.events[0]["Records"]
    assert record["body"] == '{"orderId": "o-1"}'
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == REGION
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert set(record["attributes"]) >= {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"}
    assert record["md5OfBody"] == hashlib.md5(b'{"orderId": "o-1"}').hexdigest()
    assert record["messageAttributes"] == {
        "status": {
            "stringValue": "PLACED",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }
    assert record["receiptHandle"]
    wait_until(lambda: queue_depth(sqs, url) == 0)


def test_moto_does_not_deliver_synchronously_while_the_source_runs(
    sqs: Any, function_arn: str, start_source: Callable[..., SqsEventSource]
) -> None:
    # Given a source already running when the mapping is created (moto would deliver inside SendMessage)
    url, arn = make_queue(sqs, "late-mapping")
    invoker = RecordingInvoker()
    start_source(invoker)
    map_queue(arn, function_arn, BatchSize=5)

    # When messages are sent
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")

    # Then every message reaches our invoker exactly once, received once
    invoker.wait_for(lambda: len(invoker.records()) == 3)
    assert sorted(r["body"] for r in invoker.records()) == ["m0", "m1", "m2"]
    assert {r["attributes"]["ApproximateReceiveCount"] for r in invoker.records()} == {"1"}


def test_partial_batch_failure_returns_only_the_failed_message(
    sqs: Any, function_arn: str, start_source: Callable[..., SqsEventSource]
) -> None:
    # Given ReportBatchItemFailures and a handler that fails "bad" on its first delivery only
    url, arn = make_queue(sqs, "partial", visibility=1)
    seen_bad = threading.Event()

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            if record["body"] == "bad" and not seen_bad.is_set():
                seen_bad.set()
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    invoker = RecordingInvoker(handler)
    # All three land in the queue before the mapping exists, so they arrive as one batch.
    for body in ("good-1", "bad", "good-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    map_queue(arn, function_arn, BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"])

    # When the source runs
    start_source(invoker)

    # Then the good ones are delivered once, "bad" comes back with receive count 2, and the queue empties
    invoker.wait_for(lambda: len(invoker.records()) == 4)
    bodies = [r["body"] for r in invoker.records()]
    assert sorted(bodies) == ["bad", "bad", "good-1", "good-2"]
    assert invoker.events[0]["Records"][0]["body"] == "good-1" and len(invoker.events[0]["Records"]) == 3
    retried = invoker.events[1]["Records"]
    assert [(r["body"], r["attributes"]["ApproximateReceiveCount"]) for r in retried] == [("bad", "2")]
    wait_until(lambda: queue_depth(sqs, url) == 0)


def test_function_error_returns_the_whole_batch(
    sqs: Any, function_arn: str, start_source: Callable[..., SqsEventSource]
) -> None:
    # Given a handler that raises on its first invocation
    url, arn = make_queue(sqs, "whole-batch", visibility=1)
    calls = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(len(event["Records"]))
        if len(calls) == 1:
            raise RuntimeError("database unavailable")
        return {"batchItemFailures": []}

    for body in ("a", "b"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    map_queue(arn, function_arn, BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"])
    invoker = RecordingInvoker(handler)

    # When the source runs
    start_source(invoker)

    # Then both messages are redelivered together (receive count 2) after the visibility timeout
    invoker.wait_for(lambda: len(invoker.events) == 2)
    second = invoker.events[1]["Records"]
    assert sorted(r["body"] for r in second) == ["a", "b"]
    assert {r["attributes"]["ApproximateReceiveCount"] for r in second} == {"2"}
    wait_until(lambda: queue_depth(sqs, url) == 0)


def test_message_goes_to_the_dlq_after_max_receive_count(
    sqs: Any, function_arn: str, start_source: Callable[..., SqsEventSource]
) -> None:
    # Given maxReceiveCount 2 and a handler that always reports the message as failed
    url, arn = make_queue(sqs, "poison", visibility=1, max_receive=2)
    dlq_url = sqs.get_queue_url(QueueName="poison-dlq")["QueueUrl"]

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    invoker = RecordingInvoker(handler)
    map_queue(arn, function_arn, BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"])
    start_source(invoker)

    # When a poison message is sent
    sqs.send_message(QueueUrl=url, MessageBody="poison")

    # Then it is delivered exactly twice and then moved to the DLQ
    wait_until(lambda: queue_depth(sqs, dlq_url) == 1)
    assert [r["attributes"]["ApproximateReceiveCount"] for r in invoker.records()] == ["1", "2"]
    assert queue_depth(sqs, url) == 0
    moved = sqs.receive_message(QueueUrl=dlq_url)["Messages"]
    assert moved[0]["Body"] == "poison"


def test_fifo_order_holds_per_group_and_a_failure_blocks_its_group(
    sqs: Any, function_arn: str, start_source: Callable[..., SqsEventSource]
) -> None:
    # Given a FIFO queue, two groups, batches of 2, two pollers, and a handler that fails a-2 once
    # (reporting the rest of its group after it as failed, as a FIFO partial-batch handler must)
    url, arn = make_queue(sqs, "inventory.fifo", visibility=1)
    in_flight: set[str] = set()
    overlaps: list[str] = []
    processed: dict[str, list[str]] = {"a": [], "b": []}
    failed_once = threading.Event()
    lock = threading.Lock()

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        groups = {r["attributes"]["MessageGroupId"] for r in event["Records"]}
        with lock:
            overlaps.extend(groups & in_flight)
            in_flight.update(groups)
        time.sleep(0.02)  # widen the window in which a second batch of the same group could slip in
        failures: list[dict[str, str]] = []
        blocked: set[str] = set()
        for record in event["Records"]:
            group = record["attributes"]["MessageGroupId"]
            if group in blocked or (record["body"] == "a-2" and not failed_once.is_set()):
                failed_once.set()
                blocked.add(group)
                failures.append({"itemIdentifier": record["messageId"]})
                continue
            with lock:
                processed[group].append(record["body"])
        with lock:
            in_flight.difference_update(groups)
        return {"batchItemFailures": failures}

    invoker = RecordingInvoker(handler)
    map_queue(arn, function_arn, BatchSize=2, FunctionResponseTypes=["ReportBatchItemFailures"])
    start_source(invoker, concurrency_per_mapping=2)

    # When both groups are sent interleaved
    for i in range(1, 5):
        for group in ("a", "b"):
            sqs.send_message(
                QueueUrl=url,
                MessageBody=f"{group}-{i}",
                MessageGroupId=group,
                MessageDeduplicationId=f"{group}-{i}",
            )

    # Then each group is processed in send order, never two batches of a group at once
    wait_until(lambda: len(processed["a"]) == 4 and len(processed["b"]) == 4)
    assert processed["a"] == ["a-1", "a-2", "a-3", "a-4"]
    assert processed["b"] == ["b-1", "b-2", "b-3", "b-4"]
    assert overlaps == []
    fifo_attributes = invoker.records()[0]["attributes"]
    assert {"MessageGroupId", "MessageDeduplicationId", "SequenceNumber"} <= set(fifo_attributes)


def test_batching_window_gathers_a_fuller_batch(
    sqs: Any, function_arn: str, start_source: Callable[..., SqsEventSource]
) -> None:
    # Given batch size 3 and a 2 s batching window scaled to 0.5 s
    url, arn = make_queue(sqs, "windowed")
    map_queue(arn, function_arn, BatchSize=3, MaximumBatchingWindowInSeconds=2)
    invoker = RecordingInvoker()
    start_source(invoker, time_scale=0.25)

    # When three messages are sent one after another
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")

    # Then they arrive as one batch
    invoker.wait_for(lambda: len(invoker.records()) == 3)
    assert [len(e["Records"]) for e in invoker.events] == [3]


def test_disabled_mapping_delivers_nothing_until_enabled(
    sqs: Any, function_arn: str, start_source: Callable[..., SqsEventSource]
) -> None:
    # Given a disabled mapping
    url, arn = make_queue(sqs, "paused")
    mapping = map_queue(arn, function_arn, BatchSize=5, Enabled=False)
    invoker = RecordingInvoker()
    start_source(invoker)

    # When a message is sent
    sqs.send_message(QueueUrl=url, MessageBody="waiting")

    # Then nothing is delivered while disabled, and the message arrives once the mapping is enabled
    time.sleep(0.3)  # a negative can only be observed over time
    assert invoker.events == []
    boto3.client("lambda", region_name=REGION).update_event_source_mapping(UUID=mapping, Enabled=True)
    invoker.wait_for(lambda: len(invoker.records()) == 1)
    assert invoker.records()[0]["body"] == "waiting"


def test_a_mapping_keeps_as_many_batches_in_flight_as_the_function_has_workers(
    sqs: Any, function_arn: str, start_source: Callable[..., SqsEventSource]
) -> None:
    # Given a function with four workers whose invocations wait until four are running at once
    url, arn = make_queue(sqs, "wide")
    running: set[int] = set()
    most = 0
    lock = threading.Lock()
    all_in = threading.Event()

    def handler(event: dict[str, Any]) -> None:
        nonlocal most
        with lock:
            running.add(threading.get_ident())
            most = max(most, len(running))
            if len(running) == 4:
                all_in.set()
        all_in.wait(5)
        with lock:
            running.discard(threading.get_ident())

    invoker = RecordingInvoker(handler)
    invoker.workers_per_function = 4  # type: ignore[attr-defined]
    map_queue(arn, function_arn, BatchSize=1)
    source = start_source(invoker)

    # When eight messages wait
    for i in range(8):
        sqs.send_message(QueueUrl=url, MessageBody=f"m-{i}")

    # Then four batches were in flight together (the default of two would never let them meet)
    wait_until(lambda: len(invoker.events) == 8)
    assert source.concurrency_per_mapping == 4
    assert most == 4
    assert all_in.is_set()
