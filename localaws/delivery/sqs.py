"""SQS → Lambda event-source mappings, polled the way the Lambda service polls them.

moto delivers to a mapping synchronously inside ``SendMessage`` (one message per invoke, canned attributes,
no partial batch responses). While an ``SqsEventSource`` runs it takes the mappings away from moto's queues
and polls them itself: batches of ``BatchSize`` gathered for up to ``MaximumBatchingWindowInSeconds``, the
queue's visibility timeout, ``ReportBatchItemFailures`` and redrive through moto's own ``ReceiveMessage``
(which moves a message to the DLQ once its receive count reaches ``maxReceiveCount``, and never hands out a
FIFO group that still has a message in flight).

Pollers sleep on a condition: a send to the queue wakes them; timed waits are only for a message that
becomes visible again or a batching window that closes.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from moto.sqs.models import sqs_backends

from localaws.delivery.event_source_mapping import RESYNC_SECONDS, MappedEventSource, MappingWorker, WorkerKey
from localaws.patches import registry

if TYPE_CHECKING:
    from localaws.lambda_.runtime import InvocationResult, Invoker

logger = logging.getLogger(__name__)

_ADD_MESSAGE = "moto.sqs.models.Queue.add_message"
_CHANGE_VISIBILITY = "moto.sqs.models.SQSBackend.change_message_visibility"
_DELETE_MESSAGE = "moto.sqs.models.Queue.delete_message"
_RETAINED = "moto.sqs.models.SQSBackend.is_message_valid_based_on_retention_period"
_UNIX_TIME = "moto.sqs.models.unix_time"
_UNIX_TIME_MILLIS = "moto.sqs.models.unix_time_millis"
registry.register(
    "moto.sqs.models.sqs_backends",
    "pollers receive/delete through the SQS backend in-process (no HTTP, no botocore serialisation)",
)
registry.register(
    "moto.sqs.models.SQSBackend.receive_message",
    "AWS-like receive: visibility, receive count, redrive to the DLQ, FIFO groups with messages in flight",
)
registry.register("moto.sqs.models.SQSBackend.delete_message", "delete the successful records")
registry.register_attributes(
    "moto.sqs.models.Queue",
    ["lambda_event_source_mappings"],
    "moto's synchronous delivery, taken away while we poll",
)
registry.register_attributes(
    "moto.sqs.models.Queue", ["_messages", "_messages_lock"], "the next visibility or delay expiry"
)
registry.register_attributes(
    "moto.sqs.models.Queue",
    ["pending_messages"],
    "released when visible again before each receive: keeps FIFO order",
)
registry.register_attributes(
    "moto.sqs.models.Queue",
    ["queue_arn", "name", "fifo_queue"],
    "which queue a mapping reads",
)
# Not an attribute path: Queue sets it with setattr from its attribute names, so only an instance has it.
registry.register(
    "moto.sqs.models.Queue._set_attributes",
    "sets visibility_timeout: how long a received message is invisible",
)
registry.register_attributes(
    "moto.sqs.models.Message",
    [
        "id",
        "body",
        "receipt_handle",
        "message_attributes",
        "sent_timestamp",
        "approximate_receive_count",
        "approximate_first_receive_timestamp",
        "group_id",
        "sequence_number",
        "deduplication_id",
        "sender_id",
        "system_attributes",
        "visible_at",
        "delayed_until",
        "visible",
        "body_md5",
        "attribute_md5",
    ],
    "a received message → the Lambda SQS record; its visibility and delay expiry",
)
registry.register(
    "moto.awslambda.utils.get_backend",
    "the Lambda backend that holds the event-source mappings (simple backend when use_docker=False)",
)
registry.register(
    "moto.awslambda.models.EventSourceMapping",
    "attributes uuid, event_source_arn, function_arn, enabled, batch_size, max_batch_window, "
    "function_response_types, last_modified",
)

# Mappings are re-read this often (creation, deletion, Enabled); sends wake pollers without waiting for it.
# An idle poller with nothing in flight sleeps until a send wakes it; this only bounds a missed wake-up.
IDLE_CAP_SECONDS = 30.0


# -- moto hooks ------------------------------------------------------------------------------------------

_wakers: dict[str, list[Callable[[], None]]] = {}  # queue ARN → pollers to wake


def _wake_queue(queue_arn: str) -> None:
    for wake in _wakers.get(queue_arn, ()):
        wake()


def _add_message(queue: Any, message: Any) -> None:
    source = _running.running(queue.account_id, queue.region)
    if source is not None and queue.lambda_event_source_mappings:
        # A mapping created since our last look: adopt it before moto delivers synchronously.
        source.sync()
    registry.original(_ADD_MESSAGE)(queue, message)
    _wake_queue(queue.queue_arn)


def _change_message_visibility(
    backend: Any, queue_name: str, receipt_handle: str, visibility_timeout: int
) -> None:
    registry.original(_CHANGE_VISIBILITY)(backend, queue_name, receipt_handle, visibility_timeout)
    # A handler shortening its retry backoff: the poller's timed wait must be recomputed.
    queue = backend.queues.get(queue_name)
    if queue is not None:
        _wake_queue(queue.queue_arn)


def _delete_message(queue: Any, receipt_handle: str) -> None:
    # moto rebuilds the message list here; an add_message from another thread in between would be lost.
    with queue._messages_lock:
        registry.original(_DELETE_MESSAGE)(queue, receipt_handle)


def _retained(backend: Any, queue_name: str, message: Any) -> bool:
    # moto builds every queue attribute (three scans of the queue) per received message to read this one.
    retention_seconds = int(backend.get_queue(queue_name).message_retention_period)
    return bool(retention_seconds + message.sent_timestamp / 1000 > time.time())


def _unix_time(moment: Any = None) -> float:
    return time.time() if moment is None else float(registry.original(_UNIX_TIME)(moment))


def _unix_time_millis(moment: Any = None) -> float:
    # moto's clock goes through naive datetimes; it is read for every message on every receive.
    return time.time() * 1000.0 if moment is None else float(registry.original(_UNIX_TIME_MILLIS)(moment))


_running: registry.PatchesInUse[SqsEventSource] = registry.PatchesInUse(
    registry.PatchSet(
        "sqs event source",
        [
            registry.Patch(_ADD_MESSAGE, _add_message, "wake SQS pollers; adopt new mappings"),
            registry.Patch(
                _CHANGE_VISIBILITY,
                _change_message_visibility,
                "wake pollers when a message's backoff changes",
            ),
            registry.Patch(
                _DELETE_MESSAGE, _delete_message, "serialise with add_message so no message is lost"
            ),
            # Speed-ups with moto's exact semantics, in while a source polls.
            registry.Patch(
                _RETAINED, _retained, "read the retention period without building all queue attributes"
            ),
            registry.Patch(_UNIX_TIME, _unix_time, "epoch seconds from time.time()"),
            registry.Patch(_UNIX_TIME_MILLIS, _unix_time_millis, "epoch milliseconds from time.time()"),
        ],
    )
)


# -- the Lambda SQS event ----------------------------------------------------------------------------------


def _lambda_message_attribute(attribute: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": attribute.get("DataType", "String"),
    }
    if "StringValue" in attribute:
        shaped["stringValue"] = attribute["StringValue"]
    if "BinaryValue" in attribute:
        value = attribute["BinaryValue"]
        shaped["binaryValue"] = base64.b64encode(value).decode() if isinstance(value, bytes) else value
    return shaped


def sqs_record(message: Any, queue_arn: str, region: str, fifo: bool) -> dict[str, Any]:
    """One record of the event Lambda builds from a received SQS message."""
    attributes: dict[str, str] = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": str(message.sender_id),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    trace_header = (message.system_attributes or {}).get("AWSTraceHeader")
    if trace_header:
        attributes["AWSTraceHeader"] = (
            trace_header["StringValue"] if isinstance(trace_header, dict) else str(trace_header)
        )
    if fifo:
        if message.sequence_number:
            attributes["SequenceNumber"] = message.sequence_number
        if message.group_id:
            attributes["MessageGroupId"] = message.group_id
        if message.deduplication_id:
            attributes["MessageDeduplicationId"] = message.deduplication_id
    record: dict[str, Any] = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {
            name: _lambda_message_attribute(value) for name, value in message.message_attributes.items()
        },
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    return record


def failed_message_ids(
    result: InvocationResult, batch_ids: list[str], report_item_failures: bool
) -> set[str]:
    """Which messages go back to the queue, as Lambda decides from the function's response."""
    everything = set(batch_ids)
    if result.function_error:
        return everything
    if not report_item_failures:
        return set()
    payload = result.payload
    if payload is None:
        return set()
    if not isinstance(payload, dict):
        return everything
    failures = payload.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return everything
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in everything:
            # An empty, missing or unknown identifier makes Lambda fail the whole batch.
            return everything
        failed.add(identifier)
    return failed


