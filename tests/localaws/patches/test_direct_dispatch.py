"""localaws.patches.direct_dispatch: the fast path answers and fails as botocore does, call for call."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

from localaws.endpoint.defaults import MOTO_CONFIG
from localaws.patches import speedups
from localaws.patches.direct_dispatch import COVERED_OPERATIONS, DirectClient, stats

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/states"
# What differs between any two calls even on one path: generated ids, dates, checksums over them.
_VOLATILE_HEADERS = {"date", "x-amzn-requestid", "x-amz-crc32", "x-amz-id-2", "content-length"}
_VOLATILE_KEYS = {"RequestId", "MessageId", "SequenceNumber", "EventId", "HTTPHeaders"}


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    speedups.uninstall()
    stats.reset()
    yield
    speedups.uninstall()


def task_client(service: str) -> Any:
    """A client exactly as moto's Step Functions engine builds one for a task."""
    return boto_client_for(REGION, service)


def normalized(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: normalized(v) for k, v in value.items() if k not in _VOLATILE_KEYS}
        if "HTTPHeaders" in value:
            out["HTTPHeaders"] = {
                k: v for k, v in value["HTTPHeaders"].items() if k.lower() not in _VOLATILE_HEADERS
            }
        return out
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


def outcome(call: Callable[[], Any]) -> dict[str, Any]:
    """What the engine can observe of a call: the parsed answer, or the exception's class, response, text."""
    try:
        response = call()
    except ClientError as error:
        return {
            "raised": type(error).__name__,
            "response": normalized(error.response),
            "text": re.sub(r"RequestId: \S+|Request ID: \S+", "<id>", str(error)),
        }
    if hasattr(response.get("Payload"), "read"):
        response = {**response, "Payload": response["Payload"].read()}
    return {"response": normalized(response)}


Calls = Callable[[Any, Any], list[Callable[[], Any]]]


def compare(service: str, setup: Callable[[], Any], calls: Calls) -> list[dict[str, Any]]:
    """Run the same calls in two fresh, equal moto worlds: through moto's own task client, then the fast path.

    Returns the fast path's outcomes after asserting they equal the botocore path's, call for call.
    """
    runs: list[list[dict[str, Any]]] = []
    for fast in (False, True):
        with mock_aws(config=MOTO_CONFIG):
            context = setup()
            client: Any = task_client(service)
            if fast:
                client = DirectClient(client)
            runs.append([outcome(call) for call in calls(client, context)])
    assert runs[1] == runs[0]
    return runs[1]


def make_table(name: str = "orders") -> None:
    task_client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


# --- DynamoDB -------------------------------------------------------------------------------------------


def test_dynamodb_item_calls_answer_the_same_and_take_the_fast_path() -> None:
    # Given a table, and an item with number, binary and set values
    item = {
        "orderId": {"S": "o-1"},
        "amount": {"N": "19.98"},
        "blob": {"B": b"\x00\x01"},
        "tags": {"SS": ["a"]},
    }

    def calls(ddb: Any, _: Any) -> list[Callable[[], Any]]:
        return [
            lambda: ddb.put_item(TableName="orders", Item=item, ReturnValues="ALL_OLD"),
            lambda: ddb.put_item(TableName="orders", Item=item, ReturnValues="ALL_OLD"),
            lambda: ddb.get_item(TableName="orders", Key={"orderId": {"S": "o-1"}}),
            lambda: ddb.update_item(
                TableName="orders",
                Key={"orderId": {"S": "o-1"}},
                UpdateExpression="SET #s = :s ADD visits :one",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": {"S": "PAID"}, ":one": {"N": "1"}},
                ReturnValues="ALL_NEW",
            ),
            lambda: ddb.delete_item(
                TableName="orders", Key={"orderId": {"S": "o-1"}}, ReturnValues="ALL_OLD"
            ),
        ]

    # When the calls run through moto's own client and through the fast path
    put_new, put_again, got, updated, deleted = compare("dynamodb", make_table, calls)

    # Then the answers are equal (binary values come back as bytes on both) and the fast path was taken
    assert "Attributes" not in put_new["response"]
    assert put_again["response"]["Attributes"]["blob"] == {"B": b"\x00\x01"}
    assert got["response"]["Item"]["amount"] == {"N": "19.98"}
    assert updated["response"]["Attributes"]["status"] == {"S": "PAID"}
    assert deleted["response"]["Attributes"]["visits"] == {"N": "1"}
    assert stats.snapshot() == {"direct": 5, "fallback": {}}


