"""The demo's hands and eyes: it posts orders and reads their outcome back through the public AWS APIs, as a
user would, and keeps an on-call inbox subscribed to the alerts topic."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from infra.naming import Names
from localaws.stepfunctions.history import read_history, states_entered
from localaws.tools import orders
from localaws.tools.demo_scenarios import POISON_QUEUE, Scenario

_DESERIALIZER = TypeDeserializer()


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain values (numbers as Decimal, which the report prints as written)."""
    return {key: _DESERIALIZER.deserialize(value) for key, value in item.items()}


class DemoReader:
    """Posts the demo's orders and reads back what became of them, through the endpoint's public APIs."""

    def __init__(self, *, clients: Callable[[str], Any], names: Names, state_machine_arn: str) -> None:
        self._client = clients
        self._names = names
        self._machine = state_machine_arn
        self._events = clients("events")
        self._sfn = clients("stepfunctions")
        self._sqs = clients("sqs")
        self._ddb = clients("dynamodb")

    # -- posting -----------------------------------------------------------------------------------------

    def post(self, scenario: Scenario, run_id: str) -> tuple[str, list[str]]:
        detail = orders.sample(scenario.sample, order_id=f"{scenario.name}-{run_id}")
        event_ids = [
            orders.put_order(self._events, detail, self._names("orders")) for _ in range(scenario.deliveries)
        ]
        return detail["orderId"], event_ids

    def post_poison(self) -> str:
        """A message no service can parse, sent straight to a work queue, as a broken producer would."""
        url = self._sqs.get_queue_url(QueueName=self._names(POISON_QUEUE))["QueueUrl"]
        body = "{this is not json"
        self._sqs.send_message(QueueUrl=url, MessageBody=body)
        return body

    # -- watching ----------------------------------------------------------------------------------------

    def executions_by_event(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for page in self._sfn.get_paginator("list_executions").paginate(stateMachineArn=self._machine):
            for execution in page["executions"]:
                found[execution["executionArn"]] = execution
        by_event = {}
        for arn, execution in found.items():
            described = self._sfn.describe_execution(executionArn=arn)
            event_id = json.loads(described.get("input") or "{}").get("id")
            by_event[event_id] = {**execution, **described}
        return by_event

    def path(self, execution_arn: str) -> list[str]:
        return states_entered(read_history(self._sfn, execution_arn))

    # -- reading the side effects ------------------------------------------------------------------------

    def order_record(self, order_id: str) -> dict[str, Any]:
        item = self._ddb.get_item(TableName=self._names("orders"), Key={"orderId": {"S": order_id}}).get(
            "Item"
        )
        return _plain(item) if item else {}

    def query(self, table: str, key: str, value: str) -> list[dict[str, Any]]:
        response = self._ddb.query(
            TableName=self._names(table),
            KeyConditionExpression="#k = :v",
            ExpressionAttributeNames={"#k": key},
            ExpressionAttributeValues={":v": {"S": value}},
        )
        return [_plain(item) for item in response.get("Items", [])]

    def stock(self, order_id: str, skus: list[str]) -> list[dict[str, Any]]:
        rows = []
        for sku in skus:
            stock = self._ddb.get_item(
                TableName=self._names("inventory"), Key={"sku": {"S": sku}, "recordId": {"S": "STOCK"}}
            ).get("Item")
            reservation = self._ddb.get_item(
                TableName=self._names("inventory"),
                Key={"sku": {"S": sku}, "recordId": {"S": f"RES#{order_id}"}},
            ).get("Item")
            rows.append(
                {
                    "sku": sku,
                    "available": _plain(stock).get("available") if stock else None,
                    "reservation": _plain(reservation).get("status") if reservation else None,
                }
            )
        return rows

    def peek(self, queue_name: str) -> list[dict[str, Any]]:
        return [
            {"body": m["body"][:200], "receiveCount": m["attributes"].get("ApproximateReceiveCount")}
            for m in orders.peek_messages(self._sqs, queue_name)
        ]

    def dead_letter_queues(self) -> dict[str, list[dict[str, Any]]]:
        urls = self._sqs.list_queues(QueueNamePrefix=self._names.prefix).get("QueueUrls", [])
        names = [u.rsplit("/", 1)[1] for u in urls]
        dlqs = [n for n in names if n.endswith(("-dlq", "-dlq.fifo", "-failures"))]
        return {name: self.peek(name) for name in sorted(dlqs)}

    def alarms_fired(self) -> list[dict[str, Any]]:
        cloudwatch = self._client("cloudwatch")
        alarms = cloudwatch.describe_alarms(AlarmNamePrefix=self._names.prefix)["MetricAlarms"]
        return [
            {"alarm": a["AlarmName"], "state": a["StateValue"], "reason": a.get("StateReason", "")}
            for a in alarms
            if a["StateValue"] == "ALARM"
        ]

    def analytics(self) -> list[dict[str, Any]]:
        items = self._ddb.scan(TableName=self._names("analytics")).get("Items", [])
        return sorted((_plain(i) for i in items), key=lambda i: (i.get("pk", ""), i.get("sk", "")))


class AlertInbox:
    """An SQS queue subscribed to system-alerts: what an on-call engineer's inbox would receive."""

    def __init__(self, clients: Callable[[str], Any], names: Names) -> None:
        self._sqs = clients("sqs")
        sns = clients("sns")
        self.name = names(f"demo-alert-inbox-{uuid.uuid4().hex[:6]}")
        self.url = self._sqs.create_queue(QueueName=self.name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        topic = next(
            t["TopicArn"]
            for t in sns.list_topics()["Topics"]
            if t["TopicArn"].endswith(f":{names('system-alerts')}")
        )
        sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "false"}
        )
        self.received: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        while True:
            messages = self._sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return self.received
            for message in messages:
                envelope = json.loads(message["Body"])
                try:
                    content = json.loads(envelope.get("Message", "{}"))
                except json.JSONDecodeError:
                    content = {"text": envelope.get("Message")}
                self.received.append({"subject": envelope.get("Subject"), "message": content})
                self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
