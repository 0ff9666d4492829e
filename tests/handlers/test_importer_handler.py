"""The importer's handler, given the SQS event S3 notifications come in; moto's S3, EventBridge, DynamoDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from services.importer import dal
from services.importer.handler import _limits, handler
from services.importer.models import ImporterSettings
from services.shared import aws, idempotency
from services.shared.settings import read_settings
from tests.helpers.events import load_event, sqs_event
from tests.helpers.lambda_context import FakeLambdaContext

REGION = "us-east-1"
BUCKET = "orderflow-imports-123456789012-us-east-1"
TEMPLATE = "sqs_s3_import"
FULL_INVOCATION_MS = 15 * 60 * 1000  # the importer's timeout: no file here runs short of time


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The bucket, the orders bus with a rule copying OrderPlaced to a queue, the orders table."""
    monkeypatch.setenv("EVENT_BUS_NAME", "orderflow-orders")
    monkeypatch.setenv("ORDERS_TABLE", "orderflow-orders")
    monkeypatch.setenv("IMPORT_ORDERS_PER_SECOND", "1000")
    monkeypatch.setenv("IMPORT_MAX_QUEUE_BACKLOG", "5")
    monkeypatch.setenv("IMPORT_MAX_RUNNING_ORDERS", "100")
    with mock_aws():
        aws.reset_clients()
        idempotency.reset_persistence()
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="orderflow-orders",
            KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        events = boto3.client("events", region_name=REGION)
        events.create_event_bus(Name="orderflow-orders")
        dynamodb.create_table(
            TableName="orderflow-idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sqs = boto3.client("sqs", region_name=REGION)
        imports = sqs.create_queue(QueueName="orderflow-imports")["QueueUrl"]
        payment = sqs.create_queue(QueueName="orderflow-payment")["QueueUrl"]
        monkeypatch.setenv("IMPORT_QUEUE_URL", imports)
        monkeypatch.setenv("BACKLOG_QUEUE_URLS", payment)
        url = sqs.create_queue(QueueName="placed")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name="placed",
            EventBusName="orderflow-orders",
            EventPattern=json.dumps({"source": ["orderflow.orders"], "detail-type": ["OrderPlaced"]}),
        )
        events.put_targets(Rule="placed", EventBusName="orderflow-orders", Targets=[{"Id": "q", "Arn": arn}])
        yield {
            "s3": s3,
            "sqs": sqs,
            "queue": url,
            "dynamodb": dynamodb,
            "imports": imports,
            "payment": payment,
        }
        aws.reset_clients()
        idempotency.reset_persistence()


def _order(order_id: str) -> str:
    return json.dumps({**load_event("eventbridge_order_placed")["detail"], "orderId": order_id})


def _notification_for(key: str, version: str) -> dict[str, Any]:
    """The stored event, naming the object just put (keys are URL-encoded, as S3 sends them)."""
    body = json.loads(load_event(TEMPLATE)["Records"][0]["body"])
    record = body["Records"][0]
    record["s3"]["object"].update({"key": key.replace(" ", "+"), "versionId": version})
    return body


def _published(cloud: dict[str, Any]) -> list[str]:
    messages = cloud["sqs"].receive_message(QueueUrl=cloud["queue"], MaxNumberOfMessages=10)
    return [json.loads(m["Body"])["detail"]["orderId"] for m in messages.get("Messages", [])]


def test_an_uploaded_file_is_imported_and_reported(cloud: dict[str, Any]) -> None:
    # Given a file with a space in its name, two orders and a bad line
    key = "incoming/partner orders.jsonl"
    body = "\n".join([_order("h-1"), "nope", _order("h-2")]).encode()
    version = cloud["s3"].put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"]
    event = sqs_event(TEMPLATE, [{"body": _notification_for(key, version)}])

    # When the handler gets its notification
    response = handler(event, FakeLambdaContext(remaining_millis=FULL_INVOCATION_MS))

    # Then the message succeeds, both orders are on the bus, and the report names the version it read
    assert response == {"batchItemFailures": []}
    assert sorted(_published(cloud)) == ["h-1", "h-2"]
    report = cloud["s3"].get_object(Bucket=BUCKET, Key="processed/partner orders.jsonl.report.json")
    assert report["Metadata"] == {
        "status": "completed",
        "source-version": version,
        "orders": "3",
        "accepted": "2",
        "known": "0",
        "rejected": "1",
    }
    content = json.loads(report["Body"].read())
    assert content["source"]["key"] == key
    assert [o["outcome"] for o in content["orders"]] == ["accepted", "rejected", "accepted"]


