"""Import rules: read an order file as a stream, judge each order by the contract, publish the valid ones.

Nothing here knows S3, SQS or boto3: the file is a binary stream, the bus and the orders already known are
small interfaces (``OrderBus``, ``KnownOrders``), and the report goes to a writable binary file.

Memory stays bounded whatever the file's size: the file is read in chunks, a JSON array is parsed by ijson's
push parser as it arrives, and a line or an order larger than EventBridge takes is skipped, not kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

import ijson
from pydantic import ValidationError

from services.importer.models import (
    FileFormat,
    FileStatus,
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


def _pieces(stream: Readable) -> Iterator[tuple[int, bytes, bool]]:
    """``(line number, bytes, ends the line)``: the stream split at newlines, no piece over a chunk."""
    line = 1
    while chunk := stream.read(READ_CHUNK_BYTES):
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            yield line, chunk[start:end], True
            line += 1
            start = end + 1
        if start < len(chunk):
            yield line, chunk[start:], False


_BOM = b"\xef\xbb\xbf"


def _first_byte(piece: bytes) -> bytes:
    return piece.lstrip(b" \t\r\n")[:1]


class OrderFileReader:
    """Reads orders from a JSON array (``[{...}, ...]``) or JSON Lines (one order per line)."""

    def __init__(self, stream: Readable) -> None:
        self._pieces = _pieces(_CountingReader(stream, self))
        self.bytes_read = 0
        self.format: FileFormat | None = None
        self.error: str | None = None  # why reading stopped early (a broken JSON array)
        self.readable = False  # some JSON was read: a value, or at least a whole (empty) array

    def __iter__(self) -> Iterator[RawOrder]:
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
    report: ReportWriter
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
    reader = OrderFileReader(stream)
    run = ImportRun(source, bus_name, bus, known_orders, report, sleep=sleep)
    flushed = 0
    for raw in reader:
        run.add(raw)
        if progress is not None and run.totals.orders != flushed:
            flushed = run.totals.orders
            progress(reader.bytes_read, run.totals)
    run.flush()
    if not reader.readable:
        error = reader.error or (
            "the file is empty" if reader.format is None else "no line of the file is JSON"
        )
        summary = ImportSummary(
            source=source,
            format=reader.format,
            status=FileStatus.REJECTED,
            totals=run.totals,
            error=error,
            bytesRead=reader.bytes_read,
        )
        report.finish(summary)
        raise UnreadableFileError(f"{source.key}: {error}")
    summary = ImportSummary(
        source=source,
        format=reader.format,
        status=FileStatus.INCOMPLETE if reader.error else FileStatus.COMPLETED,
        totals=run.totals,
        error=reader.error,
        bytesRead=reader.bytes_read,
    )
    report.finish(summary)
    return summary


class ReportWriter:
    """Writes ``{"source", "orders": [...], "status", "totals", ...}`` as the outcomes come, never whole."""

    def __init__(self, out: IO[bytes], source: ImportSource) -> None:
        self._out = out
        self._first = True
        self.summary: ImportSummary | None = None
        out.write(b'{"source":' + source.model_dump_json().encode() + b',"orders":[')

    def add(self, outcome: OrderOutcome) -> None:
        self._out.write(
            (b"\n" if self._first else b",\n") + outcome.model_dump_json(exclude_none=True).encode()
        )
        self._first = False

    def finish(self, summary: ImportSummary) -> None:
        tail = summary.model_dump(mode="json", exclude={"source"})
        self._out.write(b"\n]," + json.dumps(tail)[1:].encode())
        self.summary = summary
