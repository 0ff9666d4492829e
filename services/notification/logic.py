"""Which customer hears what about their order, through which channel, and the audit trail of it."""

from __future__ import annotations

import re
from typing import Protocol

from services.notification.models import Delivery, NotificationRecord, StatusNotice
from services.shared.observability import logger

_MESSAGES = {
    "placed": "We received your order {order}.",
    "paid": "Payment for order {order} went through{amount}.",
    "shipped": "Order {order} is on its way.",
    "cancelled": "Order {order} was cancelled{reason}.",
    "rejected": "We could not accept order {order}{reason}.",
}


_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")


def e164(phone: str) -> str | None:
    """``+44 20 7946 0000`` -> ``+442079460000``; ``None`` if the number lacks its international prefix."""
    compact = _PHONE_PUNCTUATION.sub("", phone)
    return compact if _E164.match(compact) else None


class Channel(Protocol):
    name: str

    def deliver(self, *, contact: dict[str, str], text: str) -> Delivery: ...


class NotificationAudit(Protocol):
    def find(self, order_id: str, notification_id: str) -> NotificationRecord | None: ...

    def record(self, entry: NotificationRecord) -> None: ...


class RecordingChannel:
    """Keeps what would have been sent (local runs, tests): prefers email, then phone."""

    name = "recording"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def deliver(self, *, contact: dict[str, str], text: str) -> Delivery:
        recipient = contact.get("email") or contact.get("phone")
        if not recipient:
            return Delivery(outcome="skipped", reason="contact has neither email nor phone")
        self.sent.append((recipient, text))
        logger.info("Notification recorded", extra={"recipient": recipient, "text": text})
        return Delivery(outcome="sent", recipient=recipient)


def compose_message(notice: StatusNotice) -> str:
    template = _MESSAGES.get(notice.status.lower(), "Order {order} is now {status}.")
    amount = (
        f" ({notice.orderValue} {notice.currency})"
        if notice.orderValue is not None and notice.currency
        else ""
    )
    reason = f": {notice.reason}" if notice.reason else ""
    return template.format(order=notice.orderId, status=notice.status, amount=amount, reason=reason)


def notify_customer(
    notice: StatusNotice,
    *,
    notification_id: str,
    now: str,
    channel: Channel,
    audit: NotificationAudit,
) -> NotificationRecord:
    """Deliver the notice once and log it; a notice without contact details is logged as skipped."""
    already = audit.find(notice.orderId, notification_id)
    if already is not None:
        return already
    contact = {key: value for key, value in (notice.contact or {}).items() if value}
    if contact:
        delivery = channel.deliver(contact=contact, text=compose_message(notice))
    else:
        delivery = Delivery(outcome="skipped", reason="no contact details on the order")
    entry = NotificationRecord(
        orderId=notice.orderId,
        notificationId=notification_id,
        status=notice.status,
        channel=channel.name,
        recipient=delivery.recipient,
        sentAt=now,
        outcome=delivery.outcome,
        reason=delivery.reason,
    )
    audit.record(entry)
    return entry
