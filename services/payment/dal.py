"""The payments ledger (DynamoDB) and the payment-notifications topic (SNS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from services.payment.models import LedgerEntry, PaymentNotification
from services.shared import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


class DynamoDBLedger:
    """Rows keyed by ``orderId`` + ``entryId``; conditional puts keep one charge and one refund per order."""

    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def find(self, order_id: str, entry_id: str) -> LedgerEntry | None:
        item = (
            aws.dynamodb()
            .get_item(
                TableName=self._table,
                Key={"orderId": {"S": order_id}, "entryId": {"S": entry_id}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        if item is None:
            return None
        return LedgerEntry.model_validate(
            {
                name: value.get("S", value.get("N"))
                for name, value in item.items()
                if "S" in value or "N" in value
            }
        )

    def record(self, entry: LedgerEntry) -> tuple[LedgerEntry, bool]:
        item: dict[str, AttributeValueTypeDef] = {
            name: {"S": str(value)} for name, value in entry.model_dump(exclude={"attempt"}).items()
        }
        if entry.attempt is not None:
            item["attempt"] = {"N": str(entry.attempt)}
        try:
            aws.dynamodb().put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(entryId)",
            )
        except ClientError as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise
            stored = self.find(entry.orderId, entry.entryId)
            if stored is None:  # deleted in between: cannot happen to an append-only ledger
                raise
            return stored, False
        return entry, True


class SnsPaymentNotifier:
    def __init__(self, topic_arn: str) -> None:
        self._topic_arn = topic_arn

    def publish(self, notification: PaymentNotification) -> None:
        aws.sns().publish(
            TopicArn=self._topic_arn,
            Message=notification.model_dump_json(),
            MessageAttributes={"event": {"DataType": "String", "StringValue": notification.event}},
        )
