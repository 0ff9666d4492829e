"""What the console and ``orderflow watch`` show, read through the public AWS APIs only.

Every function takes boto3 clients, so the same code reads the embedded local AWS, another emulator or a
real account.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer

from localaws.stepfunctions.history import TERMINAL_STATUSES, ExecutionPath, execution_path, read_history
from workflows.states import STATE_MACHINE_NAME_SUFFIX

if TYPE_CHECKING:
    from infra.naming import Names

CONSOLE_QUEUE = "console-notifications"  # the console's own tap on the topics; not part of the product


def iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def plain(value: Any) -> Any:
    """DynamoDB and boto3 values made JSON-friendly (Decimal, datetime, sets, bytes)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def console_queue_name(names: Names) -> str:
    return names(CONSOLE_QUEUE)


# -- Step Functions -------------------------------------------------------------------------------------


def find_state_machine(sfn: Any, names: Names) -> str | None:
    """The order workflow's ARN: ``<prefix>-order-workflow``, else the only state machine there is."""
    machines = [
        m for page in sfn.get_paginator("list_state_machines").paginate() for m in page["stateMachines"]
    ]
    wanted = names(STATE_MACHINE_NAME_SUFFIX)
    for machine in machines:
        if machine["name"] == wanted:
            return str(machine["stateMachineArn"])
    return str(machines[0]["stateMachineArn"]) if len(machines) == 1 else None


def definition(sfn: Any, state_machine_arn: str) -> dict[str, Any]:
    return dict(json.loads(sfn.describe_state_machine(stateMachineArn=state_machine_arn)["definition"]))


def order_id_of(execution_input: str | None) -> str | None:
    """``detail.orderId`` of the OrderPlaced event the execution was started with."""
    try:
        detail = json.loads(execution_input or "null")["detail"]
    except (ValueError, KeyError, TypeError):
        return None
    order_id = detail.get("orderId") if isinstance(detail, dict) else None
    return order_id if isinstance(order_id, str) else None


@dataclass
class ExecutionRow:
    arn: str
    name: str
    status: str
    start: str | None
    stop: str | None
    duration_seconds: float | None
    order_id: str | None
    current_state: str | None = None


class ExecutionReader:
    """Executions of one state machine, with what never changes (order id, finished paths) cached."""

    def __init__(self, sfn: Any) -> None:
        self._sfn = sfn
        self._order_ids: dict[str, str | None] = {}
        self._finished_states: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def executions(
        self,
        state_machine_arn: str,
        *,
        status: str | None = None,
        order_id: str | None = None,
        limit: int = 100,
        with_current_state: bool = False,
    ) -> list[ExecutionRow]:
        kwargs: dict[str, Any] = {"stateMachineArn": state_machine_arn, "maxResults": limit}
        if status:
            kwargs["statusFilter"] = status
        listed = self._sfn.list_executions(**kwargs)["executions"]
        now = datetime.now(UTC)
        rows = []
        for execution in sorted(listed, key=lambda e: e["startDate"], reverse=True):
            arn = execution["executionArn"]
            start, stop = execution.get("startDate"), execution.get("stopDate")
            end = stop or (now if execution["status"] == "RUNNING" else None)
            row = ExecutionRow(
                arn=arn,
                name=execution["name"],
                status=execution["status"],
                start=iso(start),
                stop=iso(stop),
                duration_seconds=round((end - start).total_seconds(), 3) if start and end else None,
                order_id=self._order_id(arn),
            )
            if order_id and order_id.lower() not in (row.order_id or "").lower():
                continue
            if with_current_state:
                row.current_state = self._current_state(arn, row.status)
            rows.append(row)
        return rows

    def _order_id(self, execution_arn: str) -> str | None:
        with self._lock:
            if execution_arn in self._order_ids:
                return self._order_ids[execution_arn]
        described = self._sfn.describe_execution(executionArn=execution_arn)
        order_id = order_id_of(described.get("input"))
        with self._lock:
            self._order_ids[execution_arn] = order_id
        return order_id

    def _current_state(self, execution_arn: str, status: str) -> str | None:
        if execution_arn in self._finished_states:
            return self._finished_states[execution_arn]
        state = execution_path(read_history(self._sfn, execution_arn), status).current_state
        if status in TERMINAL_STATUSES:
            self._finished_states[execution_arn] = state
        return state

    def execution(self, execution_arn: str) -> tuple[dict[str, Any], list[dict[str, Any]], ExecutionPath]:
        described = self._sfn.describe_execution(executionArn=execution_arn)
        events = read_history(self._sfn, execution_arn)
        return described, events, execution_path(events, described["status"])


