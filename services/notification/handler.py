"""Lambda entry point for the notification queue (raw SNS delivery: each body is a ``StatusNotice``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.notification.dal import DynamoDBNotificationAudit, SnsSmsChannel
from services.notification.logic import Channel, RecordingChannel, notify_customer
from services.notification.models import NotificationSettings, StatusNotice
from services.shared.batch import process_sqs_batch
from services.shared.observability import logger, metrics, tracer
from services.shared.settings import read_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

recording_channel = RecordingChannel()
sms_channel = SnsSmsChannel()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_sqs_batch(event, context, handle_status_notice)


@tracer.capture_method
def handle_status_notice(record: SQSRecord) -> None:
    notice = StatusNotice.model_validate_json(record.body)
    settings = read_settings(NotificationSettings)
    channel: Channel = sms_channel if settings.channel == "sns-sms" else recording_channel
    entry = notify_customer(
        notice,
        # The SQS message id survives redeliveries, so a retried message maps to the same audit row.
        notification_id=f"{notice.status}#{record.message_id}",
        now=datetime.now(UTC).isoformat(timespec="milliseconds"),
        channel=channel,
        audit=DynamoDBNotificationAudit(settings.notifications_table),
    )
    metrics.add_metric(
        name="NotificationsSent" if entry.outcome == "sent" else "NotificationsSkipped", unit="Count", value=1
    )
    logger.info(
        "Notification handled",
        extra={
            "orderId": notice.orderId,
            "status": notice.status,
            "outcome": entry.outcome,
            "reason": entry.reason,
        },
    )
