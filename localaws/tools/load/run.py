"""``orderflow load``: orders at a target rate with a fault mix, drained, then the order promise checked.

With no ``--endpoint-url`` it starts its own embedded stack (as ``demo`` does), where infrastructure faults
can be injected and the stack's clocks compressed by ``--time-scale``; with one it drives a running stack
(business faults only: infrastructure faults need the embedded stack's hands on its workers and endpoint).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from infra.naming import Names, configured_prefix
from localaws.endpoint.defaults import local_client
from localaws.tools.load.chaos import MIN_TIME_SCALE, WorkerKiller
from localaws.tools.load.faults import INFRASTRUCTURE_KINDS, FaultMix, FaultSpecError, parse_fault_spec
from localaws.tools.load.invariants import check_invariants
from localaws.tools.load.plan import RunPlan, plan_run
from localaws.tools.load.sender import SendLog, send
from localaws.tools.load.stores import RunStores, stopped_at
from workflows.states import STATE_MACHINE_NAME_SUFFIX

# The embedded stack's clocks run this much faster during a load run (``LocalAws(time_scale=, wait_scale=)``):
# a payment heartbeat of 120 s fires after 60 s, a crashed message returns after 30 s instead of 60 s.
DEFAULT_TIME_SCALE = MIN_TIME_SCALE
POLL_SECONDS = 1.0
# Reading the run's records costs the stack CPU: a big run is looked at less often.
ORDERS_PER_POLL_SECOND = 2000

console = Console(stderr=True, soft_wrap=True)


@dataclass
class LoadOptions:
    orders: int
    rate: float
    mix: FaultMix
    seed: int
    time_scale: float = DEFAULT_TIME_SCALE
    drain_timeout: float = 300.0
    workers: int = 2
    live: bool = True
    cdk_out: Path = Path("cdk.out")


@dataclass
class Target:
    """The stack a run drives: clients, names, the state machine; the embedded stack's handles if ours."""

    clients: Any
    names: Names
    state_machine_arn: str
    endpoint: str
    local: Any = None  # LocalAws when embedded
    not_injected: dict[str, str] = field(default_factory=dict)


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))], 1)


def _progress(live: bool) -> Progress:
    return Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not live,
        refresh_per_second=4,
    )


def _drain(
    target: Target,
    stores: RunStores,
    plan: RunPlan,
    log: SendLog,
    sender: threading.Thread,
    *,
    deadline: float,
    live: bool,
    baseline_dlq: dict[str, int],
    baseline_alarms: set[str],
) -> tuple[bool, list[str]]:
    """Wait until every order is terminal, nothing runs, and every grown DLQ raised its alarm."""
    total = len(plan.orders)
    running: list[str] = []
    with _progress(live) as progress:
        sent_bar = progress.add_task("sent", total=total, note="")
        ended_bar = progress.add_task("ended", total=total, note="")
        while True:
            ended = stores.terminal_orders(plan)
            running = stores.running_executions()
            progress.update(sent_bar, completed=log.sent, note=f"{len(log.errors)} errors")
            progress.update(ended_bar, completed=ended, note=f"{len(running)} executions running")
            if not sender.is_alive() and ended >= total and not running:
                grown = [d for d, n in stores.dead_letter_depths().items() if n > baseline_dlq.get(d, 0)]
                notified = stores.alarms_notified() | baseline_alarms
                waiting = [d for d in grown if f"{d}-not-empty" not in notified]
                progress.update(
                    ended_bar, note=f"waiting for the alarms of {', '.join(waiting)}" if waiting else ""
                )
                if not waiting:
                    return True, running
            if time.monotonic() > deadline:
                return False, running
            time.sleep(max(POLL_SECONDS, total / ORDERS_PER_POLL_SECOND))


def _latencies(log: SendLog, executions: dict[str, dict[str, Any]]) -> tuple[list[float], list[float]]:
    latencies, stops = [], []
    for order_id, execution in executions.items():
        stopped = stopped_at(execution)
        if stopped is not None and order_id in log.put_at:
            latencies.append((stopped - log.put_at[order_id]) * 1000)
            stops.append(stopped)
    return latencies, stops