# -- pollers -----------------------------------------------------------------------------------------------


class _MappingPoller:
    """Polls one SQS queue for one event-source mapping with ``concurrency`` batches in flight at most."""

    def __init__(self, source: SqsEventSource, esm: Any, concurrency: int) -> None:
        self.source = source
        self.esm = esm
        self.uuid: str = esm.uuid
        self.queue_arn: str = esm.event_source_arn
        _, _, _, self.queue_region, self.queue_account, self.queue_name = self.queue_arn.split(":", 5)
        self._cond = threading.Condition()
        self._generation = 0
        self._stopped = False
        self._receive_lock = threading.Lock()  # moto's receive is not thread-safe on one queue
        self._collect_lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, name=f"sqs-esm-{self.queue_name}-{i}", daemon=True)
            for i in range(concurrency)
        ]

    # lifecycle

    def start(self) -> None:
        _wakers.setdefault(self.queue_arn, []).append(self.wake)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        with contextlib.suppress(KeyError, ValueError):
            _wakers[self.queue_arn].remove(self.wake)
            if not _wakers[self.queue_arn]:
                del _wakers[self.queue_arn]
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def wake(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    # helpers

    def _backend(self) -> Any:

        return sqs_backends[self.queue_account][self.queue_region]

    def _queue(self) -> Any | None:
        return self._backend().queues.get(self.queue_name)

    def _wait(self, generation: int, timeout: float | None) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._stopped or self._generation != generation, timeout)

    def _visibility_timeout(self, queue: Any) -> int:
        # moto counts visibility in whole seconds, and 0 would make the batch visible at once.
        return max(1, math.ceil(int(queue.visibility_timeout) * self.source.time_scale))

    def _seconds_until_next_visible(self, queue: Any) -> float | None:
        """The earliest moment a message in the queue can be received again (delay or visibility)."""
        now_ms = time.time() * 1000
        next_ms: float | None = None
        for message in list(queue._messages):
            ready_at = max(message.visible_at, message.delayed_until)
            if ready_at > now_ms and (next_ms is None or ready_at < next_ms):
                next_ms = ready_at
        if next_ms is None:
            return None
        return (next_ms - now_ms) / 1000 + 0.01

    def _receive(self, queue: Any, count: int) -> list[Any]:
        with self._receive_lock:
            # moto releases a returned in-flight message only when its receive loop reaches it, and then
            # re-reads the in-flight groups: a later message of the same group, returned by the same failed
            # batch, would unblock the group and be handed out first. Release them all up front instead.
            for message in [m for m in queue.pending_messages if m.visible]:
                queue.pending_messages.discard(message)
            return list(
                self._backend().receive_message(
                    self.queue_name, count, 0, self._visibility_timeout(queue), ["All"]
                )
            )

    # the loop

    def _run(self) -> None:
        while not self._stopped:
            try:
                self._poll_once()
            except Exception:
                logger.exception("SQS poller for %s failed; retrying", self.queue_arn)
                self._wait(self._generation, 1.0)

    def _poll_once(self) -> None:
        generation = self._generation
        esm = self.esm
        queue = self._queue()
        if queue is None or not esm.enabled or self.source.mapping(self.uuid) is None:
            self._wait(generation, RESYNC_SECONDS)
            return
        # One poller gathers a batch at a time (the batching window must not be split between pollers);
        # the others invoke the batches already gathered.
        with self._collect_lock:
            batch = self._collect(queue, int(esm.batch_size or 10), float(esm.max_batch_window or 0))
        if not batch:
            self._wait(generation, self._idle_timeout(queue))
            return
        self._deliver(queue, batch)
        # Our deletes and returns change what other pollers of this mapping may receive (FIFO groups).
        self.wake()

    def _collect(self, queue: Any, batch_size: int, window_seconds: float) -> list[Any]:
        batch = self._receive(queue, batch_size)
        if not batch:
            return batch
        deadline = time.monotonic() + window_seconds * self.source.time_scale
        while len(batch) < batch_size and not self._stopped:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            generation = self._generation
            more = self._receive(queue, batch_size - len(batch))
            if more:
                batch.extend(more)
                continue
            self._wait(generation, remaining)
        return batch

    def _idle_timeout(self, queue: Any) -> float:
        until_visible = self._seconds_until_next_visible(queue)
        return IDLE_CAP_SECONDS if until_visible is None else min(until_visible, IDLE_CAP_SECONDS)

    def _deliver(self, queue: Any, batch: list[Any]) -> None:
        fifo = bool(queue.fifo_queue)
        event = {"Records": [sqs_record(m, self.queue_arn, self.queue_region, fifo) for m in batch]}
        report_item_failures = "ReportBatchItemFailures" in (self.esm.function_response_types or [])
        ids = [m.id for m in batch]
        try:
            result = self.source.invoker.invoke(self.esm.function_arn, event)
        except Exception:
            logger.exception("invoking %s for %s failed", self.esm.function_arn, self.queue_arn)
            return  # the whole batch returns to the queue when its visibility timeout expires
        failed = failed_message_ids(result, ids, report_item_failures)
        if failed:
            logger.info(
                "%s: %d of %d messages return to %s (%s)",
                self.esm.function_arn,
                len(failed),
                len(batch),
                self.queue_name,
                result.error_type or "batchItemFailures",
            )
        backend = self._backend()
        for message in batch:
            if message.id not in failed:
                try:
                    backend.delete_message(self.queue_name, message.receipt_handle)
                except Exception:
                    logger.warning("could not delete %s from %s", message.id, self.queue_name, exc_info=True)


