from __future__ import annotations

from decimal import Decimal

import pytest

from services.analytics.logic import InvalidLifecycleEventError, minute_of, record_lifecycle_event
from services.analytics.models import LifecycleEvent
from tests.unit.fakes import InMemoryAggregates


def event(status: str, at: str = "2025-11-23T10:15:30.120Z") -> LifecycleEvent:
    return LifecycleEvent(orderId="ord-1", status=status, amount=Decimal("24.98"), currency="eur", at=at)


def test_every_event_counts_its_status_and_its_minute() -> None:
    # Given empty aggregates
    aggregates = InMemoryAggregates()
    # When a "placed" event is recorded
    record_lifecycle_event(event("Placed"), aggregates=aggregates)
    # Then the status and the minute are counted, and no revenue is booked yet
    assert aggregates.counts == {("status", "placed"): 1, ("rate", "2025-11-23T10:15"): 1}
    assert aggregates.amounts == {}


def test_revenue_is_booked_per_currency_when_the_order_completes() -> None:
    # Given empty aggregates
    aggregates = InMemoryAggregates()
    # When a shipped event is recorded
    record_lifecycle_event(event("shipped"), aggregates=aggregates)
    # Then its amount is added to the currency's revenue
    assert aggregates.amounts == {("revenue", "EUR"): Decimal("24.98")}
    assert aggregates.counts[("revenue", "EUR")] == 1


@pytest.mark.parametrize(
    ("at", "minute"),
    [
        ("2025-11-23T10:15:59.999Z", "2025-11-23T10:15"),
        ("2025-11-23T12:15:00+02:00", "2025-11-23T10:15"),
        ("2025-11-23T10:15:00", "2025-11-23T10:15"),
    ],
)
def test_minutes_are_utc(at: str, minute: str) -> None:
    # Given times in several notations
    # When reduced to their minute
    # Then the minute is in UTC
    assert minute_of(at) == minute


def test_an_unreadable_time_is_invalid() -> None:
    # Given an event whose time is not ISO 8601
    # When it is recorded
    # Then it is refused as invalid and nothing is counted
    aggregates = InMemoryAggregates()
    with pytest.raises(InvalidLifecycleEventError):
        record_lifecycle_event(event("placed", at="yesterday"), aggregates=aggregates)
    assert aggregates.counts == {}
