"""The retry queue behind EventBridge and SNS → Lambda deliveries."""

from __future__ import annotations

import threading
import time

from localaws.delivery.retry_queue import RetryQueue


def _wait_until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError("timed out")


def test_a_failed_item_comes_back_after_its_delay_until_it_is_done() -> None:
    # Given an attempt that fails twice (asking for a 0.1 s pause) and then succeeds
    attempts: list[float] = []

    def attempt(item: str) -> float | None:
        attempts.append(time.monotonic())
        return 0.1 if len(attempts) < 3 else None

    queue: RetryQueue[str] = RetryQueue(name="test", workers=2, attempt=attempt)
    queue.start()
    try:
        # When one item is put
        queue.put("order")
        _wait_until(lambda: len(attempts) == 3 and queue.idle())
    finally:
        queue.stop()
    # Then it was tried three times, each retry after its pause, and the queue is idle
    assert attempts[1] - attempts[0] >= 0.09
    assert attempts[2] - attempts[1] >= 0.09


def test_an_attempt_that_raises_drops_only_that_item() -> None:
    done = threading.Event()

    def attempt(item: str) -> float | None:
        if item == "poison":
            raise RuntimeError("boom")
        done.set()
        return None

    queue: RetryQueue[str] = RetryQueue(name="test", workers=1, attempt=attempt)
    queue.start()
    try:
        queue.put("poison")
        queue.put("good")
        assert done.wait(5)
        _wait_until(queue.idle)
    finally:
        queue.stop()


def test_items_wait_for_their_time() -> None:
    seen: list[str] = []
    queue: RetryQueue[str] = RetryQueue(name="test", workers=1, attempt=seen.append)
    queue.start()
    try:
        queue.put("later", delay=0.3)
        queue.put("now")
        _wait_until(lambda: seen == ["now"])
        assert not queue.idle()
        _wait_until(lambda: seen == ["now", "later"])
    finally:
        queue.stop()