def execution_json(
    described: dict[str, Any], events: list[dict[str, Any]], path: ExecutionPath
) -> dict[str, Any]:
    start, stop = described.get("startDate"), described.get("stopDate")
    end = stop or (datetime.now(UTC) if described["status"] == "RUNNING" else None)
    return {
        "execution": {
            "arn": described["executionArn"],
            "name": described["name"],
            "status": described["status"],
            "start": iso(start),
            "stop": iso(stop),
            "durationSeconds": round((end - start).total_seconds(), 3) if start and end else None,
            "orderId": order_id_of(described.get("input")),
            "input": described.get("input"),
            "output": described.get("output"),
            "error": described.get("error"),
            "cause": described.get("cause"),
        },
        "path": path.to_json(),
        "history": [
            {
                "id": event["id"],
                "previousEventId": event.get("previousEventId"),
                "timestamp": iso(event.get("timestamp")),
                "type": event["type"],
                "state": path.event_states.get(int(event["id"])),
                "details": plain(next((v for k, v in event.items() if k.endswith("EventDetails")), None)),
            }
            for event in events
        ],
    }


# -- SQS ------------------------------------------------------------------------------------------------


@dataclass
class QueueRow:
    name: str
    url: str
    arn: str
    fifo: bool
    depth: int
    in_flight: int
    delayed: int
    dlq: str | None = None  # the queue's dead-letter queue (from its RedrivePolicy)
    dlq_depth: int | None = None
    max_receive_count: int | None = None
    sources: tuple[str, ...] = ()  # queues whose RedrivePolicy names this one: it is their DLQ

    @property
    def is_dlq(self) -> bool:
        return bool(self.sources)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "sources": list(self.sources), "isDlq": self.is_dlq}


def queues(sqs: Any, names: Names) -> list[QueueRow]:
    """Every queue of the prefix (the console's own tap left out), each with its DLQ's depth."""
    urls = [
        url
        for page in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=names.prefix + "-")
        for url in page.get("QueueUrls", [])
    ]
    tap = console_queue_name(names)
    rows: dict[str, QueueRow] = {}
    redrive: dict[str, tuple[str, int | None]] = {}
    for url in urls:
        name = url.rstrip("/").rsplit("/", 1)[-1]
        if name == tap:
            continue
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
        rows[name] = QueueRow(
            name=name,
            url=url,
            arn=attributes.get("QueueArn", ""),
            fifo=name.endswith(".fifo"),
            depth=int(attributes.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        )
        if attributes.get("RedrivePolicy"):
            policy = json.loads(attributes["RedrivePolicy"])
            target = str(policy.get("deadLetterTargetArn", "")).rsplit(":", 1)[-1]
            count = policy.get("maxReceiveCount")
            redrive[name] = (target, int(count) if count is not None else None)
    for name, (target, count) in redrive.items():
        row = rows[name]
        row.dlq, row.max_receive_count = target, count
        if target in rows:
            row.dlq_depth = rows[target].depth
            rows[target].sources = (*rows[target].sources, name)
    return sorted(rows.values(), key=lambda r: (r.is_dlq, r.name))


# -- CloudWatch, DynamoDB -------------------------------------------------------------------------------


def alarms(cloudwatch: Any, names: Names) -> list[dict[str, Any]]:
    paginator = cloudwatch.get_paginator("describe_alarms")
    found = [
        alarm
        for page in paginator.paginate(AlarmNamePrefix=names.prefix)
        for alarm in page.get("MetricAlarms", [])
    ]
    return [
        {
            "name": alarm["AlarmName"],
            "state": alarm.get("StateValue"),
            "reason": alarm.get("StateReason"),
            "updated": iso(alarm.get("StateUpdatedTimestamp")),
            "description": alarm.get("AlarmDescription"),
            "metric": alarm.get("MetricName"),
            "dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])},
        }
        for alarm in sorted(found, key=lambda a: a["AlarmName"])
    ]


def analytics(dynamodb: Any, names: Names, *, limit: int = 500) -> list[dict[str, Any]]:
    """The aggregates the analytics Lambda keeps (a scan: the table holds counters, not orders)."""

    deserializer = TypeDeserializer()
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": names("analytics")}
    while len(items) < limit:
        page = dynamodb.scan(**kwargs)
        items.extend(
            {k: plain(deserializer.deserialize(v)) for k, v in item.items()} for item in page.get("Items", [])
        )
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(items[:limit], key=lambda i: (str(i.get("pk")), str(i.get("sk"))))
