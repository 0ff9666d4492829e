"""The JSON fast path answers the workers' DynamoDB, SQS, EventBridge and Kinesis calls as the lean path does.

The same requests go to the endpoint in two worlds reset and seeded alike, the fast path off then on; the
status, every header but the date (in order, the request id by its form) and the body must be the same,
errors included (a failed condition, a cancelled transaction, a missing table, queue, bus or stream, invalid
parameters, over-size items and messages, malformed JSON), and the fast path must have answered the calls.
"""

from __future__ import annotations

import http.client
import json
import re
from typing import Any

from localaws.endpoint import json_fast_path
from localaws.endpoint.server import LocalEndpoint
from localaws.patches import speedups
from tests.localaws.endpoint.test_sfn_fast_path import Raw, comparable, fast_path_of

JSON_1_1 = "application/x-amz-json-1.1"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Kinesis records' arrival times, written by moto as seconds with a fraction.
_ARRIVAL = re.compile(r'("ApproximateArrivalTimestamp": )[0-9.]+')
_SWITCHES = (
    json_fast_path.DYNAMODB_HTTP,
    json_fast_path.SQS_HTTP,
    json_fast_path.EVENTS_HTTP,
    json_fast_path.KINESIS_HTTP,
)
_TABLE = {
    "TableName": "orders",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


def _item(pk: str, sk: str = "order", **extra: Any) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **extra}


class World:
    """A freshly reset and seeded moto with a table, a queue, a bus and a stream; the answers recorded, each
    with how many of its calls the fast path answered."""

    def __init__(self, endpoint: LocalEndpoint, fast: json_fast_path.JsonFastPath) -> None:
        self.raw = Raw(endpoint)
        self.fast = fast
        self.answers: list[tuple[str, tuple[Any, ...]]] = []
        reset = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=30)
        for path in ("/moto-api/reset", "/moto-api/seed?a=42"):
            reset.request("POST", path)
            reset.getresponse().read()
            speedups.clear_caches()
        raw = self.raw
        raw.ok("DynamoDB_20120810.CreateTable", _TABLE, scope="dynamodb")
        self.queue = raw.ok("AmazonSQS.CreateQueue", {"QueueName": "work"}, scope="sqs")["QueueUrl"]
        raw.ok("AWSEvents.CreateEventBus", {"Name": "orders"}, scope="events")
        raw.call(
            "Kinesis_20131202.CreateStream",
            {"StreamName": "feed", "ShardCount": 1},
            scope="kinesis",
            content_type=JSON_1_1,
        )

    def record(self, label: str, target: str, body: Any, scope: str, content_type: str) -> Any:
        before = self.fast.fast_requests
        status, headers, content = self.raw.call(target, body, scope=scope, content_type=content_type)
        text = _ARRIVAL.sub(r"\1<time>", _UUID.sub("<uuid>", content.decode()))
        shown = comparable((status, headers, text.encode()))
        # The body's text too: the same members in the same order at every depth, byte for byte.
        self.answers.append((label, (*shown, text, self.fast.fast_requests - before)))
        try:
            return json.loads(content)
        except ValueError:
            return None

    def dynamodb(self, label: str, operation: str, body: Any) -> Any:
        return self.record(
            label, f"DynamoDB_20120810.{operation}", body, "dynamodb", "application/x-amz-json-1.0"
        )

    def sqs(self, label: str, operation: str, body: Any) -> Any:
        return self.record(label, f"AmazonSQS.{operation}", body, "sqs", "application/x-amz-json-1.0")

    def events(self, label: str, body: Any) -> Any:
        return self.record(label, "AWSEvents.PutEvents", body, "events", JSON_1_1)

    def kinesis(self, label: str, operation: str, body: Any) -> Any:
        return self.record(label, f"Kinesis_20131202.{operation}", body, "kinesis", JSON_1_1)


