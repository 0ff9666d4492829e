from __future__ import annotations

from typing import Any

from services.shipping.handler import handler
from tests.handlers.conftest import Cloud, Workflow
from tests.helpers import template_body

QUEUE = "orderflow-shipping"
TEMPLATE = "sqs_shipping_ship"


def ship_body(token: str, country: str = "GB") -> dict[str, Any]:
    body = template_body(TEMPLATE) | {"taskToken": token}
    body["shippingAddress"]["country"] = country
    return body


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
