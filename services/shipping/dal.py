"""The shipments book (DynamoDB, one item per order), beside the shared idempotency table and callbacks."""

from __future__ import annotations

from botocore.exceptions import ClientError

from services.shared import aws
from services.shipping.logic import ShipmentCancelledError
from services.shipping.models import Shipment

BOOKED = "BOOKED"
CANCELLED = "CANCELLED"


class DynamoDBShipmentBook:
    """Items keyed by ``orderId``: ``status`` BOOKED or CANCELLED, the shipment, and when each happened."""

    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def record_booking(self, order_id: str, shipment: Shipment, *, now: str) -> None:
        try:
            aws.dynamodb().put_item(
                TableName=self._table,
                Item={
                    "orderId": {"S": order_id},
                    "status": {"S": BOOKED},
                    "shipmentId": {"S": shipment.shipmentId},
                    "trackingNumber": {"S": shipment.trackingNumber},
                    "carrier": {"S": shipment.carrier},
                    "bookedAt": {"S": now},
                },
                # A cancelled order's shipment stays cancelled, whatever arrives late.
                ConditionExpression="attribute_not_exists(orderId) OR #status = :booked",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":booked": {"S": BOOKED}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise ShipmentCancelledError(order_id) from exc

    def record_cancellation(self, order_id: str, *, now: str) -> Shipment | None:
        before = (
            aws.dynamodb()
            .update_item(
                TableName=self._table,
                Key={"orderId": {"S": order_id}},
                UpdateExpression="SET #status = :cancelled, cancelledAt = if_not_exists(cancelledAt, :now)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":cancelled": {"S": CANCELLED}, ":now": {"S": now}},
                ReturnValues="ALL_OLD",
            )
            .get("Attributes")
        )
        if not before or "shipmentId" not in before:
            return None
        return Shipment(
            shipmentId=before["shipmentId"]["S"],
            trackingNumber=before["trackingNumber"]["S"],
            carrier=before["carrier"]["S"],
        )
