"""Import rules: read an order file as a stream, judge each order by the contract, publish the valid ones.

Nothing here knows S3, SQS or boto3: the file is a binary stream, the bus and the orders already known are
small interfaces (``OrderBus``, ``KnownOrders``), and the report goes to a writable binary file.

Memory stays bounded whatever the file's size: the file is read in chunks, a JSON array is parsed by ijson's
push parser as it arrives, and a line or an order larger than EventBridge takes is skipped, not kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

import ijson
from pydantic import ValidationError

from services.importer.models import (
    FileFormat,
    FileStatus,
    ImportCheckpoint,
    ImportSource,
    ImportSummary,
    ImportTotals,
    OrderOutcome,
    Outcome,
)
from services.orders.logic import describe_errors
from services.shared.contract import EVENT_SOURCE, ORDER_PLACED, OrderPlaced

# EventBridge refuses a PutEvents entry (Source + DetailType + Detail + Resources, UTF-8) of 256 KB or more,
# and a request whose entries add up to more; a line longer than that can never become an order.
MAX_ENTRY_BYTES = 256 * 1024
MAX_LINE_BYTES = MAX_ENTRY_BYTES
MAX_BATCH_ENTRIES = 10
READ_CHUNK_BYTES = 64 * 1024
# Orders checked against the orders table at once (BatchGetItem takes up to 100 keys).
KNOWN_CHECK_SIZE = 100
# Decided orders held before they are written to the report, so the report keeps the file's order.
MAX_PENDING_OUTCOMES = 1000
PUBLISH_ATTEMPTS = 6
PUBLISH_BACKOFF_SECONDS = 0.2
PUBLISH_BACKOFF_CAP_SECONDS = 5.0


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class UnreadableFileError(Exception):
    """Nothing in the file can be read as an order: the import fails, and its message ends in the DLQ."""


class PublishCallError(Exception):
    """A whole PutEvents call failed (timeout, throttling, 5xx): every entry in it counts as failed."""


class OrderBus(Protocol):
    def put(self, entries: list[dict[str, Any]]) -> list[str | None]:
        """PutEvents; per entry ``None`` when it was accepted, else ``"<ErrorCode>: <ErrorMessage>"``.

        Raises ``PublishCallError`` when the call as a whole failed.
        """
        ...


class KnownOrders(Protocol):
    def known(self, order_ids: list[str]) -> set[str]:
        """The ids among ``order_ids`` that the workflow has already recorded."""
        ...


@dataclass(frozen=True)
class RawOrder:
    """One value read from the file, or why it could not be read."""

    line: int
    item: int | None
    value: Any = None
    unreadable: str | None = None


# -- reading ------------------------------------------------------------------------------------------


def _pieces(stream: Readable, reader: OrderFileReader) -> Iterator[tuple[int, bytes, bool]]:
    """``(line number, bytes, ends the line)``: the stream split at newlines, no piece over a chunk.

    Before a piece that ends a line is handed out, ``reader.line_end`` is the byte just after its newline.
    """
    line = reader.first_line
    base = reader.start_offset
    while chunk := stream.read(READ_CHUNK_BYTES):
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            reader.line_end = (base + end + 1, line + 1)
            yield line, chunk[start:end], True
            line += 1
            start = end + 1
        if start < len(chunk):
            yield line, chunk[start:], False
        base += len(chunk)


_BOM = b"\xef\xbb\xbf"


def _first_byte(piece: bytes) -> bytes:
    return piece.lstrip(b" \t\r\n")[:1]


class OrderFileReader:
    """Reads orders from a JSON array (``[{...}, ...]``) or JSON Lines (one order per line).

    A JSON Lines file can be read on from a line boundary (``start_offset``, ``first_line``, with the
    ``fmt`` found before): the stream then starts there, as a ranged GET returns it.
    """

    def __init__(
        self,
        stream: Readable,
        *,
        start_offset: int = 0,
        first_line: int = 1,
        fmt: FileFormat | None = None,
    ) -> None:
        self.start_offset = start_offset
        self.first_line = first_line
        self.line_end = (start_offset, first_line)  # (byte offset, line number) after the last full line
        self._pieces = _pieces(_CountingReader(stream, self), self)
        self.bytes_read = start_offset
        self.format: FileFormat | None = fmt
        self.error: str | None = None  # why reading stopped early (a broken JSON array)
        self.readable = False  # some JSON was read: a value, or at least a whole (empty) array

    def __iter__(self) -> Iterator[RawOrder]:
        if self.format is FileFormat.JSON_LINES:
            yield from self._lines([])
            return
        for line, chunk, ends_line in self._pieces:
            piece = chunk.removeprefix(_BOM) if line == 1 else chunk
            if not _first_byte(piece):
                continue
            head = [(line, piece, ends_line)]
            if _first_byte(piece) == b"[":
                self.format = FileFormat.JSON_ARRAY
                yield from self._array(head)
            else:
                self.format = FileFormat.JSON_LINES
                yield from self._lines(head)
            return

    def _lines(self, head: list[tuple[int, bytes, bool]]) -> Iterator[RawOrder]:
        buffer = bytearray()
        too_large = False
        current = 0
        for line, piece, ends_line in _chain(head, self._pieces):
            current = line
            if not too_large:
                buffer += piece
                if len(buffer.rstrip(b"\r")) > MAX_LINE_BYTES:
                    too_large, buffer = True, bytearray()
            if ends_line:
                yield from self._line(line, buffer, too_large)
                buffer, too_large = bytearray(), False
        if buffer or too_large:
            yield from self._line(current, buffer, too_large)

    def _line(self, line: int, text: bytearray, too_large: bool) -> Iterator[RawOrder]:
        if too_large:
            yield RawOrder(line, None, unreadable=f"line: longer than {MAX_LINE_BYTES} bytes")
            return
        if not text.strip():
            return
        try:
            value = json.loads(text.decode("utf-8"))
        except UnicodeDecodeError as exc:
            yield RawOrder(line, None, unreadable=f"line: not UTF-8 ({exc.reason} at byte {exc.start})")
            return
        except json.JSONDecodeError as exc:
            yield RawOrder(line, None, unreadable=f"line: not JSON ({exc.msg} at column {exc.colno})")
            return
        self.readable = True
        yield RawOrder(line, None, value=value)

    def _array(self, head: list[tuple[int, bytes, bool]]) -> Iterator[RawOrder]:
        events = ijson.sendable_list()
        parser = ijson.basic_parse_coro(events, use_float=True)
        state = _ArrayState()
        line = 1
        try:
            for line, piece, ends_line in _chain(head, self._pieces):
                parser.send(piece + b"\n" if ends_line else piece)
                yield from state.consume(events, line, self.bytes_read)
                del events[:]
                # An order far over the limit is not built (its events are still followed to its end).
                if state.building is not None and self.bytes_read - state.item_start > 2 * MAX_ENTRY_BYTES:
                    state.drop_item()
                if state.closed:
                    break
            parser.close()
            yield from state.consume(events, line, self.bytes_read)
        except ijson.JSONError as exc:
            self.error = f"line {line}: the JSON array breaks off here ({_short(exc)})"
            return
        finally:
            self.readable = state.items > 0 or state.closed


class _ArrayState:
    """Follows ijson's events through the top-level array, building one item at a time."""

    def __init__(self) -> None:
        self.depth = 0
        self.items = 0
        self.closed = False
        self.building: ijson.ObjectBuilder | None = None
        self.dropped = False
        self.item_line = 0
        self.item_start = 0  # bytes read when the item was first seen (to a chunk's precision)

    def drop_item(self) -> None:
        self.building, self.dropped = None, True

    def consume(self, events: list[tuple[str, Any]], line: int, bytes_read: int) -> Iterator[RawOrder]:
        for event, value in events:
            if self.depth == 0:
                if event != "start_array":
                    raise ijson.JSONError(f"expected a JSON array, found {event}")
                self.depth = 1
                continue
            if self.depth == 1:
                if event == "end_array":
                    self.depth, self.closed = 0, True
                    continue
                self.items += 1
                self.item_line, self.item_start, self.dropped = line, bytes_read, False
                self.building = ijson.ObjectBuilder()
            if self.building is not None:
                self.building.event(event, value)
            if event in ("start_map", "start_array"):
                self.depth += 1
            elif event in ("end_map", "end_array"):
                self.depth -= 1
            if self.depth == 1:
                yield self._finish()

    def _finish(self) -> RawOrder:
        if self.dropped or self.building is None:
            return RawOrder(
                self.item_line, self.items, unreadable=f"order: larger than {MAX_ENTRY_BYTES} bytes"
            )
        value, self.building = self.building.value, None
        return RawOrder(self.item_line, self.items, value=value)