def _dynamodb(w: World) -> None:
    call = w.dynamodb
    new = {"TableName": "orders", "ConditionExpression": "attribute_not_exists(pk)"}
    call("put", "PutItem", {**new, "Item": _item("o1", status={"S": "NEW"}, n={"N": "1"})})
    call("put, condition fails", "PutItem", {**new, "Item": _item("o1")})
    call(
        "put, condition fails, old item",
        "PutItem",
        {**new, "Item": _item("o1"), "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
    )
    call("put, missing table", "PutItem", {"TableName": "gone", "Item": _item("o1")})
    call("put, no key", "PutItem", {"TableName": "orders", "Item": {"pk": {"S": "o2"}}})
    call(
        "put, over 400 KB", "PutItem", {"TableName": "orders", "Item": _item("o3", big={"S": "x" * 410_000})}
    )
    call("put, number for a table name", "PutItem", {"TableName": 7, "Item": _item("o4")})
    call("put, malformed JSON", "PutItem", b"{not json")
    call("put, empty body", "PutItem", b"")
    call("get", "GetItem", {"TableName": "orders", "Key": _item("o1")})
    call(
        "get, consistent, projected",
        "GetItem",
        {"TableName": "orders", "Key": _item("o1"), "ConsistentRead": True, "ProjectionExpression": "n"},
    )
    call("get, absent", "GetItem", {"TableName": "orders", "Key": _item("zz")})
    call("get, missing table", "GetItem", {"TableName": "gone", "Key": _item("o1")})
    call("get, bad key", "GetItem", {"TableName": "orders", "Key": {"pk": {"S": "o1"}}})
    values = {":s": {"S": "PAID"}, ":one": {"N": "1"}, ":was": {"S": "NEW"}}
    update: dict[str, Any] = {
        "TableName": "orders",
        "Key": _item("o1"),
        "UpdateExpression": "SET #s = :s ADD n :one",
        "ConditionExpression": "#s = :was",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": values,
        "ReturnValues": "ALL_NEW",
    }
    call("update", "UpdateItem", update)
    call("update, condition fails", "UpdateItem", update)
    call("update, bad expression", "UpdateItem", {**update, "UpdateExpression": "SET = :s"})
    call(
        "update, unused value",
        "UpdateItem",
        {**update, "ExpressionAttributeValues": {**values, ":x": {"S": "x"}}},
    )
    key = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "o1"}}}
    call("query", "Query", {"TableName": "orders", **key})
    call("query, missing table", "Query", {"TableName": "gone", **key})
    call("query, bad condition", "Query", {"TableName": "orders", **key, "KeyConditionExpression": "n = :p"})
    call("scan", "Scan", {"TableName": "orders", "Limit": 1})
    transact = {
        "Put": {"TableName": "orders", "Item": _item("o5"), "ConditionExpression": "attribute_not_exists(pk)"}
    }
    call(
        "transact",
        "TransactWriteItems",
        {
            "TransactItems": [
                transact,
                {"Update": {**update, "ReturnValues": None, "ConditionExpression": "#s = :s"}},
            ]
        },
    )
    call("transact, cancelled", "TransactWriteItems", {"TransactItems": [transact]})
    call("transact, same item twice", "TransactWriteItems", {"TransactItems": [transact, transact]})
    call(
        "transact get",
        "TransactGetItems",
        {"TransactItems": [{"Get": {"TableName": "orders", "Key": _item("o5")}}]},
    )
    call(
        "batch write", "BatchWriteItem", {"RequestItems": {"orders": [{"PutRequest": {"Item": _item("o6")}}]}}
    )
    call("batch get", "BatchGetItem", {"RequestItems": {"orders": {"Keys": [_item("o6"), _item("o1")]}}})
    call("delete", "DeleteItem", {"TableName": "orders", "Key": _item("o6"), "ReturnValues": "ALL_OLD"})
    call("delete, missing table", "DeleteItem", {"TableName": "gone", "Key": _item("o6")})


def _sqs(w: World) -> None:
    call, queue = w.sqs, w.queue
    call("queue url", "GetQueueUrl", {"QueueName": "work"})
    call("queue url, missing", "GetQueueUrl", {"QueueName": "gone"})
    call(
        "send",
        "SendMessage",
        {
            "QueueUrl": queue,
            "MessageBody": "one",
            "MessageAttributes": {"a": {"DataType": "String", "StringValue": "b"}},
        },
    )
    call("send, missing queue", "SendMessage", {"QueueUrl": queue + "-gone", "MessageBody": "x"})
    call("send, over 256 KiB", "SendMessage", {"QueueUrl": queue, "MessageBody": "x" * 262_145})
    call("send, no body", "SendMessage", {"QueueUrl": queue})
    call("send, delay too long", "SendMessage", {"QueueUrl": queue, "MessageBody": "x", "DelaySeconds": 901})
    call(
        "send batch",
        "SendMessageBatch",
        {
            "QueueUrl": queue,
            "Entries": [{"Id": "1", "MessageBody": "two"}, {"Id": "2", "MessageBody": "three"}],
        },
    )
    call(
        "send batch, same ids",
        "SendMessageBatch",
        {"QueueUrl": queue, "Entries": [{"Id": "1", "MessageBody": "a"}, {"Id": "1", "MessageBody": "b"}]},
    )
    call(
        "attributes",
        "GetQueueAttributes",
        {"QueueUrl": queue, "AttributeNames": ["ApproximateNumberOfMessages"]},
    )
    received = call(
        "receive",
        "ReceiveMessage",
        {"QueueUrl": queue, "MaxNumberOfMessages": 2, "MessageAttributeNames": ["All"]},
    )
    handles = [message["ReceiptHandle"] for message in received["Messages"]]
    call(
        "visibility",
        "ChangeMessageVisibility",
        {"QueueUrl": queue, "ReceiptHandle": handles[0], "VisibilityTimeout": 0},
    )
    call("delete", "DeleteMessage", {"QueueUrl": queue, "ReceiptHandle": handles[1]})
    call("delete, bad handle", "DeleteMessage", {"QueueUrl": queue, "ReceiptHandle": "nope"})
    call(
        "delete batch",
        "DeleteMessageBatch",
        {"QueueUrl": queue, "Entries": [{"Id": "a", "ReceiptHandle": handles[0]}]},
    )
    call("receive, missing queue", "ReceiveMessage", {"QueueUrl": queue + "-gone"})


