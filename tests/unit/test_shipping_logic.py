from __future__ import annotations

import pytest

from services.shipping.carrier import CARRIER_NAME, DeterministicCarrier
from services.shipping.logic import DestinationNotServedError, ship_order
from services.shipping.models import ShippingRequest
from tests.helpers import template_body


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
