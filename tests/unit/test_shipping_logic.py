from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer

from services.shipping.carrier import CARRIER_NAME, DeterministicCarrier
from services.shipping.logic import (
    DestinationNotServedError,
    ShipmentCancelledError,
    cancel_shipment,
    ship_order,
)
from services.shipping.models import Shipment, Shipped, ShippingAnswer, ShippingCancelRequest, ShippingRequest
from tests.helpers.templates import template_body

NOW = "2026-11-28T12:00:00.000+00:00"


class InMemoryShipmentBook:
    """The shipments book's rules (a cancelled order's shipment stays cancelled) over a dict."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.shipments: dict[str, Shipment] = {}

    def record_booking(self, order_id: str, shipment: Shipment, *, now: str) -> None:
        if self.status.get(order_id) == "CANCELLED":
            raise ShipmentCancelledError(order_id)
        self.status[order_id] = "BOOKED"
        self.shipments[order_id] = shipment

    def record_cancellation(self, order_id: str, *, now: str) -> Shipment | None:
        self.status[order_id] = "CANCELLED"
        return self.shipments.get(order_id)


def ship(request: ShippingRequest, carrier: DeterministicCarrier | None = None) -> Shipment:
    return ship_order(
        request, carrier=carrier or DeterministicCarrier(), book=InMemoryShipmentBook(), now=NOW
    )


def request(order_id: str = "ord-1001", country: str = "GB") -> ShippingRequest:
    body = template_body("sqs_shipping_ship")
    body["orderId"] = order_id
    body["shippingAddress"]["country"] = country
    return ShippingRequest.model_validate(body)


def test_same_order_always_gets_the_same_tracking_number() -> None:
    # Given the shipped carrier
    carrier = DeterministicCarrier()
    # When the same order ships twice and another order once
    first = ship(request(), carrier)
    again = ship(request(), carrier)
    other = ship(request("ord-2002"), carrier)
    # Then the tracking number depends only on the order
    assert first == again
    assert first.trackingNumber != other.trackingNumber
    assert first.carrier == CARRIER_NAME
    assert first.trackingNumber.startswith("OF") and first.trackingNumber.endswith("GB")


@pytest.mark.parametrize("country", ["AQ", "KP"])
def test_unserved_destinations_are_rejected(country: str) -> None:
    # Given an address in a country the carrier does not serve
    # When the order ships
    # Then the carrier refuses it, naming the country
    with pytest.raises(DestinationNotServedError, match=country):
        ship(request(country=country))


@pytest.mark.parametrize(
    "stored",
    [
        {
            "outcome": "shipped",
            "shipment": {
                "shipmentId": "shp_1",
                "trackingNumber": "OF000000000001GB",
                "carrier": CARRIER_NAME,
            },
        },
        {"outcome": "rejected", "reason": f"{CARRIER_NAME} does not deliver to AQ"},
    ],
)
def test_stored_shipping_answers_read_back_unchanged(stored: dict[str, Any]) -> None:
    # Given a shipping answer as the idempotency table holds it (the format written before the typed answer)
    serializer = PydanticSerializer(model=ShippingAnswer)
    # When Powertools reads it back and stores it again
    answer = serializer.from_dict(stored)
    # Then it is the typed outcome, and its JSON has not changed
    assert isinstance(answer, ShippingAnswer)
    assert answer.root.outcome == stored["outcome"]
    assert serializer.to_dict(answer) == stored


def test_a_booked_shipment_is_stored_as_before() -> None:
    # Given the answer to a ship request the carrier booked
    shipment = ship(request())
    # When it is stored
    stored = PydanticSerializer(model=ShippingAnswer).to_dict(ShippingAnswer(Shipped(shipment=shipment)))
    # Then it is the dict the handler stored before the typed answer, shipment and all
    assert stored == {"outcome": "shipped", "shipment": shipment.model_dump(mode="json")}
    assert ShippingAnswer.model_validate(stored).root == Shipped(shipment=shipment)


def test_a_cancelled_order_books_no_shipment_and_a_booked_one_is_cancelled() -> None:
    # Given a book with one order booked and another cancelled before it shipped
    book = InMemoryShipmentBook()
    booked = ship_order(request("ord-1"), carrier=DeterministicCarrier(), book=book, now=NOW)
    cancel = ShippingCancelRequest(action="cancel", orderId="ord-2", taskToken="t")
    assert cancel_shipment(cancel, book=book, now=NOW).status == "NOTHING_TO_CANCEL"
    # When the second order's ship request arrives late, and the first is cancelled
    with pytest.raises(ShipmentCancelledError):
        ship_order(request("ord-2"), carrier=DeterministicCarrier(), book=book, now=NOW)
    answer = cancel_shipment(cancel.model_copy(update={"orderId": "ord-1"}), book=book, now=NOW)
    # Then neither order has a booked shipment, and the cancellation names the one that was booked
    assert book.status == {"ord-1": "CANCELLED", "ord-2": "CANCELLED"}
    assert (answer.status, answer.shipmentId) == ("CANCELLED", booked.shipmentId)
