from __future__ import annotations

from decimal import Decimal

import pytest

from services.analytics.logic import InvalidLifecycleEventError, minute_of, record_lifecycle_event
from services.analytics.models import AggregateIncrement, LifecycleEvent
from tests.unit.fakes import InMemoryAggregates as _Counts


class InMemoryAggregates(_Counts):
    """Counts in memory; an event key seen before is not applied again (as the DynamoDB marker does)."""

    def __init__(self) -> None:
        super().__init__()
        self.counted: set[tuple[tuple[str, str], ...]] = set()

    def apply_once(self, event_key: dict[str, str], increments: list[AggregateIncrement]) -> bool:
        key = tuple(sorted(event_key.items()))
        if key in self.counted:
            return False
        self.apply(increments)
        self.counted.add(key)
        return True


def event(status: str, at: str = "2025-11-23T10:15:30.120Z", order_id: str = "ord-1") -> LifecycleEvent:
    return LifecycleEvent(orderId=order_id, status=status, amount=Decimal("24.98"), currency="eur", at=at)


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


def test_the_same_event_is_counted_once_whatever_its_spelling_or_time() -> None:
    # Given an order's shipped event already recorded
    aggregates = InMemoryAggregates()
    first = record_lifecycle_event(event("shipped"), aggregates=aggregates)
    # When the same order and status arrive again (a replay, or a resend with another spelling and time)
    again = record_lifecycle_event(event(" Shipped ", at="2025-11-23T10:17:00Z"), aggregates=aggregates)
    # Then the second is recognised as counted and nothing moves; another order still counts
    other = record_lifecycle_event(event("shipped", order_id="ord-2"), aggregates=aggregates)
    assert first is not None and again is None and other is not None
    assert aggregates.counts[("status", "shipped")] == 2
    assert aggregates.amounts == {("revenue", "EUR"): Decimal("49.96")}
