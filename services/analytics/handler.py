"""Lambda entry point for the order-analytics Kinesis stream (partial batch failures by sequence number)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from pydantic import ValidationError

from services.analytics.dal import DynamoDBAggregates
from services.analytics.logic import InvalidLifecycleEventError, increments_for, record_lifecycle_event
from services.analytics.models import AnalyticsSettings, LifecycleEvent
from services.shared.observability import logger, metrics, tracer
from services.shared.settings import read_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Longer than the stream's retention, so any replay of a record is recognised.
IDEMPOTENCY_SECONDS = 48 * 60 * 60


# What a record that can never be read raises: it is skipped, not retried (RecursionError: JSON nested too
# deeply for the parser).
MALFORMED_RECORD_ERRORS = (ValueError, ValidationError, InvalidLifecycleEventError, RecursionError)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    processor = BatchProcessor(event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event, record_handler=handle_lifecycle_record, processor=processor, context=context
    )


@tracer.capture_method
def handle_lifecycle_record(record: KinesisStreamRecord) -> None:
    sequence_number = record.kinesis.sequence_number
    try:
        event = LifecycleEvent.model_validate(record.kinesis.data_as_json())
        increments_for(event)  # validates the time and status before anything is stored
    except MALFORMED_RECORD_ERRORS as exc:
        # A malformed record can never succeed; failing it would stall the whole shard behind it.
        metrics.add_metric(name="AnalyticsRecordsMalformed", unit="Count", value=1)
        logger.error(
            "Skipping malformed lifecycle record",
            extra={"sequenceNumber": sequence_number, "error": str(exc)},
        )
        return

    settings = read_settings(AnalyticsSettings)
    aggregates = DynamoDBAggregates(
        settings.analytics_table,
        idempotency_table=settings.idempotency_table,
        marker_ttl_seconds=IDEMPOTENCY_SECONDS,
    )
    # Counted at most once per order and status (see logic.event_key): the "counted" marker and the
    # increments are one transaction, so a replay (Kinesis retry, producer resend) changes nothing.
    increments = record_lifecycle_event(event, aggregates=aggregates)
    if increments is None:
        logger.info("Lifecycle event already counted", extra={"sequenceNumber": sequence_number})
        return
    metrics.add_metric(name="LifecycleEventsAggregated", unit="Count", value=1)
