from __future__ import annotations

import pytest

from services.inventory.logic import InsufficientStockError, Reserved, release_stock, reserve_stock
from services.inventory.models import InventoryRequest, InventorySettings
from tests.unit.fakes import InMemoryStockStore, RecordingStockAlerts

NOW = 1_763_892_930


def request(action: str = "reserve", quantity: int = 2, order_id: str = "ord-1") -> InventoryRequest:
    return InventoryRequest.model_validate(
        {"taskToken": "t", "orderId": order_id, "action": action, "sku": "SKU-1", "quantity": quantity}
    )


def reserve(store: InMemoryStockStore, alerts: RecordingStockAlerts) -> Reserved:
    """Reserve the default order line (2 units of SKU-1) with a one-hour hold and a threshold of 10."""
    return reserve_stock(
        request(),
        now=NOW,
        ttl_seconds=3600,
        low_stock_threshold=10,
        store=store,
        alerts=alerts,
    )


def test_reservation_holds_stock_until_it_expires() -> None:
    # Given 50 units
    store, alerts = InMemoryStockStore({"SKU-1": 50}), RecordingStockAlerts()
    # When an order reserves 2
    reserved = reserve(store, alerts)
    # Then 48 remain, the hold expires after the TTL, and no alert is raised
    assert store.available("SKU-1") == 48
    assert reserved.reservation.expiresAt == NOW + 3600
    assert reserved.first_time is True
    assert alerts.alerts == []


def test_falling_below_the_threshold_raises_a_low_stock_alert() -> None:
    # Given 11 units and a threshold of 10
    store, alerts = InMemoryStockStore({"SKU-1": 11}), RecordingStockAlerts()
    # When 2 are reserved
    reserved = reserve(store, alerts)
    # Then one alert says 9 are left
    assert reserved.low_stock is True
    assert [(a.sku, a.available, a.threshold) for a in alerts.alerts] == [("SKU-1", 9, 10)]


def test_replayed_reservation_neither_takes_stock_nor_alerts_again() -> None:
    # Given an order whose reservation already dropped stock below the threshold
    store, alerts = InMemoryStockStore({"SKU-1": 11}), RecordingStockAlerts()
    first = reserve(store, alerts)
    # When the same reserve request is processed again
    again = reserve(store, alerts)
    # Then the existing reservation is returned unchanged
    assert again.reservation == first.reservation
    assert again.first_time is False
    assert store.available("SKU-1") == 9
    assert len(alerts.alerts) == 1


def test_not_enough_stock_is_refused() -> None:
    # Given 1 unit
    store, alerts = InMemoryStockStore({"SKU-1": 1}), RecordingStockAlerts()
    # When 2 are asked for
    with pytest.raises(InsufficientStockError) as refused:
        reserve(store, alerts)
    # Then the error explains the shortfall and nothing moved
    assert str(refused.value) == "Only 1 unit(s) of SKU-1 available, 2 requested"
    assert store.available("SKU-1") == 1


def test_release_returns_the_reserved_units_once() -> None:
    # Given a reservation of 2 out of 5
    store, alerts = InMemoryStockStore({"SKU-1": 5}), RecordingStockAlerts()
    reserve(store, alerts)
    # When it is released twice
    first = release_stock(request("release"), store=store)
    second = release_stock(request("release"), store=store)
    # Then 2 come back the first time only
    assert (first.released, second.released) == (2, 0)
    assert store.available("SKU-1") == 5


def test_settings_default_threshold_and_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given only the required variables
    env = {"INVENTORY_TABLE": "inv", "INVENTORY_ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:1:alerts"}
    # When the settings are read
    settings = InventorySettings.model_validate(env)
    # Then the documented defaults apply
    assert (settings.low_stock_threshold, settings.reservation_ttl_seconds) == (10, 3600)
