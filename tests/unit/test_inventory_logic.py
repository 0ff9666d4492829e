from __future__ import annotations

import pytest

from services.inventory.logic import InsufficientStockError, Reserved, release_stock, reserve_stock
from services.inventory.models import InventoryRequest, InventorySettings
from tests.unit.fakes import RecordingStockAlerts, ScriptedStockStore

NOW = 1_763_892_930


def request(action: str = "reserve", quantity: int = 2, order_id: str = "ord-1") -> InventoryRequest:
    return InventoryRequest.model_validate(
        {"taskToken": "t", "orderId": order_id, "action": action, "sku": "SKU-1", "quantity": quantity}
    )


def reserve(store: ScriptedStockStore, alerts: RecordingStockAlerts) -> Reserved:
    """Reserve the default order line (2 units of SKU-1) with a one-hour hold and a threshold of 10."""
    return reserve_stock(
        request(),
        now=NOW,
        ttl_seconds=3600,
        low_stock_threshold=10,
        store=store,
        alerts=alerts,
    )


def test_a_reservation_holds_the_order_line_until_the_ttl_runs_out() -> None:
    # Given a store that will have 48 units left after the reservation
    store, alerts = ScriptedStockStore(available=48), RecordingStockAlerts()
    # When an order reserves its line
    reserved = reserve(store, alerts)
    # Then the store is asked for that line, held until now + TTL, and no alert is raised
    assert store.reserved == [("SKU-1", "ord-1", 2, NOW + 3600)]
    assert reserved.reservation.expiresAt == NOW + 3600
    assert (reserved.first_time, reserved.low_stock) == (True, False)
    assert alerts.alerts == []


def test_falling_below_the_threshold_raises_a_low_stock_alert() -> None:
    # Given a threshold of 10, and 9 units left once the reservation is made
    store, alerts = ScriptedStockStore(available=9), RecordingStockAlerts()
    # When 2 are reserved
    reserved = reserve(store, alerts)
    # Then one alert says 9 are left, for this order
    assert reserved.low_stock is True
    assert [(a.sku, a.available, a.threshold, a.orderId) for a in alerts.alerts] == [
        ("SKU-1", 9, 10, "ord-1")
    ]


def test_landing_exactly_on_the_threshold_is_not_low() -> None:
    # Given a threshold of 10, and exactly 10 units left once the reservation is made
    store, alerts = ScriptedStockStore(available=10), RecordingStockAlerts()
    # When 2 are reserved
    reserved = reserve(store, alerts)
    # Then no alert: low means below the threshold
    assert reserved.low_stock is False
    assert alerts.alerts == []


def test_replayed_reservation_does_not_alert_again() -> None:
    # Given a store that already holds this order's reservation, with stock below the threshold
    store, alerts = ScriptedStockStore(available=9, first_time=False), RecordingStockAlerts()
    # When the same reserve request is processed again
    again = reserve(store, alerts)
    # Then the existing reservation is returned, and no second alert goes out
    assert again.first_time is False
    assert again.low_stock is False
    assert alerts.alerts == []


def test_not_enough_stock_is_refused_without_an_alert() -> None:
    # Given a store that cannot cover the line (1 unit left)
    store, alerts = ScriptedStockStore(available=1, short=True), RecordingStockAlerts()
    # When 2 are asked for
    with pytest.raises(InsufficientStockError) as refused:
        reserve(store, alerts)
    # Then the refusal explains the shortfall, in words and in fields the handler can report, and nobody is
    # alerted
    assert str(refused.value) == "Only 1 unit(s) of SKU-1 available, 2 requested"
    assert (refused.value.sku, refused.value.requested, refused.value.available) == ("SKU-1", 2, 1)
    assert alerts.alerts == []


@pytest.mark.parametrize("given_back", [2, 0], ids=["held", "already-released"])
def test_release_reports_what_the_store_gave_back(given_back: int) -> None:
    # Given a store that gives back the order's held units (2), or nothing when it was already released
    store = ScriptedStockStore(available=5, released=given_back)
    # When the order's line (2 units) is released
    released = release_stock(request("release"), store=store)
    # Then the store was asked for this order's SKU, and the result says what came back, not what was asked
    assert store.releases == [("SKU-1", "ord-1")]
    assert (released.sku, released.released) == ("SKU-1", given_back)


def test_settings_default_threshold_and_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given only the required variables
    env = {"INVENTORY_TABLE": "inv", "INVENTORY_ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:1:alerts"}
    # When the settings are read
    settings = InventorySettings.model_validate(env)
    # Then the documented defaults apply
    assert (settings.low_stock_threshold, settings.reservation_ttl_seconds) == (10, 3600)