def test_the_s3_test_event_is_skipped(cloud: dict[str, Any]) -> None:
    test_event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-20T10:00:00.000Z",
        "Bucket": BUCKET,
    }
    assert handler(
        sqs_event(TEMPLATE, [{"body": test_event}]), FakeLambdaContext(remaining_millis=FULL_INVOCATION_MS)
    ) == {"batchItemFailures": []}
    assert _published(cloud) == []


def test_an_unreadable_file_fails_its_message_after_writing_why(cloud: dict[str, Any]) -> None:
    # Given a file that is not JSON at all
    key = "incoming/garbage.json"
    version = cloud["s3"].put_object(Bucket=BUCKET, Key=key, Body=b"Invalid JSON content")["VersionId"]
    event = sqs_event(TEMPLATE, [{"body": _notification_for(key, version)}])

    # When the handler gets its notification
    response = handler(event, FakeLambdaContext(remaining_millis=FULL_INVOCATION_MS))

    # Then the message is reported failed (it comes back, then goes to the DLQ), after a rejected report
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    report = cloud["s3"].head_object(Bucket=BUCKET, Key="processed/garbage.json.report.json")
    assert report["Metadata"]["status"] == "rejected"


class RunsShortContext(FakeLambdaContext):
    """An invocation with time for ``long_calls`` looks at the clock, then less than the pause margin."""

    def __init__(self, long_calls: int) -> None:
        super().__init__(remaining_millis=FULL_INVOCATION_MS)
        self._long_calls = long_calls

    def get_remaining_time_in_millis(self) -> int:
        self._long_calls -= 1
        return FULL_INVOCATION_MS if self._long_calls >= 0 else 1_000