DEFAULT_CONCURRENCY_PER_MAPPING = 2


class SqsEventSource(MappedEventSource):
    """Every SQS event-source mapping of one account and region, polled like the Lambda service does."""

    source_service = "sqs"
    patches = _running

    def __init__(
        self,
        *,
        invoker: Invoker,
        region: str,
        account_id: str,
        time_scale: float = 1.0,
        concurrency_per_mapping: int | None = None,
    ) -> None:
        super().__init__(invoker=invoker, region=region, account_id=account_id, time_scale=time_scale)
        # Lambda scales a queue's pollers up to the concurrency the function has; here that is its workers
        # (two batches when the invoker does not say).
        self.concurrency_per_mapping = concurrency_per_mapping or int(
            getattr(invoker, "workers_per_function", DEFAULT_CONCURRENCY_PER_MAPPING)
        )

    def _source_of(self, esm: Any) -> tuple[Any, str] | None:

        _, _, _, region, account, queue_name = esm.event_source_arn.split(":", 5)
        queue = sqs_backends[account][region].queues.get(queue_name)
        return None if queue is None else (queue, esm.function_arn)

    def _workers_for(self, esm: Any, source: Any) -> dict[WorkerKey, Callable[[], MappingWorker]]:
        # A poller waits for a queue created after its mapping; it needs no queue to exist yet.
        return {(esm.uuid, ""): lambda: _MappingPoller(self, esm, self.concurrency_per_mapping)}
