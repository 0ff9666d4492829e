from __future__ import annotations

import json
from typing import Any

import boto3

from services.shipping.handler import handler
from tests.handlers.conftest import REGION, Cloud, Workflow
from tests.helpers.templates import template_body

QUEUE = "orderflow-shipping"
TEMPLATE = "sqs_shipping_ship"
IDEMPOTENCY_TABLE = "orderflow-idempotency"


def ship_body(token: str, country: str = "GB") -> dict[str, Any]:
    body = template_body(TEMPLATE) | {"taskToken": token}
    body["shippingAddress"]["country"] = country
    return body


def stored_answer() -> tuple[str, str]:
    """The id and stored answer (Powertools' ``data``) of the one shipping record in the idempotency table."""
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=IDEMPOTENCY_TABLE)["Items"]
    [record] = [item for item in items if item["id"]["S"].startswith("shipping#")]
    return record["id"]["S"], record["data"]["S"]


def store_answer(record_id: str, answer: dict[str, Any]) -> None:
    """Overwrite a record's answer with ``answer`` stored the way the dict-answer handler stored it."""
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=IDEMPOTENCY_TABLE,
        Key={"id": {"S": record_id}},
        UpdateExpression="SET #data = :data",
        ExpressionAttributeNames={"#data": "data"},
        # Powertools stores an answer as JSON with sorted keys.
        ExpressionAttributeValues={":data": {"S": json.dumps(answer, sort_keys=True)}},
    )


def test_shipment_is_booked_and_answered(cloud: Cloud, workflow: Workflow) -> None:
    # Given a workflow waiting for a shipment to the UK
    waiting = workflow.start()
    # When the ship request is processed
    response = cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [ship_body(waiting.token)]))
    # Then the workflow resumes with the shipment
    assert response == {"batchItemFailures": []}
    output = workflow.outcome(waiting)["output"]
    assert set(output) == {"shipmentId", "trackingNumber", "carrier"}
    assert output["trackingNumber"].endswith("GB")


def test_repeated_ship_request_books_one_shipment(cloud: Cloud, workflow: Workflow) -> None:
    # Given an order already shipped
    first = workflow.start()
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [ship_body(first.token)]))
    # When the same order is asked to ship again, to another address
    second = workflow.start()
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [ship_body(second.token, country="FR")]))
    # Then the stored first booking is the answer (idempotent per order), not a new shipment to FR
    assert workflow.outcome(second)["output"] == workflow.outcome(first)["output"]


def test_unserved_destination_fails_the_task_with_shipment_rejected(cloud: Cloud, workflow: Workflow) -> None:
    # Given an order to Antarctica
    waiting = workflow.start()
    # When the ship request is processed
    response = cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [ship_body(waiting.token, country="AQ")]))
    # Then the workflow sees ShipmentRejected and the message is processed
    assert response == {"batchItemFailures": []}
    assert workflow.outcome(waiting) == {"status": "FAILED", "error": "ShipmentRejected"}


def test_repeated_ship_request_to_an_unserved_destination_replays_the_rejection(
    cloud: Cloud, workflow: Workflow
) -> None:
    # Given an order to Antarctica whose shipment was rejected
    first = workflow.start()
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [ship_body(first.token, country="AQ")]))
    # When the same order is asked to ship again, now to a served address
    second = workflow.start()
    response = cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [ship_body(second.token)]))
    # Then the stored rejection fails the new task the same way
    assert response == {"batchItemFailures": []}
    assert workflow.outcome(second) == {"status": "FAILED", "error": "ShipmentRejected"}


def test_answer_is_stored_as_the_dict_answer_was(cloud: Cloud, workflow: Workflow) -> None:
    # Given a workflow waiting for a shipment
    waiting = workflow.start()
    # When the ship request is processed
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [ship_body(waiting.token)]))
    # Then the idempotency table holds the bytes the dict-answer handler wrote: the deploy changes no format
    shipment = workflow.outcome(waiting)["output"]
    _, data = stored_answer()
    assert data == json.dumps({"outcome": "shipped", "shipment": shipment}, sort_keys=True)


