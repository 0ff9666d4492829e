"""SQS batch processing with partial failures and a short, growing retry delay for the failed records.

Powertools reports the failed records (``batchItemFailures``) so only they come back. Left alone they would
come back after the queue's full visibility timeout (up to 10 minutes here); instead each failed message's
visibility is cut to ``2 ** (receiveCount - 1)`` seconds, capped, so transient faults retry quickly and back
off as they repeat.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    ExceptionInfo,
    FailureResponse,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from botocore.exceptions import BotoCoreError, ClientError

from services.shared import aws
from services.shared.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

MAX_BACKOFF_SECONDS = 300


def backoff_seconds(receive_count: int, cap: int = MAX_BACKOFF_SECONDS) -> int:
    """Delay before the next attempt of a message received ``receive_count`` times: 1, 2, 4, ... s, capped."""
    attempt = max(receive_count, 1)
    return min(2 ** min(attempt - 1, 30), cap)


@functools.cache
def _queue_url(queue_arn: str) -> str:
    # arn:aws:sqs:<region>:<account>:<name>
    _, _, _, _, account, name = queue_arn.split(":", 5)
    return aws.sqs().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def delay_retry(record: SQSRecord) -> None:
    """Make a failed message visible again after the backoff (best effort: else the queue default applies)."""
    try:
        receive_count = int(record.attributes.approximate_receive_count or "1")
        aws.sqs().change_message_visibility(
            QueueUrl=_queue_url(record.event_source_arn),
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=backoff_seconds(receive_count),
        )
    except (ClientError, BotoCoreError, ValueError) as exc:
        logger.warning(
            "Could not shorten the retry delay", extra={"messageId": record.message_id, "error": str(exc)}
        )


class _BackoffOnFailure:
    """Mixin for Powertools SQS processors: every record reported as failed gets the retry delay."""

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> FailureResponse:
        if record is not None:
            delay_retry(record)
        return super().failure_handler(record, exception)  # type: ignore[misc]


class BackoffBatchProcessor(_BackoffOnFailure, BatchProcessor):
    pass


class BackoffFifoProcessor(_BackoffOnFailure, SqsFifoPartialProcessor):
    pass


def process_sqs_batch(
    event: dict[str, Any],
    context: LambdaContext | None,
    record_handler: Callable[..., Any],
    *,
    fifo: bool = False,
) -> PartialItemFailureResponse:
    """Process an SQS event record by record and return the partial batch response.

    On a FIFO queue a failure fails the rest of its message group (so a group never runs out of order) while
    other groups continue. When every record fails the response lists them all instead of raising, so the
    invocation does not count as a Lambda error and the retry delays set above still apply.
    """
    processor: BatchProcessor
    if fifo:
        processor = BackoffFifoProcessor(skip_group_on_error=True)
    else:
        processor = BackoffBatchProcessor(event_type=EventType.SQS)
    processor.raise_on_entire_batch_failure = False
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
