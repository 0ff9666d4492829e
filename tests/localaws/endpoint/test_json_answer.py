"""Answers written by ``json_answer`` are moto's serialiser's, byte for byte, or left to it.

Each case is an action's result as moto's handlers return them (plain dicts and lists in an ``ActionResult``
or ``DynamoResult``), for the operations the endpoint's fast path serves. Both writers answer it through a
real moto handler; the status, headers and body must be equal. The cases cover every type a JSON output
shape holds (strings and Enums, numbers, booleans, blobs as bytes and text, timestamps, nested structures,
lists, maps, a recursive DynamoDB attribute value), names moto's picker finds by alias, keys it ignores, and
what is left to moto (errors, paginated results, a None element, a tuple, an object, a document).
"""

from __future__ import annotations

import datetime
import json
from enum import Enum
from typing import Any, ClassVar

import pytest
from moto.core.responses import ActionResult, EmptyResult, PaginatedResult
from moto.dynamodb.exceptions import ResourceNotFoundException
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.events.responses import EventsHandler
from moto.kinesis.responses import KinesisResponse
from moto.sqs.responses import SQSResponse
from moto.stepfunctions.responses import StepFunctionResponse

from localaws.endpoint.json_answer import JsonAnswers

_TARGETS: dict[type, str] = {
    DynamoHandler: "DynamoDB_20120810",
    SQSResponse: "AmazonSQS",
    EventsHandler: "AWSEvents",
    KinesisResponse: "Kinesis_20131202",
    StepFunctionResponse: "AWSStepFunctions",
}
_WHEN = datetime.datetime(2026, 11, 29, 7, 30, 5, 123456, tzinfo=datetime.UTC)


class Status(Enum):
    RUNNING = "RUNNING"


class Opaque:
    """An object where a dict is expected: moto's picker reads its attributes, left to moto."""

    Item: ClassVar[dict[str, Any]] = {"pk": {"S": "a"}}


def _every_attribute_type() -> dict[str, Any]:
    return {
        "pk": {"S": "order-1"},
        "n": {"N": "42.5"},
        "raw": {"B": b"\x00\x01binary"},
        "tags": {"SS": ["a", "b"]},
        "sizes": {"NS": ["1", "2"]},
        "blobs": {"BS": [b"x", b"y"]},
        "nested": {"M": {"inner": {"L": [{"S": "deep"}, {"M": {"flag": {"BOOL": False}}}]}}},
        "nothing": {"NULL": True},
        "yes": {"BOOL": True},
        "unicode": {"S": "Ada Lovelace, 12 St James's Square \u00e9\u4e2d"},
    }


CASES: list[tuple[str, type, str, Any]] = [
    ("get item, every type", DynamoHandler, "GetItem", DynamoResult({"Item": _every_attribute_type()})),
    ("get item, absent", DynamoHandler, "GetItem", DynamoResult({})),
    (
        "get item, capacity by index",
        DynamoHandler,
        "GetItem",
        DynamoResult(
            {
                "Item": {"pk": {"S": "a"}},
                "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5, "Table": {"CapacityUnits": 1}},
            }
        ),
    ),
    (
        "query",
        DynamoHandler,
        "Query",
        DynamoResult(
            {
                "Items": [_every_attribute_type(), {"pk": {"S": "b"}}],
                "Count": 2,
                "ScannedCount": 7,
                "LastEvaluatedKey": {"pk": {"S": "b"}},
            }
        ),
    ),
    ("put item", DynamoHandler, "PutItem", DynamoResult({})),
    ("update item", DynamoHandler, "UpdateItem", DynamoResult({"Attributes": {"c": {"N": "3"}}})),
    (
        "transact write",
        DynamoHandler,
        "TransactWriteItems",
        ActionResult(
            {
                "ConsumedCapacity": [{"TableName": "t", "CapacityUnits": 2.0, "WriteCapacityUnits": 2.0}],
                "ItemCollectionMetrics": {},
            }
        ),
    ),
    ("empty result", DynamoHandler, "DeleteItem", EmptyResult()),
    ("no value", DynamoHandler, "PutItem", ActionResult(None)),
    ("keys moto ignores", DynamoHandler, "GetItem", DynamoResult({"Item": {"a": {"S": "x"}}, "Extra": 1})),
    ("a member by its snake_case name", DynamoHandler, "GetItem", ActionResult({"item": {"a": {"S": "x"}}})),
    ("a None member is left out", DynamoHandler, "GetItem", ActionResult({"Item": None})),
    (
        "receive message",
        SQSResponse,
        "ReceiveMessage",
        ActionResult(
            {
                "Messages": [
                    {
                        "MessageId": "m-1",
                        "ReceiptHandle": "r-1",
                        "MD5OfBody": "0" * 32,
                        "Body": "hello",
                        "Attributes": {"SentTimestamp": "1700000000000", "ApproximateReceiveCount": "1"},
                        "MessageAttributes": {
                            "text": {"StringValue": "v", "DataType": "String"},
                            "bin": {"BinaryValue": b"\x01\x02", "DataType": "Binary"},
                            "textbin": {"BinaryValue": "plain text", "DataType": "Binary"},
                        },
                    }
                ]
            }
        ),
    ),
    ("send message", SQSResponse, "SendMessage", ActionResult({"MessageId": "m", "MD5OfMessageBody": "d"})),
    (
        "put events",
        EventsHandler,
        "PutEvents",
        ActionResult(
            {"FailedEntryCount": 1, "Entries": [{"EventId": "e-1"}, {"ErrorCode": "X", "ErrorMessage": "y"}]}
        ),
    ),
    (
        "get records",
        KinesisResponse,
        "GetRecords",
        ActionResult(
            {
                "Records": [
                    {
                        "SequenceNumber": "1",
                        "ApproximateArrivalTimestamp": _WHEN,
                        "Data": b"payload",
                        "PartitionKey": "p",
                    }
                ],
                "NextShardIterator": "it",
                "MillisBehindLatest": 0,
            }
        ),
    ),
    (
        "describe execution",
        StepFunctionResponse,
        "DescribeExecution",
        ActionResult(
            {
                "executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:e",
                "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m",
                "name": "e",
                "status": Status.RUNNING,
                "startDate": _WHEN,
                "stopDate": _WHEN.replace(microsecond=0),
                "input": "{}",
                "inputDetails": {"included": True},
                "redriveCount": 0,
            }
        ),
    ),
    (
        "execution history",
        StepFunctionResponse,
        "GetExecutionHistory",
        ActionResult(
            {
                "events": [
                    {
                        "timestamp": _WHEN,
                        "type": "ExecutionStarted",
                        "id": 1,
                        "previousEventId": 0,
                        "executionStartedEventDetails": {"input": "{}", "roleArn": "arn:aws:iam::1:role/r"},
                    }
                ]
            }
        ),
    ),
    ("send task success", StepFunctionResponse, "SendTaskSuccess", EmptyResult()),
]

