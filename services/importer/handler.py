"""Lambda entry point for the import queue: each message is an S3 notification for an uploaded order file."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.parser.models import S3Model

from services.importer import dal
from services.importer.logic import (
    KNOWN_CHECK_SIZE,
    SegmentWriter,
    assemble_report,
    import_segment,
    raise_if_unreadable,
)
from services.importer.models import (
    FileStatus,
    ImportCheckpoint,
    ImportContinuation,
    ImporterSettings,
    ImportSource,
    ImportSummary,
    SegmentDone,
)
from services.importer.pacing import Limit, PacedBus, Pacer
from services.shared.batch import process_sqs_batch
from services.shared.idempotency import run_once
from services.shared.observability import logger, metrics, tracer
from services.shared.settings import read_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

# What S3 sends to a queue once, when the notification is configured.
S3_TEST_EVENT = "s3:TestEvent"
# Time kept back at the end of an invocation to save its segment and send the continuation.
PAUSE_MARGIN_SECONDS = 60
# How long a finished segment is remembered, so a late duplicate of its message does nothing.
SEGMENT_RECORD_SECONDS = 7 * 24 * 3600


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_sqs_batch(event, context, handle_import_message)


@tracer.capture_method
def handle_import_message(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    body = json.loads(record.body)
    if isinstance(body, dict) and body.get("Event") == S3_TEST_EVENT:
        logger.info("S3 test event skipped", extra={"bucket": body.get("Bucket")})
        metrics.add_metric(name="S3TestEventsSkipped", unit="Count", value=1)
        return
    settings = read_settings(ImporterSettings)
    if isinstance(body, dict) and "importContinuation" in body:
        checkpoint = ImportContinuation.model_validate(body).importContinuation
        with logger.append_context_keys(
            bucket=checkpoint.source.bucket, key=checkpoint.source.key, segment=checkpoint.segment
        ):
            import_file(checkpoint.source, settings, lambda_context, resume=checkpoint)
        return
    for s3_record in S3Model.model_validate(body).Records:
        obj = s3_record.s3.object
        if obj is None:
            raise ValueError(f"{s3_record.eventName}: the notification names no object")
        source = ImportSource(
            bucket=s3_record.s3.bucket.name,
            key=unquote_plus(obj.key),
            versionId=obj.versionId,
            size=obj.size,
        )
        with logger.append_context_keys(bucket=source.bucket, key=source.key, segment=0):
            import_file(source, settings, lambda_context)


def import_file(
    source: ImportSource,
    settings: ImporterSettings,
    lambda_context: LambdaContext | None = None,
    *,
    resume: ImportCheckpoint | None = None,
) -> None:
    """Run one segment of the file's import, once: a redelivered message replays the finished segment,
    and one delivered while the same segment runs elsewhere is dropped (if that run dies, its own message
    comes back when its visibility ends, and the segment's in-progress record has expired by then)."""
    segment = resume.segment if resume is not None else 0
    try:
        run_once(
            lambda: _import_segment(source, settings, lambda_context, resume),
            answer_type=SegmentDone,
            table_name=settings.idempotency_table,
            key_prefix="importer",
            key={
                "bucket": source.bucket,
                "key": source.key,
                "version": source.versionId or "null",
                "segment": str(segment),
            },
            expires_after_seconds=SEGMENT_RECORD_SECONDS,
            lambda_context=lambda_context,
        )
    except IdempotencyAlreadyInProgressError:
        logger.warning("Segment already being imported by another invocation; this delivery is dropped")
        metrics.add_metric(name="ImportSegmentsDuplicated", unit="Count", value=1)


def _limits(settings: ImporterSettings) -> list[Limit]:
    limits = []
    if settings.backlog_queues:
        limits.append(
            Limit(
                "callback-queue-backlog", dal.SqsBacklog(settings.backlog_queues), settings.max_queue_backlog
            )
        )
    if settings.order_state_machine_arn:
        ceiling = settings.max_running_orders
        limits.append(
            Limit("running-orders", dal.RunningOrders(settings.order_state_machine_arn, ceiling), ceiling)
        )
    return limits


def _import_segment(
    source: ImportSource,
    settings: ImporterSettings,
    lambda_context: LambdaContext | None,
    resume: ImportCheckpoint | None,
) -> SegmentDone:
    segment = resume.segment if resume is not None else 0
    should_pause = _time_running_short(lambda_context, settings)
    pacer = Pacer(settings.orders_per_second, limits=_limits(settings), give_up=should_pause)
    with dal.report_file() as outcomes:
        result = import_segment(
            dal.open_object(source, resume.offset if resume is not None else 0),
            source=source,
            bus_name=settings.event_bus_name,
            bus=PacedBus(dal.EventBridgeOrderBus(), pacer),
            known_orders=dal.DynamoDBKnownOrders(settings.orders_table),
            outcomes=SegmentWriter(outcomes),
            progress=dal.ProgressWriter(source),
            resume=resume,
            should_pause=should_pause,
        )
        metrics.add_metric(name="ImportHeldSeconds", unit="Seconds", value=pacer.held_seconds)
        if pacer.held_by:
            logger.info("Import held back", extra={"held_seconds_by_limit": pacer.held_by})
        if isinstance(result, ImportCheckpoint):
            # Saved before the continuation is sent: the next segment may be the last, and assemble it.
            dal.save_segment(source, segment, outcomes)
            dal.send_continuation(settings.import_queue_url, result)
            logger.info(
                "Import paused; continued by the next invocation",
                extra={"next_segment": result.segment, "offset": result.offset, "line": result.line,
                       "held_seconds": pacer.held_seconds, **result.totals.model_dump()},
            )  # fmt: skip
            metrics.add_metric(name="ImportSegmentsContinued", unit="Count", value=1)
            return SegmentDone(segment=segment, paused=True, totals=result.totals)
        outcomes.seek(0)
        _finish(source, result, [*dal.saved_segments(source, segment), iter(outcomes)])
    return SegmentDone(segment=segment, paused=False, totals=result.totals)


def _finish(source: ImportSource, summary: ImportSummary, segments: list[Iterator[bytes]]) -> None:
    """Write the whole report once, from every segment's outcomes; fail the message if nothing was JSON."""
    with dal.report_file() as out:
        assemble_report(out, source, segments, summary)
        key = dal.save_report(source, out, summary)
    if summary.status is FileStatus.REJECTED:
        # The report says why; the failure sends the message back, and to the DLQ after its retries.
        metrics.add_metric(name="ImportFilesRejected", unit="Count", value=1)
        raise_if_unreadable(summary)
    totals = summary.totals
    logger.info("File imported", extra={"report": key, "status": summary.status, **totals.model_dump()})
    metrics.add_metric(name="ImportFilesCompleted", unit="Count", value=1)
    metrics.add_metric(name="ImportedOrdersAccepted", unit="Count", value=totals.accepted)
    metrics.add_metric(name="ImportedOrdersRejected", unit="Count", value=totals.rejected)
    metrics.add_metric(name="ImportedOrdersKnown", unit="Count", value=totals.known)


def _time_running_short(
    lambda_context: LambdaContext | None, settings: ImporterSettings
) -> Callable[[], bool]:
    """True once the invocation has less time left than a flush at the set rate and the saving take."""
    if lambda_context is None:
        return lambda: False
    flush_seconds = KNOWN_CHECK_SIZE / settings.orders_per_second
    margin_ms = int((PAUSE_MARGIN_SECONDS + flush_seconds) * 1000)
    return lambda: lambda_context.get_remaining_time_in_millis() < margin_ms
