"""The open-model sender: events go out on a fixed schedule at the target rate, whatever the stack does.

It never waits for an order to finish before sending the next (a closed model would slow down with the
stack, and hide its saturation). A few threads make the calls so that a slow PutEvents does not shift the
schedule of the ones after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from infra.naming import Names
from localaws.tools import orders
from localaws.tools.load.plan import PlannedOrder, PlannedPoison, RunPlan

SENDER_THREADS = 4


@dataclass
class SendLog:
    """When each order's first event was put, and what was refused."""

    began: float = 0.0
    finished: float = 0.0
    put_at: dict[str, float] = field(default_factory=dict)
    events_put: int = 0
    poison_sent: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def sent(self) -> int:
        return len(self.put_at)


def _schedule(plan: RunPlan, rate: float) -> list[tuple[float, PlannedOrder | PlannedPoison]]:
    """(seconds after the start, what to send): orders every 1/rate s, poison spread over the same span."""
    span = len(plan.orders) / rate
    timed: list[tuple[float, PlannedOrder | PlannedPoison]] = [
        (n / rate, order) for n, order in enumerate(plan.orders)
    ]
    count = len(plan.poison)
    timed += [((k + 0.5) * span / count, poison) for k, poison in enumerate(plan.poison)]
    return sorted(timed, key=lambda pair: pair[0])


def send(
    plan: RunPlan,
    *,
    clients: Callable[[str], Any],
    names: Names,
    rate: float,
    log: SendLog,
    stop: threading.Event,
) -> None:
    """Send the plan at ``rate`` orders/s, noting it in ``log``, until all is sent or ``stop`` is set."""
    events = clients("events")
    sqs = clients("sqs")
    bus = names("orders")
    queue_urls: dict[str, str] = {}

    def put(order: PlannedOrder) -> None:
        with log.lock:
            log.put_at[order.order_id] = time.time()
        for _ in range(order.deliveries):
            try:
                orders.put_order(events, order.detail, bus)
            except Exception as exc:  # a refused or failed put is reported, and the run goes on
                with log.lock:
                    log.errors.append(f"{order.order_id}: {type(exc).__name__}: {exc}")
                continue
            with log.lock:
                log.events_put += 1

    def poison(message: PlannedPoison) -> None:
        queue = names(message.queue)
        try:
            if queue not in queue_urls:
                queue_urls[queue] = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
            sqs.send_message(QueueUrl=queue_urls[queue], MessageBody=message.body)
        except Exception as exc:
            with log.lock:
                log.errors.append(f"{message.ident}: {type(exc).__name__}: {exc}")
            return
        with log.lock:
            log.poison_sent += 1

    log.began = time.time()
    with ThreadPoolExecutor(SENDER_THREADS, thread_name_prefix="load-sender") as pool:
        for offset, item in _schedule(plan, rate):
            delay = log.began + offset - time.time()
            if delay > 0 and stop.wait(delay):
                break
            if isinstance(item, PlannedOrder):
                pool.submit(put, item)
            else:
                pool.submit(poison, item)
    log.finished = time.time()
