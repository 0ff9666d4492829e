"""Integration scenarios: real ``OrderPlaced`` events through the bus, real handlers, real side effects.

They run on the embedded runtime (``LocalAws``), or against the deployed stack with ``ORDERFLOW_E2E=1``.
Each order has its own SKUs, so the stock it leaves behind is its own.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from infra.naming import Names
from services.payment.provider import TRANSIENT_FAILURES_BEFORE_SUCCESS
from services.shared.contract import (
    EVENT_SOURCE,
    ORDER_PLACED,
    TOKEN_DECLINE,
    TOKEN_HANG,
    TOKEN_TRANSIENT,
    OrderStatus,
)
from services.shared.messages import PAYMENT_DECLINED
from tests.workflows import scenarios as matrix
from tests.workflows.polling import ALONE_LAST_POLL_INTERVAL, ExecutionRecord, wait_for_execution
from workflows import states

STOCK_UNITS = 1000
MISSED_HEARTBEAT = "States.Timeout"
# What the payment service logs when it took a charge the provider never answers (services/payment/handler).
CHARGE_LEFT_OPEN = "Payment provider accepted the charge without answering"


def charge_left_open(log_dir: Path, order_id: str) -> dt.datetime | None:
    """When the embedded payment function took ``order_id``'s charge and left its task open, from its log."""
    for log in log_dir.glob("*-payment.log"):
        for line in log.read_text(errors="replace").splitlines():
            if CHARGE_LEFT_OPEN in line and order_id in line:
                logged = json.loads(line)
                return dt.datetime.strptime(logged["timestamp"], "%Y-%m-%d %H:%M:%S,%f%z")
    return None


@dataclass(frozen=True)
class Outcome:
    status: str
    path: tuple[str, ...]
    order_status: OrderStatus
    charges: int
    refunds: int
    stock_left: Callable[[str, int], int]  # (sku, ordered) → units available afterwards
    reason: str | None = None
    # The fewest deliveries of the payment request the charge can have taken (the ledger records which one
    # charged). More are always possible: SQS redelivers whatever is not deleted in time.
    least_deliveries_to_charge: int = 1


def _taken(_: str, ordered: int) -> int:
    return STOCK_UNITS - ordered


def _untouched(_: str, __: int) -> int:
    return STOCK_UNITS


COMPLETED_PATH = (*matrix.PLACED, *matrix.paid(), *matrix.reserved(1), *matrix.SHIPPED)
CANCELLED_AFTER_SHIPPING = (
    *matrix.PLACED,
    *matrix.paid(),
    *matrix.reserved(1),
    states.REQUEST_SHIPMENT,
    *matrix.released(1),
    states.REFUND_PAYMENT,
    *matrix.CANCELLED,
)


@dataclass(frozen=True)
class IntegrationScenario:
    name: str
    items: tuple[tuple[str, int, str], ...]
    outcome: Outcome
    token: str = "tok_visa"
    country: str = "GB"
    priority: bool = False
    currency: str = "EUR"
    malformed: bool = False
    deliveries: int = 1

    def detail(self, run_id: str) -> dict[str, Any]:
        items = [(f"{sku}-{run_id}", quantity, price) for sku, quantity, price in self.items]
        event = matrix.order_event(
            f"it-{self.name}-{run_id}",
            items,
            currency=self.currency,
            priority=self.priority,
            token=self.token,
            country=self.country,
        )
        detail: dict[str, Any] = event["detail"]
        if self.malformed:
            detail["items"][0]["quantity"] = 0
        return detail


