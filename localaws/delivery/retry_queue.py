"""A small pool of threads that work through items as they fall due, and take failed ones back for later.

AWS's asynchronous deliveries (EventBridge to its targets, SNS to Lambda) retry with backoff off the
caller's thread; each delivery module hands its items here and says, per attempt, when to try again.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

if TYPE_CHECKING:
    from localaws.lambda_.runtime import Invoker
    from localaws.patches.registry import PatchesInUse

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(order=True)
class _Due(Generic[T]):
    due: float
    sequence: int
    item: T = field(compare=False)


class RetryQueue(Generic[T]):
    """``attempt(item)`` returns ``None`` when the item is done, or the seconds to wait before a retry."""

    def __init__(self, *, name: str, workers: int, attempt: Callable[[T], float | None]) -> None:
        self._name = name
        self._workers = workers
        self._attempt = attempt
        self._heap: list[_Due[T]] = []
        self._cond = threading.Condition()
        self._sequence = itertools.count()
        self._stopped = False
        self._in_progress = 0
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        with self._cond:
            self._stopped = False
        self._threads = [
            threading.Thread(target=self._run, name=f"{self._name}-{i}", daemon=True)
            for i in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def put(self, item: T, *, delay: float = 0.0) -> None:
        with self._cond:
            heapq.heappush(self._heap, _Due(time.monotonic() + delay, next(self._sequence), item))
            self._cond.notify()

    def idle(self) -> bool:
        """Nothing queued, waiting for a retry, or being attempted."""
        with self._cond:
            return not self._heap and self._in_progress == 0

    def _next(self) -> T | None:
        with self._cond:
            while not self._stopped:
                if self._heap:
                    wait = self._heap[0].due - time.monotonic()
                    if wait <= 0:
                        self._in_progress += 1
                        return heapq.heappop(self._heap).item
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _run(self) -> None:
        while (item := self._next()) is not None:
            retry_in: float | None = None
            try:
                retry_in = self._attempt(item)
            except Exception:
                logger.exception("%s: an attempt failed unexpectedly; the item is dropped", self._name)
            finally:
                if retry_in is not None:
                    self.put(item, delay=retry_in)
                with self._cond:
                    self._in_progress -= 1
                    self._cond.notify_all()


class RetryingDelivery(ABC, Generic[T]):
    """A delivery mechanism of one account and region whose deliveries are retried on a ``RetryQueue``, with
    its moto patches in while it runs. A subclass names its queue and says how one attempt goes."""

    queue_name: ClassVar[str]
    patches: ClassVar[PatchesInUse[Any]]

    def __init__(
        self,
        *,
        invoker: Invoker,
        region: str,
        account_id: str,
        time_scale: float = 1.0,
        workers: int = 2,
    ) -> None:
        self.invoker = invoker
        self.region = region
        self.account_id = account_id
        self.time_scale = time_scale
        self._queue: RetryQueue[T] = RetryQueue(name=self.queue_name, workers=workers, attempt=self._attempt)

    @abstractmethod
    def _attempt(self, item: T) -> float | None:
        """Deliver ``item`` once: ``None`` when done, else the seconds to wait before the next attempt."""

    def start(self) -> None:
        self.patches.acquire(self, account_id=self.account_id, region=self.region)
        self._queue.start()

    def stop(self) -> None:
        self.patches.release(self, account_id=self.account_id, region=self.region)
        self._queue.stop()

    def idle(self) -> bool:
        """Nothing queued, waiting for a retry, or being attempted."""
        return self._queue.idle()
