from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3

from services.analytics.handler import handler
from tests.handlers.conftest import REGION, Cloud
from tests.helpers.events import kinesis_event, load_event
from tests.helpers.lambda_context import FakeLambdaContext


def aggregates() -> dict[tuple[str, str], dict[str, Any]]:
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName="orderflow-analytics")["Items"]
    return {
        (item["pk"]["S"], item["sk"]["S"]): {
            "count": int(item["count"]["N"]),
            **({"amount": Decimal(item["amount"]["N"])} if "amount" in item else {}),
        }
        for item in items
    }


def test_lifecycle_events_are_aggregated(cloud: Cloud) -> None:
    # Given a placed and a shipped event for one order
    event = load_event("kinesis_lifecycle")
    # When the batch is processed
    response = handler(event, FakeLambdaContext())
    # Then statuses, per-minute rates and the shipped order's revenue are counted
    assert response == {"batchItemFailures": []}
    assert aggregates() == {
        ("status", "placed"): {"count": 1},
        ("status", "shipped"): {"count": 1},
        ("rate", "2025-11-23T10:15"): {"count": 1},
        ("rate", "2025-11-23T10:16"): {"count": 1},
        ("revenue", "EUR"): {"count": 1, "amount": Decimal("24.98")},
    }


def test_replayed_records_are_not_counted_twice(cloud: Cloud) -> None:
    # Given a batch already processed
    event = load_event("kinesis_lifecycle")
    handler(event, FakeLambdaContext())
    # When it is replayed (Kinesis retry), and the producer re-sent one event under a new sequence number
    replayed = handler(event, FakeLambdaContext())
    body = {
        "orderId": "ord-1001",
        "status": "shipped",
        "amount": "24.98",
        "currency": "EUR",
        "at": "2025-11-23T10:16:02Z",
    }
    resent = handler(kinesis_event([body], first_sequence=1), FakeLambdaContext())
    # Then both succeed (a duplicate is not a failure to retry) and the aggregates did not move
    assert replayed == {"batchItemFailures": []}
    assert resent == {"batchItemFailures": []}
    assert aggregates()[("status", "shipped")] == {"count": 1}
    assert aggregates()[("revenue", "EUR")] == {"count": 1, "amount": Decimal("24.98")}


def test_malformed_records_are_skipped_without_stalling_the_shard(cloud: Cloud) -> None:
    # Given a batch with unreadable data between two valid events
    valid = {
        "orderId": "ord-7",
        "status": "placed",
        "amount": "1.00",
        "currency": "EUR",
        "at": "2025-11-23T10:00:00Z",
    }
    event = kinesis_event([valid, b"\xff not json", {"orderId": "ord-7"}, valid | {"orderId": "ord-8"}])
    # When processed
    response = handler(event, FakeLambdaContext())
    # Then no record is reported failed, and both valid events are counted
    assert response == {"batchItemFailures": []}
    assert aggregates()[("status", "placed")] == {"count": 2}


def test_storage_failure_reports_the_record_for_retry(cloud: Cloud) -> None:
    # Given the analytics table is missing (a transient-looking storage failure)
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName="orderflow-analytics")
    event = load_event("kinesis_lifecycle")
    # When the batch is processed
    response = handler(event, FakeLambdaContext())
    # Then every record is reported by sequence number so Lambda retries from there
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": record["kinesis"]["sequenceNumber"]} for record in event["Records"]
        ]
    }


def test_a_failed_batch_is_counted_when_retried(cloud: Cloud) -> None:
    # Given a batch whose aggregates could not be stored (the table is gone for a while)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.delete_table(TableName="orderflow-analytics")
    event = load_event("kinesis_lifecycle")
    failed = handler(event, FakeLambdaContext())
    # When the table is back and Lambda retries the batch
    dynamodb.create_table(
        TableName="orderflow-analytics",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    retried = handler(event, FakeLambdaContext())
    # Then the failed attempt did not mark the events counted: the retry counts each exactly once
    assert len(failed["batchItemFailures"]) == len(event["Records"])
    assert retried == {"batchItemFailures": []}
    assert aggregates()[("status", "shipped")] == {"count": 1}
    assert aggregates()[("revenue", "EUR")] == {"count": 1, "amount": Decimal("24.98")}
