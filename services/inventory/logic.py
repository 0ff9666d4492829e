"""Stock reservation rules: never sell what is not there, hold stock per order, and give it back once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from services.inventory.models import InventoryRequest, LowStockAlert, ReleaseResult, Reservation


class InsufficientStockError(Exception):
    """Fewer units available than the order asks for."""

    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(f"Only {available} unit(s) of {sku} available, {requested} requested")
        self.sku = sku
        self.requested = requested
        self.available = available


class StockStore(Protocol):
    def reserve(self, *, sku: str, order_id: str, quantity: int, expires_at: int) -> tuple[Reservation, bool]:
        """Take ``quantity`` from the SKU's stock and hold it for the order, atomically.

        Returns (the order's reservation, whether this call made it); an existing reservation is returned
        as is. Raises :class:`InsufficientStockError` when the stock cannot cover it.
        """
        ...

    def release(self, *, sku: str, order_id: str) -> int:
        """Delete the order's reservation and put its units back; return how many (0 if none)."""
        ...

    def available(self, sku: str) -> int: ...


class StockAlerts(Protocol):
    def low_stock(self, alert: LowStockAlert) -> None: ...


@dataclass(frozen=True)
class Reserved:
    reservation: Reservation
    first_time: bool
    low_stock: bool


def reserve_stock(
    request: InventoryRequest,
    *,
    now: int,
    ttl_seconds: int,
    low_stock_threshold: int,
    store: StockStore,
    alerts: StockAlerts,
) -> Reserved:
    """Hold the order line's units until the workflow confirms or releases them (or the hold expires)."""
    reservation, first_time = store.reserve(
        sku=request.sku, order_id=request.orderId, quantity=request.quantity, expires_at=now + ttl_seconds
    )
    low_stock = False
    if first_time:
        available = store.available(request.sku)
        if available < low_stock_threshold:
            low_stock = True
            alerts.low_stock(
                LowStockAlert(
                    sku=request.sku,
                    available=available,
                    threshold=low_stock_threshold,
                    orderId=request.orderId,
                )
            )
    return Reserved(reservation=reservation, first_time=first_time, low_stock=low_stock)


def release_stock(request: InventoryRequest, *, store: StockStore) -> ReleaseResult:
    """Compensation: return the order's held units. Releasing twice, or with nothing held, releases 0."""
    released = store.release(sku=request.sku, order_id=request.orderId)
    return ReleaseResult(sku=request.sku, released=released)
