"""End to end on the embedded AWS: PutEvents → SUCCEEDED, with every side effect where AWS would put it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from infra.naming import DEFAULT_PREFIX, Names
from localaws.local_aws import LocalAws
from localaws.stepfunctions.history import read_history, states_entered
from localaws.tools.orders import CATALOGUE_UNITS, order_placed_entry, sample, seed_catalogue
from services.shared.contract import EVENT_SOURCE, ORDER_COMPLETED
from workflows import states

REPO = Path(__file__).resolve().parents[2]
NAMES = Names(DEFAULT_PREFIX)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    cdk_out = REPO / "cdk.out"
    if not (cdk_out / "manifest.json").is_file():
        environment = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}
        subprocess.run(
            [str(REPO / "node_modules/.bin/cdk"), "synth", "-q"], cwd=REPO, env=environment, check=True
        )
    local = LocalAws(
        cdk_out=cdk_out,
        port=0,
        run_dir=tmp_path_factory.mktemp("e2e-run"),
        time_scale=1 / 60,
        watch_assembly=False,
    )
    local.start()
    try:
        seed_catalogue(local.report)
        yield local
    finally:
        local.stop()


def _wait(condition: Any, *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _item(local: LocalAws, table: str, key: dict[str, str]) -> dict[str, Any] | None:
    response = local.client("dynamodb").get_item(
        TableName=NAMES(table), Key={k: {"S": v} for k, v in key.items()}, ConsistentRead=True
    )
    return response.get("Item")


def _drained(local: LocalAws, queue_url: str) -> bool:
    """Nothing waiting, in flight or delayed: every message was handled (and deleted) or never came."""
    counts = local.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return all(int(value) == 0 for value in counts.values())


def test_an_order_placed_on_the_bus_completes_with_every_side_effect(stack: LocalAws) -> None:
    # Given a queue that hears OrderCompleted on the bus (what a downstream system would subscribe)
    sqs, events = stack.client("sqs"), stack.client("events")
    inbox = sqs.create_queue(QueueName="e2e-completed")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="e2e-completed",
        EventBusName=NAMES("orders"),
        EventPattern=json.dumps({"source": [EVENT_SOURCE], "detail-type": [ORDER_COMPLETED]}),
    )
    events.put_targets(
        Rule="e2e-completed", EventBusName=NAMES("orders"), Targets=[{"Id": "q", "Arn": inbox_arn}]
    )
    detail = sample("multi-sku", order_id="e2e-1")

    # When the order is posted to the bus
    response = events.put_events(Entries=[order_placed_entry(detail, NAMES("orders"))])
    assert response["FailedEntryCount"] == 0

    # Then one execution reaches SUCCEEDED through payment, inventory and shipping
    sfn = stack.client("stepfunctions")
    machine = next(iter(stack.report.outputs.values()))["StateMachineArn"]

    def finished() -> dict[str, Any] | None:
        runs = sfn.list_executions(stateMachineArn=machine)["executions"]
        return next((r for r in runs if r["status"] != "RUNNING"), None)

    execution = _wait(finished, timeout=60, what="the execution to finish")
    assert execution["status"] == "SUCCEEDED"
    entered = states_entered(read_history(sfn, execution["executionArn"]))
    for state in (
        states.REQUEST_PAYMENT,
        states.RESERVE_ITEM,
        states.REQUEST_SHIPMENT,
        states.ORDER_COMPLETED,
    ):
        assert state in entered
    assert entered.count(states.RESERVE_ITEM) == 3

    # And DynamoDB holds the completed order, one charge, and the stock taken for each SKU
    order = _item(stack, "orders", {"orderId": "e2e-1"})
    assert order is not None
    assert order["status"] == {"S": "COMPLETED"}
    assert order["trackingNumber"]["S"]
    assert _item(stack, "payments", {"orderId": "e2e-1", "entryId": "CHARGE"}) is not None
    assert _item(stack, "payments", {"orderId": "e2e-1", "entryId": "REFUND"}) is None
    for item in detail["items"]:
        stock = _item(stack, "inventory", {"sku": item["sku"], "recordId": "STOCK"})
        assert stock is not None
        assert int(stock["available"]["N"]) == CATALOGUE_UNITS - item["quantity"]

    # And the customer was told through SNS → SQS → the notification service (placed and shipped, not paid):
    # every notice was published before the execution ended, so once the queue is drained none is late
    notification_queue = sqs.get_queue_url(QueueName=NAMES("notification"))["QueueUrl"]
    _wait(lambda: _drained(stack, notification_queue), timeout=30, what="the notification queue to drain")
    notices = stack.client("dynamodb").query(
        TableName=NAMES("notifications"),
        KeyConditionExpression="orderId = :o",
        ExpressionAttributeValues={":o": {"S": "e2e-1"}},
        ConsistentRead=True,
    )["Items"]
    assert sorted(row["status"]["S"] for row in notices) == ["placed", "shipped"]
    assert _drained(stack, sqs.get_queue_url(QueueName=NAMES.dlq("notification"))["QueueUrl"])

    # And the lifecycle reached Kinesis and the analytics aggregates, revenue included
    def revenue() -> dict[str, Any] | None:
        return _item(stack, "analytics", {"pk": "revenue", "sk": detail["currency"]})

    booked = _wait(revenue, timeout=20, what="revenue in the analytics table")
    assert Decimal(booked["amount"]["N"]) >= Decimal(detail["totalAmount"])
    for status in ("placed", "paid", "shipped"):
        assert _item(stack, "analytics", {"pk": "status", "sk": status}) is not None

    # And OrderCompleted went back onto the bus
    delivered = _wait(
        lambda: sqs.receive_message(QueueUrl=inbox, WaitTimeSeconds=1).get("Messages"),
        timeout=10,
        what="OrderCompleted on the bus",
    )
    completed = json.loads(delivered[0]["Body"])
    assert completed["detail-type"] == ORDER_COMPLETED
    assert completed["detail"]["orderId"] == "e2e-1"
