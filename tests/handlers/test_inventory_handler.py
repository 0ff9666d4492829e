from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from services.inventory.dal import seed_stock
from services.inventory.handler import handler
from tests.handlers.conftest import REGION, Cloud, Workflow
from tests.helpers.templates import template_body

QUEUE = "orderflow-inventory.fifo"
TEMPLATE = "sqs_inventory_reserve"
TABLE = "orderflow-inventory"


def inventory_body(
    token: str, action: str = "reserve", sku: str = "SKU-1", quantity: int = 2
) -> dict[str, Any]:
    return template_body(TEMPLATE) | {"taskToken": token, "action": action, "sku": sku, "quantity": quantity}


def row(sku: str, record_id: str) -> dict[str, Any] | None:
    return (
        boto3.client("dynamodb", region_name=REGION)
        .get_item(TableName=TABLE, Key={"sku": {"S": sku}, "recordId": {"S": record_id}})
        .get("Item")
    )


def available(sku: str) -> int:
    item = row(sku, "STOCK")
    assert item is not None
    return int(item["available"]["N"])


def test_seeding_sets_each_skus_stock(cloud: Cloud) -> None:
    # Given an empty inventory table
    # When the catalogue is seeded
    seed_stock(TABLE, [f"SKU-{n}" for n in range(1, 21)], 1000)
    # Then every SKU has the units
    assert available("SKU-1") == 1000
    assert available("SKU-20") == 1000


def test_reserve_takes_stock_and_holds_it_for_the_order(cloud: Cloud, workflow: Workflow) -> None:
    # Given 1000 units of SKU-1 and a workflow waiting for a reservation
    seed_stock(TABLE, ["SKU-1"], 1000)
    waiting = workflow.start()
    event = cloud.deliver(QUEUE, TEMPLATE, [inventory_body(waiting.token)], group_id="SKU-1")
    # When the reserve request is processed
    response = cloud.invoke(handler, event)
    # Then the workflow gets the reservation, and 2 units are held until it expires
    assert response == {"batchItemFailures": []}
    output = workflow.outcome(waiting)["output"]
    assert (output["sku"], output["quantity"], output["reservationId"]) == ("SKU-1", 2, "RES#ord-1001")
    assert abs(output["expiresAt"] - (time.time() + 3600)) < 60
    assert available("SKU-1") == 998
    reservation = row("SKU-1", "RES#ord-1001")
    assert reservation is not None
    assert reservation["ttl"]["N"] == str(output["expiresAt"])


def test_redelivered_reserve_returns_the_existing_reservation(cloud: Cloud, workflow: Workflow) -> None:
    # Given an order that already reserved 2 units
    seed_stock(TABLE, ["SKU-1"], 1000)
    first = workflow.start()
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [inventory_body(first.token)], group_id="SKU-1"))
    # When the reserve request comes again
    second = workflow.start()
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [inventory_body(second.token)], group_id="SKU-1"))
    # Then the same reservation is returned and stock moved only once
    assert workflow.outcome(second)["output"] == workflow.outcome(first)["output"]
    assert available("SKU-1") == 998


@pytest.mark.parametrize(("stock", "sku"), [(1, "SKU-1"), (None, "SKU-404")])
def test_short_stock_fails_the_task_with_out_of_stock(
    cloud: Cloud, workflow: Workflow, stock: int | None, sku: str
) -> None:
    # Given too little (or no) stock
    if stock is not None:
        seed_stock(TABLE, [sku], stock)
    waiting = workflow.start()
    event = cloud.deliver(QUEUE, TEMPLATE, [inventory_body(waiting.token, sku=sku)], group_id=sku)
    # When 2 units are requested
    response = cloud.invoke(handler, event)
    # Then the workflow sees OutOfStock, the message is processed, and nothing was held
    assert response == {"batchItemFailures": []}
    assert workflow.outcome(waiting) == {"status": "FAILED", "error": "OutOfStock"}
    assert row(sku, "RES#ord-1001") is None
    if stock is not None:
        assert available(sku) == stock


def test_reserving_below_the_threshold_publishes_a_low_stock_alert(cloud: Cloud, workflow: Workflow) -> None:
    # Given 11 units and a threshold of 10
    seed_stock(TABLE, ["SKU-1"], 11)
    waiting = workflow.start()
    # When 2 are reserved
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [inventory_body(waiting.token)], group_id="SKU-1"))
    # Then one alert reports 9 left
    alerts = cloud.published("inventory-alerts")
    assert len(alerts) == 1
    assert json.loads(alerts[0]["Message"]) == {
        "sku": "SKU-1",
        "available": 9,
        "threshold": 10,
        "orderId": "ord-1001",
    }


def test_a_redelivered_reservation_below_the_threshold_alerts_once(cloud: Cloud, workflow: Workflow) -> None:
    # Given 11 units, a threshold of 10, and an order that reserved 2 (9 left, one alert)
    seed_stock(TABLE, ["SKU-1"], 11)
    first = workflow.start()
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [inventory_body(first.token)], group_id="SKU-1"))
    # When the same reserve request is delivered again
    again = workflow.start()
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [inventory_body(again.token)], group_id="SKU-1"))
    # Then the stock moved once, and still only one alert went out
    assert workflow.outcome(again)["output"] == workflow.outcome(first)["output"]
    assert available("SKU-1") == 9
    assert len(cloud.published("inventory-alerts")) == 1


def test_release_returns_the_units_once(cloud: Cloud, workflow: Workflow) -> None:
    # Given a reservation of 2 out of 1000
    seed_stock(TABLE, ["SKU-1"], 1000)
    reserved = workflow.start()
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [inventory_body(reserved.token)], group_id="SKU-1"))
    # When the workflow releases it, twice
    releases = [workflow.start(), workflow.start()]
    for waiting in releases:
        event = cloud.deliver(
            QUEUE, TEMPLATE, [inventory_body(waiting.token, action="release")], group_id="SKU-1"
        )
        assert cloud.invoke(handler, event) == {"batchItemFailures": []}
    # Then the units came back once, and the reservation is gone
    assert [workflow.outcome(w)["output"] for w in releases] == [
        {"sku": "SKU-1", "released": 2},
        {"sku": "SKU-1", "released": 0},
    ]
    assert available("SKU-1") == 1000
    assert row("SKU-1", "RES#ord-1001") is None


def test_failure_holds_back_only_its_own_sku_group(cloud: Cloud, workflow: Workflow) -> None:
    # Given a batch: a poison message then a valid one for SKU-1, and a valid one for SKU-2
    seed_stock(TABLE, ["SKU-1", "SKU-2"], 100)
    held, other = workflow.start(), workflow.start()
    event = cloud.deliver(QUEUE, TEMPLATE, ["not json", inventory_body(held.token)], group_id="SKU-1")
    event["Records"] += cloud.deliver(
        QUEUE, TEMPLATE, [inventory_body(other.token, sku="SKU-2")], group_id="SKU-2"
    )["Records"]
    sku1_ids = [record["messageId"] for record in event["Records"][:2]]
    # When the batch is processed
    response = cloud.invoke(handler, event)
    # Then both SKU-1 messages fail (keeping their order) while SKU-2 went through
    assert response == {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in sku1_ids]}
    assert workflow.outcome(held, wait=0)["status"] == "RUNNING"
    assert available("SKU-1") == 100
    assert workflow.outcome(other)["status"] == "SUCCEEDED"
    assert available("SKU-2") == 98