def _events(w: World) -> None:
    entry = {
        "Source": "orderflow",
        "DetailType": "OrderPlaced",
        "Detail": '{"id": 1}',
        "EventBusName": "orders",
    }
    w.events("put", {"Entries": [entry, {**entry, "EventBusName": "default"}]})
    w.events("put, missing bus", {"Entries": [{**entry, "EventBusName": "gone"}]})
    w.events("put, eleven entries", {"Entries": [entry] * 11})
    w.events("put, bad detail", {"Entries": [{**entry, "Detail": "{"}]})
    w.events("put, over 256 KiB", {"Entries": [{**entry, "Detail": json.dumps({"x": "y" * 262_200})}]})


def _kinesis(w: World) -> None:
    call = w.kinesis
    call("put", "PutRecord", {"StreamName": "feed", "Data": "aGk=", "PartitionKey": "p"})
    call("put, missing stream", "PutRecord", {"StreamName": "gone", "Data": "aGk=", "PartitionKey": "p"})
    call(
        "put records",
        "PutRecords",
        {"StreamName": "feed", "Records": [{"Data": "aGk=", "PartitionKey": "q"}]},
    )
    iterator = call(
        "iterator",
        "GetShardIterator",
        {"StreamName": "feed", "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"},
    )
    call(
        "iterator, missing shard",
        "GetShardIterator",
        {"StreamName": "feed", "ShardId": "shardId-9", "ShardIteratorType": "TRIM_HORIZON"},
    )
    call("records, bad iterator", "GetRecords", {"ShardIterator": "nope"})
    call("records", "GetRecords", {"ShardIterator": iterator["ShardIterator"]})


def world(endpoint: LocalEndpoint) -> list[tuple[str, tuple[Any, ...]]]:
    """The same calls in a fresh world, their answers in a comparable form."""
    w = World(endpoint, fast_path_of(endpoint))
    _dynamodb(w)
    _sqs(w)
    _events(w)
    _kinesis(w)
    return w.answers


def test_fast_path_answers_the_workers_calls_exactly_as_the_lean_path(fast_endpoint: LocalEndpoint) -> None:
    # Given the endpoint, its JSON fast path off, then on, in worlds reset and seeded alike
    for switch in _SWITCHES:
        switch.uninstall()
    lean = world(fast_endpoint)
    for switch in _SWITCHES:
        switch.install()
    # When the same calls are made
    quick = world(fast_endpoint)
    # Then every answer is the same: status, headers, body; errors included
    assert [label for label, _ in quick] == [label for label, _ in lean]
    for (label, on), (_, off) in zip(quick, lean, strict=True):
        assert on[:-1] == off[:-1], label
    # And the fast path answered every call of the second world but the malformed body (refused before it,
    # by the endpoint's JSON body check) and none of the first
    assert {label for label, answer in quick if answer[-1] != 1} == {"put, malformed JSON"}
    assert {answer[-1] for _, answer in lean} == {0}
    statuses = {label: answer[0] for label, answer in quick}
    assert statuses["put"] == statuses["transact"] == statuses["send"] == statuses["records"] == 200
    assert statuses["put, condition fails"] == statuses["transact, cancelled"] == 400
    assert statuses["send, missing queue"] == statuses["put, missing stream"] == 400
    assert statuses["put, malformed JSON"] == 400
