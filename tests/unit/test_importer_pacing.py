"""Backpressure: the importer's pace in orders per second, and its hold while the callback queues back up."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from services.importer.logic import SegmentWriter, import_segment
from services.importer.models import FileFormat, ImportCheckpoint, ImportSource, ImportSummary
from services.importer.pacing import BACKLOG_CHECK_SECONDS, Limit, PacedBus, Pacer
from tests.helpers.events import file_order

SOURCE = ImportSource(bucket="imports", key="incoming/orders.jsonl", versionId="v1")


class FakeClock:
    """Time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedBacklog:
    """Answers the queued counts in turn, then the last one for ever."""

    def __init__(self, *counts: int) -> None:
        self._counts = list(counts)
        self.asked = 0

    def count(self) -> int:
        self.asked += 1
        return self._counts.pop(0) if len(self._counts) > 1 else self._counts[0]


class RecordingBus:
    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.calls: list[tuple[float, list[str]]] = []

    def put(self, entries: list[dict[str, Any]]) -> list[str | None]:
        self.calls.append((self._clock(), [json.loads(e["Detail"])["orderId"] for e in entries]))
        return [None] * len(entries)


class NothingKnown:
    def known(self, order_ids: list[str]) -> set[str]:
        return set()


def order(order_id: str) -> str:
    return json.dumps(file_order(order_id))


def test_calls_are_spaced_to_the_rate_without_a_burst() -> None:
    # Given a pace of 20 orders a second
    clock = FakeClock()
    pacer = Pacer(20, clock=clock, sleep=clock.sleep)

    # When five PutEvents of 10 orders go out
    sent_at = []
    for _ in range(5):
        pacer.before_publishing(10)
        sent_at.append(clock())

    # Then each waits half a second after the one before: 50 orders in 2 s, none early
    assert [round(t - sent_at[0], 6) for t in sent_at] == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_an_idle_pacer_does_not_save_up_a_burst() -> None:
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    pacer.before_publishing(10)
    clock.now += 60  # a minute with nothing to send (reading a long run of rejected lines)
    pacer.before_publishing(10)
    start = clock()
    pacer.before_publishing(10)
    assert clock() - start == pytest.approx(1.0)


def test_publishing_holds_while_a_callback_queue_is_backed_up() -> None:
    # Given queues whose backlog is over the limit for three looks, then under it
    clock = FakeClock()
    backlog = ScriptedBacklog(80, 60, 51, 50)
    pacer = Pacer(1000, limits=[Limit("queues", backlog, 50)], clock=clock, sleep=clock.sleep)

    # When a call is about to go out
    pacer.before_publishing(10)

    # Then it waited a check interval per look over the limit, and says how long it held
    assert backlog.asked == 4
    assert pacer.held_seconds == pytest.approx(3 * BACKLOG_CHECK_SECONDS)


def test_publishing_holds_while_any_limit_is_exceeded_and_says_which() -> None:
    # Given queues under their limit, and running orders over theirs for two looks
    clock = FakeClock()
    queues, running = ScriptedBacklog(0), ScriptedBacklog(150, 101, 100)
    pacer = Pacer(
        1000,
        limits=[Limit("queues", queues, 50), Limit("running-orders", running, 100)],
        clock=clock,
        sleep=clock.sleep,
    )

    # When a call is about to go out
    pacer.before_publishing(10)

    # Then it held two intervals, both on the running orders, and looked at both limits each time
    assert pacer.held_by == {"running-orders": 2 * BACKLOG_CHECK_SECONDS}
    assert pacer.held_seconds == pytest.approx(2 * BACKLOG_CHECK_SECONDS)
    assert (queues.asked, running.asked) == (3, 3)


def test_a_hold_ends_when_the_invocation_must_checkpoint() -> None:
    clock = FakeClock()
    deadline = clock() + 5
    pacer = Pacer(
        10,
        limits=[Limit("queues", ScriptedBacklog(500), 50)],
        give_up=lambda: clock() >= deadline,
        clock=clock,
        sleep=clock.sleep,
    )
    pacer.before_publishing(10)
    assert pacer.held_seconds == pytest.approx(5.0)


def test_the_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="orders_per_second"):
        Pacer(0)


def test_a_paused_segment_and_its_continuation_decide_every_line_once() -> None:
    # Given 30 lines, and a pause asked for after the 12th order has been judged
    body = "".join(order(f"o-{i}") + "\n" for i in range(30)).encode()
    clock = FakeClock()
    bus = RecordingBus(clock)
    paced = PacedBus(bus, Pacer(10, clock=clock, sleep=clock.sleep))
    first, second = io.BytesIO(), io.BytesIO()
    judged = 0

    def after_twelve() -> bool:
        nonlocal judged
        judged += 1
        return judged >= 12

    # When the first segment runs until it pauses, and the next one starts from its checkpoint
    checkpoint = import_segment(
        io.BytesIO(body),
        source=SOURCE,
        bus_name="orders",
        bus=paced,
        known_orders=NothingKnown(),
        outcomes=SegmentWriter(first),
        should_pause=after_twelve,
    )
    assert isinstance(checkpoint, ImportCheckpoint)
    assert (checkpoint.segment, checkpoint.line, checkpoint.format) == (1, 13, FileFormat.JSON_LINES)
    assert body[: checkpoint.offset].count(b"\n") == 12
    summary = import_segment(
        io.BytesIO(body[checkpoint.offset :]),
        source=SOURCE,
        bus_name="orders",
        bus=paced,
        known_orders=NothingKnown(),
        outcomes=SegmentWriter(second),
        resume=checkpoint,
    )

    # Then the two segments hold every line once, the totals count each once, all at 10 orders a second
    assert isinstance(summary, ImportSummary)
    lines = [json.loads(x)["line"] for x in (first.getvalue() + second.getvalue()).splitlines()]
    assert lines == list(range(1, 31))
    assert summary.totals.model_dump() == {"orders": 30, "accepted": 30, "known": 0, "rejected": 0}
    assert summary.bytesRead == len(body)
    published = [order_id for _, ids in bus.calls for order_id in ids]
    assert published == [f"o-{i}" for i in range(30)]
    assert bus.calls[-1][0] - bus.calls[0][0] >= (30 - bus_size(bus.calls[-1])) / 10


def bus_size(call: tuple[float, list[str]]) -> int:
    return len(call[1])