INTEGRATION_SCENARIOS: tuple[IntegrationScenario, ...] = (
    # First: posted first, its payment is taken first, and its heartbeat (the longest wait of the suite)
    # starts running while the other orders are processed.
    IntegrationScenario(
        "heartbeat-timeout",
        (("it-l", 1, "15.00"),),
        # The payment service takes the request and never answers: the heartbeat runs out (scaled locally,
        # see tests/workflows/conftest.py), and the charge that may have happened is refunded.
        Outcome(
            "FAILED",
            (*matrix.PLACED, states.REQUEST_PAYMENT, states.REFUND_PAYMENT, *matrix.CANCELLED),
            OrderStatus.CANCELLED,
            0,
            0,
            _untouched,
            # A missed heartbeat is reported as States.Timeout (States.HeartbeatTimeout exists only for
            # Retry and Catch to match it by).
            reason=MISSED_HEARTBEAT,
        ),
        token=TOKEN_HANG,
    ),
    # Second: the slowest in real time. Its payment service's own backoff holds each redelivery back (1 s,
    # then 2 s, unscaled); posted early, that wait runs beside the rest of the suite, not after it.
    IntegrationScenario(
        "transient",
        (("it-h", 2, "12.50"),),
        # The provider fails twice; SQS redelivers the request; the third delivery charges, once.
        Outcome(
            "SUCCEEDED",
            COMPLETED_PATH,
            OrderStatus.COMPLETED,
            1,
            0,
            _taken,
            least_deliveries_to_charge=TRANSIENT_FAILURES_BEFORE_SUCCESS + 1,
        ),
        token=TOKEN_TRANSIENT,
    ),
    IntegrationScenario(
        "happy-path",
        (("it-a", 2, "9.99"),),
        Outcome("SUCCEEDED", COMPLETED_PATH, OrderStatus.COMPLETED, 1, 0, _taken),
    ),
    IntegrationScenario(
        "multi-sku",
        (("it-b", 1, "25.00"), ("it-c", 3, "4.50")),
        Outcome(
            "SUCCEEDED",
            (*matrix.PLACED, *matrix.paid(), *matrix.reserved(2), *matrix.SHIPPED),
            OrderStatus.COMPLETED,
            1,
            0,
            _taken,
        ),
    ),
    IntegrationScenario(
        "priority",
        (("it-d", 1, "499.00"),),
        Outcome(
            "SUCCEEDED",
            (
                *matrix.PLACED,
                *matrix.paid(states.REQUEST_PRIORITY_PAYMENT),
                *matrix.reserved(1),
                *matrix.SHIPPED,
            ),
            OrderStatus.COMPLETED,
            1,
            0,
            _taken,
        ),
        priority=True,
        currency="USD",
    ),
    IntegrationScenario(
        "duplicate",
        (("it-e", 1, "9.99"),),
        Outcome("SUCCEEDED", COMPLETED_PATH, OrderStatus.COMPLETED, 1, 0, _taken),
        deliveries=2,
    ),
    IntegrationScenario(
        "rejected",
        (("it-f", 1, "5.00"),),
        Outcome(
            "FAILED",
            (
                states.VALIDATE_ORDER,
                states.IS_ORDER_VALID,
                states.RECORD_REJECTION,
                *matrix.announced(matrix.Milestone.REJECTED),
                states.ORDER_REJECTED,
            ),
            OrderStatus.REJECTED,
            0,
            0,
            _untouched,
        ),
        malformed=True,
    ),
    IntegrationScenario(
        "declined",
        (("it-g", 1, "59.90"),),
        Outcome(
            "FAILED",
            (*matrix.PLACED, states.REQUEST_PAYMENT, *matrix.CANCELLED),
            OrderStatus.CANCELLED,
            0,
            0,
            _untouched,
            reason=PAYMENT_DECLINED,
        ),
        token=TOKEN_DECLINE,
    ),
    IntegrationScenario(
        "out-of-stock",
        (("it-i", 1, "10.00"), ("it-j", STOCK_UNITS + 1, "1.00")),
        Outcome(
            "FAILED",
            (
                *matrix.PLACED,
                *matrix.paid(),
                *matrix.reserved(2),
                *matrix.released(2),
                states.REFUND_PAYMENT,
                *matrix.CANCELLED,
            ),
            OrderStatus.CANCELLED,
            1,
            1,
            _untouched,
            reason=matrix.OUT_OF_STOCK,
        ),
    ),
    IntegrationScenario(
        "shipping-failure",
        (("it-k", 1, "80.00"),),
        Outcome(
            "FAILED",
            CANCELLED_AFTER_SHIPPING,
            OrderStatus.CANCELLED,
            1,
            1,
            _untouched,
            reason=matrix.SHIPMENT_REJECTED,
        ),
        country="AQ",
    ),
)


