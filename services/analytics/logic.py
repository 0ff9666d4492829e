"""What a lifecycle event adds to the dashboards: orders per status, revenue per currency, orders a minute."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from services.analytics.models import AggregateIncrement, LifecycleEvent
from services.shared.contract import Milestone

# Revenue is booked when the order ships, its last milestone: before that it may still be cancelled.
REVENUE_STATUS = Milestone.SHIPPED.value


class InvalidLifecycleEventError(ValueError):
    """A stream record that is not a lifecycle event; retrying cannot fix it."""


class Aggregates(Protocol):
    def apply_once(self, event_key: dict[str, str], increments: list[AggregateIncrement]) -> bool:
        """Add all increments atomically unless ``event_key`` was counted before; False when it was.

        Either every aggregate moves and the event is marked counted, or nothing changes.
        """
        ...


def minute_of(timestamp: str) -> str:
    """``2024-05-01T12:34:56.789Z`` -> ``2024-05-01T12:34`` (UTC)."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError as exc:
        raise InvalidLifecycleEventError(f"at: not an ISO 8601 time: {timestamp!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def event_key(event: LifecycleEvent) -> dict[str, str]:
    """What makes two records the same event: the order and its status, not the stream sequence number.

    A producer retry writes the same event again under a new sequence number; it must not count twice.
    """
    return {"orderId": event.orderId, "status": event.status.strip().lower()}


def increments_for(event: LifecycleEvent) -> list[AggregateIncrement]:
    status = event.status.strip().lower()
    if not status:
        raise InvalidLifecycleEventError("status: empty")
    increments = [
        AggregateIncrement(pk="status", sk=status),
        AggregateIncrement(pk="rate", sk=minute_of(event.at)),
    ]
    if status == REVENUE_STATUS and event.currency:
        increments.append(AggregateIncrement(pk="revenue", sk=event.currency.upper(), amount=event.amount))
    return increments


def record_lifecycle_event(
    event: LifecycleEvent, *, aggregates: Aggregates
) -> list[AggregateIncrement] | None:
    """The increments the event added, or None when it had been counted already (a replay)."""
    increments = increments_for(event)
    if not aggregates.apply_once(event_key(event), increments):
        return None
    return increments
