"""The notifications audit table (DynamoDB) and the SMS channel (SNS)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from services.notification.logic import e164
from services.notification.models import Delivery, NotificationRecord
from services.shared import aws


class DynamoDBNotificationAudit:
    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def find(self, order_id: str, notification_id: str) -> NotificationRecord | None:
        item = (
            aws.dynamodb()
            .get_item(
                TableName=self._table,
                Key={"orderId": {"S": order_id}, "notificationId": {"S": notification_id}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        if item is None:
            return None
        return NotificationRecord.model_validate(
            {name: value["S"] for name, value in item.items() if "S" in value}
        )

    def record(self, entry: NotificationRecord) -> None:
        try:
            aws.dynamodb().put_item(
                TableName=self._table,
                Item={name: {"S": str(value)} for name, value in entry.model_dump(exclude_none=True).items()},
                ConditionExpression="attribute_not_exists(notificationId)",
            )
        except ClientError as exc:
            # A concurrent duplicate already logged it: the first record stands.
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise


class SnsSmsChannel:
    """Text messages through SNS direct publish; it cannot send email."""

    name = "sns-sms"

    def deliver(self, *, contact: dict[str, str], text: str) -> Delivery:
        if not contact.get("phone"):
            return Delivery(
                outcome="skipped", reason="email delivery is not supported by the sns-sms channel"
            )
        # The contract accepts readable numbers; SNS only takes E.164.
        phone = e164(contact["phone"])
        if phone is None:
            return Delivery(
                outcome="skipped",
                recipient=contact["phone"],
                reason="phone number has no international prefix (E.164) for SMS",
            )
        aws.sns().publish(
            PhoneNumber=phone,
            Message=text,
            MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
        )
        return Delivery(outcome="sent", recipient=phone)
