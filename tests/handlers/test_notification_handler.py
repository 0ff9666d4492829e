from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto.backends import get_backend

from services.notification import handler as notification
from tests.handlers.conftest import REGION, Cloud
from tests.helpers.templates import template_body

QUEUE = "orderflow-notification"
TEMPLATE = "sqs_notification_status"


def audit_rows(order_id: str = "ord-1001") -> list[dict[str, Any]]:
    return boto3.client("dynamodb", region_name=REGION).query(
        TableName="orderflow-notifications",
        KeyConditionExpression="orderId = :o",
        ExpressionAttributeValues={":o": {"S": order_id}},
    )["Items"]


def test_status_notice_is_delivered_and_audited(cloud: Cloud) -> None:
    # Given a "shipped" notice delivered raw from the order-status topic
    notification.recording_channel.sent.clear()
    event = cloud.deliver(QUEUE, TEMPLATE, [template_body(TEMPLATE)])
    message_id = event["Records"][0]["messageId"]
    # When the handler processes it
    response = cloud.invoke(notification.handler, event)
    # Then the customer was told, and the audit row records who, how and when
    assert response == {"batchItemFailures": []}
    assert notification.recording_channel.sent == [("ada@example.com", "Order ord-1001 is on its way.")]
    [row] = audit_rows()
    assert row["notificationId"]["S"] == f"shipped#{message_id}"
    assert row["channel"]["S"] == "recording"
    assert row["outcome"]["S"] == "sent"
    assert row["recipient"]["S"] == "ada@example.com"
    assert row["status"]["S"] == "shipped"
    assert "sentAt" in row


def test_notice_without_contact_is_recorded_as_skipped(cloud: Cloud) -> None:
    # Given a notice with no contact details
    body = template_body(TEMPLATE)
    del body["contact"]
    # When it is processed
    response = cloud.invoke(notification.handler, cloud.deliver(QUEUE, TEMPLATE, [body]))
    # Then it is not an error, and the audit says why nothing was sent
    assert response == {"batchItemFailures": []}
    [row] = audit_rows()
    assert (row["outcome"]["S"], row["reason"]["S"]) == ("skipped", "no contact details on the order")


def test_sms_channel_texts_the_phone(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the SNS SMS channel
    monkeypatch.setenv("NOTIFICATION_CHANNEL", "sns-sms")
    # When a notice with a phone number is processed
    response = cloud.invoke(notification.handler, cloud.deliver(QUEUE, TEMPLATE, [template_body(TEMPLATE)]))
    # Then SNS sent the text to that phone, and the audit names the channel
    assert response == {"batchItemFailures": []}

    sent = get_backend("sns")["123456789012"][REGION].sms_messages
    assert [(phone, text) for phone, text in sent.values()] == [
        ("+442079460000", "Order ord-1001 is on its way.")
    ]
    [row] = audit_rows()
    assert (row["channel"]["S"], row["outcome"]["S"], row["recipient"]["S"]) == (
        "sns-sms",
        "sent",
        "+442079460000",
    )


def test_sms_channel_skips_email_only_contacts(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the SMS channel and a customer reachable only by email
    monkeypatch.setenv("NOTIFICATION_CHANNEL", "sns-sms")
    body = template_body(TEMPLATE)
    body["contact"] = {"email": "ada@example.com"}
    # When the notice is processed
    cloud.invoke(notification.handler, cloud.deliver(QUEUE, TEMPLATE, [body]))
    # Then it is recorded as skipped, saying why
    [row] = audit_rows()
    assert row["outcome"]["S"] == "skipped"
    assert row["reason"]["S"] == "email delivery is not supported by the sns-sms channel"


def test_malformed_notice_is_a_batch_item_failure(cloud: Cloud) -> None:
    # Given a body missing the required status
    event = cloud.deliver(QUEUE, TEMPLATE, [{"orderId": "ord-1001"}])
    # When processed
    response = cloud.invoke(notification.handler, event)
    # Then it is reported for retry (and, after maxReceiveCount, the DLQ); nothing is audited
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert audit_rows() == []
