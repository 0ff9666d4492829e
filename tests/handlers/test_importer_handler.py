"""The importer's handler, given the SQS event S3 notifications come in; moto's S3, EventBridge, DynamoDB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from services.importer.handler import handler
from services.shared import aws, idempotency
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
        yield {"s3": s3, "sqs": sqs, "queue": url, "dynamodb": dynamodb, "imports": imports, "payment": payment}
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
    assert handler(sqs_event(TEMPLATE, [{"body": test_event}]), FakeLambdaContext(remaining_millis=FULL_INVOCATION_MS)) == {
        "batchItemFailures": []
    }
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
