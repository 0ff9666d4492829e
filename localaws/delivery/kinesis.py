"""Kinesis → Lambda event-source mappings: one reader per shard, checkpointing like the Lambda service.

moto invokes a mapping synchronously inside ``PutRecord``, one record per invoke, with no retries. While a
``KinesisEventSource`` runs it takes the mappings away from moto's streams and reads each shard itself from
the mapping's ``StartingPosition``: batches of ``BatchSize`` gathered for up to
``MaximumBatchingWindowInSeconds``; ``ReportBatchItemFailures`` moves the checkpoint to just before the
lowest failed sequence number; ``BisectBatchOnFunctionError`` splits a failing batch in halves (which does not
count as a retry); after ``MaximumRetryAttempts`` (or ``MaximumRecordAgeInSeconds``) the batch is skipped and
described to the on-failure destination.

Readers sleep until ``PutRecord(s)`` wakes the shard; timed waits are only for batching windows and retry
backoff.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.kinesis.models import kinesis_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from localaws.delivery.event_source_mapping import RESYNC_SECONDS, MappedEventSource, MappingWorker, WorkerKey
from localaws.patches import registry

if TYPE_CHECKING:
    from localaws.lambda_.runtime import InvocationResult, Invoker

logger = logging.getLogger(__name__)

_PUT_RECORD = "moto.kinesis.models.Stream.put_record"
registry.register("moto.kinesis.models.kinesis_backends", "read shards in-process (streams, shards, records)")
registry.register(
    "moto.kinesis.models.Stream",
    "instance attributes lambda_event_source_mappings (moto's synchronous delivery, taken away while we "
    "read), shards, arn, account_id, region",
)
registry.register(
    "moto.kinesis.models.Shard",
    "attributes records (OrderedDict of consecutive int sequence numbers → Record), shard_id, "
    "get_records, get_max_sequence_number, get_sequence_number_at",
)
registry.register(
    "moto.kinesis.models.Record",
    "attributes partition_key, data (base64 text), sequence_number, created_at → the Lambda record",
)
registry.register(
    "moto.awslambda.utils.get_backend", "the Lambda backend that holds the event-source mappings"
)
registry.register(
    "moto.awslambda.models.EventSourceMapping",
    "attributes uuid, event_source_arn, function_arn, enabled, batch_size, max_batch_window, "
    "starting_position(_timestamp), bisect_on_error, max_retry_attempts, max_record_age, "
    "destination_config, function_response_types",
)
registry.register("moto.sqs.models.sqs_backends", "send on-failure records to an SQS destination")
registry.register("moto.sns.models.sns_backends", "publish on-failure records to an SNS destination")

FIRST_RETRY_DELAY_SECONDS = 0.5
MAX_RETRY_DELAY_SECONDS = 10.0

_wakers: dict[tuple[str, str], list[Callable[[], None]]] = {}  # (stream ARN, shard id) → readers


def _put_record(stream: Any, partition_key: str, explicit_hash_key: str, data: str) -> tuple[str, str]:
    source = _running.running(stream.account_id, stream.region)
    if source is not None and stream.lambda_event_source_mappings:
        source.sync()  # adopt a mapping created since our last look before moto invokes synchronously
    sequence_number, shard_id = registry.original(_PUT_RECORD)(stream, partition_key, explicit_hash_key, data)
    for wake in _wakers.get((stream.arn, shard_id), ()):
        wake()
    return sequence_number, shard_id


_running: registry.PatchesInUse[KinesisEventSource] = registry.PatchesInUse(
    registry.PatchSet(
        "kinesis event source",
        [registry.Patch(_PUT_RECORD, _put_record, "wake shard readers; adopt new mappings")],
    )
)


def _iso(epoch_seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(epoch_seconds, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def kinesis_record(
    record: Any, shard_id: str, stream_arn: str, region: str, role: str | None
) -> dict[str, Any]:
    """One record of the event Lambda builds from a Kinesis record."""
    sequence_number = str(record.sequence_number)
    data = record.data
    if isinstance(data, bytes):
        data = base64.b64encode(data).decode()
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record.partition_key,
            "sequenceNumber": sequence_number,
            "data": data,
            "approximateArrivalTimestamp": round(float(record.created_at), 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role or "",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


@dataclass
class _Outcome:
    """What one invocation says about a batch."""

    succeeded: bool
    lowest_failed: int | None = None  # with ReportBatchItemFailures: retry from this sequence number
    function_error: str | None = None
    request_id: str = ""


def batch_outcome(
    result: InvocationResult, sequence_numbers: list[int], report_item_failures: bool
) -> _Outcome:
    """Lambda's reading of a Kinesis response: success, failure from a sequence number, or function error."""
    if result.function_error:
        return _Outcome(False, None, result.function_error, result.request_id)
    if not report_item_failures or result.payload is None:
        return _Outcome(True, request_id=result.request_id)
    payload = result.payload
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else "invalid"
    if failures is None or failures == []:
        return _Outcome(True, request_id=result.request_id)
    failed: list[int] = []
    if isinstance(failures, list):
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if isinstance(identifier, str) and identifier.isdigit() and int(identifier) in sequence_numbers:
                failed.append(int(identifier))
            else:
                failed = []
                break
    # An unreadable response fails the whole batch, from its first record.
    lowest = min(failed) if failed else sequence_numbers[0]
    return _Outcome(False, lowest, None, result.request_id)


