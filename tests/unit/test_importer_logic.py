"""Import rules: reading files as streams, judging orders, publishing with retries, the report."""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from services.importer.logic import (
    MAX_BATCH_ENTRIES,
    MAX_ENTRY_BYTES,
    MAX_LINE_BYTES,
    READ_CHUNK_BYTES,
    PublishCallError,
    ReportWriter,
    UnreadableFileError,
    batches,
    entry_size,
    import_orders,
    order_entry,
    publish,
)
from services.importer.models import ImportSource, ImportSummary
from tests.helpers.events import file_order as order

SOURCE = ImportSource(bucket="imports", key="incoming/orders.jsonl", versionId="v1")


class RecordingBus:
    """PutEvents failing the entries in ``failures`` (orderId → how many times), recording each call."""

    def __init__(self, failures: dict[str, int] | None = None) -> None:
        self.failures = dict(failures or {})
        self.calls: list[list[str]] = []

    def put(self, entries: list[dict[str, Any]]) -> list[str | None]:
        ids = [json.loads(e["Detail"])["orderId"] for e in entries]
        self.calls.append(ids)
        results: list[str | None] = []
        for order_id in ids:
            if self.failures.get(order_id, 0) > 0:
                self.failures[order_id] -= 1
                results.append("ThrottlingException: Rate exceeded")
            else:
                results.append(None)
        return results

    @property
    def published(self) -> list[str]:
        # An id is published by the last call that carried it, when that call did not fail it.
        return [i for call in self.calls for i in call]


class KnownSet:
    def __init__(self, known: set[str] | None = None) -> None:
        self.ids = known or set()
        self.asked: list[list[str]] = []

    def known(self, order_ids: list[str]) -> set[str]:
        self.asked.append(order_ids)
        return self.ids & set(order_ids)


def run(
    body: bytes, *, bus: RecordingBus | None = None, known: KnownSet | None = None
) -> tuple[ImportSummary, dict[str, Any], RecordingBus, list[float]]:
    out = io.BytesIO()
    bus = bus or RecordingBus()
    pauses: list[float] = []
    summary = import_orders(
        io.BytesIO(body),
        source=SOURCE,
        bus_name="orderflow-orders",
        bus=bus,
        known_orders=known or KnownSet(),
        report=ReportWriter(out, SOURCE),
        sleep=pauses.append,
    )
    return summary, json.loads(out.getvalue()), bus, pauses


def lines(*values: Any) -> bytes:
    return "".join((v if isinstance(v, str) else json.dumps(v)) + "\n" for v in values).encode()


def test_json_lines_are_judged_line_by_line_with_reasons() -> None:
    # Given valid orders, a line that is not JSON, a blank line, an invalid order and a repeated id
    body = lines(order("a"), "{oops", "", {**order("b"), "currency": "eu"}, order("c"), order("a"))

    # When the file is imported
    summary, report, bus, _ = run(body)

    # Then each line is accepted or rejected, with its number and reason, and the totals add up
    assert summary.status == "completed" and summary.format == "json-lines"
    outcomes = [(o["line"], o.get("orderId"), o["outcome"], o["reasons"]) for o in report["orders"]]
    assert outcomes == [
        (1, "a", "accepted", []),
        (
            2,
            None,
            "rejected",
            ["line: not JSON (Expecting property name enclosed in double quotes at column 2)"],
        ),
        (4, "b", "rejected", ["currency: String should match pattern '^[A-Z]{3}$'"]),
        (5, "c", "accepted", []),
        (6, "a", "rejected", ["orderId: a already appears on line 1 of this file"]),
    ]
    assert report["totals"] == {"orders": 5, "accepted": 2, "known": 0, "rejected": 3}
    assert report["source"]["versionId"] == "v1"
    assert bus.published == ["a", "c"]


def test_the_event_carries_the_order_as_written_and_names_the_file() -> None:
    # Given one order
    _, _, bus, _ = run(lines(order("a")))
    # Then nothing else is published, and the entry is what the workflow's rule matches
    entry = order_entry(json.dumps(order("a")), bus="orderflow-orders", resource="arn:aws:s3:::imports/k")
    assert (entry["Source"], entry["DetailType"]) == ("orderflow.orders", "OrderPlaced")
    assert bus.calls == [["a"]]


def test_a_json_array_reports_the_item_and_the_line_it_starts_on() -> None:
    # Given a pretty-printed array whose third item is refused and whose fourth is not an object
    items: list[Any] = [order("a"), order("b"), {**order("c"), "items": []}, 42]
    body = json.dumps(items, indent=2).encode()

    # When it is imported
    summary, report, bus, _ = run(body)

    # Then each item is judged, with its index and the line where it starts
    assert summary.format == "json-array"
    text = body.decode().splitlines()
    starts = [o["line"] for o in report["orders"]]
    assert [text[line - 1].strip() for line in starts[:3]] == ["{", "{", "{"]
    assert [(o["item"], o["outcome"]) for o in report["orders"]] == [
        (1, "accepted"),
        (2, "accepted"),
        (3, "rejected"),
        (4, "rejected"),
    ]
    assert report["orders"][2]["reasons"] == [
        "items: List should have at least 1 item after validation, not 0"
    ]
    assert report["orders"][3]["reasons"][0].startswith("detail: Input should be a valid dictionary")
    assert bus.published == ["a", "b"]