def test_dynamodb_errors_are_the_same_exceptions() -> None:
    # Given a table holding one order
    def setup() -> None:
        make_table()
        task_client("dynamodb").put_item(TableName="orders", Item={"orderId": {"S": "o-1"}})

    def calls(ddb: Any, _: Any) -> list[Callable[[], Any]]:
        return [
            lambda: ddb.put_item(
                TableName="orders",
                Item={"orderId": {"S": "o-1"}},
                ConditionExpression="attribute_not_exists(orderId)",
            ),
            lambda: ddb.get_item(TableName="nope", Key={"orderId": {"S": "o-1"}}),
            lambda: ddb.put_item(TableName="orders", Item={"orderId": {"S": ""}}),
        ]

    # When a conditional write fails, a table is missing, and a key is empty
    conditional, missing, empty_key = compare("dynamodb", setup, calls)

    # Then both paths raise the same modeled exceptions, with the same codes, messages and texts
    assert conditional["raised"] == "ConditionalCheckFailedException"
    assert conditional["response"]["ResponseMetadata"]["MaxAttemptsReached"] is True
    assert "reached max retries: 0" in conditional["text"]
    assert missing["raised"] == "ResourceNotFoundException"
    assert empty_key["response"]["Error"]["Code"] == "ValidationException"
    assert stats.snapshot()["direct"] == 3


# --- SQS, SNS, Kinesis, EventBridge, Lambda ----------------------------------------------------------------