_DESERIALIZER = TypeDeserializer()


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain values (numbers as Decimal)."""
    return {key: _DESERIALIZER.deserialize(value) for key, value in item.items()}


@dataclass
class PostedOrder:
    scenario: IntegrationScenario
    detail: dict[str, Any]
    event_ids: list[str]

    @property
    def order_id(self) -> str:
        return str(self.detail["orderId"])


class OrderDesk:
    """Posts orders on the bus and reads back what became of them, through the public APIs."""

    def __init__(self, client: Callable[[str], Any], names: Names) -> None:
        self._client = client
        self._names = names
        self.sfn = client("stepfunctions")
        self.ddb = client("dynamodb")
        self.machine_arn = next(
            machine["stateMachineArn"]
            for page in self.sfn.get_paginator("list_state_machines").paginate()
            for machine in page["stateMachines"]
            if machine["name"] == names(states.STATE_MACHINE_NAME_SUFFIX)
        )
        self._inputs: dict[str, str] = {}  # execution ARN → event id

    def seed(self, skus: list[str]) -> None:
        for sku in skus:
            self.ddb.put_item(
                TableName=self._names("inventory"),
                Item={"sku": {"S": sku}, "recordId": {"S": "STOCK"}, "available": {"N": str(STOCK_UNITS)}},
            )

    def post_all(self) -> list[PostedOrder]:
        run_id = uuid.uuid4().hex[:6]
        posted = [PostedOrder(s, s.detail(run_id), []) for s in INTEGRATION_SCENARIOS]
        self.seed([item["sku"] for order in posted for item in order.detail["items"]])
        events = self._client("events")
        for order in posted:
            entry = {
                "Source": EVENT_SOURCE,
                "DetailType": ORDER_PLACED,
                "Detail": json.dumps(order.detail),
                "EventBusName": self._names("orders"),
            }
            for _ in range(order.scenario.deliveries):
                response = events.put_events(Entries=[entry])
                assert not response.get("FailedEntryCount"), response
                order.event_ids.append(response["Entries"][0]["EventId"])
        return posted

    def executions_for(self, order: PostedOrder, *, timeout: float = 120.0) -> list[ExecutionRecord]:
        """Every execution the order's events started, each waited for until it ends."""
        deadline = time.monotonic() + timeout
        wanted = set(order.event_ids)
        while True:
            for page in self.sfn.get_paginator("list_executions").paginate(stateMachineArn=self.machine_arn):
                for execution in page["executions"]:
                    arn = execution["executionArn"]
                    if arn not in self._inputs:
                        described = self.sfn.describe_execution(executionArn=arn)
                        self._inputs[arn] = json.loads(described.get("input") or "{}").get("id", "")
            found = [arn for arn, event_id in self._inputs.items() if event_id in wanted]
            if len(found) == len(wanted) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(found) == len(wanted), (
            f"{len(found)} of {len(wanted)} executions started for {order.order_id}"
        )
        return [
            wait_for_execution(
                self.sfn,
                arn,
                timeout=max(1.0, deadline - time.monotonic()),
                longest_interval=ALONE_LAST_POLL_INTERVAL,
            )
            for arn in found
        ]

    def order_record(self, order_id: str) -> dict[str, Any]:
        item = self.ddb.get_item(TableName=self._names("orders"), Key={"orderId": {"S": order_id}}).get(
            "Item"
        )
        return _plain(item) if item else {}

    def ledger(self, order_id: str) -> list[dict[str, Any]]:
        response = self.ddb.query(
            TableName=self._names("payments"),
            KeyConditionExpression="orderId = :o",
            ExpressionAttributeValues={":o": {"S": order_id}},
        )
        return [_plain(item) for item in response.get("Items", [])]

    def available(self, sku: str) -> int:
        item = self.ddb.get_item(
            TableName=self._names("inventory"), Key={"sku": {"S": sku}, "recordId": {"S": "STOCK"}}
        )["Item"]
        return int(item["available"]["N"])
