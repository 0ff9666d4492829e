from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer

from services.shipping.carrier import CARRIER_NAME, DeterministicCarrier
from services.shipping.logic import DestinationNotServedError, ship_order
from services.shipping.models import Shipped, ShippingAnswer, ShippingRequest
from tests.helpers.templates import template_body


def request(order_id: str = "ord-1001", country: str = "GB") -> ShippingRequest:
    body = template_body("sqs_shipping_ship")
    body["orderId"] = order_id
    body["shippingAddress"]["country"] = country
    return ShippingRequest.model_validate(body)


def test_same_order_always_gets_the_same_tracking_number() -> None:
    # Given the shipped carrier
    carrier = DeterministicCarrier()
    # When the same order ships twice and another order once
    first = ship_order(request(), carrier=carrier)
    again = ship_order(request(), carrier=carrier)
    other = ship_order(request("ord-2002"), carrier=carrier)
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
        ship_order(request(country=country), carrier=DeterministicCarrier())


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
    shipment = ship_order(request(), carrier=DeterministicCarrier())
    # When it is stored
    stored = PydanticSerializer(model=ShippingAnswer).to_dict(ShippingAnswer(Shipped(shipment=shipment)))
    # Then it is the dict the handler stored before the typed answer, shipment and all
    assert stored == {"outcome": "shipped", "shipment": shipment.model_dump(mode="json")}
    assert ShippingAnswer.model_validate(stored).root == Shipped(shipment=shipment)
