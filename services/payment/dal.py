"""The payments ledger (DynamoDB), the payment-notifications topic (SNS), the provider's own statement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from services.payment.logic import EntryBlockedError
from services.payment.models import LedgerEntry, PaymentNotification
from services.payment.provider import Capture, InMemoryStatement, Refund, Statement
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

    def record(self, entry: LedgerEntry, *, unless: str | None = None) -> tuple[LedgerEntry, bool]:
        item: dict[str, AttributeValueTypeDef] = {
            name: {"S": str(value)} for name, value in entry.model_dump(exclude={"attempt"}).items()
        }
        if entry.attempt is not None:
            item["attempt"] = {"N": str(entry.attempt)}
        try:
            if unless is None:
                aws.dynamodb().put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(entryId)",
                )
            else:
                self._record_unless(item, entry.orderId, unless)
        except ClientError as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise
            stored = self.find(entry.orderId, entry.entryId)
            if stored is None:  # deleted in between: cannot happen to an append-only ledger
                raise
            return stored, False
        return entry, True

    def _record_unless(self, item: dict[str, AttributeValueTypeDef], order_id: str, unless: str) -> None:
        """Put ``item`` only if the order has no ``unless`` entry, in one transaction."""
        try:
            aws.dynamodb().transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self._table,
                            "Key": {"orderId": {"S": order_id}, "entryId": {"S": unless}},
                            "ConditionExpression": "attribute_not_exists(entryId)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(entryId)",
                        }
                    },
                ]
            )
        except ClientError as exc:
            if aws.error_code(exc) != "TransactionCanceledException":
                raise
            reasons = [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons") or []]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise EntryBlockedError(f"{order_id} has {unless}") from exc
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                # Already recorded: answer as the plain conditional put does.
                raise ClientError(
                    {"Error": {"Code": "ConditionalCheckFailedException", "Message": "entry exists"}},
                    "TransactWriteItems",
                ) from exc
            raise


class SnsPaymentNotifier:
    def __init__(self, topic_arn: str) -> None:
        self._topic_arn = topic_arn

    def publish(self, notification: PaymentNotification) -> None:
        aws.sns().publish(
            TopicArn=self._topic_arn,
            Message=notification.model_dump_json(),
            MessageAttributes={"event": {"DataType": "String", "StringValue": notification.event}},
        )


class DynamoDBProviderStatement:
    """The bundled provider's statement in its own table: one item per capture or refund it made.

    Keyed ``orderId`` + ``movementId`` (``capture#<uuid>``, ``refund#<uuid>``): every movement is a new item,
    so a second capture for an order shows as a second item, as it would on a real provider's dashboard.
    """

    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def record(self, movement: Capture | Refund) -> None:
        kind, reference = (
            ("capture", movement.payment_id)
            if isinstance(movement, Capture)
            else ("refund", movement.refund_id)
        )
        aws.dynamodb().put_item(
            TableName=self._table,
            Item={
                "orderId": {"S": movement.order_id},
                "movementId": {"S": f"{kind}#{uuid.uuid4()}"},
                "kind": {"S": kind},
                "reference": {"S": reference},
                "amount": {"N": str(movement.amount)},
                "currency": {"S": movement.currency},
                "at": {"S": datetime.now(UTC).isoformat(timespec="milliseconds")},
            },
        )

    def captures(self, order_id: str) -> list[Capture]:
        return [
            Capture(order_id=order_id, payment_id=reference, amount=amount, currency=currency)
            for reference, amount, currency in self._movements(order_id, "capture")
        ]

    def refunds(self, order_id: str) -> list[Refund]:
        return [
            Refund(order_id=order_id, refund_id=reference, amount=amount, currency=currency)
            for reference, amount, currency in self._movements(order_id, "refund")
        ]

    def _movements(self, order_id: str, kind: str) -> list[tuple[str, Decimal, str]]:
        items = (
            aws.dynamodb()
            .query(
                TableName=self._table,
                KeyConditionExpression="orderId = :order AND begins_with(movementId, :kind)",
                ExpressionAttributeValues={":order": {"S": order_id}, ":kind": {"S": f"{kind}#"}},
                ConsistentRead=True,
            )
            .get("Items", [])
        )
        found = sorted(items, key=lambda item: item["at"]["S"])
        return [(i["reference"]["S"], Decimal(i["amount"]["N"]), i["currency"]["S"]) for i in found]


def provider_statement(table_name: str | None) -> Statement:
    """The provider's statement: its table when the stack gives it one, else in memory."""
    return DynamoDBProviderStatement(table_name) if table_name else InMemoryStatement()
