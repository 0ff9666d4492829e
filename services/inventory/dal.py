"""The inventory table (DynamoDB) and the inventory-alerts topic (SNS).

Rows per SKU: ``STOCK`` holds ``available``; ``RES#<orderId>`` holds one order's reservation. Stock only
moves inside transactions that also create or delete the reservation, so units are never lost or doubled.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from services.inventory.logic import InsufficientStockError
from services.inventory.models import LowStockAlert, Reservation
from services.shared import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

STOCK_RECORD = "STOCK"


def reservation_record(order_id: str) -> str:
    return f"RES#{order_id}"


def _key(sku: str, record_id: str) -> dict[str, AttributeValueTypeDef]:
    return {"sku": {"S": sku}, "recordId": {"S": record_id}}


def _cancellation_codes(exc: ClientError) -> list[str]:
    reasons = exc.response.get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons]


class DynamoDBStockStore:
    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def reserve(self, *, sku: str, order_id: str, quantity: int, expires_at: int) -> tuple[Reservation, bool]:
        record_id = reservation_record(order_id)
        client = aws.dynamodb()
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": _key(sku, STOCK_RECORD),
                            "UpdateExpression": "SET available = available - :quantity",
                            "ConditionExpression": "available >= :quantity",
                            "ExpressionAttributeValues": {":quantity": {"N": str(quantity)}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                **_key(sku, record_id),
                                "orderId": {"S": order_id},
                                "quantity": {"N": str(quantity)},
                                "status": {"S": "RESERVED"},
                                "expiresAt": {"N": str(expires_at)},
                                "ttl": {"N": str(expires_at)},
                            },
                            "ConditionExpression": "attribute_not_exists(recordId)",
                        }
                    },
                ]
            )
        except ClientError as exc:
            if aws.error_code(exc) != "TransactionCanceledException":
                raise
            existing = self._reservation(sku, order_id)
            if existing is not None:
                return existing, False
            if _cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"] or not _cancellation_codes(exc):
                raise InsufficientStockError(sku, quantity, self.available(sku)) from exc
            raise
        return Reservation(sku=sku, quantity=quantity, reservationId=record_id, expiresAt=expires_at), True

    def release(self, *, sku: str, order_id: str) -> int:
        reservation = self._reservation(sku, order_id)
        if reservation is None:
            return 0
        try:
            aws.dynamodb().transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": _key(sku, reservation.reservationId),
                            "ConditionExpression": "attribute_exists(recordId)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": _key(sku, STOCK_RECORD),
                            "UpdateExpression": "ADD available :quantity",
                            "ExpressionAttributeValues": {":quantity": {"N": str(reservation.quantity)}},
                        }
                    },
                ]
            )
        except ClientError as exc:
            cancelled = aws.error_code(exc) == "TransactionCanceledException"
            if cancelled and _cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
                return 0  # released concurrently by a duplicate request
            raise
        return reservation.quantity

    def available(self, sku: str) -> int:
        item = (
            aws.dynamodb()
            .get_item(TableName=self._table, Key=_key(sku, STOCK_RECORD), ConsistentRead=True)
            .get("Item")
        )
        if item is None or "available" not in item:
            return 0
        return int(item["available"]["N"])

    def _reservation(self, sku: str, order_id: str) -> Reservation | None:
        record_id = reservation_record(order_id)
        item = (
            aws.dynamodb()
            .get_item(TableName=self._table, Key=_key(sku, record_id), ConsistentRead=True)
            .get("Item")
        )
        if item is None:
            return None
        return Reservation(
            sku=sku,
            quantity=int(item["quantity"]["N"]),
            reservationId=record_id,
            expiresAt=int(item["expiresAt"]["N"]),
        )


def seed_stock(table: str, skus: Iterable[str], units: int) -> None:
    """Set each SKU's available stock to ``units`` (the local runtime's catalogue; also handy in tests)."""
    client = aws.dynamodb()
    for sku in skus:
        client.put_item(
            TableName=table,
            Item={**_key(sku, STOCK_RECORD), "available": {"N": str(units)}},
        )


class SnsStockAlerts:
    def __init__(self, topic_arn: str) -> None:
        self._topic_arn = topic_arn

    def low_stock(self, alert: LowStockAlert) -> None:
        aws.sns().publish(
            TopicArn=self._topic_arn,
            Subject=f"Low stock: {alert.sku}"[:100],
            Message=alert.model_dump_json(),
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": "low-stock"},
                "sku": {"DataType": "String", "StringValue": alert.sku},
            },
        )
