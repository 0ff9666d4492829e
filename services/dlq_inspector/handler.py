"""Lambda entry point for the system-alerts topic: a DLQ alarm in, one diagnosis report out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes import SNSEvent

from services.dlq_inspector.dal import (
    CloudWatchAlarms,
    DynamoDBRejections,
    SnsReportPublisher,
    SqsDeadLetterSource,
)
from services.dlq_inspector.logic import alarmed_queue, inspect_dead_letters
from services.dlq_inspector.models import REPORT_KIND, InspectorSettings
from services.shared.observability import logger, metrics, tracer
from services.shared.settings import read_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

source = SqsDeadLetterSource()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    reported: list[str] = []
    ignored = 0
    for record in SNSEvent(event).records:
        message = record.sns
        kind = message.message_attributes.get("kind")
        alarm = None if kind is not None and kind.value == REPORT_KIND else alarmed_queue(message.message)
        if alarm is None:
            # Our own reports and other alerts share the topic; answering them would loop.
            ignored += 1
            continue
        alarm_name, queue_name = alarm
        settings = read_settings(InspectorSettings)
        # Order events that never reached the workflow are recorded as rejected orders.
        records_rejections = settings.orders_table is not None and queue_name == settings.order_events_dlq
        report = inspect_dead_letters(
            queue_name=queue_name,
            alarm_name=alarm_name,
            now=datetime.now(UTC).isoformat(timespec="seconds"),
            source=source,
            publisher=SnsReportPublisher(settings.system_alerts_topic_arn),
            rejections=DynamoDBRejections(settings.orders_table)
            if records_rejections and settings.orders_table
            else None,
            alarms=CloudWatchAlarms(),
        )
        for verdict, count in report.counts.items():
            metrics.add_metric(name=f"DeadLetters-{verdict}", unit="Count", value=count)
        logger.info("DLQ report published", extra={"queue": queue_name, "counts": report.counts})
        reported.append(queue_name)
    return {"reported": reported, "ignored": ignored}
