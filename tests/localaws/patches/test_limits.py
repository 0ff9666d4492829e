"""AWS's payload size limits at the local endpoint: what AWS refuses is refused, with AWS's code and message,
and what AWS takes, up to the last byte, is taken. Through boto3 and through the stock AWS CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws.endpoint.defaults import DEFAULT_REGION, TEST_CREDENTIALS, local_client
from localaws.endpoint.server import LocalEndpoint
from localaws.patches import limits

SOURCE = "orderflow.orders"
BUS = "fixture-orders"


class Endpoint:
    """The local endpoint with the size limits in, and nothing deployed: all these tests need."""

    def __init__(self, endpoint: LocalEndpoint) -> None:
        self.endpoint_url = endpoint.url
        self.region = DEFAULT_REGION

    def client(self, service: str) -> Any:
        return local_client(service, endpoint_url=self.endpoint_url, region=self.region)


@pytest.fixture(scope="module")
def local_aws() -> Iterator[Endpoint]:
    endpoint = LocalEndpoint(port=0)
    endpoint.start()
    limits.SIZE_LIMITS.install()
    try:
        local = Endpoint(endpoint)
        local.client("events").create_event_bus(Name=BUS)
        yield local
    finally:
        limits.SIZE_LIMITS.uninstall()
        endpoint.stop()


DETAIL_TYPE = "OrderPlaced"
ROLE = "arn:aws:iam::123456789012:role/states"


def detail_of(size: int) -> str:
    """A JSON object of exactly ``size`` UTF-8 bytes."""
    skeleton = json.dumps({"pad": ""})
    return json.dumps({"pad": "x" * (size - len(skeleton))})


def entry_of(size: int, **extra: Any) -> dict[str, Any]:
    """A PutEvents entry whose size, as EventBridge counts it, is ``size``."""
    overhead = limits.put_events_entry_size({"Source": SOURCE, "DetailType": DETAIL_TYPE, **extra})
    return {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": detail_of(size - overhead), **extra}


def error_of(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    return dict(caught.value.response["Error"])


# -- EventBridge PutEvents -----------------------------------------------------------------------------


def test_entry_size_is_counted_as_aws_documents_it() -> None:
    # Given an entry with a time, UTF-8 text and resources
    entry = {
        "Time": "2026-01-01T00:00:00Z",
        "Source": "src",
        "DetailType": "dt",
        "Detail": '{"name": "Ådå"}',
        "Resources": ["arn:a", "é"],
        "EventBusName": "not counted",
    }

    # When / Then: 14 for Time, then UTF-8 bytes of Source, DetailType, Detail and each resource
    assert limits.put_events_entry_size(entry) == 14 + 3 + 2 + len('{"name": "Ådå"}'.encode()) + 5 + 2


def test_put_events_takes_entries_up_to_the_limit_and_refuses_one_byte_more(local_aws: Endpoint) -> None:
    events = local_aws.client("events")
    limit = limits.PUT_EVENTS_MAX_BYTES

    # Given two entries that together are exactly at the limit: accepted
    half = entry_of(limit // 2, EventBusName=BUS)
    rest = entry_of(limit - limit // 2, EventBusName=BUS)
    assert events.put_events(Entries=[half, rest])["FailedEntryCount"] == 0

    # When one byte more (a multi-byte character in place of one ASCII byte)
    over = dict(rest, Detail=rest["Detail"].replace("x", "é", 1))

    # Then the whole request is refused, as AWS refuses it
    assert error_of(lambda: events.put_events(Entries=[half, over])) == {
        "Code": "ValidationException",
        "Message": "Total size of the entries in the request is over the limit.",
    }


def test_put_events_counts_time_and_resources(local_aws: Endpoint) -> None:
    events = local_aws.client("events")
    # Given an entry at the limit without Time
    at_limit = entry_of(limits.PUT_EVENTS_MAX_BYTES, EventBusName=BUS)
    assert events.put_events(Entries=[at_limit])["FailedEntryCount"] == 0

    # When / Then: a Time (14 bytes) or a resource takes it over
    assert (
        "over the limit"
        in error_of(lambda: events.put_events(Entries=[dict(at_limit, Time="2026-01-01T00:00:00Z")]))[
            "Message"
        ]
    )
    assert (
        "over the limit"
        in error_of(lambda: events.put_events(Entries=[dict(at_limit, Resources=["r"])]))["Message"]
    )


def test_a_detail_that_is_not_an_object_or_nests_too_deep_fails_alone(local_aws: Endpoint) -> None:
    events = local_aws.client("events")
    good = {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": "{}", "EventBusName": BUS}
    # Given entries whose Detail is an array, nests one level deeper than PutEvents reads, or just as deep
    levels = limits.PUT_EVENTS_MAX_NESTING
    too_deep = '{"a":' * (levels + 1) + "1" + "}" * (levels + 1)
    deepest = '{"a":' * (levels - 1) + "[]" + "}" * (levels - 1)
    entries = [
        dict(good, Detail="[1, 2]"),
        good,
        dict(good, Detail=too_deep),
        dict(good, Detail=deepest),
    ]

    # When they are put together
    answer = events.put_events(Entries=entries)

    # Then each malformed one fails in its place, and the others are put
    malformed = {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert answer["FailedEntryCount"] == 2
    assert answer["Entries"][0] == malformed
    assert answer["Entries"][2] == malformed
    assert "EventId" in answer["Entries"][1]
    assert "EventId" in answer["Entries"][3]


# -- Step Functions StartExecution -------------------------------------------------------------------


@pytest.fixture
def pass_machine(local_aws: Endpoint) -> str:
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    created = local_aws.client("stepfunctions").create_state_machine(
        name=f"limits-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
    )
    return str(created["stateMachineArn"])


def test_start_execution_takes_256_kib_of_input_and_refuses_one_byte_more(
    local_aws: Endpoint, pass_machine: str
) -> None:
    stepfunctions = local_aws.client("stepfunctions")
    limit = limits.STATE_MACHINE_INPUT_MAX_BYTES

    # Given an input of exactly 262,144 UTF-8 bytes: accepted
    stepfunctions.start_execution(stateMachineArn=pass_machine, input=detail_of(limit))

    # When the input is one byte longer (counted in UTF-8 bytes, not characters)
    over = detail_of(limit).replace("x", "é", 1)

    # Then StartExecution answers AWS's validation error
    assert error_of(lambda: stepfunctions.start_execution(stateMachineArn=pass_machine, input=over)) == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value at 'input' failed to satisfy constraint: "
        "Member must have length less than or equal to 262144",
    }


# -- SQS -----------------------------------------------------------------------------------------------


def test_sqs_counts_utf8_bytes_and_attributes_against_the_queue_limit(local_aws: Endpoint) -> None:
    sqs = local_aws.client("sqs")
    # Given a queue whose MaximumMessageSize is 1 KiB
    url = sqs.create_queue(
        QueueName=f"limits-{uuid.uuid4().hex[:8]}", Attributes={"MaximumMessageSize": "1024"}
    )["QueueUrl"]
    attribute = {"k": {"DataType": "String", "StringValue": "v" * 10}}  # 1 + 6 + 10 = 17 bytes

    # When a message fills it exactly, body and attribute together: accepted
    sqs.send_message(QueueUrl=url, MessageBody="x" * (1024 - 17), MessageAttributes=attribute)

    # Then one byte more is refused: as a multi-byte character (moto counts characters) ...
    expected = {
        "Code": "InvalidParameterValue",
        "Message": "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.",
    }
    body = "é" + "x" * (1024 - 17 - 1)  # 1,008 characters, 1,009 bytes
    got = error_of(lambda: sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attribute))
    assert {key: got[key] for key in expected} == expected
    # ... or as one more byte of an attribute (moto leaves attributes out)
    longer = {"k": {"DataType": "String", "StringValue": "v" * 11}}
    got = error_of(
        lambda: sqs.send_message(QueueUrl=url, MessageBody="x" * (1024 - 17), MessageAttributes=longer)
    )
    assert {key: got[key] for key in expected} == expected


def test_sqs_batch_total_is_at_most_1_mib(local_aws: Endpoint) -> None:
    sqs = local_aws.client("sqs")
    url = sqs.create_queue(QueueName=f"limits-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    quarter = limits.SQS_BATCH_MAX_BYTES // 4

    # Given four messages of exactly a quarter MiB each: accepted
    entries = [{"Id": str(i), "MessageBody": "x" * quarter} for i in range(4)]
    assert len(sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"]) == 4

    # When one of them carries a 1-byte-longer body
    entries[3] = {"Id": "3", "MessageBody": "x" * (quarter + 1)}

    # Then the batch is refused as AWS refuses it
    error = error_of(lambda: sqs.send_message_batch(QueueUrl=url, Entries=entries))
    assert error["Code"] == "AWS.SimpleQueueService.BatchRequestTooLong"
    assert error["Message"] == (
        "Batch requests cannot be longer than 1048576 bytes. "
        f"You have sent {limits.SQS_BATCH_MAX_BYTES + 1} bytes."
    )


# -- SNS -----------------------------------------------------------------------------------------------


def test_sns_publish_is_at_most_256_kib_with_its_attributes(local_aws: Endpoint) -> None:
    sns = local_aws.client("sns")
    topic = sns.create_topic(Name=f"limits-{uuid.uuid4().hex[:8]}")["TopicArn"]
    limit = limits.SNS_DEFAULT_MESSAGE_MAX_BYTES
    attribute = {"k": {"DataType": "String", "StringValue": "v"}}  # 1 + 6 + 1 = 8 bytes

    # Given a message that fills the topic's default limit with its attribute: accepted
    sns.publish(TopicArn=topic, Message="x" * (limit - 8), MessageAttributes=attribute)

    # When one byte more, then Publish is refused with AWS's code and message
    expected = {"Code": "InvalidParameter", "Message": "Invalid parameter: Message too long"}
    one_more = "x" * (limit - 7)
    got = error_of(lambda: sns.publish(TopicArn=topic, Message=one_more, MessageAttributes=attribute))
    assert {key: got[key] for key in expected} == expected
    got = error_of(lambda: sns.publish(TopicArn=topic, Message="é" * (limit // 2) + "x"))
    assert {key: got[key] for key in expected} == expected


def test_sns_topic_maximum_message_size_and_batch_total(local_aws: Endpoint) -> None:
    sns = local_aws.client("sns")
    topic = sns.create_topic(Name=f"limits-{uuid.uuid4().hex[:8]}")["TopicArn"]
    # Given a topic raised to 1 MiB: 300 KB is taken
    sns.set_topic_attributes(TopicArn=topic, AttributeName="MaximumMessageSize", AttributeValue="1048576")
    sns.publish(TopicArn=topic, Message="x" * 300_000)

    # When a batch's messages together pass it
    entries = [{"Id": str(i), "Message": "x" * 300_000} for i in range(4)]

    # Then PublishBatch answers BatchRequestTooLong
    got = error_of(lambda: sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries))
    assert got["Code"] == "BatchRequestTooLong"
    assert got["Message"] == "The length of all the messages put together is more than the limit."


# -- the stock AWS CLI -----------------------------------------------------------------------------------


def _aws_cli(local_aws: Endpoint, *arguments: str) -> subprocess.CompletedProcess[str]:
    aws = Path(sys.executable).parent / "aws"
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": TEST_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": TEST_CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": local_aws.region,
    }
    return subprocess.run(
        [str(aws), *arguments, "--endpoint-url", local_aws.endpoint_url, "--output", "json"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def test_the_aws_cli_gets_aws_errors_for_oversized_payloads(
    local_aws: Endpoint, pass_machine: str, tmp_path: Path
) -> None:
    # Given an entry one byte over PutEvents' limit, and an input one byte over StartExecution's
    entries = tmp_path / "entries.json"
    entries.write_text(json.dumps([entry_of(limits.PUT_EVENTS_MAX_BYTES + 1, EventBusName=BUS)]))
    execution_input = tmp_path / "input.json"
    execution_input.write_text(detail_of(limits.STATE_MACHINE_INPUT_MAX_BYTES + 1))

    # When the CLI sends them
    put = _aws_cli(local_aws, "events", "put-events", "--entries", f"file://{entries}")
    start = _aws_cli(
        local_aws,
        "stepfunctions",
        "start-execution",
        "--state-machine-arn",
        pass_machine,
        "--input",
        f"file://{execution_input}",
    )

    queue = local_aws.client("sqs").create_queue(QueueName=f"limits-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    topic = local_aws.client("sns").create_topic(Name=f"limits-{uuid.uuid4().hex[:8]}")["TopicArn"]
    message = tmp_path / "message.txt"
    message.write_text("x" * (limits.SQS_DEFAULT_MESSAGE_MAX_BYTES + 1))
    send = _aws_cli(
        local_aws, "sqs", "send-message", "--queue-url", queue, "--message-body", f"file://{message}"
    )
    notice = tmp_path / "notice.txt"
    notice.write_text("x" * (limits.SNS_DEFAULT_MESSAGE_MAX_BYTES + 1))
    publish = _aws_cli(local_aws, "sns", "publish", "--topic-arn", topic, "--message", f"file://{notice}")

    # Then each fails with AWS's error
    assert send.returncode != 0
    assert "(InvalidParameterValue) when calling the SendMessage operation" in send.stderr
    assert "Message must be shorter than 1048576 bytes" in send.stderr
    assert publish.returncode != 0
    assert "(InvalidParameter) when calling the Publish operation: Invalid parameter: Message too long" in (
        publish.stderr
    )
    assert put.returncode != 0
    assert "(ValidationException) when calling the PutEvents operation: Total size of the entries" in (
        put.stderr
    )
    assert start.returncode != 0
    assert "(ValidationException) when calling the StartExecution operation" in start.stderr
    assert "less than or equal to 262144" in start.stderr


# -- the engine's own limit --------------------------------------------------------------------------------


def test_the_embedded_engine_fails_a_state_over_256_kib_with_data_limit_exceeded(local_aws: Endpoint) -> None:
    stepfunctions = local_aws.client("stepfunctions")
    # Given a machine whose one state doubles its input, and an input of 150 KB (under StartExecution's limit)
    definition = {
        "StartAt": "Double",
        "States": {"Double": {"Type": "Pass", "Parameters": {"a.$": "$.pad", "b.$": "$.pad"}, "End": True}},
    }
    machine = stepfunctions.create_state_machine(
        name=f"limits-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]

    # When it runs
    started = stepfunctions.start_execution(stateMachineArn=machine, input=json.dumps({"pad": "x" * 150_000}))

    # Then the execution fails as on AWS, with States.DataLimitExceeded
    for _ in range(200):
        described = stepfunctions.describe_execution(executionArn=started["executionArn"])
        if described["status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert (described["status"], described.get("error")) == ("FAILED", "States.DataLimitExceeded")
