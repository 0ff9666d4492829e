"""What a user can do from the console: place a sample order, look into a DLQ, redrive a message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localaws.console.readers import queues
from localaws.tools import orders

if TYPE_CHECKING:
    from infra.naming import Names


class ConsoleActionError(Exception):
    """An action the console cannot do as asked (unknown sample, queue without a source...)."""


def place_sample_order(events: Any, names: Names, sample: str) -> dict[str, Any]:
    """Put an OrderPlaced event for a bundled sample, with a fresh order id."""
    try:
        detail = orders.sample(sample)
        event_id = orders.put_order(events, detail, names("orders"))
    except orders.OrderError as exc:
        raise ConsoleActionError(str(exc)) from exc
    return {"orderId": detail["orderId"], "eventId": event_id, "sample": sample}


def _queue_url(sqs: Any, name: str) -> str:
    return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])


def redrive_message(sqs: Any, names: Names, dlq: str, message_id: str | None = None) -> dict[str, Any]:
    """Move one message (``message_id``, else the first) from ``dlq`` back to the queue that feeds it.

    The source is the queue whose RedrivePolicy names ``dlq``. Receive + send + delete rather than
    StartMessageMoveTask: that moves *every* message and moto does not implement it.
    """
    row = next((q for q in queues(sqs, names) if q.name == dlq), None)
    if row is None:
        raise ConsoleActionError(f"no queue {dlq!r}")
    if len(row.sources) != 1:
        raise ConsoleActionError(
            f"{dlq} is the dead-letter queue of {len(row.sources)} queues; cannot tell where to send back"
        )
    source = row.sources[0]
    source_url = _queue_url(sqs, source)
    held: list[dict[str, Any]] = []
    try:
        for _ in range(5):
            batch = sqs.receive_message(
                QueueUrl=row.url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=30,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            held.extend(batch)
            chosen = next((m for m in held if message_id in (None, m["MessageId"])), None)
            if chosen is not None:
                _send_back(sqs, source_url, chosen, fifo=row.fifo)
                sqs.delete_message(QueueUrl=row.url, ReceiptHandle=chosen["ReceiptHandle"])
                held.remove(chosen)
                return {"moved": chosen["MessageId"], "from": dlq, "to": source}
    finally:
        for message in held:  # the others go back at once, untouched
            sqs.change_message_visibility(
                QueueUrl=row.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    raise ConsoleActionError(f"no message {message_id or ''} to redrive in {dlq}".replace("  ", " "))


def _send_back(sqs: Any, url: str, message: dict[str, Any], *, fifo: bool) -> None:
    kwargs: dict[str, Any] = {"QueueUrl": url, "MessageBody": message["Body"]}
    attributes = orders.message_attributes(message)
    if attributes:
        kwargs["MessageAttributes"] = attributes
    if fifo:
        kwargs["MessageGroupId"] = message.get("Attributes", {}).get("MessageGroupId", "redrive")
        # A new deduplication id: the original one may still be inside its five-minute window.
        kwargs["MessageDeduplicationId"] = f"redrive-{message['MessageId']}"[:128]
    sqs.send_message(**kwargs)