def test_sqs_send_message_answers_and_errors_are_the_same() -> None:
    # Given a standard queue and a FIFO queue
    def setup() -> tuple[str, str]:
        sqs = task_client("sqs")
        standard = sqs.create_queue(QueueName="payment")["QueueUrl"]
        fifo = sqs.create_queue(QueueName="inventory.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        return standard, fifo

    attributes = {"kind": {"DataType": "String", "StringValue": "charge"}}

    def calls(sqs: Any, urls: tuple[str, str]) -> list[Callable[[], Any]]:
        standard, fifo = urls
        return [
            lambda: sqs.send_message(QueueUrl=standard, MessageBody='{"a": 1}', MessageAttributes=attributes),
            lambda: sqs.send_message(
                QueueUrl=fifo, MessageBody="x", MessageGroupId="SKU-1", MessageDeduplicationId="o-1-SKU-1"
            ),
            lambda: sqs.send_message(QueueUrl=fifo, MessageBody="x"),
            lambda: sqs.send_message(QueueUrl=f"{standard.rsplit('/', 1)[0]}/missing", MessageBody="x"),
            lambda: sqs.send_message(QueueUrl=standard, MessageBody="x", DelaySeconds=901),
        ]

    # When messages (and faulty messages) are sent on both paths
    sent, _, no_group, no_queue, too_late = compare("sqs", setup, calls)

    # Then answers and errors match, including SQS's query-compatible error codes
    assert sent["response"]["MD5OfMessageAttributes"]
    assert no_group["response"]["Error"]["Code"] == "MissingParameter"
    assert no_queue["raised"] == "QueueDoesNotExist"
    assert no_queue["response"]["Error"]["QueryErrorCode"] == "QueueDoesNotExist"
    assert too_late["response"]["Error"]["Code"] == "InvalidParameterValue"
    assert stats.snapshot()["direct"] == 5


def test_sns_publish_answers_and_errors_are_the_same() -> None:
    # Given a topic
    def setup() -> str:
        return str(task_client("sns").create_topic(Name="order-status")["TopicArn"])

    def calls(sns: Any, topic: str) -> list[Callable[[], Any]]:
        number = {"orderValue": {"DataType": "Number", "StringValue": "19.98"}}
        not_number = {"n": {"DataType": "Number", "StringValue": "not-a-number"}}
        return [
            lambda: sns.publish(TopicArn=topic, Message="placed", MessageAttributes=number),
            lambda: sns.publish(TopicArn=f"{topic}-missing", Message="x"),
            lambda: sns.publish(TopicArn=topic, Message="x", MessageAttributes=not_number),
        ]

    # When publishing, with attributes, to a missing topic, and with a bad attribute
    published, missing, bad = compare("sns", setup, calls)

    # Then both paths agree (query protocol: XML answers and errors)
    assert "ResponseMetadata" in published["response"]
    assert missing["raised"] == "NotFoundException"
    assert bad["response"]["Error"]["Code"] == "InvalidParameter"
    assert stats.snapshot()["direct"] == 3


def test_kinesis_put_record_answers_and_errors_are_the_same() -> None:
    # Given a stream of two shards
    def setup() -> None:
        task_client("kinesis").create_stream(StreamName="order-analytics", ShardCount=2)

    def calls(kinesis: Any, _: Any) -> list[Callable[[], Any]]:
        return [
            lambda: kinesis.put_record(StreamName="order-analytics", Data=b"{}", PartitionKey="o-1"),
            lambda: kinesis.put_record(StreamName="missing", Data=b"{}", PartitionKey="o-1"),
        ]

    # When a record is put, and one to a missing stream
    put, missing = compare("kinesis", setup, calls)

    # Then the same shard is chosen and the same error raised
    assert put["response"]["ShardId"].startswith("shardId-")
    assert missing["raised"] == "ResourceNotFoundException"
    assert stats.snapshot()["direct"] == 2


def test_events_put_events_answers_are_the_same() -> None:
    entry = {"Source": "orderflow.orders", "DetailType": "OrderPlaced", "Detail": '{"orderId": "o-1"}'}

    def calls(events: Any, _: Any) -> list[Callable[[], Any]]:
        return [
            lambda: events.put_events(Entries=[entry]),
            lambda: events.put_events(Entries=[{**entry, "EventBusName": "nope"}]),
            lambda: events.put_events(Entries=[]),
        ]

    # When events are put on the default bus, on a missing bus, and none at all
    accepted, on_missing_bus, empty = compare("events", lambda: None, calls)

    # Then per-entry outcomes agree (compare asserted equality; these pin what moto answers)
    assert accepted["response"]["FailedEntryCount"] == 0
    assert len(accepted["response"]["Entries"]) == 1
    assert on_missing_bus["raised"] == "ResourceNotFoundException"
    assert on_missing_bus["response"]["Error"]["Message"] == "Event bus nope does not exist."
    assert empty["response"]["Entries"] == []
    assert stats.snapshot()["direct"] == 3


def _function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def test_lambda_invoke_answers_and_errors_are_the_same() -> None:
    # Given a function (moto without Docker answers an invoke with the payload)
    def setup() -> None:
        iam = cast(Any, boto3).client("iam", region_name=REGION)
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        task_client("lambda").create_function(
            FunctionName="orders",
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": _function_zip()},
        )

    def calls(lam: Any, _: Any) -> list[Callable[[], Any]]:
        return [
            lambda: lam.invoke(FunctionName="orders", Payload=json.dumps({"n": 1})),
            lambda: lam.invoke(FunctionName="missing", Payload=b"{}"),
            lambda: lam.get_function(FunctionName="missing"),
        ]

    # When it is invoked, and a missing function is invoked
    invoked, missing_invoked, missing = compare("lambda", setup, calls)

    # Then the (streamed) payloads agree, as does the error of the uncovered call made through the wrapper
    assert json.loads(invoked["response"]["Payload"]) == {"n": 1}
    assert "Payload" in missing_invoked["response"]  # moto's Docker-less backend answers any name
    assert missing["raised"] == "ResourceNotFoundException"
    assert stats.snapshot()["direct"] == 2


# --- what is not covered ----------------------------------------------------------------------------------


@mock_aws(config=MOTO_CONFIG)
def test_uncovered_operations_and_retrying_clients_use_botocore() -> None:
    # Given a covered service whose client is wrapped, and a client set up to retry
    make_table()
    direct = DirectClient(task_client("dynamodb"))
    retrying = DirectClient(cast(Any, boto3).client("dynamodb", region_name=REGION))

    # When an uncovered operation and a covered one on the retrying client are called
    scanned = direct.scan(TableName="orders")
    retrying.put_item(TableName="orders", Item={"orderId": {"S": "o-1"}})

    # Then both still work, neither took the fast path, and the retrying client's fallback is counted
    assert scanned["Count"] == 0
    assert stats.snapshot() == {"direct": 0, "fallback": {"retrying-client": 1}}
    assert set(COVERED_OPERATIONS) >= {"dynamodb", "sqs", "sns", "kinesis", "events", "lambda"}


# --- through the engine -----------------------------------------------------------------------------------

_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|Request ID: \w+")


def _run_definition(definition: dict[str, Any], execution_input: dict[str, Any]) -> tuple[str, list[Any]]:
    sfn = cast(Any, boto3).client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name=f"m{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input))["executionArn"]
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.005)
    history = sfn.get_execution_history(executionArn=execution)["events"]
    cleaned = [
        json.loads(
            _IDS.sub("<id>", json.dumps({k: v for k, v in e.items() if k != "timestamp"}, default=str))
        )
        for e in history
    ]
    return sfn.describe_execution(executionArn=execution)["status"], cleaned