def _all_published(cloud: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    while batch := _published_and_deleted(cloud):
        ids += batch
    return ids


def _published_and_deleted(cloud: dict[str, Any]) -> list[str]:
    messages = (
        cloud["sqs"].receive_message(QueueUrl=cloud["queue"], MaxNumberOfMessages=10).get("Messages", [])
    )
    for message in messages:
        cloud["sqs"].delete_message(QueueUrl=cloud["queue"], ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(m["Body"])["detail"]["orderId"] for m in messages]


def _continuations(cloud: dict[str, Any]) -> list[dict[str, Any]]:
    """What the importer queued for itself, taken off the import queue."""
    messages = (
        cloud["sqs"].receive_message(QueueUrl=cloud["imports"], MaxNumberOfMessages=10).get("Messages", [])
    )
    for message in messages:
        cloud["sqs"].delete_message(QueueUrl=cloud["imports"], ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


def _import_in_segments(
    cloud: dict[str, Any], key: str, body: bytes, *, long_calls: int, deliveries: int = 1
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Upload, then deliver the notification and each continuation ``deliveries`` times, each delivery
    an invocation that runs short; returns the continuations seen and the report."""
    version = cloud["s3"].put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"]
    pending: list[dict[str, Any]] = [_notification_for(key, version)]
    seen: list[dict[str, Any]] = []
    while pending:
        message = pending.pop(0)
        for _ in range(deliveries):
            response = handler(sqs_event(TEMPLATE, [{"body": message}]), RunsShortContext(long_calls))
            assert response == {"batchItemFailures": []}
        queued = _continuations(cloud)
        assert len(queued) <= 1, queued  # a delivery of a finished segment queues nothing again
        seen += queued
        pending += queued
        assert len(seen) < 50, "the import never finishes"
    report = cloud["s3"].get_object(
        Bucket=BUCKET, Key=f"processed/{key.removeprefix('incoming/')}.report.json"
    )
    return seen, {"metadata": report["Metadata"], **json.loads(report["Body"].read())}


def test_a_file_longer_than_an_invocation_goes_on_in_the_next_and_is_reported_whole(
    cloud: dict[str, Any],
) -> None:
    # Given 25 orders with a bad line among them, and invocations that run short of time after a few orders
    lines = [_order(f"long-{i}") for i in range(25)]
    lines.insert(10, "not json")
    body = ("\n".join(lines) + "\n").encode()

    # When the file is imported
    continuations, report = _import_in_segments(cloud, "incoming/long.jsonl", body, long_calls=6)

    # Then it took several invocations, each starting at a line boundary after the one before
    assert len(continuations) >= 3
    starts = [c["importContinuation"]["line"] for c in continuations]
    assert starts == sorted(set(starts)) and starts[0] > 1
    # And every order was published once, and the one report judges every line once, in file order
    assert sorted(_all_published(cloud)) == sorted(f"long-{i}" for i in range(25))
    assert [o["line"] for o in report["orders"]] == list(range(1, 27))
    assert report["orders"][10]["outcome"] == "rejected"
    assert report["totals"] == {"orders": 26, "accepted": 25, "known": 0, "rejected": 1}
    assert report["metadata"]["accepted"] == "25"
    assert report["status"] == "completed" and report["bytesRead"] == len(body)


def test_a_continuation_delivered_twice_publishes_nothing_twice(cloud: dict[str, Any]) -> None:
    # Given a file imported over several invocations
    body = ("\n".join(_order(f"dup-{i}") for i in range(15)) + "\n").encode()

    # When the notification and every continuation are each delivered twice
    continuations, report = _import_in_segments(cloud, "incoming/dup.jsonl", body, long_calls=5, deliveries=2)

    # Then each segment ran once: every order was published once, and the totals count each line once
    assert len(continuations) >= 2
    assert sorted(_all_published(cloud)) == sorted(f"dup-{i}" for i in range(15))
    assert report["totals"] == {"orders": 15, "accepted": 15, "known": 0, "rejected": 0}
    assert [o["line"] for o in report["orders"]] == list(range(1, 16))


def test_a_json_array_goes_on_from_the_item_it_reached(cloud: dict[str, Any]) -> None:
    # Given a JSON array of 12 orders, one of them refused, imported by invocations that run short
    items = [json.loads(_order(f"arr-{i}")) for i in range(12)]
    items[7]["currency"] = "euro"
    body = json.dumps(items, indent=1).encode()

    # When it is imported
    continuations, report = _import_in_segments(cloud, "incoming/long.json", body, long_calls=5)

    # Then later segments skip the items already decided: each item is reported and published once
    assert len(continuations) >= 2
    assert [o["item"] for o in report["orders"]] == list(range(1, 13))
    assert [o["outcome"] for o in report["orders"]].count("rejected") == 1
    assert sorted(_all_published(cloud)) == sorted(f"arr-{i}" for i in range(12) if i != 7)
    assert report["totals"] == {"orders": 12, "accepted": 11, "known": 0, "rejected": 1}


def test_the_running_orders_limit_counts_executions_one_page_past_its_ceiling(
    cloud: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the order workflow with three running executions and one ended
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name="orderflow-order-workflow",
        definition=json.dumps(
            {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": True}}}
        ),
        roleArn="arn:aws:iam::123456789012:role/orderflow-workflow",
    )["stateMachineArn"]
    executions = [sfn.start_execution(stateMachineArn=arn, name=f"o-{i}")["executionArn"] for i in range(4)]
    sfn.stop_execution(executionArn=executions[0])
    monkeypatch.setenv("ORDER_STATE_MACHINE_ARN", arn)
    monkeypatch.setenv("IMPORT_MAX_RUNNING_ORDERS", "1")

    # When the importer builds its limits from its settings
    limits = {limit.name: limit for limit in _limits(read_settings(ImporterSettings))}

    # Then the running-orders limit reads the running ones only, one page of ceiling + 1, and is exceeded
    running = limits["running-orders"]
    assert running.ceiling == 1
    assert running.gauge.count() == 2
    assert dal.RunningOrders(arn, 10).count() == 3
    assert limits["callback-queue-backlog"].gauge.count() == 0
