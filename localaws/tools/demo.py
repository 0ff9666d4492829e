"""The main job: a realistic batch of orders through the embedded local AWS, then a summary.

Every outcome the workflow can reach is exercised: normal, multi-SKU and priority orders, a declined
payment, a transient payment failure, out of stock, a shipping failure, the same event delivered twice, a
malformed event, and a poison message that lands in a DLQ and fires its alarm. The demo reads everything
back through the public AWS APIs of the endpoint, as a user would, and exits non-zero if any order ends
where it should not.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from infra.naming import Names, configured_prefix
from localaws.endpoint.defaults import DEFAULT_PORT
from localaws.stepfunctions.history import TERMINAL_STATUSES, read_history, states_entered
from localaws.tools import orders
from services.shared.contract import OrderStatus
from workflows import states

# The demo compresses CloudWatch time (alarm periods, batching windows, backoffs) so it finishes in seconds:
# every such duration is multiplied by this.
DEMO_TIME_SCALE = 1 / 60

console = Console(soft_wrap=True)


@dataclass(frozen=True)
class Expectation:
    execution_status: str
    end_state: str
    order_status: OrderStatus
    charges: int
    refunds: int
    via: str | None = None  # a state the path must include


@dataclass(frozen=True)
class Scenario:
    name: str
    sample: str
    what: str
    expect: Expectation
    deliveries: int = 1  # the same event posted this many times


COMPLETED = Expectation("SUCCEEDED", states.ORDER_COMPLETED, OrderStatus.COMPLETED, charges=1, refunds=0)
# Charged, then a later step failed: stock released and the charge refunded.
COMPENSATED = Expectation(
    "FAILED", states.ORDER_CANCELLED, OrderStatus.CANCELLED, charges=1, refunds=1, via=states.RELEASE_STOCK
)
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("normal", "normal", "one item, card approved", COMPLETED),
    Scenario("multi-sku", "multi-sku", "three SKUs reserved in their own FIFO groups", COMPLETED),
    Scenario(
        "priority",
        "priority",
        "priority lane (FIFO payment queue)",
        Expectation(
            "SUCCEEDED",
            states.ORDER_COMPLETED,
            OrderStatus.COMPLETED,
            charges=1,
            refunds=0,
            via=states.REQUEST_PRIORITY_PAYMENT,
        ),
    ),
    Scenario(
        "declined",
        "declined",
        "card declined: cancelled, nothing charged",
        Expectation("FAILED", states.ORDER_CANCELLED, OrderStatus.CANCELLED, charges=0, refunds=0),
    ),
    Scenario("transient", "transient", "provider fails twice, SQS redelivers, charged once", COMPLETED),
    Scenario(
        "out-of-stock",
        "out-of-stock",
        "second SKU out of stock: first released, payment refunded",
        COMPENSATED,
    ),
    Scenario(
        "shipping-failure",
        "shipping-failure",
        "carrier does not serve AQ: stock released, payment refunded",
        COMPENSATED,
    ),
    Scenario("duplicate", "normal", "the same event delivered twice: one charge", COMPLETED, deliveries=2),
    Scenario(
        "malformed",
        "malformed",
        "invalid fields: recorded as rejected with the reasons",
        Expectation("FAILED", states.ORDER_REJECTED, OrderStatus.REJECTED, charges=0, refunds=0),
    ),
)
POISON_QUEUE = "shipping"
# A posted order: its scenario, its order id, and the id of each EventBridge event that delivered it.
PostedOrder = tuple[Scenario, str, list[str]]


@dataclass
class OrderOutcome:
    scenario: str
    what: str
    order_id: str
    executions: list[dict[str, Any]] = field(default_factory=list)
    order_status: str | None = None
    reason: str | None = None
    ledger: list[dict[str, str]] = field(default_factory=list)
    stock: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class DemoReport:
    endpoint: str
    orders: list[OrderOutcome]
    poison: dict[str, Any]
    dead_letter_queues: dict[str, list[dict[str, Any]]]
    alarms_fired: list[dict[str, Any]]
    alert_notifications: list[dict[str, Any]]
    analytics: list[dict[str, Any]]
    seconds: float
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems and all(o.ok for o in self.orders)


def _plain(value: Any) -> Any:
    """DynamoDB JSON → plain JSON values."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, inner),) = value.items()
        if kind == "S":
            return inner
        if kind == "N":
            return str(Decimal(inner))
        if kind == "BOOL":
            return inner
        if kind == "NULL":
            return None
        if kind == "L":
            return [_plain(v) for v in inner]
        if kind == "M":
            return {k: _plain(v) for k, v in inner.items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Demo:
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


def _check(outcome: OrderOutcome, scenario: Scenario) -> None:
    expect = scenario.expect
    problems = outcome.problems
    finished = [e for e in outcome.executions if e["status"] in TERMINAL_STATUSES]
    if len(finished) != scenario.deliveries:
        problems.append(f"{len(finished)} of {scenario.deliveries} executions finished")
        return
    main = [e for e in finished if e["path"] and e["path"][-1] != states.DUPLICATE_ORDER]
    duplicates = [e for e in finished if e["path"] and e["path"][-1] == states.DUPLICATE_ORDER]
    if len(main) != 1 or len(duplicates) != scenario.deliveries - 1:
        problems.append(f"expected 1 processing execution and {scenario.deliveries - 1} duplicates")
        return
    execution = main[0]
    if execution["status"] != expect.execution_status:
        problems.append(f"execution {execution['status']}, expected {expect.execution_status}")
    if execution["path"][-1] != expect.end_state:
        problems.append(f"ended in {execution['path'][-1]!r}, expected {expect.end_state!r}")
    if expect.via and expect.via not in execution["path"]:
        problems.append(f"path does not pass {expect.via!r}")
    if outcome.order_status != expect.order_status.value:
        problems.append(f"order record {outcome.order_status}, expected {expect.order_status.value}")
    if expect.order_status in (OrderStatus.REJECTED, OrderStatus.CANCELLED) and not outcome.reason:
        problems.append("no reason recorded")
    charges = sum(1 for e in outcome.ledger if e.get("entryId") == "CHARGE")
    refunds = sum(1 for e in outcome.ledger if e.get("entryId") == "REFUND")
    if (charges, refunds) != (expect.charges, expect.refunds):
        problems.append(
            f"{charges} charges and {refunds} refunds, expected {expect.charges} and {expect.refunds}"
        )


def run(local: Any, *, names: Names, timeout: float, live: bool = True) -> DemoReport:
    started = time.monotonic()
    machine = local.report.outputs[next(iter(local.report.outputs))]["StateMachineArn"]
    demo = Demo(clients=local.client, names=names, state_machine_arn=machine)
    inbox = AlertInbox(local.client, names)
    run_id = uuid.uuid4().hex[:6]

    posted: list[PostedOrder] = []
    for scenario in SCENARIOS:
        order_id, event_ids = demo.post(scenario, run_id)
        posted.append((scenario, order_id, event_ids))
    poison_body = demo.post_poison()
    poison_dlq = names.dlq(POISON_QUEUE)
    poison_alarm = f"{poison_dlq}-not-empty"

    by_event = _watch(local, demo, posted, poison_dlq, poison_alarm, timeout=timeout, live=live)
    # The analytics function reads the stream in batching windows; give the last one time to close.
    time.sleep(max(0.5, 5 * local.time_scale * 2))

    outcomes = []
    for scenario, order_id, event_ids in posted:
        # An event that has started no execution (yet) has none to report.
        executions = [by_event[event_id] for event_id in event_ids if event_id in by_event]
        outcome = _outcome(demo, scenario, order_id, executions)
        _check(outcome, scenario)
        outcomes.append(outcome)

    problems = []
    # Alarms first: peeking a DLQ hides its messages for a moment, and an alarm evaluated in that moment
    # sees the queue empty and goes back to OK until its next period.
    fired = demo.alarms_fired()
    if poison_alarm not in {a["alarm"] for a in fired}:
        problems.append(f"alarm {poison_alarm} did not fire")
    dead_letters = demo.dead_letter_queues()
    if not any(m["body"] == poison_body for m in dead_letters.get(poison_dlq, [])):
        problems.append(f"the poison message is not in {poison_dlq}")
    alerts = inbox.drain()
    if not any(a["message"].get("AlarmName") == poison_alarm for a in alerts):
        problems.append(f"no alarm notification for {poison_alarm} reached system-alerts")
    return DemoReport(
        endpoint=local.endpoint_url,
        orders=outcomes,
        poison={"queue": names(POISON_QUEUE), "dlq": poison_dlq, "alarm": poison_alarm, "body": poison_body},
        dead_letter_queues=dead_letters,
        alarms_fired=fired,
        alert_notifications=alerts,
        analytics=demo.analytics(),
        seconds=round(time.monotonic() - started, 1),
        problems=problems,
    )


def _watch(
    local: Any,
    demo: Demo,
    posted: list[PostedOrder],
    poison_dlq: str,
    poison_alarm: str,
    *,
    timeout: float,
    live: bool,
) -> dict[str, dict[str, Any]]:
    """Executions by event id, once every order has finished and the poison alarm fired (or at timeout)."""
    deadline = time.monotonic() + timeout
    by_event: dict[str, dict[str, Any]] = {}
    with Live(console=console, refresh_per_second=4, transient=not live) as screen:
        while time.monotonic() < deadline:
            by_event = demo.executions_by_event()
            state = _alarm_state(local, poison_alarm)
            screen.update(_progress(posted, by_event, poison_dlq, state))
            done = all(
                e in by_event and by_event[e]["status"] in TERMINAL_STATUSES
                for _, _, ids in posted
                for e in ids
            )
            if done and state == "ALARM":
                break
            time.sleep(0.25)
    return by_event


def _alarm_state(local: Any, alarm_name: str) -> str:
    alarms = local.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    return str(alarms[0]["StateValue"]) if alarms else "MISSING"


def _progress(
    posted: list[PostedOrder], by_event: dict[str, dict[str, Any]], poison_dlq: str, alarm_state: str
) -> Table:
    """The live table of orders in flight."""
    table = Table(title="orders in flight", title_justify="left")
    for column in ("scenario", "order", "executions", "status"):
        table.add_column(column)
    for scenario, order_id, event_ids in posted:
        statuses = [by_event[e]["status"] if e in by_event else "PENDING" for e in event_ids]
        table.add_row(scenario.name, order_id, str(len(event_ids)), ", ".join(statuses))
    table.add_row("poison", f"→ {poison_dlq}", "-", f"alarm {alarm_state}")
    return table


def _outcome(demo: Demo, scenario: Scenario, order_id: str, executions: list[dict[str, Any]]) -> OrderOutcome:
    """What one order left behind: the executions its events started, its records, its notifications."""
    outcome = OrderOutcome(scenario=scenario.name, what=scenario.what, order_id=order_id)
    for execution in executions:
        outcome.executions.append(
            {
                "name": execution["name"],
                "status": execution["status"],
                "error": execution.get("error"),
                "path": demo.path(execution["executionArn"]),
            }
        )
    record = demo.order_record(order_id)
    outcome.order_status = record.get("status")
    outcome.reason = record.get("reason") or record.get("cancelReason")
    outcome.ledger = [
        {k: str(v) for k, v in row.items() if k in ("entryId", "status", "amount", "currency")}
        for row in demo.query("payments", "orderId", order_id)
    ]
    detail = orders.sample(scenario.sample, order_id=order_id)
    outcome.stock = demo.stock(order_id, [item["sku"] for item in detail.get("items", [])])
    outcome.notifications = [
        {k: str(v) for k, v in row.items() if k in ("status", "channel", "outcome", "recipient")}
        for row in demo.query("notifications", "orderId", order_id)
    ]
    return outcome


def show(report: DemoReport) -> None:
    for outcome in report.orders:
        _show_order(outcome)

    console.rule("dead-letter queues")
    for name, messages in report.dead_letter_queues.items():
        if messages:
            for message in messages:
                console.print(f"  {name}: {message['body']!r} (received {message['receiveCount']} times)")
    if not any(report.dead_letter_queues.values()):
        console.print("  all empty")
    console.rule("alarms that fired")
    for alarm in report.alarms_fired:
        console.print(f"  {alarm['alarm']}: {alarm['reason']}")
    console.rule("system-alerts notifications")
    for alert in report.alert_notifications:
        console.print(f"  {alert['subject']}: {_alert_summary(alert['message'])}")
    console.rule("analytics aggregates")
    table = Table()
    for column in ("pk", "sk", "values"):
        table.add_column(column)
    for row in report.analytics:
        rest = {k: v for k, v in row.items() if k not in ("pk", "sk")}
        table.add_row(str(row.get("pk")), str(row.get("sk")), json.dumps(rest, default=str))
    console.print(table)
    console.rule()
    ok = sum(o.ok for o in report.orders)
    console.print(f"{ok}/{len(report.orders)} orders ended as expected in {report.seconds} s")
    for problem in report.problems:
        console.print(f"[red]✗ {problem}[/]")
    console.print("[bold green]demo passed[/]" if report.ok else "[bold red]demo FAILED[/]")


def _show_order(outcome: OrderOutcome) -> None:
    mark = "[green]ok[/]" if outcome.ok else "[red]UNEXPECTED[/]"
    console.rule(f"{outcome.scenario}: {outcome.order_id}  {mark}")
    console.print(f"  {outcome.what}")
    for execution in outcome.executions:
        error = f" ({execution['error']})" if execution.get("error") else ""
        console.print(f"  execution {execution['status']}{error}: {' → '.join(execution['path'])}")
    console.print(
        f"  order record: {outcome.order_status}" + (f" — {outcome.reason}" if outcome.reason else "")
    )
    ledger = ", ".join(
        f"{e.get('entryId')} {e.get('amount')} {e.get('currency', '')}".strip() for e in outcome.ledger
    )
    console.print(f"  payments: {ledger or 'none'}")
    stock = ", ".join(
        f"{s['sku']} available {s['available']} (reservation {s['reservation']})" for s in outcome.stock
    )
    console.print(f"  stock: {stock}")
    sent = ", ".join(
        f"{n.get('status')} via {n.get('channel')} [{n.get('outcome')}]" for n in outcome.notifications
    )
    console.print(f"  notifications: {sent or 'none'}")
    for problem in outcome.problems:
        console.print(f"  [red]✗ {problem}[/]")


def _alert_summary(message: dict[str, Any]) -> str:
    """One line for a system-alerts message: a DLQ report's verdicts, or an alarm's reason."""
    if message.get("kind") == "dlq-report":
        found = message.get("messages", [])
        verdicts = "; ".join(f"{m.get('verdict')}: {m.get('detail')}" for m in found)
        return f"{message.get('sampled')} message(s) inspected — {verdicts or 'none'}"
    return str(message.get("NewStateReason") or json.dumps(message)[:160])


def main(args: argparse.Namespace) -> int:
    # Imported here: it loads moto (seconds), and the CLI imports this module for every command.
    from localaws.local_aws import LocalAws  # noqa: PLC0415

    cdk_out = Path(args.cdk_out)
    if not (cdk_out / "manifest.json").is_file():
        console.print(f"[red]no synthesized app in {cdk_out}/: run `make synth` first[/]")
        return 2
    names = Names(configured_prefix())
    local = LocalAws(cdk_out=cdk_out, port=args.port, time_scale=args.time_scale, watch_assembly=False)
    with console.status("starting the embedded AWS and deploying cdk.out ..."):
        deployed = local.start()
    try:
        console.print(f"embedded AWS on {local.endpoint_url}: {len(deployed.resources)} resources deployed")
        console.print(f"watch it in the console: {local.console_url}  (or: orderflow watch)")
        for item in deployed.not_deployed:
            console.print(
                f"  not deployed (no local meaning): {item.logical_id} ({item.type}): {item.reason}"
            )
        orders.seed_catalogue(deployed, local.region)
        report = run(local, names=names, timeout=args.timeout, live=not args.json)
    finally:
        local.stop()
    if args.json:
        print(json.dumps(asdict(report) | {"ok": report.ok}, indent=2, default=str))
    else:
        show(report)
    return 0 if report.ok else 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="write the report as JSON on stdout")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"endpoint port (default {DEFAULT_PORT})"
    )
    parser.add_argument("--cdk-out", default="cdk.out", help="the synthesized app (default cdk.out)")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=DEMO_TIME_SCALE,
        help=f"multiplies CloudWatch periods, batching windows and backoffs (default {DEMO_TIME_SCALE:.4g})",
    )
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for every outcome")