def test_answer_stored_before_the_typed_answer_is_replayed(cloud: Cloud, workflow: Workflow) -> None:
    # Given an order whose stored answer was written by the dict-answer handler, before the deploy
    first = workflow.start()
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [ship_body(first.token)]))
    record_id, _ = stored_answer()
    earlier = {
        "shipmentId": "shp_before",
        "trackingNumber": "OF000000000042GB",
        "carrier": "orderflow-express",
    }
    store_answer(record_id, {"outcome": "shipped", "shipment": earlier})
    # When the same order is asked to ship again
    second = workflow.start()
    response = cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [ship_body(second.token)]))
    # Then the stored shipment is the answer, read as it was written
    assert response == {"batchItemFailures": []}
    assert workflow.outcome(second) == {"status": "SUCCEEDED", "output": earlier}


def cancel_body(token: str, order_id: str) -> dict[str, Any]:
    return {"action": "cancel", "orderId": order_id, "taskToken": token}


def shipment_record(order_id: str) -> dict[str, Any] | None:
    item = (
        boto3.client("dynamodb", region_name=REGION)
        .get_item(TableName="orderflow-shipments", Key={"orderId": {"S": order_id}}, ConsistentRead=True)
        .get("Item")
    )
    return {key: value["S"] for key, value in item.items()} if item else None


def test_a_booked_shipment_is_recorded_and_cancelled_by_the_saga(cloud: Cloud, workflow: Workflow) -> None:
    # Given an order whose shipment was booked (its answer then lost, say)
    shipped = workflow.start()
    body = ship_body(shipped.token)
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [body]))
    booked = shipment_record(body["orderId"])
    assert booked is not None and booked["status"] == "BOOKED"
    # When the saga asks to cancel it, twice (a retry)
    answers = []
    for _ in range(2):
        waiting = workflow.start()
        response = cloud.invoke(
            handler, cloud.deliver(QUEUE, TEMPLATE, [cancel_body(waiting.token, body["orderId"])])
        )
        assert response == {"batchItemFailures": []}
        answers.append(workflow.outcome(waiting)["output"])
    # Then the shipment is cancelled, once, and both answers name it
    assert answers == [{"status": "CANCELLED", "shipmentId": booked["shipmentId"]}] * 2
    cancelled = shipment_record(body["orderId"])
    assert cancelled is not None and cancelled["status"] == "CANCELLED"
    assert cancelled["shipmentId"] == booked["shipmentId"]


def test_a_ship_request_after_the_cancellation_books_nothing(cloud: Cloud, workflow: Workflow) -> None:
    # Given an order cancelled before its ship request was handled
    body = ship_body("unused") | {"orderId": "ord-late-ship"}
    waiting = workflow.start()
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [cancel_body(waiting.token, "ord-late-ship")]))
    assert workflow.outcome(waiting)["output"] == {"status": "NOTHING_TO_CANCEL", "shipmentId": None}
    # When the late ship request arrives
    late = workflow.start()
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [body | {"taskToken": late.token}]))
    # Then it is refused, and the book still shows the order's shipment cancelled, never booked
    assert workflow.outcome(late) == {"status": "FAILED", "error": "ShipmentRejected"}
    record = shipment_record("ord-late-ship")
    assert record is not None and record["status"] == "CANCELLED" and "shipmentId" not in record


def test_a_cancellation_the_workflow_stopped_waiting_for_is_still_made(
    cloud: Cloud, workflow: Workflow
) -> None:
    # Given a booked shipment, and a cancel request that waited in the queue past its heartbeat
    shipped = workflow.start()
    body = ship_body(shipped.token)
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [body]))
    closed = "AQCEAAAAKgAAAAMAAAAAAAAAAc0FrGJ1yfOdLhP5YlqrsJ2c7ENZjVeh"  # its task has ended
    # When it is handled at last
    cloud.invoke(handler, cloud.deliver(QUEUE, TEMPLATE, [cancel_body(closed, body["orderId"])]))
    # Then the shipment is cancelled all the same
    record = shipment_record(body["orderId"])
    assert record is not None and record["status"] == "CANCELLED"
