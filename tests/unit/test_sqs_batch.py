"""The SQS batch wrapper: which records are reported failed, and how soon each failed one comes back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from services.shared import aws, batch
from services.shared.batch import process_sqs_batch
from tests.helpers.events import sqs_event

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/orderflow-payment"


class RecordingSqs:
    """Answers the two SQS calls the retry delay makes, and records each visibility change."""

    def __init__(self) -> None:
        self.visibility: dict[str, int] = {}  # receipt handle -> seconds until the message is visible

    def get_queue_url(self, *, QueueName: str, QueueOwnerAWSAccountId: str) -> dict[str, str]:  # noqa: N803
        return {"QueueUrl": f"https://sqs.us-east-1.amazonaws.com/{QueueOwnerAWSAccountId}/{QueueName}"}

    def change_message_visibility(
        self,
        *,
        QueueUrl: str,  # noqa: N803
        ReceiptHandle: str,  # noqa: N803
        VisibilityTimeout: int,  # noqa: N803
    ) -> dict[str, Any]:
        assert QueueUrl == QUEUE_URL
        self.visibility[ReceiptHandle] = VisibilityTimeout
        return {}


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingSqs]:
    fake = RecordingSqs()
    monkeypatch.setattr(aws, "sqs", lambda: fake)
    batch._queue_url.cache_clear()
    yield fake
    batch._queue_url.cache_clear()


def fail_all(record: SQSRecord) -> None:
    raise RuntimeError("downstream unavailable")


def test_a_failed_message_comes_back_later_the_more_often_it_was_received(sqs: RecordingSqs) -> None:
    # Given failing messages received once, three times, and forty times
    event = sqs_event(
        "sqs_payment_charge",
        [{"receiptHandle": f"rh-{count}", "receiveCount": count} for count in (1, 3, 40)],
    )
    # When the batch is processed
    response = process_sqs_batch(event, None, fail_all)
    # Then all are reported, and each becomes visible again after 2 ** (receives - 1) s, capped
    assert len(response["batchItemFailures"]) == 3
    assert sqs.visibility == {"rh-1": 1, "rh-3": 4, "rh-40": batch.MAX_BACKOFF_SECONDS}


def test_on_a_standard_queue_a_failure_does_not_hold_back_its_message_group(sqs: RecordingSqs) -> None:
    # Given a standard-queue batch (a fair queue tags messages with a group id too) whose first record fails
    # and whose second, of the same group, succeeds
    event = sqs_event(
        "sqs_payment_charge",
        [{"body": "poison", "messageGroupId": "tenant-1"}, {"body": "{}", "messageGroupId": "tenant-1"}],
    )
    processed: list[str] = []

    def handle(record: SQSRecord) -> None:
        if record.body == "poison":
            raise ValueError("not a request")
        processed.append(record.message_id)

    # When it is processed without asking for FIFO handling
    response = process_sqs_batch(event, None, handle)
    # Then only the failed record is reported and the next one went through: holding back a group is for FIFO
    first, second = (record["messageId"] for record in event["Records"])
    assert response == {"batchItemFailures": [{"itemIdentifier": first}]}
    assert processed == [second]
