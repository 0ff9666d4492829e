"""Kinesis → Lambda event-source mappings read by ``KinesisEventSource`` (fake invoker)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localaws.delivery.kinesis import KinesisEventSource
from tests.localaws.support import MOTO_CONFIG, RecordingInvoker, placeholder_function, wait_until

REGION = "us-east-1"
ACCOUNT = "123456789012"
STREAM = "order-analytics"
pytestmark = pytest.mark.timeout(30)


def batches(invoker: RecordingInvoker) -> list[list[str]]:
    """The decoded data of each invocation, in order."""
    return [[decode(r) for r in event["Records"]] for event in list(invoker.events)]


def decode(record: dict[str, Any]) -> str:
    return base64.b64decode(record["kinesis"]["data"]).decode()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config=MOTO_CONFIG):
        yield


@pytest.fixture
def kinesis(aws: None) -> Any:
    client = boto3.client("kinesis", region_name=REGION)
    client.create_stream(StreamName=STREAM, ShardCount=1)
    return client


@pytest.fixture
def stream_arn(kinesis: Any) -> str:
    return str(kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamARN"])


@pytest.fixture
def function_arn(aws: None) -> str:
    return placeholder_function("analytics")


@pytest.fixture
def failures_queue(aws: None) -> tuple[str, str]:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="analytics-failures")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


@pytest.fixture
def start_source() -> Iterator[Callable[..., KinesisEventSource]]:
    started: list[KinesisEventSource] = []

    def start(invoker: RecordingInvoker, **kwargs: Any) -> KinesisEventSource:
        source = KinesisEventSource(invoker=invoker, region=REGION, account_id=ACCOUNT, **kwargs)
        source.start()
        started.append(source)
        return source

    yield start
    for source in started:
        source.stop()


def map_stream(stream_arn: str, function_arn: str, **settings: Any) -> str:
    settings.setdefault("StartingPosition", "TRIM_HORIZON")
    return str(
        boto3.client("lambda", region_name=REGION).create_event_source_mapping(
            EventSourceArn=stream_arn, FunctionName=function_arn, **settings
        )["UUID"]
    )


def put(kinesis: Any, *payloads: str) -> list[str]:
    response = kinesis.put_records(
        StreamName=STREAM, Records=[{"Data": p.encode(), "PartitionKey": "pk"} for p in payloads]
    )
    return [r["SequenceNumber"] for r in response["Records"]]


def failure_records(url: str, count: int) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    found: list[dict[str, Any]] = []

    def collect() -> bool:
        found.extend(
            json.loads(m["Body"])
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        )
        return len(found) >= count

    wait_until(collect)
    return found


def test_records_arrive_in_lambdas_kinesis_event_shape(
    kinesis: Any, stream_arn: str, function_arn: str, start_source: Callable[..., KinesisEventSource]
) -> None:
    # Given a mapping from the start of the stream
    invoker = RecordingInvoker()
    mapping = map_stream(stream_arn, function_arn, BatchSize=10)
    source = start_source(invoker)

    # When records are put
    sequence_numbers = put(kinesis, '{"n": 1}', '{"n": 2}')

    # Then they arrive as AWS-shaped records and the checkpoint moves past them
    wait_until(lambda: sum(len(b) for b in batches(invoker)) == 2)
    record = invoker.events[0]["Records"][0]
    shard_id = "shardId-000000000000"
    assert decode(record) == '{"n": 1}'
    assert record["kinesis"]["partitionKey"] == "pk"
    assert record["kinesis"]["sequenceNumber"] == sequence_numbers[0]
    assert record["kinesis"]["kinesisSchemaVersion"] == "1.0"
    assert isinstance(record["kinesis"]["approximateArrivalTimestamp"], float)
    assert record["eventID"] == f"{shard_id}:{sequence_numbers[0]}"
    assert record["eventSource"] == "aws:kinesis" and record["eventName"] == "aws:kinesis:record"
    assert record["eventSourceARN"] == stream_arn and record["awsRegion"] == REGION
    assert record["invokeIdentityArn"].endswith(":role/analytics-role")
    wait_until(lambda: source.checkpoint(mapping, shard_id) == int(sequence_numbers[-1]))


def test_partial_failure_resumes_from_the_lowest_failed_sequence_number(
    kinesis: Any, stream_arn: str, function_arn: str, start_source: Callable[..., KinesisEventSource]
) -> None:
    # Given ReportBatchItemFailures and a handler that fails "b" and "d" the first time it sees the batch
    first_time = threading.Event()

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        if first_time.is_set():
            return {"batchItemFailures": []}
        first_time.set()
        failed = [r["kinesis"]["sequenceNumber"] for r in event["Records"] if decode(r) in ("d", "b")]
        return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}

    invoker = RecordingInvoker(handler)
    put(kinesis, "a", "b", "c", "d")
    map_stream(stream_arn, function_arn, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])

    # When the source runs
    start_source(invoker, time_scale=0.01)

    # Then the retry starts at "b" (everything before it was checkpointed), including "c"
    wait_until(lambda: len(invoker.events) == 2)
    assert batches(invoker) == [["a", "b", "c", "d"], ["b", "c", "d"]]


def test_bisect_isolates_the_failing_record_and_sends_it_to_the_on_failure_destination(
    kinesis: Any,
    stream_arn: str,
    function_arn: str,
    failures_queue: tuple[str, str],
    start_source: Callable[..., KinesisEventSource],
) -> None:
    # Given bisect on error, one retry, an SQS on-failure destination and a handler that chokes on "poison"
    def handler(event: dict[str, Any]) -> None:
        if any(decode(r) == "poison" for r in event["Records"]):
            raise ValueError("cannot aggregate")

    invoker = RecordingInvoker(handler)
    url, queue_arn = failures_queue
    sequence_numbers = put(kinesis, "a", "b", "poison", "d")
    map_stream(
        stream_arn,
        function_arn,
        BatchSize=10,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )

    # When the source runs
    start_source(invoker, time_scale=0.01)

    # Then the batch is halved until "poison" stands alone, retried once, then skipped and described
    (failure,) = failure_records(url, 1)
    wait_until(lambda: ["d"] in batches(invoker))
    assert batches(invoker) == [
        ["a", "b", "poison", "d"],
        ["a", "b"],
        ["poison", "d"],
        ["poison"],
        ["poison"],
        ["d"],
    ]
    info = failure["KinesisBatchInfo"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == sequence_numbers[2]
    assert info["batchSize"] == 1 and info["shardId"] == "shardId-000000000000"
    assert info["streamArn"] == stream_arn
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["functionArn"] == function_arn
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    assert failure["responseContext"]["functionError"] == "Unhandled"


def test_without_bisect_the_whole_batch_is_retried_then_skipped(
    kinesis: Any,
    stream_arn: str,
    function_arn: str,
    failures_queue: tuple[str, str],
    start_source: Callable[..., KinesisEventSource],
) -> None:
    # Given a handler that always fails and two retries
    def handler(event: dict[str, Any]) -> None:
        raise RuntimeError("down")

    invoker = RecordingInvoker(handler)
    url, queue_arn = failures_queue
    map_stream(
        stream_arn,
        function_arn,
        BatchSize=10,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    start_source(invoker, time_scale=0.01)

    # When two records are put, and later a third
    sequence_numbers = put(kinesis, "x", "y")
    (failure,) = failure_records(url, 1)
    put(kinesis, "z")

    # Then the batch ran exactly 3 times (the first try and two retries), was skipped as a whole, and
    # reading went on with the next record
    wait_until(lambda: ["z"] in batches(invoker))
    delivered = batches(invoker)
    assert delivered[: delivered.index(["z"])] == [["x", "y"]] * 3
    info = failure["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == tuple(sequence_numbers)
    assert info["batchSize"] == 2


def test_batching_window_gathers_records_put_separately(
    kinesis: Any, stream_arn: str, function_arn: str, start_source: Callable[..., KinesisEventSource]
) -> None:
    # Given a 5 s batching window scaled to 0.5 s
    invoker = RecordingInvoker()
    map_stream(stream_arn, function_arn, BatchSize=10, MaximumBatchingWindowInSeconds=5)
    start_source(invoker, time_scale=0.1)

    # When three records are put one by one
    for payload in ("a", "b", "c"):
        kinesis.put_record(StreamName=STREAM, Data=payload.encode(), PartitionKey="pk")

    # Then one invocation carries all three
    wait_until(lambda: sum(len(b) for b in batches(invoker)) == 3)
    assert batches(invoker) == [["a", "b", "c"]]


def test_latest_skips_records_put_before_the_mapping_starts(
    kinesis: Any, stream_arn: str, function_arn: str, start_source: Callable[..., KinesisEventSource]
) -> None:
    # Given records already in the stream and a LATEST mapping
    put(kinesis, "old")
    map_stream(stream_arn, function_arn, BatchSize=10, StartingPosition="LATEST")
    invoker = RecordingInvoker()
    start_source(invoker)

    # When a new record is put
    put(kinesis, "new")

    # Then only the new one is delivered
    wait_until(lambda: len(invoker.events) == 1)
    assert batches(invoker) == [["new"]]
