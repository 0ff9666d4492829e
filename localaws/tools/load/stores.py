"""Reads a run's outcome from the stores through the endpoint's public APIs: the order records, executions,
the payment provider's statement, stock, dead-letter queues and the alerts inbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from infra.naming import Names
from localaws.stepfunctions.history import TERMINAL_STATUSES
from localaws.tools import orders
from localaws.tools.demo_reader import AlertInbox
from localaws.tools.load.invariants import TERMINAL, Snapshot
from localaws.tools.load.plan import RunPlan

_DESERIALIZER = TypeDeserializer()
_DLQ_SUFFIXES = ("-dlq", "-dlq.fifo", "-failures")


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _DESERIALIZER.deserialize(value) for key, value in item.items()}


class RunStores:
    """One run's view of the stack's stores (everything filtered to the run's orders and SKUs)."""

    def __init__(self, clients: Callable[[str], Any], names: Names, state_machine_arn: str) -> None:
        self._names = names
        self._machine = state_machine_arn
        self._ddb = clients("dynamodb")
        self._sfn = clients("stepfunctions")
        self._sqs = clients("sqs")
        self._inbox: AlertInbox | None = None
        self._clients = clients
        self.alerts: list[dict[str, Any]] = []

    def subscribe_alerts(self) -> None:
        """An inbox on system-alerts, subscribed before the run so that it hears every alarm."""
        self._inbox = AlertInbox(self._clients, self._names)

    def stock_catalogue(self, plan: RunPlan) -> None:
        table = self._names("inventory")
        for sku, units in plan.initial_stock.items():
            self._ddb.put_item(
                TableName=table,
                Item={"sku": {"S": sku}, "recordId": {"S": "STOCK"}, "available": {"N": str(units)}},
            )

    # -- while the run goes on ---------------------------------------------------------------------

    def _scan(self, table: str, prefix: str, projection: str | None = None) -> list[dict[str, Any]]:
        arguments: dict[str, Any] = {
            "TableName": self._names(table),
            "FilterExpression": "begins_with(orderId, :run)",
            "ExpressionAttributeValues": {":run": {"S": prefix}},
        }
        if projection:
            arguments["ProjectionExpression"] = projection
            arguments["ExpressionAttributeNames"] = {"#s": "status"}
        items: list[dict[str, Any]] = []
        for page in self._ddb.get_paginator("scan").paginate(**arguments):
            items.extend(page.get("Items", []))
        return items

    def terminal_orders(self, plan: RunPlan) -> int:
        """How many of the run's orders have a record in a terminal status."""
        items = self._scan("orders", plan.prefix, projection="orderId, #s")
        return sum(1 for item in items if item.get("status", {}).get("S") in TERMINAL)

    def running_executions(self) -> list[str]:
        arns: list[str] = []
        for page in self._sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self._machine, statusFilter="RUNNING"
        ):
            arns.extend(e["executionArn"] for e in page["executions"])
        return arns

    def dead_letter_depths(self) -> dict[str, int]:
        urls = self._sqs.list_queues(QueueNamePrefix=self._names.prefix).get("QueueUrls", [])
        depths = {}
        for url in urls:
            name = url.rsplit("/", 1)[1]
            if name.endswith(_DLQ_SUFFIXES):
                attributes = self._sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                depths[name] = sum(int(value) for value in attributes.values())
        return depths

    def alarms_notified(self) -> set[str]:
        if self._inbox is not None:
            self.alerts = self._inbox.drain()
        return {
            str(alert["message"].get("AlarmName"))
            for alert in self.alerts
            if alert["message"].get("NewStateValue") == "ALARM"
        }

    # -- after the drain ---------------------------------------------------------------------------

    def executions(self, records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """orderId → its (first) execution's status and start and stop times."""
        found = {}
        for order_id, record in records.items():
            arn = record.get("executionArn")
            if arn:
                described = self._sfn.describe_execution(executionArn=arn)
                found[order_id] = {
                    "status": described["status"],
                    "startDate": described.get("startDate"),
                    "stopDate": described.get("stopDate"),
                }
        return found

    def _shipments(self, plan: RunPlan) -> dict[str, str] | None:
        """The shipping service's book: orderId → status; None if the stack has none (an older one)."""
        try:
            items = self._scan("shipments", plan.prefix)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise
        return {str(item["orderId"]["S"]): str(item["status"]["S"]) for item in items}

    def order_of_execution(self, arn: str) -> str:
        described = self._sfn.describe_execution(executionArn=arn)
        detail = json.loads(described.get("input") or "{}").get("detail")
        return str(detail.get("orderId")) if isinstance(detail, dict) else arn

    def snapshot(self, plan: RunPlan, *, running: list[str]) -> Snapshot:
        snap = Snapshot()
        for item in self._scan("orders", plan.prefix):
            record = _plain(item)
            record["history"] = [entry.get("status") for entry in record.get("history", [])]
            snap.records[str(record["orderId"])] = record
        snap.running = sorted({self.order_of_execution(arn) for arn in running})
        for item in self._scan("payment-provider", plan.prefix):
            movement = _plain(item)
            into = snap.captures if movement["kind"] == "capture" else snap.refunds
            into.setdefault(str(movement["orderId"]), []).append(Decimal(str(movement["amount"])))
        snap.shipments = self._shipments(plan)
        table = self._names("inventory")
        for sku in plan.initial_stock:
            rows = self._ddb.query(
                TableName=table,
                KeyConditionExpression="sku = :sku",
                ExpressionAttributeValues={":sku": {"S": sku}},
                ConsistentRead=True,
            ).get("Items", [])
            held: dict[str, int] = {}
            for row in map(_plain, rows):
                if row["recordId"] == "STOCK":
                    snap.stock[sku] = int(row["available"])
                elif str(row["recordId"]).startswith("RES#"):
                    held[str(row["orderId"])] = int(row["quantity"])
            snap.reservations[sku] = held
        sqs = self._sqs
        for dlq, depth in self.dead_letter_depths().items():
            if depth:
                snap.dead_letters[dlq] = [
                    {"body": m["body"], "orderId": _order_id(m["body"])}
                    for m in orders.peek_messages(sqs, dlq, limit=10)
                ] or [{"body": None, "orderId": None}] * depth
        snap.alarms_notified = self.alarms_notified()
        return snap


def _order_id(body: str | None) -> str | None:
    """The order a dead letter is about: its JSON's orderId, or the id in a poison message's text."""
    if not body:
        return None
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        start = body.find('"orderId": "')
        return body[start + 12 : body.find('"', start + 12)] if start >= 0 else None
    if isinstance(document, dict):
        detail = document.get("detail")
        found = document.get("orderId") or (detail.get("orderId") if isinstance(detail, dict) else None)
        return str(found) if found else None
    return None


def stopped_at(execution: dict[str, Any]) -> float | None:
    stop = execution.get("stopDate")
    if execution.get("status") in TERMINAL_STATUSES and isinstance(stop, datetime):
        return stop.timestamp()
    return None