class _CountingReader:
    def __init__(self, stream: Readable, reader: OrderFileReader) -> None:
        self._stream = stream
        self._reader = reader

    def read(self, size: int) -> bytes:
        data = self._stream.read(size)
        self._reader.bytes_read += len(data)
        return data


def _chain(
    head: list[tuple[int, bytes, bool]], rest: Iterator[tuple[int, bytes, bool]]
) -> Iterator[tuple[int, bytes, bool]]:
    yield from head
    yield from rest


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


# -- judging and publishing ----------------------------------------------------------------------------


def order_id_of(value: Any) -> str | None:
    order_id = value.get("orderId") if isinstance(value, dict) else None
    return order_id if isinstance(order_id, str) else None


def contract_reasons(value: Any) -> list[str]:
    """Why ``value`` is no acceptable ``OrderPlaced`` detail (none when it is), in the workflow's words."""
    try:
        OrderPlaced.model_validate(value)
    except ValidationError as exc:
        return describe_errors(exc)
    return []


def order_entry(detail: str, *, bus: str, resource: str) -> dict[str, Any]:
    return {
        "EventBusName": bus,
        "Source": EVENT_SOURCE,
        "DetailType": ORDER_PLACED,
        "Detail": detail,
        "Resources": [resource],
    }


def entry_size(entry: dict[str, Any]) -> int:
    """PutEvents entry size as EventBridge counts it (Time would add 14 bytes; we send none)."""
    size = len(entry["Source"].encode()) + len(entry["DetailType"].encode()) + len(entry["Detail"].encode())
    return size + sum(len(resource.encode()) for resource in entry.get("Resources", []))