def test_an_array_that_breaks_off_keeps_what_came_before() -> None:
    # Given an array cut in the middle of its third item
    body = (
        b"[\n"
        + json.dumps(order("a")).encode()
        + b",\n"
        + json.dumps(order("b")).encode()
        + b',\n{"orderId": '
    )

    # When it is imported
    summary, report, bus, _ = run(body)

    # Then the first two are imported and the report says where and why reading stopped
    assert summary.status == "incomplete"
    assert report["error"].startswith("line 4: the JSON array breaks off here")
    assert bus.published == ["a", "b"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"Invalid JSON content\n", "no line of the file is JSON"),
        (b"", "the file is empty"),
        (b"  \n\n", "the file is empty"),
        (b"[{]", "line 1: the JSON array breaks off here"),
    ],
)
def test_a_file_with_nothing_readable_is_rejected_whole(body: bytes, error: str) -> None:
    # Given a file nothing can be read from; When it is imported
    out = io.BytesIO()
    report = ReportWriter(out, SOURCE)
    with pytest.raises(UnreadableFileError, match=r"incoming/orders\.jsonl: "):
        import_orders(
            io.BytesIO(body),
            source=SOURCE,
            bus_name="b",
            bus=RecordingBus(),
            known_orders=KnownSet(),
            report=report,
        )
    # Then the import fails (so the message goes back, then to the DLQ), after a report that says why
    written = json.loads(out.getvalue())
    assert written["status"] == "rejected"
    assert written["error"].startswith(error)


def test_an_empty_array_is_a_file_with_no_orders() -> None:
    summary, report, bus, _ = run(b"[ ]")
    assert (summary.status, report["totals"]["orders"], bus.calls) == ("completed", 0, [])


def test_known_orders_are_reported_and_not_sent_again() -> None:
    # Given orders the workflow has already recorded
    known = KnownSet({"b"})

    # When a file with them is imported
    _, report, bus, _ = run(lines(order("a"), order("b")), known=known)

    # Then they are flagged as known, and only the new ones are published
    assert [(o["orderId"], o["outcome"]) for o in report["orders"]] == [("a", "accepted"), ("b", "known")]
    assert report["orders"][1]["reasons"] == ["orderId: already recorded by the workflow"]
    assert bus.published == ["a"]
    assert known.asked == [["a", "b"]]


def test_puts_go_in_batches_of_ten_and_only_failed_entries_are_sent_again() -> None:
    # Given 25 orders, two of which PutEvents fails twice and once
    ids = [f"o{i:02d}" for i in range(25)]
    bus = RecordingBus({"o03": 2, "o17": 1})

    # When they are imported
    _, report, bus, pauses = run(lines(*(order(i) for i in ids)), bus=bus)

    # Then the first pass sends 10 + 10 + 5, the retries send only what failed, after growing pauses
    assert [len(call) for call in bus.calls] == [10, 10, 5, 2, 1]
    assert bus.calls[3] == ["o03", "o17"] and bus.calls[4] == ["o03"]
    assert pauses == [0.2, 0.4]
    assert report["totals"]["accepted"] == 25


def test_an_entry_that_keeps_failing_is_rejected_with_the_error() -> None:
    # Given an order PutEvents always refuses
    bus = RecordingBus({"bad": 100})

    # When it is imported
    _, report, bus, pauses = run(lines(order("ok"), order("bad")), bus=bus)

    # Then it is tried six times, then reported with the error and what to do
    assert sum(call.count("bad") for call in bus.calls) == 6
    assert len(pauses) == 5
    (rejected,) = [o for o in report["orders"] if o["outcome"] == "rejected"]
    assert rejected["reasons"] == [
        "not published (ThrottlingException: Rate exceeded); import the file again to retry"
    ]


class FlakyBus(RecordingBus):
    """Its first ``failed_calls`` PutEvents calls fail as a whole (a timeout, throttling)."""

    def __init__(self, failed_calls: int) -> None:
        super().__init__()
        self.failed_calls = failed_calls

    def put(self, entries: list[dict[str, Any]]) -> list[str | None]:
        if self.failed_calls:
            self.failed_calls -= 1
            self.calls.append([])
            raise PublishCallError("PutEvents failed: Read timeout")
        return super().put(entries)


def test_a_failed_call_is_retried_like_failed_entries() -> None:
    # Given a bus whose first two calls fail whole
    flaky = FlakyBus(failed_calls=2)

    # When 12 orders are imported
    _, report, bus, pauses = run(lines(*(order(f"f{i}") for i in range(12))), bus=flaky)

    # Then the failed calls' entries are sent again after the backoff, and every order is accepted
    assert report["totals"]["accepted"] == 12
    assert sorted(bus.published) == sorted(f"f{i}" for i in range(12))
    assert pauses == [0.2]


