"""The carrier the service ships with: deterministic, the same order always gets the same tracking number."""

from __future__ import annotations

import hashlib

from services.shared.contract import UNSERVED_COUNTRIES, ShippingAddress
from services.shared.messages import ShippingItem
from services.shipping.logic import DestinationNotServedError
from services.shipping.models import Shipment

CARRIER_NAME = "orderflow-express"


class DeterministicCarrier:
    def __init__(self, unserved_countries: frozenset[str] = UNSERVED_COUNTRIES) -> None:
        self._unserved = unserved_countries

    def book(self, *, order_id: str, address: ShippingAddress, items: list[ShippingItem]) -> Shipment:
        if address.country in self._unserved:
            raise DestinationNotServedError(f"{CARRIER_NAME} does not deliver to {address.country}")
        digest = hashlib.sha256(order_id.encode()).hexdigest().upper()
        return Shipment(
            shipmentId=f"shp_{digest[:20].lower()}",
            trackingNumber=f"OF{int(digest[:15], 16) % 10**12:012d}{address.country}",
            carrier=CARRIER_NAME,
        )