CONDITIONAL_WRITE = {
    "StartAt": "Record",
    "States": {
        "Record": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {
                "TableName": "orders",
                "Item": {"orderId": {"S.$": "$.orderId"}},
                "ConditionExpression": "attribute_not_exists(orderId)",
            },
            "ResultPath": "$.recorded",
            "Catch": [
                {
                    "ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
                    "ResultPath": "$.error",
                    "Next": "Duplicate",
                }
            ],
            "Next": "Queue",
        },
        "Queue": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl.$": "$.queueUrl", "MessageBody.$": "$"},
            "End": True,
        },
        "Duplicate": {"Type": "Pass", "End": True},
    },
}


def _conditional_write_world() -> list[tuple[str, list[Any]]]:
    """A fresh moto world: an order already recorded, a queue; a duplicate, a fresh and a misrouted order."""
    with mock_aws(config=MOTO_CONFIG):
        make_table()
        queue_url = task_client("sqs").create_queue(QueueName="payment")["QueueUrl"]
        task_client("dynamodb").put_item(TableName="orders", Item={"orderId": {"S": "dup"}})
        inputs = [
            {"orderId": "dup", "queueUrl": queue_url},
            {"orderId": "new-1", "queueUrl": queue_url},
            {"orderId": "new-2", "queueUrl": f"{queue_url}-missing"},
        ]
        return [_run_definition(CONDITIONAL_WRITE, data) for data in inputs]


def test_engine_error_names_and_histories_match_stock() -> None:
    # Given / When: the same workflow and orders on stock moto, then with the engine (and its fast path)
    stock = _conditional_write_world()
    speedups.install()
    ours = _conditional_write_world()

    # Then statuses and whole histories are the same, and the task calls took the fast path
    assert ours == stock
    assert [status for status, _ in ours] == ["SUCCEEDED", "SUCCEEDED", "FAILED"]
    caught = next(e for e in ours[0][1] if e["type"] == "TaskFailed")
    assert caught["taskFailedEventDetails"]["error"] == "DynamoDB.ConditionalCheckFailedException"
    failed = next(e for e in ours[2][1] if e["type"] == "TaskFailed")
    assert failed["taskFailedEventDetails"]["error"].startswith("SQS.")
    assert stats.snapshot()["direct"] == 5
