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
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from infra.naming import Names, configured_prefix
from localaws.endpoint.access_settings import access_settings_from_arguments, add_access_arguments
from localaws.endpoint.defaults import DEFAULT_PORT
from localaws.stepfunctions.history import TERMINAL_STATUSES
from localaws.tools import demo_import, orders
from localaws.tools.demo_reader import AlertInbox, DemoReader
from localaws.tools.demo_scenarios import (
    POISON_QUEUE,
    SCENARIOS,
    DemoReport,
    OrderOutcome,
    PostedOrder,
    Scenario,
    check,
)
from services.shared.execution_alerts import ALERTING_STATUSES, is_execution_alert, order_id_of

# The demo compresses CloudWatch time (alarm periods, batching windows, backoffs) so it finishes in seconds:
# every such duration is multiplied by this.
DEMO_TIME_SCALE = 1 / 60

console = Console(soft_wrap=True)


def run(local: Any, *, names: Names, timeout: float, live: bool = True) -> DemoReport:
    started = time.monotonic()
    machine = local.report.outputs[next(iter(local.report.outputs))]["StateMachineArn"]
    demo = DemoReader(clients=local.client, names=names, state_machine_arn=machine)
    inbox = AlertInbox(local.client, names)
    run_id = uuid.uuid4().hex[:6]

    posted: list[PostedOrder] = []
    for scenario in SCENARIOS:
        order_id, event_ids = demo.post(scenario, run_id)
        posted.append((scenario, order_id, event_ids))
    order_file = demo_import.post(local, names, run_id)
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
        check(outcome, scenario)
        outcomes.append(outcome)

    imported = demo_import.finish(local, order_file, timeout=max(10.0, deadline_left(started, timeout)))
    problems = [f"order file: {problem}" for problem in imported.problems]
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
    problems.extend(missing_execution_alerts(outcomes, alerts))
    return DemoReport(
        endpoint=local.endpoint_url,
        orders=outcomes,
        poison={"queue": names(POISON_QUEUE), "dlq": poison_dlq, "alarm": poison_alarm, "body": poison_body},
        dead_letter_queues=dead_letters,
        alarms_fired=fired,
        alert_notifications=alerts,
        analytics=demo.analytics(),
        order_file=asdict(imported),
        seconds=round(time.monotonic() - started, 1),
        problems=problems,
    )


def deadline_left(started: float, timeout: float) -> float:
    return timeout - (time.monotonic() - started)


def _watch(
    local: Any,
    demo: DemoReader,
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


def _outcome(
    demo: DemoReader, scenario: Scenario, order_id: str, executions: list[dict[str, Any]]
) -> OrderOutcome:
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

    console.rule("order file import")
    order_file = report.order_file
    console.print(f"  {order_file.get('file')}: {order_file.get('status')} {order_file.get('totals')}")
    for rejected in order_file.get("rejected", []):
        console.print(f"  line {rejected['line']}: {'; '.join(rejected['reasons'])}")
    console.print(f"  imported orders: {order_file.get('order_statuses')}")
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
        console.print(f"  {alert['subject'] or 'execution status'}: {_alert_summary(alert['message'])}")
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


def missing_execution_alerts(outcomes: list[OrderOutcome], alerts: list[dict[str, Any]]) -> list[str]:
    """Each order whose execution ended FAILED, TIMED_OUT or ABORTED must have had its alert, naming it."""
    alerted = {
        (order_id_of(a["message"].get("input")), a["message"].get("status"))
        for a in alerts
        if is_execution_alert(a["message"])
    }
    return [
        f"no {execution['status']} alert on system-alerts for order {outcome.order_id}"
        for outcome in outcomes
        for execution in outcome.executions
        if execution["status"] in ALERTING_STATUSES and (outcome.order_id, execution["status"]) not in alerted
    ]


def _alert_summary(message: dict[str, Any]) -> str:
    """One line for a system-alerts message: an execution's alert, a DLQ report's verdicts, or an alarm's."""
    if is_execution_alert(message):
        order_id = order_id_of(message.get("input")) or "(no order in its input)"
        return f"order {order_id}: execution {message.get('status')} ({message.get('error')})"
    if message.get("kind") == "dlq-report":
        found = message.get("messages", [])
        verdicts = "; ".join(f"{m.get('verdict')}: {m.get('detail')}" for m in found)
        return f"{message.get('sampled')} message(s) inspected — {verdicts or 'none'}"
    return str(message.get("NewStateReason") or json.dumps(message)[:160])


def main(args: argparse.Namespace) -> int:
    # Imported here: they load moto and werkzeug (seconds), and the CLI imports this module for every command.
    from localaws.endpoint.access import AccessSettingsError  # noqa: PLC0415
    from localaws.local_aws import LocalAws  # noqa: PLC0415

    cdk_out = Path(args.cdk_out)
    if not (cdk_out / "manifest.json").is_file():
        console.print(f"[red]no synthesized app in {cdk_out}/: run `make synth` first[/]")
        return 2
    names = Names(configured_prefix())
    try:
        local = LocalAws(
            cdk_out=cdk_out,
            port=args.port,
            time_scale=args.time_scale,
            watch_assembly=False,
            access=access_settings_from_arguments(args),
        )
    except AccessSettingsError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
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
    add_access_arguments(parser)
