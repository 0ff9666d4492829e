"""The garbage collector, tuned for a process that holds a large, long-lived world.

CPython's cyclic collector scans every object of the generations it collects. The embedded stack keeps
hundreds of thousands of objects for as long as it runs (botocore's service models, moto's backends and
the deployed stack in the endpoint; the SDK, Powertools and the handler's module in a Lambda worker), and
every full collection scans them all again. In the orders benchmark (100 orders at 4/s) the endpoint spent
7.7-9.0 ms of CPU per order in collections, and a full one stopped every thread for 0.6-0.9 s, heartbeat
clocks included.

``settle()`` moves every object that exists now into the collector's permanent generation
(``gc.freeze``), which later collections skip, and raises the youngest generation's threshold from 700
net allocations to ``YOUNG_THRESHOLD``, so the short-lived objects of each request are collected in far
fewer passes. Objects frozen are never collected while frozen: a cycle that was garbage at the moment of
``settle()`` waits for ``restore()``. So settle after start-up, not on a timer.

``ORDERFLOW_SETTLE_HEAP=0`` leaves the collector alone (to measure what settling buys, or to embed
``LocalAws`` in a process whose collector is tuned already).
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Mapping

YOUNG_THRESHOLD = 20_000
SETTLE_ENV = "ORDERFLOW_SETTLE_HEAP"
# Set by the Lambda runtime in a worker's environment when its heap is to be settled.
WORKER_SETTLE_ENV = "LOCALAWS_SETTLE_HEAP"


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment lets us settle the heap (anything but ``0``, ``false`` or ``no``)."""
    return environ.get(SETTLE_ENV, "1").strip().lower() not in ("0", "false", "no")


class Heap:
    """Settle the process's heap, and put the collector back as it was."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thresholds: tuple[int, int, int] | None = None

    def settle(self) -> None:
        """Freeze what exists now, and collect the young generation less often. May be called again."""
        with self._lock:
            if self._thresholds is None:
                self._thresholds = gc.get_threshold()
            young, middle, old = self._thresholds
            gc.freeze()
            gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)

    def restore(self) -> None:
        """The collector's thresholds as before ``settle()``, and every frozen object collectable again."""
        with self._lock:
            if self._thresholds is None:
                return
            gc.set_threshold(*self._thresholds)
            self._thresholds = None
            gc.unfreeze()

    @property
    def settled(self) -> bool:
        return self._thresholds is not None