def test_publish_reports_each_entry_outcome() -> None:
    entries = [order_entry(json.dumps(order(i)), bus="b", resource="r") for i in ("x", "y")]
    assert publish(entries, RecordingBus({"y": 1}), sleep=lambda _: None) == [None, None]


def test_batches_stay_under_the_request_size_limit() -> None:
    # Given entries of 100 KB each
    entries = [{"Source": "s", "DetailType": "d", "Detail": "x" * 100_000} for _ in range(5)]
    # Then no request carries more than 256 KB of entries
    assert list(batches(entries)) == [[0, 1], [2, 3], [4]]
    small = [{"Source": "s", "DetailType": "d", "Detail": "{}"} for _ in range(25)]
    assert [len(b) for b in batches(small)] == [MAX_BATCH_ENTRIES, MAX_BATCH_ENTRIES, 5]


def test_entry_size_counts_as_eventbridge_does() -> None:
    entry = {"Source": "ab", "DetailType": "cd", "Detail": "é", "Resources": ["xyz"]}
    assert entry_size(entry) == 2 + 2 + 2 + 3


def _padded(order_id: str, size: int) -> bytes:
    text = json.dumps(order(order_id))
    return (text[:-1] + " " * (size - len(text)) + "}").encode()


def test_lines_at_the_size_limit() -> None:
    # Given a valid order padded to exactly the limit, and one byte over it
    at_limit = _padded("at", MAX_LINE_BYTES)
    over = _padded("over", MAX_LINE_BYTES + 1)
    assert (len(at_limit), len(over)) == (MAX_LINE_BYTES, MAX_LINE_BYTES + 1)

    # When a file with both (and a CRLF line ending) is imported
    _, report, bus, _ = run(at_limit + b"\r\n" + over + b"\n" + lines(order("after")))

    # Then the first is accepted, the second refused without being parsed, and reading goes on
    assert [(o["line"], o["outcome"]) for o in report["orders"]] == [
        (1, "accepted"),
        (2, "rejected"),
        (3, "accepted"),
    ]
    assert report["orders"][1]["reasons"] == [f"line: longer than {MAX_LINE_BYTES} bytes"]
    assert bus.published == ["at", "after"]
    # And what is published is the order, compact, far under EventBridge's entry limit
    assert entry_size({"Source": "s", "DetailType": "d", "Detail": json.dumps(order("at"))}) < MAX_ENTRY_BYTES


def test_an_array_item_far_over_the_limit_is_not_built() -> None:
    # Given an array whose second item is a megabyte
    big = {**order("big"), "note": "x" * 1_000_000}
    body = json.dumps([order("a"), big, order("c")]).encode()

    # When it is imported
    _, report, bus, _ = run(body)

    # Then that item is refused for its size and the next one still read
    assert [o["outcome"] for o in report["orders"]] == ["accepted", "rejected", "accepted"]
    assert report["orders"][1]["reasons"] == [f"order: larger than {MAX_ENTRY_BYTES} bytes"]
    assert bus.published == ["a", "c"]


class _GeneratedFile:
    """A file of ``size`` bytes made as it is read: nothing holds it whole but the reader under test."""

    def __init__(self, head: bytes, filler: bytes, tail: bytes, size: int) -> None:
        self._parts = self._generate(head, filler, tail, size)
        self._buffer = b""
        self.largest_read = 0

    @staticmethod
    def _generate(head: bytes, filler: bytes, tail: bytes, size: int) -> Iterator[bytes]:
        yield head
        produced = len(head) + len(tail)
        while produced < size:
            yield filler
            produced += len(filler)
        yield tail

    def read(self, size: int) -> bytes:
        self.largest_read = max(self.largest_read, size)
        while len(self._buffer) < size:
            part = next(self._parts, None)
            if part is None:
                break
            self._buffer += part
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


@pytest.mark.parametrize("form", ["json-lines", "json-array"])
def test_a_100_mb_file_is_never_held_whole(form: str) -> None:
    # Given a 100 MB file: orders at both ends, whitespace lines in between
    size = 100 * 1024 * 1024
    filler = b" " * 1023 + b"\n"
    if form == "json-lines":
        stream = _GeneratedFile(lines(order("first")), filler, lines(order("last")), size)
    else:
        head = b"[" + json.dumps(order("first")).encode() + b",\n"
        stream = _GeneratedFile(head, filler, json.dumps(order("last")).encode() + b"]", size)

    # When it is imported, its memory measured
    tracemalloc.start()
    try:
        out = io.BytesIO()
        bus = RecordingBus()
        summary = import_orders(
            stream,
            source=SOURCE,
            bus_name="b",
            bus=bus,
            known_orders=KnownSet(),
            report=ReportWriter(out, SOURCE),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Then both orders are read, in chunks, and memory stayed a small fraction of the file
    assert summary.bytesRead >= size
    assert bus.published == ["first", "last"]
    assert stream.largest_read == READ_CHUNK_BYTES
    assert peak < 5 * 1024 * 1024, peak
