"""Shipping rules: book the order's parcel with a carrier; a destination it refuses rejects the order.

Every booking is recorded in the service's shipments book, and so is a cancellation: the saga cancels the
shipment of an order it compensates (its ship answer may have been lost, or come too late), and a booking
that arrives after the cancellation is refused, so the book never shows a shipment for a cancelled order.
"""

from __future__ import annotations

from typing import Protocol

from services.shared.contract import ShippingAddress
from services.shared.messages import ShippingItem
from services.shipping.models import Shipment, ShipmentCancellation, ShippingCancelRequest, ShippingRequest

CANCELLED_REASON = "The order was cancelled before it shipped"


class DestinationNotServedError(Exception):
    """The carrier does not deliver to the address: permanent, the order cannot ship."""


class ShipmentCancelledError(Exception):
    """The order's shipment was cancelled already: it may not be booked now."""


class Carrier(Protocol):
    def book(self, *, order_id: str, address: ShippingAddress, items: list[ShippingItem]) -> Shipment:
        """Book one shipment; raises :class:`DestinationNotServedError` for addresses it cannot serve."""
        ...


class ShipmentBook(Protocol):
    """The service's record of each order's shipment: BOOKED, or CANCELLED (booked or not)."""

    def record_booking(self, order_id: str, shipment: Shipment, *, now: str) -> None:
        """Record the booking (again, if it is); :class:`ShipmentCancelledError` if it was cancelled."""
        ...

    def record_cancellation(self, order_id: str, *, now: str) -> Shipment | None:
        """Mark the order's shipment cancelled (idempotent); the shipment that had been booked, if any."""
        ...


def ship_order(request: ShippingRequest, *, carrier: Carrier, book: ShipmentBook, now: str) -> Shipment:
    shipment = carrier.book(
        order_id=request.orderId, address=request.shippingAddress, items=list(request.items)
    )
    book.record_booking(request.orderId, shipment, now=now)
    return shipment


def cancel_shipment(request: ShippingCancelRequest, *, book: ShipmentBook, now: str) -> ShipmentCancellation:
    cancelled = book.record_cancellation(request.orderId, now=now)
    if cancelled is None:
        return ShipmentCancellation(status="NOTHING_TO_CANCEL")
    return ShipmentCancellation(status="CANCELLED", shipmentId=cancelled.shipmentId)
