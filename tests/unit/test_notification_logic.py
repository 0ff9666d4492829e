from __future__ import annotations

from decimal import Decimal

from services.notification.logic import RecordingChannel, compose_message, e164, notify_customer
from services.notification.models import StatusNotice
from tests.unit.fakes import InMemoryNotificationAudit

NOW = "2025-11-23T10:20:00.000+00:00"


def notice(**changes: object) -> StatusNotice:
    base: dict[str, object] = {
        "orderId": "ord-1",
        "status": "paid",
        "orderValue": Decimal("19.98"),
        "currency": "EUR",
        "contact": {"email": "ada@example.com", "phone": "+44 20 7946 0000"},
    }
    return StatusNotice.model_validate(base | changes)


def test_messages_read_like_the_milestone() -> None:
    # Given notices for several milestones
    # When their text is composed
    # Then each says what happened to which order
    assert compose_message(notice()) == "Payment for order ord-1 went through (19.98 EUR)."
    assert compose_message(notice(status="cancelled", reason="out of stock")) == (
        "Order ord-1 was cancelled: out of stock."
    )
    assert compose_message(notice(status="boxed")) == "Order ord-1 is now boxed."


def test_notice_is_delivered_and_audited() -> None:
    # Given the recording channel
    channel, audit = RecordingChannel(), InMemoryNotificationAudit()
    # When a notice is handled
    entry = notify_customer(notice(), notification_id="paid#m1", now=NOW, channel=channel, audit=audit)
    # Then the email address received it and the audit row says so
    assert channel.sent == [("ada@example.com", "Payment for order ord-1 went through (19.98 EUR).")]
    assert entry.outcome == "sent"
    assert entry.recipient == "ada@example.com"
    assert audit.find("ord-1", "paid#m1") == entry


def test_redelivered_notice_is_not_sent_twice() -> None:
    # Given a notice already delivered
    channel, audit = RecordingChannel(), InMemoryNotificationAudit()
    notify_customer(notice(), notification_id="paid#m1", now=NOW, channel=channel, audit=audit)
    # When the same message is handled again
    notify_customer(notice(), notification_id="paid#m1", now="later", channel=channel, audit=audit)
    # Then the customer heard once
    assert len(channel.sent) == 1


def test_notice_without_contact_is_skipped_not_failed() -> None:
    # Given a notice without contact details
    channel, audit = RecordingChannel(), InMemoryNotificationAudit()
    # When it is handled
    entry = notify_customer(
        notice(contact=None), notification_id="paid#m2", now=NOW, channel=channel, audit=audit
    )
    # Then nothing is sent and the audit row records the skip with its reason
    assert channel.sent == []
    assert (entry.outcome, entry.reason) == ("skipped", "no contact details on the order")
    assert audit.find("ord-1", "paid#m2") is not None


def test_phone_numbers_are_normalized_for_sms() -> None:
    # Given phone numbers as customers write them
    # When normalized to E.164
    # Then punctuation goes, and a number without its country prefix is refused
    assert e164("+44 20 7946 0000") == "+442079460000"
    assert e164("+1 (555) 010-9999") == "+15550109999"
    assert e164("020 7946 0000") is None
