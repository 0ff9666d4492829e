"""The retry queue behind EventBridge and SNS → Lambda deliveries."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import TYPE_CHECKING, ClassVar, cast

import pytest

from localaws.delivery import retry_queue
from localaws.delivery.retry_queue import RetryingDelivery, RetryQueue
from localaws.patches.registry import PatchesInUse, PatchSet

if TYPE_CHECKING:
    from localaws.lambda_.runtime import Invoker


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


@pytest.fixture
def stopped_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The queue's clock stands still, so items put with no delay fall due at one and the same moment."""
    monkeypatch.setattr(retry_queue, "time", SimpleNamespace(monotonic=lambda: 1000.0))


@pytest.mark.usefixtures("stopped_clock")
def test_an_item_due_this_very_moment_is_attempted() -> None:
    # Given a clock that does not move, so an item put now is due exactly now
    done = threading.Event()
    queue: RetryQueue[str] = RetryQueue(name="test", workers=1, attempt=lambda item: done.set())
    queue.start()
    try:
        # When an item is put without delay
        queue.put("now")
        # Then it is attempted, rather than waited for until the clock passes its due time
        assert done.wait(5)
    finally:
        queue.stop()


@pytest.mark.usefixtures("stopped_clock")
def test_items_due_at_the_same_moment_are_attempted_in_the_order_they_were_put() -> None:
    # Given items all due at the same moment, put before the only worker starts
    seen: list[str] = []
    queue: RetryQueue[str] = RetryQueue(name="test", workers=1, attempt=seen.append)
    for item in ("first", "second", "third", "fourth"):
        queue.put(item)
    # When the worker works through them
    queue.start()
    try:
        _wait_until(lambda: len(seen) == 4)
    finally:
        queue.stop()
    # Then they were attempted first in, first out
    assert seen == ["first", "second", "third", "fourth"]


def test_the_queue_is_not_idle_while_any_worker_is_still_attempting() -> None:
    # Given two workers each attempting an item, both held until the test lets them go
    started = {"a": threading.Event(), "b": threading.Event()}
    go = {"a": threading.Event(), "b": threading.Event()}

    def attempt(item: str) -> None:
        started[item].set()
        assert go[item].wait(5)

    queue: RetryQueue[str] = RetryQueue(name="test", workers=2, attempt=attempt)
    queue.start()
    try:
        queue.put("a")
        queue.put("b")
        assert started["a"].wait(5)
        assert started["b"].wait(5)
        # When one of them finishes (its worker needs only moments to account for it)
        go["a"].set()
        # Then, for as long as the other is being attempted, the queue does not claim to be idle
        with pytest.raises(AssertionError, match="timed out"):
            _wait_until(queue.idle, timeout=0.5)
        go["b"].set()
        _wait_until(queue.idle)
    finally:
        go["a"].set()
        go["b"].set()
        queue.stop()


class _IdleDelivery(RetryingDelivery[str]):
    queue_name = "test-delivery"
    patches: ClassVar[PatchesInUse[object]] = PatchesInUse(PatchSet("test-delivery"))

    def _attempt(self, item: str) -> float | None:
        return None


def test_a_stopped_delivery_takes_its_patches_out() -> None:
    # Given a running delivery of one account and region, with its patches in
    delivery = _IdleDelivery(invoker=cast("Invoker", object()), region="us-east-1", account_id="111111111111")
    delivery.start()
    assert delivery.patches.running("111111111111", "us-east-1") is delivery
    assert delivery.patches.patches.installed
    # When it stops
    delivery.stop()
    # Then nothing routes to it any more, and with no other delivery running the patches are out
    assert delivery.patches.running("111111111111", "us-east-1") is None
    assert not delivery.patches.patches.installed
