"""Backpressure: the importer publishes no faster than the workflow behind the bus can take orders.

A rate, and limits that hold it, all deployable as they are:

- the rate, in orders per second (``IMPORT_ORDERS_PER_SECOND``): PutEvents calls are spaced so that the
  orders they carry never run ahead of it (a steady pace, no burst at the start of each second);
- the backlog of the workflow's callback queues (payment, inventory, shipping): while more messages than
  ``IMPORT_MAX_QUEUE_BACKLOG`` wait in any of them, nothing is published. A request waiting in a queue
  counts against its task's heartbeat (``infra/timing.py``), so an import that outruns the services would
  turn orders into timeouts;
- the orders in flight: while more than ``IMPORT_MAX_RUNNING_ORDERS`` executions of the order workflow run,
  nothing is published. Orders between the workflow's steps wait in no queue (they wait for the engine), so
  the queues alone do not see a workflow that has fallen behind; its running executions do.

Held back by these, the import goes at what the stack sustains, on AWS as locally.

Nothing here knows boto3: each limit reads a small ``Gauge``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.importer.logic import OrderBus

BACKLOG_CHECK_SECONDS = 1.0


class Gauge(Protocol):
    def count(self) -> int:
        """How many there are now (queued messages, running executions)."""
        ...


@dataclass(frozen=True)
class Limit:
    """Publishing holds while ``gauge`` counts more than ``ceiling``; ``name`` says which limit held."""

    name: str
    gauge: Gauge
    ceiling: int


@dataclass
class Pacer:
    """Spaces publishing to ``orders_per_second`` and holds it while any limit is exceeded.

    ``give_up()`` ends a hold early (the invocation is running out of time: it must checkpoint), and the
    orders then go out at the rate alone; there are at most a flush's worth of them.
    """

    orders_per_second: float
    limits: Sequence[Limit] = ()
    give_up: Callable[[], bool] = lambda: False
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    held_by: dict[str, float] = field(default_factory=dict)
    _next: float | None = None
    _checked_at: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.orders_per_second <= 0:
            raise ValueError(f"orders_per_second: must be above 0, got {self.orders_per_second}")

    @property
    def held_seconds(self) -> float:
        """How long publishing was held, whichever limit held it."""
        return sum(self.held_by.values())

    def before_publishing(self, orders: int) -> None:
        now = self.clock()
        if self._next is not None and self._next > now:
            self.sleep(self._next - now)
        self._hold()
        now = self.clock()
        self._next = max(self._next or now, now) + orders / self.orders_per_second

    def _exceeded(self) -> Limit | None:
        return next((limit for limit in self.limits if limit.gauge.count() > limit.ceiling), None)

    def _hold(self) -> None:
        if not self.limits:
            return
        now = self.clock()
        if self._checked_at is not None and now - self._checked_at < BACKLOG_CHECK_SECONDS:
            return
        self._checked_at = now
        while (limit := self._exceeded()) is not None and not self.give_up():
            self.sleep(BACKLOG_CHECK_SECONDS)
            self.held_by[limit.name] = self.held_by.get(limit.name, 0.0) + BACKLOG_CHECK_SECONDS
        # After a hold the pace starts again from now, not with a burst to catch up.
        if self._next is not None:
            self._next = max(self._next, self.clock())
        self._checked_at = self.clock()


@dataclass
class PacedBus:
    """An ``OrderBus`` that asks the pacer before every PutEvents call (retries included)."""

    bus: OrderBus
    pacer: Pacer

    def put(self, entries: list[dict[str, Any]]) -> list[str | None]:
        self.pacer.before_publishing(len(entries))
        return self.bus.put(entries)
