"""The scenario matrix of the order workflow, run as MockConfigFile test cases (``mock_config.json``).

Each scenario names its test case, the ``OrderPlaced`` event it starts with, and what must come out: the final
status, the path of states (from the history), the output, and the side effects, read as the requests the
workflow sent (the TaskScheduled parameters). Nothing here depends on an engine: no history lengths, no
engine-only error names.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.naming import DEFAULT_PREFIX, Names
from services.shared.contract import (
    EVENT_SOURCE,
    ORDER_CANCELLED,
    ORDER_COMPLETED,
    ORDER_PLACED,
    Milestone,
    OrderStatus,
)
from services.shared.messages import PAYMENT_DECLINED
from tests.workflows.polling import ExecutionRecord
from workflows import states
from workflows.states import STATE_MACHINE_NAME_SUFFIX

MOCK_CONFIG_FILE = Path(__file__).with_name("mock_config.json")
STATE_MACHINE_NAME = Names(DEFAULT_PREFIX)(STATE_MACHINE_NAME_SUFFIX)  # the deployed name, as in the file

OUT_OF_STOCK = "OutOfStock"
SHIPMENT_REJECTED = "ShipmentRejected"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"


# -- the orders ------------------------------------------------------------------------------------------


def order_event(
    order_id: str,
    items: list[tuple[str, int, str]],
    *,
    currency: str = "EUR",
    priority: bool = False,
    token: str = "tok_visa",
    country: str = "GB",
) -> dict[str, Any]:
    """An EventBridge ``OrderPlaced`` event, as the rule hands it to the state machine."""
    total = sum(int(quantity) * float(price) for _, quantity, price in items)
    detail = {
        "orderId": order_id,
        "customerId": f"cust-{order_id}",
        "currency": currency,
        "items": [{"sku": sku, "quantity": quantity, "unitPrice": price} for sku, quantity, price in items],
        "totalAmount": f"{total:.2f}",
        "priority": priority,
        "payment": {"method": "card", "token": token},
        "shippingAddress": {
            "name": "Ada Lovelace",
            "line1": "12 St James's Square",
            "city": "London",
            "postalCode": "SW1Y 4JH",
            "country": country,
        },
        "contact": {"email": "ada@example.com"},
    }
    return {
        "version": "0",
        "id": f"evt-{order_id}",
        "detail-type": ORDER_PLACED,
        "source": EVENT_SOURCE,
        "account": "123456789012",
        "time": "2030-01-01T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


# -- reading the requests the workflow sent ---------------------------------------------------------------


def _parsed(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def message_body(request: dict[str, Any]) -> dict[str, Any]:
    """The SQS message a state sent (Step Functions may show the body as JSON text or as an object)."""
    body: dict[str, Any] = _parsed(request["MessageBody"])
    return body


def published(request: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = _parsed(request["Message"])
    return message


def event_detail(request: dict[str, Any]) -> dict[str, Any]:
    (entry,) = request["Entries"]
    detail: dict[str, Any] = _parsed(entry["Detail"])
    return detail


def update_values(request: dict[str, Any]) -> dict[str, Any]:
    """``ExpressionAttributeValues`` of a DynamoDB UpdateItem, without the type tags."""
    values = request["ExpressionAttributeValues"]
    return {name: next(iter(value.values())) for name, value in values.items()}


def one_call(record: ExecutionRecord, state: str) -> Any:
    calls = record.calls(state)
    assert len(calls) == 1, f"{state!r} was called {len(calls)} times, expected once"
    return calls[0]


def never_called(record: ExecutionRecord, *names: str) -> None:
    for name in names:
        assert name not in record.path, f"{name!r} should not run in this scenario"


# -- paths -------------------------------------------------------------------------------------------------


def announced(milestone: Milestone) -> list[str]:
    """Describe → SNS publish → Kinesis put, at one milestone."""
    return [states.describe(milestone), states.notify(milestone), states.track(milestone)]


PLACED = [
    states.VALIDATE_ORDER,
    states.IS_ORDER_VALID,
    states.RECORD_ORDER,
    *announced(Milestone.PLACED),
    states.CHOOSE_PAYMENT_LANE,
]


def paid(lane: str = states.REQUEST_PAYMENT) -> list[str]:
    return [lane, states.MARK_ORDER_PAID, *announced(Milestone.PAID)]


def reserved(items: int) -> list[str]:
    return [states.RESERVE_STOCK, *[states.RESERVE_ITEM] * items]


def released(items: int) -> list[str]:
    return [states.RELEASE_STOCK, *[states.RELEASE_ITEM] * items]


SHIPPED = [
    states.REQUEST_SHIPMENT,
    states.COMPLETE_ORDER,
    *announced(Milestone.SHIPPED),
    states.EMIT_ORDER_COMPLETED,
    states.ORDER_COMPLETED,
]
CANCELLED = [
    states.CANCEL_ORDER,
    *announced(Milestone.CANCELLED),
    states.EMIT_ORDER_CANCELLED,
    states.ORDER_CANCELLED,
]


# -- the matrix --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    test_case: str
    event: dict[str, Any]
    status: str
    path: tuple[str, ...]
    then: Callable[[ExecutionRecord], None]  # output and side effects
    error: str | None = None

    @property
    def order_id(self) -> str:
        return str(self.event["detail"]["orderId"])

    @property
    def skus(self) -> set[str]:
        return {item["sku"] for item in self.event["detail"]["items"]}


def _completed(record: ExecutionRecord, order_id: str, skus: set[str]) -> None:
    output = record.output
    assert output["validation"]["orderKey"] == order_id
    assert output["payment"]["status"] == "CAPTURED"
    assert {item["sku"] for item in output["reservations"]["items"]} == skus
    assert output["shipment"]["trackingNumber"]
    # Side effects: recorded, charged once, each SKU reserved once, marked paid and completed, announced.
    record_order = one_call(record, states.RECORD_ORDER)
    assert record_order["Item"]["orderId"] == {"S": order_id}
    assert record_order["Item"]["status"] == {"S": OrderStatus.RECEIVED.value}
    assert record_order["ConditionExpression"] == "attribute_not_exists(orderId)"
    assert sorted(message_body(r)["sku"] for r in record.calls(states.RESERVE_ITEM)) == sorted(skus)
    assert (
        update_values(one_call(record, states.MARK_ORDER_PAID))[":paymentId"]
        == output["payment"]["paymentId"]
    )
    completed = update_values(one_call(record, states.COMPLETE_ORDER))
    assert completed[":status"] == OrderStatus.COMPLETED.value
    assert completed[":trackingNumber"] == output["shipment"]["trackingNumber"]
    for milestone in (Milestone.PLACED, Milestone.PAID, Milestone.SHIPPED):
        assert published(one_call(record, states.notify(milestone)))["status"] == milestone.value
    (entry,) = one_call(record, states.EMIT_ORDER_COMPLETED)["Entries"]
    assert entry["DetailType"] == ORDER_COMPLETED
    assert event_detail(one_call(record, states.EMIT_ORDER_COMPLETED)) == {
        "orderId": order_id,
        "paymentId": output["payment"]["paymentId"],
        "trackingNumber": output["shipment"]["trackingNumber"],
    }
    never_called(record, states.REFUND_PAYMENT, states.RELEASE_STOCK, states.CANCEL_ORDER)


def _cancelled(record: ExecutionRecord, order_id: str, reason: str) -> dict[str, Any]:
    """The order was cancelled for ``reason``: recorded, announced, emitted. Returns the final data."""
    final = record.input_of(states.ORDER_CANCELLED)
    assert final["failure"]["Error"] == reason
    cancel = update_values(one_call(record, states.CANCEL_ORDER))
    assert cancel[":status"] == OrderStatus.CANCELLED.value
    assert cancel[":cancelReason"] == reason
    assert published(one_call(record, states.notify(Milestone.CANCELLED)))["reason"] == reason
    (entry,) = one_call(record, states.EMIT_ORDER_CANCELLED)["Entries"]
    assert entry["DetailType"] == ORDER_CANCELLED
    assert event_detail(one_call(record, states.EMIT_ORDER_CANCELLED)) == {
        "orderId": order_id,
        "reason": reason,
    }
    never_called(record, states.COMPLETE_ORDER, states.EMIT_ORDER_COMPLETED)
    return dict(final)


def _refunded(record: ExecutionRecord, order_id: str, amount: str) -> None:
    refund = message_body(one_call(record, states.REFUND_PAYMENT))
    assert (refund["action"], refund["orderId"], refund["amount"]) == ("refund", order_id, amount)


def _released(record: ExecutionRecord, skus: set[str]) -> None:
    releases = [message_body(r) for r in record.calls(states.RELEASE_ITEM)]
    assert sorted(r["sku"] for r in releases) == sorted(skus)
    assert all(r["action"] == "release" for r in releases)


HAPPY = order_event("mock-happy-path", [("SKU-1", 2, "9.99")])
MULTI_SKU = order_event(
    "mock-multi-sku", [("SKU-2", 1, "25.00"), ("SKU-3", 3, "4.50"), ("SKU-4", 1, "120.00")]
)
PRIORITY = order_event("mock-priority", [("SKU-5", 1, "499.00")], currency="USD", priority=True)
DUPLICATE = order_event("mock-duplicate", [("SKU-1", 1, "9.99")])
MALFORMED = order_event("mock-malformed", [("SKU-12", 0, "-3")], currency="euro")
DECLINED = order_event("mock-declined", [("SKU-6", 1, "59.90")], token="tok_decline")
HEARTBEAT = order_event("mock-heartbeat-timeout", [("SKU-7", 1, "15.00")], token="tok_hang")
OUT_OF_STOCK_ORDER = order_event("mock-out-of-stock", [("SKU-9", 1, "10.00"), ("SKU-10", 5000, "1.00")])
SHIPPING_FAILURE = order_event("mock-shipping-failure", [("SKU-11", 1, "80.00")], country="AQ")
NOTIFICATION_FAILURE = order_event("mock-notification-failure", [("SKU-13", 1, "12.00")])
ANALYTICS_FAILURE = order_event("mock-analytics-failure", [("SKU-14", 1, "7.50")])
COMPENSATION_FAILURE = order_event("mock-refund-keeps-failing", [("SKU-15", 1, "42.00")], country="AQ")


def _then_happy(record: ExecutionRecord) -> None:
    _completed(record, "mock-happy-path", {"SKU-1"})
    charge = message_body(one_call(record, states.REQUEST_PAYMENT))
    assert (charge["action"], charge["amount"], charge["currency"]) == ("charge", "19.98", "EUR")


def _then_multi_sku(record: ExecutionRecord) -> None:
    _completed(record, "mock-multi-sku", {"SKU-2", "SKU-3", "SKU-4"})
    reserves = {
        message_body(r)["sku"]: message_body(r)["quantity"] for r in record.calls(states.RESERVE_ITEM)
    }
    assert reserves == {"SKU-2": 1, "SKU-3": 3, "SKU-4": 1}


def _then_priority(record: ExecutionRecord) -> None:
    _completed(record, "mock-priority", {"SKU-5"})
    charge = one_call(record, states.REQUEST_PRIORITY_PAYMENT)
    assert charge["MessageGroupId"] == "mock-priority"
    assert charge["MessageDeduplicationId"] == "mock-priority-charge"
    never_called(record, states.REQUEST_PAYMENT)


def _then_duplicate(record: ExecutionRecord) -> None:
    # Already recorded: nothing is charged, reserved or announced twice.
    assert record.output["duplicate"]["Error"] == "DynamoDB.ConditionalCheckFailedException"
    never_called(record, states.CHOOSE_PAYMENT_LANE, states.notify(Milestone.PLACED))


def _then_rejected(record: ExecutionRecord) -> None:
    final = record.input_of(states.ORDER_REJECTED)
    assert final["validation"]["valid"] is False
    rejection = one_call(record, states.RECORD_REJECTION)["Item"]
    assert rejection["status"] == {"S": OrderStatus.REJECTED.value}
    assert "items[0].quantity" in rejection["reason"]["S"]
    assert "currency" in rejection["reason"]["S"]
    announcement = published(one_call(record, states.notify(Milestone.REJECTED)))
    assert announcement["status"] == Milestone.REJECTED.value
    assert announcement["reason"] == final["validation"]["reason"]
    never_called(record, states.RECORD_ORDER, states.CHOOSE_PAYMENT_LANE)


def _then_declined(record: ExecutionRecord) -> None:
    # Declined: nothing was charged or reserved, so nothing is refunded or released.
    _cancelled(record, "mock-declined", PAYMENT_DECLINED)
    never_called(record, states.REFUND_PAYMENT, states.RESERVE_STOCK, states.MARK_ORDER_PAID)


def _then_heartbeat(record: ExecutionRecord) -> None:
    # A silent payment service may still have charged: the refund runs before the cancellation.
    _cancelled(record, "mock-heartbeat-timeout", HEARTBEAT_TIMEOUT)
    _refunded(record, "mock-heartbeat-timeout", "15.00")
    never_called(record, states.RESERVE_STOCK)


def _then_out_of_stock(record: ExecutionRecord) -> None:
    final = _cancelled(record, "mock-out-of-stock", OUT_OF_STOCK)
    assert "reservations" not in final
    _released(record, {"SKU-9", "SKU-10"})
    _refunded(record, "mock-out-of-stock", "5010.00")
    never_called(record, states.REQUEST_SHIPMENT)


def _then_shipping_failure(record: ExecutionRecord) -> None:
    final = _cancelled(record, "mock-shipping-failure", SHIPMENT_REJECTED)
    assert final["failure"]["Cause"] == "carrier does not serve AQ"
    _released(record, {"SKU-11"})
    _refunded(record, "mock-shipping-failure", "80.00")


def _then_notification_failure(record: ExecutionRecord) -> None:
    # The publish is tried three times (Retry: 2 more attempts), then the order goes on regardless.
    assert len(record.calls(states.notify(Milestone.PLACED))) == 3
    assert record.output["announcementError"]["Error"] == "SNS.InternalErrorException"
    assert record.output["payment"]["status"] == "CAPTURED"
    assert update_values(one_call(record, states.COMPLETE_ORDER))[":status"] == OrderStatus.COMPLETED.value


def _then_analytics_failure(record: ExecutionRecord) -> None:
    assert len(record.calls(states.track(Milestone.PAID))) == 3
    assert record.output["announcementError"]["Error"] == "Kinesis.ProvisionedThroughputExceededException"
    assert update_values(one_call(record, states.COMPLETE_ORDER))[":status"] == OrderStatus.COMPLETED.value


def _then_compensation_failure(record: ExecutionRecord) -> None:
    _cancelled(record, "mock-refund-keeps-failing", SHIPMENT_REJECTED)
    # Tried four times (Retry: 3 more attempts), then parked in the compensation DLQ with an alert.
    assert len(record.calls(states.REFUND_PAYMENT)) == 4
    parked = one_call(record, states.PARK_FAILED_REFUND)
    assert parked["QueueUrl"].endswith(Names(DEFAULT_PREFIX)("compensation-dlq"))
    parked_body = message_body(parked)
    assert parked_body["orderId"] == "mock-refund-keeps-failing"
    assert parked_body["compensation"] == states.PARK_FAILED_REFUND
    assert parked_body["failure"]["Error"] == "Payment.ProviderUnavailable"
    assert parked_body["order"]["totalAmount"] == "42.00"
    alert = one_call(record, states.ALERT_FAILED_REFUND)
    assert alert["TopicArn"].endswith(Names(DEFAULT_PREFIX)("system-alerts"))
    assert _parsed(alert["Message"])["kind"] == "compensation-failed"
    assert (
        record.input_of(states.ORDER_CANCELLED)["compensationFailure"]["Error"]
        == "Payment.ProviderUnavailable"
    )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "happy path",
        "HappyPath",
        HAPPY,
        "SUCCEEDED",
        (*PLACED, *paid(), *reserved(1), *SHIPPED),
        _then_happy,
    ),
    Scenario(
        "multi-SKU",
        "MultiSku",
        MULTI_SKU,
        "SUCCEEDED",
        (*PLACED, *paid(), *reserved(3), *SHIPPED),
        _then_multi_sku,
    ),
    Scenario(
        "priority order",
        "PriorityOrder",
        PRIORITY,
        "SUCCEEDED",
        (*PLACED, *paid(states.REQUEST_PRIORITY_PAYMENT), *reserved(1), *SHIPPED),
        _then_priority,
    ),
    Scenario(
        "duplicate event",
        "DuplicateEvent",
        DUPLICATE,
        "SUCCEEDED",
        (states.VALIDATE_ORDER, states.IS_ORDER_VALID, states.RECORD_ORDER, states.DUPLICATE_ORDER),
        _then_duplicate,
    ),
    Scenario(
        "validation rejection",
        "ValidationRejection",
        MALFORMED,
        "FAILED",
        (
            states.VALIDATE_ORDER,
            states.IS_ORDER_VALID,
            states.RECORD_REJECTION,
            *announced(Milestone.REJECTED),
            states.ORDER_REJECTED,
        ),
        _then_rejected,
        error=states.ORDER_REJECTED_ERROR,
    ),
    Scenario(
        "payment declined → compensation",
        "PaymentDeclined",
        DECLINED,
        "FAILED",
        (*PLACED, states.REQUEST_PAYMENT, *CANCELLED),
        _then_declined,
        error=states.ORDER_CANCELLED_ERROR,
    ),
    Scenario(
        "payment heartbeat timeout → compensation",
        "PaymentHeartbeatTimeout",
        HEARTBEAT,
        "FAILED",
        (*PLACED, states.REQUEST_PAYMENT, states.REFUND_PAYMENT, *CANCELLED),
        _then_heartbeat,
        error=states.ORDER_CANCELLED_ERROR,
    ),
    Scenario(
        "out of stock on the second SKU → release the first, refund",
        "OutOfStockSecondSku",
        OUT_OF_STOCK_ORDER,
        "FAILED",
        (*PLACED, *paid(), *reserved(2), *released(2), states.REFUND_PAYMENT, *CANCELLED),
        _then_out_of_stock,
        error=states.ORDER_CANCELLED_ERROR,
    ),
    Scenario(
        "shipping failure → release and refund",
        "ShippingFailure",
        SHIPPING_FAILURE,
        "FAILED",
        (
            *PLACED,
            *paid(),
            *reserved(1),
            states.REQUEST_SHIPMENT,
            *released(1),
            states.REFUND_PAYMENT,
            *CANCELLED,
        ),
        _then_shipping_failure,
        error=states.ORDER_CANCELLED_ERROR,
    ),
    Scenario(
        "notification failure does not fail the order",
        "NotificationFailure",
        NOTIFICATION_FAILURE,
        "SUCCEEDED",
        (*PLACED, *paid(), *reserved(1), *SHIPPED),
        _then_notification_failure,
    ),
    Scenario(
        "analytics put failure does not fail the order",
        "AnalyticsPutFailure",
        ANALYTICS_FAILURE,
        "SUCCEEDED",
        (*PLACED, *paid(), *reserved(1), *SHIPPED),
        _then_analytics_failure,
    ),
    Scenario(
        "compensation keeps failing → compensation DLQ and an alert",
        "RefundKeepsFailing",
        COMPENSATION_FAILURE,
        "FAILED",
        (
            *PLACED,
            *paid(),
            *reserved(1),
            states.REQUEST_SHIPMENT,
            *released(1),
            states.REFUND_PAYMENT,
            states.PARK_FAILED_REFUND,
            states.ALERT_FAILED_REFUND,
            *CANCELLED,
        ),
        _then_compensation_failure,
        error=states.ORDER_CANCELLED_ERROR,
    ),
)