# Left to moto's serialiser whole (each is still compared with moto's answer).
LEFT_TO_MOTO: list[tuple[str, type, str, Any]] = [
    ("an error", DynamoHandler, "GetItem", ActionResult(ResourceNotFoundException())),
    ("a None element", DynamoHandler, "Query", ActionResult({"Items": [None]})),
    ("a tuple for a list", DynamoHandler, "Query", ActionResult({"Items": ({"a": {"S": "x"}},)})),
    ("an object for a structure", DynamoHandler, "GetItem", ActionResult(Opaque())),
    ("a number for a string", SQSResponse, "SendMessage", ActionResult({"MessageId": 7})),
    ("a string for a number", DynamoHandler, "Query", ActionResult({"Count": "2"})),
    ("a bool for an integer", DynamoHandler, "Query", ActionResult({"Count": True})),
    (
        "a None map value",
        SQSResponse,
        "ReceiveMessage",
        ActionResult({"Messages": [{"Attributes": {"a": None}}]}),
    ),
    (
        "paginated",
        StepFunctionResponse,
        "ListExecutions",
        PaginatedResult({"executions": [{"executionArn": "a", "name": "n", "startDate": _WHEN}]}),
    ),
]


def _handler(handler_class: type, operation: str) -> Any:
    handler = handler_class()
    handler.querystring = {}
    handler.headers = {"X-Amz-Target": f"{_TARGETS[handler_class]}.{operation}"}
    handler.response_headers = {"server": "amazon.com"}
    return handler


def _both(handler_class: type, operation: str, result: Any) -> tuple[Any, Any, bool]:
    """moto's answer, ours, and whether ours was left to moto."""
    handler = _handler(handler_class, operation)
    theirs = handler.serialized(result)
    left: list[bool] = []

    def moto_serialized(value: Any) -> Any:
        left.append(True)
        return handler.serialized(value)

    ours = JsonAnswers().serialized(operation, _handler(handler_class, operation), result, moto_serialized)
    return theirs, ours, bool(left)


@pytest.mark.parametrize(("label", "handler_class", "operation", "result"), CASES, ids=[c[0] for c in CASES])
def test_a_covered_answer_is_written_as_moto_writes_it(
    label: str, handler_class: type, operation: str, result: Any
) -> None:
    # Given an action's result, When both serialisers answer it
    theirs, ours, left = _both(handler_class, operation, result)
    # Then it was written here, and status, headers and body are moto's, byte for byte
    assert not left, label
    assert ours == theirs
    assert isinstance(ours[2], str) and json.loads(ours[2]) is not None


@pytest.mark.parametrize(
    ("label", "handler_class", "operation", "result"), LEFT_TO_MOTO, ids=[c[0] for c in LEFT_TO_MOTO]
)
def test_what_is_not_covered_is_left_to_moto(
    label: str, handler_class: type, operation: str, result: Any
) -> None:
    # Given a result this module does not write, When both answer it
    try:
        theirs: Any = _handler(handler_class, operation).serialized(result)
    except Exception as exc:  # moto's serialiser fails on it: ours must fail the same way
        with pytest.raises(type(exc)):
            JsonAnswers().serialized(
                operation,
                _handler(handler_class, operation),
                result,
                _handler(handler_class, operation).serialized,
            )
        return
    _, ours, left = _both(handler_class, operation, result)
    # Then moto wrote it, and the answer is moto's
    assert left, label
    assert ours == theirs


def test_the_dynamodb_attribute_value_shape_is_written_through_its_recursion() -> None:
    # Given an item nested five maps deep
    value: dict[str, Any] = {"S": "bottom"}
    for depth in range(5):
        value = {"M": {f"level{depth}": value}}
    theirs, ours, left = _both(DynamoHandler, "GetItem", DynamoResult({"Item": {"deep": value}}))
    # Then it is written here as moto writes it
    assert not left
    assert ours == theirs