def batches(entries: list[dict[str, Any]]) -> Iterator[list[int]]:
    """Indexes of ``entries`` in PutEvents requests: at most 10 entries, under 256 KB together."""
    batch: list[int] = []
    size = 0
    for index, entry in enumerate(entries):
        this = entry_size(entry)
        if batch and (len(batch) == MAX_BATCH_ENTRIES or size + this >= MAX_ENTRY_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(index)
        size += this
    if batch:
        yield batch


def publish(
    entries: list[dict[str, Any]],
    bus: OrderBus,
    *,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = PUBLISH_ATTEMPTS,
) -> list[str | None]:
    """Put every entry; only the entries PutEvents failed are sent again, after a growing pause.

    Returns, per entry, ``None`` once it was accepted, or the last error after ``attempts`` tries.
    """
    errors: list[str | None] = ["not sent"] * len(entries)
    pending = list(range(len(entries)))
    for attempt in range(attempts):
        if attempt:
            sleep(min(PUBLISH_BACKOFF_SECONDS * 2 ** (attempt - 1), PUBLISH_BACKOFF_CAP_SECONDS))
        failed: list[int] = []
        for batch in batches([entries[i] for i in pending]):
            indexes = [pending[i] for i in batch]
            try:
                results = bus.put([entries[i] for i in indexes])
            except PublishCallError as exc:
                results = [str(exc)] * len(indexes)
            for index, error in zip(indexes, results, strict=True):
                errors[index] = error
                if error is not None:
                    failed.append(index)
        pending = failed
        if not pending:
            break
    return errors


@dataclass
class _Valid:
    outcome_index: int
    order_id: str
    detail: str


@dataclass
class ImportRun:
    """One file's import: decides each order and writes each outcome to the report, in file order."""

    source: ImportSource
    bus_name: str
    bus: OrderBus
    known_orders: KnownOrders
    report: OutcomeSink
    sleep: Callable[[float], None] = time.sleep
    totals: ImportTotals = field(default_factory=ImportTotals)
    _pending: list[OrderOutcome] = field(default_factory=list)
    _valid: list[_Valid] = field(default_factory=list)
    _seen: dict[str, int] = field(default_factory=dict)

    @property
    def _resource(self) -> str:
        return f"arn:aws:s3:::{self.source.bucket}/{self.source.key}"

    def add(self, raw: RawOrder) -> None:
        if raw.unreadable is not None:
            self._decide(
                OrderOutcome(line=raw.line, item=raw.item, outcome=Outcome.REJECTED, reasons=[raw.unreadable])
            )
            return
        order_id = order_id_of(raw.value)
        reasons = contract_reasons(raw.value)
        detail = json.dumps(raw.value, separators=(",", ":"), ensure_ascii=False)
        if not reasons:
            size = entry_size(order_entry(detail, bus=self.bus_name, resource=self._resource))
            if size >= MAX_ENTRY_BYTES:
                reasons = [
                    f"order: its event would be {size} bytes, EventBridge takes under {MAX_ENTRY_BYTES}"
                ]
        if not reasons and order_id is not None:
            first = self._seen.get(order_id)
            if first is not None:
                reasons = [f"orderId: {order_id} already appears on line {first} of this file"]
            else:
                self._seen[order_id] = raw.line
        if reasons:
            self._decide(
                OrderOutcome(
                    line=raw.line, item=raw.item, orderId=order_id, outcome=Outcome.REJECTED, reasons=reasons
                )
            )
            return
        # Valid: accepted for now; the known check and PutEvents may still change that at the next flush.
        self._valid.append(_Valid(len(self._pending), str(order_id), detail))
        self._pending.append(
            OrderOutcome(line=raw.line, item=raw.item, orderId=order_id, outcome=Outcome.ACCEPTED)
        )
        if len(self._valid) >= KNOWN_CHECK_SIZE or len(self._pending) >= MAX_PENDING_OUTCOMES:
            self.flush()

    def _decide(self, outcome: OrderOutcome) -> None:
        self._pending.append(outcome)
        if len(self._pending) >= MAX_PENDING_OUTCOMES:
            self.flush()

    def flush(self) -> None:
        """Check the valid orders against the known ones, publish the new ones, write every outcome."""
        if self._valid:
            known = self.known_orders.known([valid.order_id for valid in self._valid])
            new = [valid for valid in self._valid if valid.order_id not in known]
            for valid in self._valid:
                if valid.order_id in known:
                    self._pending[valid.outcome_index] = self._pending[valid.outcome_index].model_copy(
                        update={
                            "outcome": Outcome.KNOWN,
                            "reasons": ["orderId: already recorded by the workflow"],
                        }
                    )
            entries = [order_entry(v.detail, bus=self.bus_name, resource=self._resource) for v in new]
            for valid, error in zip(new, publish(entries, self.bus, sleep=self.sleep), strict=True):
                if error is not None:
                    self._pending[valid.outcome_index] = self._pending[valid.outcome_index].model_copy(
                        update={
                            "outcome": Outcome.REJECTED,
                            "reasons": [f"not published ({error}); import the file again to retry"],
                        }
                    )
        for outcome in self._pending:
            self.totals.count(outcome.outcome)
            self.report.add(outcome)
        self._pending.clear()
        self._valid.clear()


class OutcomeSink(Protocol):
    def add(self, outcome: OrderOutcome) -> None: ...


def import_orders(
    stream: Readable,
    *,
    source: ImportSource,
    bus_name: str,
    bus: OrderBus,
    known_orders: KnownOrders,
    report: ReportWriter,
    progress: Callable[[int, ImportTotals], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ImportSummary:
    """Import every order of ``stream`` and finish the report; raises ``UnreadableFileError`` (after
    finishing the report as ``rejected``) when nothing in it could be read as JSON."""
    summary = import_segment(
        stream,
        source=source,
        bus_name=bus_name,
        bus=bus,
        known_orders=known_orders,
        outcomes=report,
        progress=progress,
        sleep=sleep,
    )
    if not isinstance(summary, ImportSummary):  # without ``should_pause`` it never pauses
        raise TypeError(f"{source.key}: the import paused with nothing asking it to")
    report.finish(summary)
    raise_if_unreadable(summary)
    return summary


def raise_if_unreadable(summary: ImportSummary) -> None:
    if summary.status is FileStatus.REJECTED:
        raise UnreadableFileError(f"{summary.source.key}: {summary.error}")


def import_segment(
    stream: Readable,
    *,
    source: ImportSource,
    bus_name: str,
    bus: OrderBus,
    known_orders: KnownOrders,
    outcomes: OutcomeSink,
    progress: Callable[[int, ImportTotals], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    resume: ImportCheckpoint | None = None,
    should_pause: Callable[[], bool] | None = None,
) -> ImportSummary | ImportCheckpoint:
    """Import orders from where ``resume`` left off (the file's start without it).

    ``stream`` starts at ``resume.offset``. Each decided order goes to ``outcomes``. Returns the file's
    summary once it is read to its end, or, when ``should_pause()`` turns true between two orders, the
    checkpoint the next segment starts from: every order before it is decided, published and in
    ``outcomes``, and its totals include them.
    """
    start = resume or ImportCheckpoint(source=source)
    reader = OrderFileReader(stream, start_offset=start.offset, first_line=start.line, fmt=start.format)
    run = ImportRun(
        source, bus_name, bus, known_orders, outcomes, sleep=sleep, totals=start.totals.model_copy()
    )
    skip = start.skip
    judged = 0
    flushed = run.totals.orders
    for raw in reader:
        if skip:  # a JSON array read again from its start: these items were decided before
            skip -= 1
            continue
        run.add(raw)
        judged += 1
        if progress is not None and run.totals.orders != flushed:
            flushed = run.totals.orders
            progress(reader.bytes_read, run.totals)
        if should_pause is None or not should_pause():
            continue
        checkpoint = _checkpoint_after(raw, reader, start, judged)
        if checkpoint is not None:
            run.flush()
            return checkpoint.model_copy(update={"totals": run.totals})
    run.flush()
    readable = start.readable or reader.readable
    error: str | None
    if not readable:
        error = reader.error or (
            "the file is empty" if reader.format is None else "no line of the file is JSON"
        )
        status = FileStatus.REJECTED
    else:
        error = reader.error
        status = FileStatus.INCOMPLETE if reader.error else FileStatus.COMPLETED
    return ImportSummary(
        source=source,
        format=reader.format,
        status=status,
        totals=run.totals,
        error=error,
        bytesRead=reader.bytes_read,
    )


def _checkpoint_after(
    raw: RawOrder, reader: OrderFileReader, start: ImportCheckpoint, judged: int
) -> ImportCheckpoint | None:
    """Where the next segment starts, right after ``raw``; None where no segment can start."""
    readable = start.readable or reader.readable
    if reader.format is FileFormat.JSON_LINES:
        offset, next_line = reader.line_end
        if next_line != raw.line + 1:  # the last line, without its newline: finish instead
            return None
        return ImportCheckpoint(
            source=start.source,
            segment=start.segment + 1,
            offset=offset,
            line=next_line,
            format=reader.format,
            readable=readable,
        )
    # A JSON array cannot be parsed from the middle: the next segment reads it again and skips what is done.
    return ImportCheckpoint(
        source=start.source,
        segment=start.segment + 1,
        skip=start.skip + judged,
        format=None,
        readable=readable,
    )


class ReportWriter:
    """Writes ``{"source", "orders": [...], "status", "totals", ...}`` as the outcomes come, never whole."""

    def __init__(self, out: IO[bytes], source: ImportSource) -> None:
        self._out = out
        self._first = True
        self.summary: ImportSummary | None = None
        out.write(b'{"source":' + source.model_dump_json().encode() + b',"orders":[')

    def add(self, outcome: OrderOutcome) -> None:
        self.add_json(outcome.model_dump_json(exclude_none=True).encode())

    def add_json(self, outcome: bytes) -> None:
        """One outcome already in JSON, as a segment of a long import saved it."""
        self._out.write((b"\n" if self._first else b",\n") + outcome)
        self._first = False

    def finish(self, summary: ImportSummary) -> None:
        tail = summary.model_dump(mode="json", exclude={"source"})
        self._out.write(b"\n]," + json.dumps(tail)[1:].encode())
        self.summary = summary


class SegmentWriter:
    """One segment's outcomes as JSON Lines: the part of the report a paused import keeps until its end."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out

    def add(self, outcome: OrderOutcome) -> None:
        self._out.write(outcome.model_dump_json(exclude_none=True).encode() + b"\n")


def assemble_report(
    out: IO[bytes], source: ImportSource, segments: Iterable[Iterable[bytes]], summary: ImportSummary
) -> ReportWriter:
    """The whole report in ``out``: the segments' outcome lines in file order, then the summary."""
    report = ReportWriter(out, source)
    for segment in segments:
        for line in segment:
            if line.strip():
                report.add_json(line.rstrip(b"\r\n"))
    report.finish(summary)
    return report