class _ShardReader:
    """Reads one shard for one mapping; one batch in flight at a time, as Lambda does per shard."""

    def __init__(self, source: KinesisEventSource, esm: Any, stream: Any, shard: Any) -> None:
        self.source = source
        self.esm = esm
        self.stream = stream
        self.shard = shard
        self.stream_arn: str = stream.arn
        self.shard_id: str = shard.shard_id
        self.checkpoint = self._starting_checkpoint()
        self._cond = threading.Condition()
        self._generation = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=f"kinesis-esm-{self.shard_id}", daemon=True)

    def _starting_checkpoint(self) -> int:
        position = self.esm.starting_position or "TRIM_HORIZON"
        if position == "LATEST":
            return int(self.shard.get_max_sequence_number())
        if position == "AT_TIMESTAMP" and self.esm.starting_position_timestamp is not None:
            stamp = self.esm.starting_position_timestamp
            seconds = stamp.timestamp() if isinstance(stamp, dt.datetime) else float(stamp)
            return int(self.shard.get_sequence_number_at(seconds))
        return 0

    def start(self) -> None:
        _wakers.setdefault((self.stream_arn, self.shard_id), []).append(self.wake)
        self._thread.start()

    def stop(self) -> None:
        key = (self.stream_arn, self.shard_id)
        if self.wake in _wakers.get(key, []):
            _wakers[key].remove(self.wake)
            if not _wakers[key]:
                del _wakers[key]
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def wake(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def _wait(self, generation: int, timeout: float | None) -> bool:
        """Wait for new records (or stop); False when stopped."""
        with self._cond:
            self._cond.wait_for(lambda: self._stopped or self._generation != generation, timeout)
            return not self._stopped

    def _sleep(self, seconds: float) -> bool:
        with self._cond:
            self._cond.wait_for(lambda: self._stopped, seconds)
            return not self._stopped

    def _read(self, limit: int) -> list[Any]:
        records = self.shard.records
        found: list[Any] = []
        sequence = self.checkpoint + 1
        while len(found) < limit:
            record = records.get(sequence)
            if record is None:
                break
            found.append(record)
            sequence += 1
        if not found and records and next(reversed(records)) > self.checkpoint:
            # Not consecutive after all (a future moto?): fall back to moto's own scan.
            found, _, _ = self.shard.get_records(str(self.checkpoint), limit)
        return found

    def _run(self) -> None:
        while not self._stopped:
            try:
                self._read_once()
            except Exception:
                logger.exception("Kinesis reader for %s/%s failed; retrying", self.stream_arn, self.shard_id)
                self._sleep(1.0)

    def _read_once(self) -> None:
        generation = self._generation
        esm = self.esm
        if not esm.enabled or self.source.mapping(esm.uuid) is None:
            self._wait(generation, RESYNC_SECONDS)
            return
        batch_size = int(esm.batch_size or 100)
        batch = self._read(batch_size)
        if not batch:
            self._wait(generation, None)
            return
        deadline = time.monotonic() + float(esm.max_batch_window or 0) * self.source.time_scale
        while len(batch) < batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            generation = self._generation
            more = self._read(batch_size)
            if len(more) > len(batch):
                batch = more
                continue
            if not self._wait(generation, remaining):
                return
        self._process(batch)

    # -- one batch, retried, bisected, checkpointed --------------------------------------------------------

    def _process(self, batch: list[Any]) -> None:
        esm = self.esm
        max_retries = esm.max_retry_attempts if esm.max_retry_attempts is not None else -1
        max_age = esm.max_record_age if esm.max_record_age is not None else -1
        report_item_failures = "ReportBatchItemFailures" in (esm.function_response_types or [])
        work: deque[tuple[list[Any], int]] = deque([(batch, 0)])  # (records, retries so far)
        while work and not self._stopped:
            records, retries = work[0]
            if max_age is not None and int(max_age) >= 0 and self._too_old(records, float(max_age)):
                self._give_up(records, "RecordAgeExceeded", retries, _Outcome(False))
                work.popleft()
                continue
            outcome = self._invoke(records, report_item_failures)
            if outcome.succeeded:
                self.checkpoint = int(records[-1].sequence_number)
                work.popleft()
                continue
            if outcome.lowest_failed is not None:
                done = [r for r in records if int(r.sequence_number) < outcome.lowest_failed]
                if done:
                    self.checkpoint = int(done[-1].sequence_number)
                records = [r for r in records if int(r.sequence_number) >= outcome.lowest_failed]
            elif esm.bisect_on_error and len(records) > 1:
                half = len(records) // 2
                work.popleft()
                work.appendleft((records[half:], retries))
                work.appendleft((records[:half], retries))
                continue
            retries += 1
            if 0 <= int(max_retries) < retries:
                self._give_up(records, "RetryAttemptsExhausted", retries, outcome)
                work.popleft()
                continue
            work[0] = (records, retries)
            delay = min(FIRST_RETRY_DELAY_SECONDS * 2 ** (retries - 1), MAX_RETRY_DELAY_SECONDS)
            if not self._sleep(delay * self.source.time_scale):
                return

    def _too_old(self, records: list[Any], max_age_seconds: float) -> bool:
        return time.time() - float(records[0].created_at) > max_age_seconds * self.source.time_scale

    def _invoke(self, records: list[Any], report_item_failures: bool) -> _Outcome:
        role = self.source.function_role(self.esm.function_arn)
        region = self.stream_arn.split(":")[3]
        event = {
            "Records": [kinesis_record(r, self.shard_id, self.stream_arn, region, role) for r in records]
        }
        try:
            result = self.source.invoker.invoke(self.esm.function_arn, event)
        except Exception as exc:
            logger.exception("invoking %s for %s failed", self.esm.function_arn, self.shard_id)
            return _Outcome(False, None, type(exc).__name__)
        return batch_outcome(result, [int(r.sequence_number) for r in records], report_item_failures)

    def _give_up(self, records: list[Any], condition: str, retries: int, outcome: _Outcome) -> None:
        """Skip the records and describe them to the on-failure destination, as Lambda does."""
        self.checkpoint = max(self.checkpoint, int(records[-1].sequence_number))
        destination = ((self.esm.destination_config or {}).get("OnFailure") or {}).get("Destination")
        logger.warning(
            "%s: %d records of %s skipped (%s)", self.esm.function_arn, len(records), self.shard_id, condition
        )
        if not destination:
            return
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if outcome.function_error:
            response_context["functionError"] = outcome.function_error
        failure = {
            "requestContext": {
                "requestId": outcome.request_id or "",
                "functionArn": self.esm.function_arn,
                "condition": condition,
                "approximateInvokeCount": retries,
            },
            "responseContext": response_context,
            "version": "1.0",
            "timestamp": _iso(time.time()),
            "KinesisBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": str(records[0].sequence_number),
                "endSequenceNumber": str(records[-1].sequence_number),
                "approximateArrivalOfFirstRecord": _iso(float(records[0].created_at)),
                "approximateArrivalOfLastRecord": _iso(float(records[-1].created_at)),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        self.source.send_to_destination(destination, json.dumps(failure))


class KinesisEventSource(MappedEventSource):
    """Every Kinesis event-source mapping of one account and region, read shard by shard."""

    source_service = "kinesis"
    patches = _running

    def __init__(self, *, invoker: Invoker, region: str, account_id: str, time_scale: float = 1.0) -> None:
        super().__init__(invoker=invoker, region=region, account_id=account_id, time_scale=time_scale)
        self._roles: dict[str, str | None] = {}

    def function_role(self, function_arn: str) -> str | None:
        if function_arn not in self._roles:
            try:
                self._roles[function_arn] = self._lambda_backend().get_function(function_arn).role
            except Exception:
                self._roles[function_arn] = None
        return self._roles[function_arn]

    def checkpoint(self, uuid: str, shard_id: str) -> int | None:
        """The last sequence number the mapping is done with on a shard (for tests and diagnostics)."""
        reader = self._workers.get((uuid, shard_id))
        return None if not isinstance(reader, _ShardReader) else reader.checkpoint

    def _source_of(self, esm: Any) -> tuple[Any, str] | None:

        region, account = esm.event_source_arn.split(":")[3:5]
        streams = kinesis_backends[account][region].streams.values()
        stream = next((s for s in streams if s.arn == esm.event_source_arn), None)
        return None if stream is None else (stream, esm.event_source_arn)

    def _workers_for(self, esm: Any, source: Any) -> dict[WorkerKey, Callable[[], MappingWorker]]:
        if source is None:
            return {}
        return {
            (esm.uuid, shard.shard_id): functools.partial(_ShardReader, self, esm, source, shard)
            for shard in list(source.shards.values())
        }

    def send_to_destination(self, destination_arn: str, body: str) -> None:
        service, region, account = destination_arn.split(":")[2:5]
        if service == "sqs":
            sqs_backends[account][region].send_message(destination_arn.split(":")[5], body)
        elif service == "sns":
            sns_backends[account][region].publish(body, arn=destination_arn)
        else:
            logger.warning("on-failure destination %s is not supported locally", destination_arn)
