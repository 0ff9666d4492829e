"""Shipping rules: book the order's parcel with a carrier; a destination it refuses rejects the order."""

from __future__ import annotations

from typing import Protocol

from services.shared.contract import ShippingAddress
from services.shared.messages import ShippingItem
from services.shipping.models import Shipment, ShippingRequest


class DestinationNotServedError(Exception):
    """The carrier does not deliver to the address: permanent, the order cannot ship."""


class Carrier(Protocol):
    def book(self, *, order_id: str, address: ShippingAddress, items: list[ShippingItem]) -> Shipment:
        """Book one shipment; raises :class:`DestinationNotServedError` for addresses it cannot serve."""
        ...


def ship_order(request: ShippingRequest, *, carrier: Carrier) -> Shipment:
    return carrier.book(order_id=request.orderId, address=request.shippingAddress, items=list(request.items))