def _kill_report(killer: WorkerKiller | None, executions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if killer is None:
        return {"kills": 0}
    waits, unresolved = [], set()
    for kill in killer.kills:
        for order_id in kill.orders:
            stopped = stopped_at(executions.get(order_id, {}))
            if stopped is None:
                unresolved.add(order_id)
            else:
                waits.append(max(0.0, stopped - kill.at))
    by_function: dict[str, int] = {}
    for kill in killer.kills:
        by_function[kill.function] = by_function.get(kill.function, 0) + 1
    return {
        "kills": len(killer.kills),
        "by_function": by_function,
        "orders_hit": sum(len(k.orders) for k in killer.kills),
        # From the kill to the terminal status of each order in the killed batch.
        "resolution_s": {
            "p50": percentile(waits, 0.5),
            "p95": percentile(waits, 0.95),
            "max": percentile(waits, 1),
        },
        "unresolved_orders": sorted(unresolved),
    }


def _per_service(
    target: Target, killer: WorkerKiller | None, snapshot_records: int, movements: int, wall: float
) -> dict[str, Any]:
    if wall <= 0:
        return {}
    if killer is not None:
        prefix = f"{target.names.prefix}-"
        return {
            name.removeprefix(prefix): {
                "invocations": round(count / wall, 2),
                "messages": round(killer.records.get(name, 0) / wall, 2),
            }
            for name, count in sorted(killer.invocations.items())
        }
    # A running stack's workers are out of reach: what the services recorded, per second.
    return {
        "orders_recorded": round(snapshot_records / wall, 2),
        "payment_movements": round(movements / wall, 2),
    }


def run_load(target: Target, options: LoadOptions) -> dict[str, Any]:
    mix = options.mix
    run_id = uuid.uuid4().hex[:6]
    plan = plan_run(run_id=run_id, count=options.orders, mix=mix, seed=options.seed)
    stores = RunStores(target.clients, target.names, target.state_machine_arn)
    stores.subscribe_alerts()
    stores.stock_catalogue(plan)
    baseline_dlq = stores.dead_letter_depths()
    cloudwatch = target.clients("cloudwatch")
    baseline_alarms = {
        a["AlarmName"]
        for a in cloudwatch.describe_alarms(AlarmNamePrefix=target.names.prefix, StateValue="ALARM")[
            "MetricAlarms"
        ]
    }

    killer: WorkerKiller | None = None
    if target.local is not None:
        killer = WorkerKiller(
            target.local.invoker, mix.share("worker_kill"), options.seed, prefix=target.names.prefix
        )
        killer.start()
        from localaws.endpoint.faults import FaultShares  # noqa: PLC0415 - loads with the embedded stack

        target.local.endpoint.faults.configure(
            FaultShares(
                throttle=mix.share("throttle"),
                server_error=mix.share("server_error"),
                lost_callback=mix.share("lost_callback"),
            ),
            seed=options.seed,
        )
    log = SendLog()
    stop = threading.Event()
    sender = threading.Thread(
        target=send,
        kwargs={
            "plan": plan,
            "clients": target.clients,
            "names": target.names,
            "rate": options.rate,
            "log": log,
            "stop": stop,
        },
        name="load-sender",
        daemon=True,
    )
    started = time.time()
    sender.start()
    try:
        drained, running = _drain(
            target,
            stores,
            plan,
            log,
            sender,
            deadline=time.monotonic() + len(plan.orders) / options.rate + options.drain_timeout,
            live=options.live,
            baseline_dlq=baseline_dlq,
            baseline_alarms=baseline_alarms,
        )
    finally:
        stop.set()
        sender.join(timeout=30)
        injected_endpoint: dict[str, int] = {}
        if target.local is not None:
            injected_endpoint = dict(target.local.endpoint.faults.injected)
            target.local.endpoint.faults.clear()
        if killer is not None:
            killer.stop()
    drained_at = time.time()

    snap = stores.snapshot(plan, running=running)
    grown = {d for d, n in stores.dead_letter_depths().items() if n > baseline_dlq.get(d, 0)}
    snap.dead_letters = {d: m for d, m in snap.dead_letters.items() if d in grown}
    snap.alarms_notified |= baseline_alarms
    violations = check_invariants(plan, snap)
    executions = stores.executions(snap.records)
    latencies, stops = _latencies(log, executions)
    span = (max(stops) - log.began) if stops else 0.0
    statuses: dict[str, int] = {}
    for record in snap.records.values():
        statuses[str(record.get("status"))] = statuses.get(str(record.get("status")), 0) + 1
    faults = plan.faults()
    faults["worker_kill"] = len(killer.kills) if killer is not None else 0
    for kind in ("throttle", "server_error", "lost_callback"):
        faults[kind] = injected_endpoint.get(kind, 0)
    movements = sum(len(v) for v in snap.captures.values()) + sum(len(v) for v in snap.refunds.values())
    return {
        "orders": len(plan.orders),
        "events_put": log.events_put,
        "seed": options.seed,
        "faults": mix.spec(),
        "time_scale": options.time_scale if target.local is not None else 1.0,
        "endpoint": target.endpoint,
        "offered_rate_per_s": options.rate,
        "send_s": round(log.finished - log.began, 2),
        "throughput_orders_per_s": round(len(stops) / span, 2) if span > 0 else None,
        "latency_ms": {
            "p50": percentile(latencies, 0.50),
            "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99),
        },
        "statuses": dict(sorted(statuses.items())),
        "per_service_per_s": _per_service(target, killer, len(snap.records), movements, drained_at - started),
        "faults_injected": faults,
        "faults_not_injected": target.not_injected,
        "worker_kill": _kill_report(killer, executions),
        "drained": drained,
        "drain_s": round(drained_at - log.finished, 1),
        "dead_letters": {d: len(m) for d, m in sorted(snap.dead_letters.items())},
        "send_errors": log.errors[:10],
        "invariant_violations": [v.as_dict() for v in violations],
    }


# -- the command --------------------------------------------------------------------------------------------


def _state_machine_arn(clients: Any, names: Names) -> str:
    wanted = names(STATE_MACHINE_NAME_SUFFIX)
    for page in clients("stepfunctions").get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == wanted:
                return str(machine["stateMachineArn"])
    raise LookupError(f"no state machine {wanted} at the endpoint (is the stack deployed?)")


def _remote_target(endpoint: str, mix: FaultMix) -> Target:
    names = Names(configured_prefix())

    def clients(service: str) -> Any:
        return local_client(service, endpoint_url=endpoint)

    target = Target(clients, names, _state_machine_arn(clients, names), endpoint)
    for kind in mix.infrastructure:
        target.not_injected[kind] = (
            "infrastructure faults need the embedded stack (run without --endpoint-url)"
        )
    return target


def _embedded(options: LoadOptions, run_dir: Path) -> Target:
    from localaws.local_aws import LocalAws  # noqa: PLC0415 - loads moto (seconds), only when embedded
    from localaws.tools.orders import seed_catalogue  # noqa: PLC0415

    local = LocalAws(
        cdk_out=options.cdk_out,
        port=0,
        run_dir=run_dir,
        time_scale=options.time_scale,
        # The workflow's own waits (heartbeats, timeouts, retry pauses) at the same scale, by the engine's
        # wait scale: the definition and its histories keep the deployed values.
        wait_scale=options.time_scale,
        watch_assembly=False,
        workers_per_function=options.workers,
    )
    local.start()
    seed_catalogue(local.report, local.region)
    names = Names(configured_prefix(options.cdk_out.parent / "cdk.json"))
    machine = _state_machine_arn(local.client, names)
    return Target(local.client, names, machine, local.endpoint_url, local=local)


def cpu_seconds() -> float:
    """CPU of this process (endpoint, engine, deliveries) and of its finished children (the workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_embedded(options: LoadOptions, run_dir: Path) -> dict[str, Any]:
    """A run on its own embedded stack, with the CPU it took per order (workers' start-up included)."""
    # Every cancelled order is an error in the engine's log; the run reads outcomes from the stores instead.
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    target = _embedded(options, run_dir)
    cpu_before = cpu_seconds()
    try:
        report = run_load(target, options)
    finally:
        target.local.stop()
    report["cpu_s_per_order"] = round((cpu_seconds() - cpu_before) / max(1, report["orders"]), 3)
    return report


def _show(report: dict[str, Any]) -> None:
    out = Console(soft_wrap=True)
    latency = report["latency_ms"]
    out.print(
        f"{report['orders']} orders at {report['offered_rate_per_s']}/s ({report['faults'] or 'no faults'}, "
        f"seed {report['seed']}): {report['throughput_orders_per_s']} orders/s, "
        f"latency p50 {latency['p50']} ms, p95 {latency['p95']} ms, p99 {latency['p99']} ms"
    )
    out.print(
        f"statuses: {report['statuses']}; drained {report['drained']} in {report['drain_s']} s after sending"
    )
    out.print(f"faults injected: {report['faults_injected']}")
    for kind, reason in report["faults_not_injected"].items():
        out.print(f"[yellow]not injected: {kind}: {reason}[/]")
    kills = report["worker_kill"]
    if kills["kills"]:
        out.print(
            f"worker kills: {kills['kills']} {kills['by_function']}, resolved in {kills['resolution_s']} s"
        )
    if report["dead_letters"]:
        out.print(f"dead letters: {report['dead_letters']}")
    violations = report["invariant_violations"]
    for violation in violations:
        orders = ", ".join(violation["orders"][:10]) + (" ..." if len(violation["orders"]) > 10 else "")
        out.print(f"[red]✗ {violation['invariant']}: {violation['detail']}: {orders}[/]")
    out.print(
        "[bold green]every order kept its promise[/]"
        if not violations
        else "[bold red]invariants violated[/]"
    )


def main(args: argparse.Namespace) -> int:
    try:
        mix = parse_fault_spec(args.faults)
    except FaultSpecError as exc:
        console.print(f"[red]--faults: {exc}[/]")
        return 2
    if args.orders < 1 or args.rate <= 0 or not MIN_TIME_SCALE <= args.time_scale <= 1:
        console.print(
            f"[red]--orders must be >= 1, --rate > 0, and --time-scale from {MIN_TIME_SCALE} to 1 (below it "
            "a queue's visibility would be shorter than its function's timeout)[/]"
        )
        return 2
    options = LoadOptions(
        orders=args.orders,
        rate=args.rate,
        mix=mix,
        seed=args.seed,
        time_scale=args.time_scale,
        drain_timeout=args.drain_timeout,
        workers=args.workers,
        live=not args.json and sys.stderr.isatty(),
        cdk_out=Path(args.cdk_out),
    )
    with tempfile.TemporaryDirectory(prefix="orderflow-load-") as run_dir:
        if args.endpoint_url:
            report = run_load(_remote_target(args.endpoint_url, mix), options)
        elif not (options.cdk_out / "manifest.json").is_file():
            console.print(f"[red]no synthesized app in {options.cdk_out}/: run `make synth` first[/]")
            return 2
        else:
            console.print("starting the embedded AWS and deploying cdk.out ...")
            report = run_embedded(options, Path(run_dir))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _show(report)
    return 0 if report["drained"] and not report["invariant_violations"] else 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--orders", type=int, default=100, help="orders to place (default 100)")
    parser.add_argument("--rate", type=float, default=5.0, help="orders per second offered (default 5)")
    parser.add_argument(
        "--faults",
        default="all",
        help="fault mix: kind=share,... (e.g. decline=5%%,worker_kill=2%%), 'all' or 'none' (default all); "
        f"infrastructure kinds ({', '.join(INFRASTRUCTURE_KINDS)}) need the embedded stack",
    )
    parser.add_argument("--seed", type=int, default=1, help="makes the orders and fault draws repeatable")
    parser.add_argument("--json", action="store_true", help="write the report as JSON on stdout")
    parser.add_argument("--endpoint-url", help="drive a running stack instead of starting the embedded one")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help="embedded stack: queue visibility, the workflow's heartbeats, timeouts and retry pauses (the "
        "engine's wait scale), backoffs and alarm periods are multiplied by this "
        f"({MIN_TIME_SCALE} to 1, default {DEFAULT_TIME_SCALE})",
    )
    parser.add_argument("--drain-timeout", type=float, default=300.0, help="seconds to wait after sending")
    parser.add_argument("--workers", type=int, default=2, help="embedded stack: Lambda workers per function")
    parser.add_argument("--cdk-out", default="cdk.out", help="the synthesized app (default cdk.out)")
