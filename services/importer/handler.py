"""Lambda entry point for the import queue: each message is an S3 notification for an uploaded order file."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3Model

from services.importer import dal
from services.importer.logic import ReportWriter, UnreadableFileError, import_orders
from services.importer.models import ImporterSettings, ImportSource
from services.shared.batch import process_sqs_batch
from services.shared.observability import logger, metrics, tracer
from services.shared.settings import read_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

# What S3 sends to a queue once, when the notification is configured.
S3_TEST_EVENT = "s3:TestEvent"


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_sqs_batch(event, context, handle_import_message)


@tracer.capture_method
def handle_import_message(record: SQSRecord) -> None:
    body = json.loads(record.body)
    if isinstance(body, dict) and body.get("Event") == S3_TEST_EVENT:
        logger.info("S3 test event skipped", extra={"bucket": body.get("Bucket")})
        metrics.add_metric(name="S3TestEventsSkipped", unit="Count", value=1)
        return
    settings = read_settings(ImporterSettings)
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
        with logger.append_context_keys(bucket=source.bucket, key=source.key):
            import_file(source, settings)


def import_file(source: ImportSource, settings: ImporterSettings) -> None:
    with dal.report_file() as out:
        report = ReportWriter(out, source)
        try:
            summary = import_orders(
                dal.open_object(source),
                source=source,
                bus_name=settings.event_bus_name,
                bus=dal.EventBridgeOrderBus(),
                known_orders=dal.DynamoDBKnownOrders(settings.orders_table),
                report=report,
                progress=dal.ProgressWriter(source),
            )
        except UnreadableFileError:
            # The report says why; the failure sends the message back, and to the DLQ after its retries.
            if report.summary is not None:
                dal.save_report(source, out, report.summary)
            metrics.add_metric(name="ImportFilesRejected", unit="Count", value=1)
            raise
        key = dal.save_report(source, out, summary)
    totals = summary.totals
    logger.info("File imported", extra={"report": key, "status": summary.status, **totals.model_dump()})
    metrics.add_metric(name="ImportFilesCompleted", unit="Count", value=1)
    metrics.add_metric(name="ImportedOrdersAccepted", unit="Count", value=totals.accepted)
    metrics.add_metric(name="ImportedOrdersRejected", unit="Count", value=totals.rejected)
    metrics.add_metric(name="ImportedOrdersKnown", unit="Count", value=totals.known)
