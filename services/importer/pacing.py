"""Backpressure: the importer publishes no faster than the workflow behind the bus can take orders.

Two limits, both deployable as they are:

- a rate, in orders per second (``IMPORT_ORDERS_PER_SECOND``): PutEvents calls are spaced so that the
  orders they carry never run ahead of it (a steady pace, no burst at the start of each second);
- the backlog of the workflow's callback queues (payment, inventory, shipping): while more messages than
  ``IMPORT_MAX_QUEUE_BACKLOG`` wait in any of them, nothing is published. A request waiting in a queue
  counts against its task's heartbeat (``infra/timing.py``), so an import that outruns the services would
  turn orders into timeouts; held back here, the import goes at what the stack sustains, on AWS as locally.

Nothing here knows boto3: the queues' backlog is the small ``Backlog`` interface.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.importer.logic import OrderBus

BACKLOG_CHECK_SECONDS = 1.0


class Backlog(Protocol):
    def waiting(self) -> int:
        """The most messages waiting (visible, not yet received) in any of the watched queues."""
        ...


@dataclass
class Pacer:
    """Spaces publishing to ``orders_per_second`` and holds it while the queues are backed up.

    ``give_up()`` ends a hold early (the invocation is running out of time: it must checkpoint), and the
    orders then go out at the rate alone; there are at most a flush's worth of them.
    """

    orders_per_second: float
    backlog: Backlog | None = None
    max_backlog: int = 0
    give_up: Callable[[], bool] = lambda: False
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    held_seconds: float = 0.0
    _next: float | None = None
    _checked_at: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.orders_per_second <= 0:
            raise ValueError(f"orders_per_second: must be above 0, got {self.orders_per_second}")

    def before_publishing(self, orders: int) -> None:
        now = self.clock()
        if self._next is not None and self._next > now:
            self.sleep(self._next - now)
        self._hold()
        now = self.clock()
        self._next = max(self._next or now, now) + orders / self.orders_per_second

    def _hold(self) -> None:
        if self.backlog is None:
            return
        now = self.clock()
        if self._checked_at is not None and now - self._checked_at < BACKLOG_CHECK_SECONDS:
            return
        self._checked_at = now
        while self.backlog.waiting() > self.max_backlog and not self.give_up():
            self.sleep(BACKLOG_CHECK_SECONDS)
            self.held_seconds += BACKLOG_CHECK_SECONDS
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
