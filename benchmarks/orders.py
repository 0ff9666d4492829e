"""The orders part: whole orders end to end through ``LocalAws`` at rising offered rates.

The synthesized template in ``cdk.out``, the real Lambda handlers in worker processes, all delivery
mechanisms: ``OrderPlaced`` events are put on the bus at a paced rate, in steps of increasing rate; each step
reports the completion rate and the P50/P95 latency from PutEvents to the order's execution reaching a
terminal status. The sustained rate is the highest step that kept up (completions at >= 90 % of the offered
rate, P95 under 5 s). Each step also counts the endpoint's calls per order (``endpoint_calls``).

The driver posts and polls from a process of its own (``benchmarks.order_driver``), over HTTP with boto3 as
a user's process would: its CPU is reported apart and left out of ``cpu_ms_per_order``; the endpoint's
serving of its calls is in.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import cpu
from benchmarks.order_driver import ORDER_SAMPLE, DriverProcess, Sent, Step, count_terminal
from benchmarks.workload import CDK_OUT, free_port, percentile, without_app
from infra.naming import Names, configured_prefix
from localaws.endpoint import request_tally
from localaws.local_aws import LocalAws
from localaws.stepfunctions.history import TERMINAL_STATUSES
from localaws.tools.orders import seed_catalogue

ORDER_P95_TARGET_S = 5.0
ORDER_KEEP_UP_FRACTION = 0.9
TARGET_ORDERS_PER_S = 100
TARGET_CPU_MS_PER_ORDER = 60
WARMUP_ORDERS = 5
WARMUP_RATE = 5.0


def _executions_by_order(sfn: Any, machine_arn: str, order_ids: set[str]) -> dict[str, dict[str, Any]]:
    """The execution of each of ``order_ids`` seen so far (by the orderId in its input), terminal or not."""
    found: dict[str, dict[str, Any]] = {}
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine_arn):
        for execution in page["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            order_id = json.loads(described.get("input") or "{}").get("detail", {}).get("orderId")
            if order_id in order_ids:
                found[order_id] = described
    return found


def _step_report(sent: Sent, executions: dict[str, dict[str, Any]], rate: float) -> dict[str, Any]:
    orders = len(sent.put_at)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    last_stop = sent.began
    for order_id, described in executions.items():
        statuses[described["status"]] = statuses.get(described["status"], 0) + 1
        stop = described.get("stopDate")
        if described["status"] in TERMINAL_STATUSES and stop is not None:
            stopped = stop.timestamp()
            latencies.append(stopped - sent.put_at[order_id])
            last_stop = max(last_stop, stopped)
    completed = len(latencies)
    wall_s = last_stop - sent.began
    p95 = percentile(latencies, 0.95)
    completion_rate = round(completed / wall_s, 2) if wall_s > 0 else None
    return {
        "offered_rate_per_s": rate,
        "orders": orders,
        "put_errors": sent.put_errors[:3],
        "send_s": round(sent.send_s, 2),
        "completed": completed,
        "statuses": statuses,
        "orders_per_s": completion_rate,
        "latency_s": {"p50": percentile(latencies, 0.50), "p95": p95, "max": percentile(latencies, 1.0)},
        "kept_up": bool(
            completed == orders
            and completion_rate is not None
            and completion_rate >= ORDER_KEEP_UP_FRACTION * min(rate, orders / max(sent.send_s, 1e-9))
            and p95 is not None
            and p95 < ORDER_P95_TARGET_S
        ),
    }


def run_order_step(
    local: LocalAws, machine_arn: str, bus: str, *, orders: int, rate: float, tag: str
) -> dict[str, Any]:
    """Put ``orders`` OrderPlaced events at ``rate`` per second; follow each to its execution's end."""
    sfn = local.client("stepfunctions")
    order_ids = [f"bench-{tag}-{n:05d}" for n in range(orders)]
    with DriverProcess(
        Step(
            endpoint_url=local.endpoint_url,
            region=local.region,
            bus=bus,
            machine_arn=machine_arn,
            order_ids=order_ids,
            rate=rate,
            terminal_before=count_terminal(sfn, machine_arn),
        )
    ) as driver:
        tally = local.endpoint.tally
        calls_before = tally.snapshot() if tally is not None else {}
        meter = cpu.CpuMeter().start() if cpu.available() else None
        sent = driver.run()
        if meter is not None:
            meter.stop()
    calls_after = tally.snapshot() if tally is not None else {}
    report = _step_report(sent, _executions_by_order(sfn, machine_arn, set(order_ids)), rate)
    report["cpu"] = meter.report(len(order_ids)) if meter else {"ran": False, "reason": "no /proc here"}
    # The endpoint's calls per order, the load driver's included (its PutEvents and drain polls, over TCP).
    report["endpoint_calls"] = request_tally.per_unit(calls_before, calls_after, len(order_ids))
    return report


def _sustained(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The fastest step that kept up, or None when none did."""
    kept_up = [step for step in steps if step["kept_up"]]
    if not kept_up:
        return None
    best = max(kept_up, key=lambda step: step["orders_per_s"])
    return {
        "orders_per_s": best["orders_per_s"],
        "offered_rate_per_s": best["offered_rate_per_s"],
        "latency_s": best["latency_s"],
    }


def bench_stack(run_dir: Path, *, workers: int, time_scale: float = 1.0) -> LocalAws:
    """The synthesized app on an embedded stack of its own (not started yet), on a free loopback port."""
    return LocalAws(
        cdk_out=CDK_OUT,
        port=free_port(),
        run_dir=run_dir,
        watch_assembly=False,
        workers_per_function=workers,
        time_scale=time_scale,
    )


def order_machine(local: LocalAws) -> str:
    """The ARN of the order workflow of a started stack (the stack's output)."""
    return str(local.report.outputs[next(iter(local.report.outputs))]["StateMachineArn"])


def orders_part(*, orders: int, rates: list[float], workers: int) -> dict[str, Any]:
    """Whole orders through LocalAws at paced rates (see the module docstring)."""
    if (missing := without_app()) is not None:
        return missing
    names = Names(configured_prefix())
    steps: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="localaws-bench-") as run_dir:
        local = bench_stack(Path(run_dir), workers=workers)
        try:
            local.start()
            table = seed_catalogue(local.report, local.region)
            machine_arn = order_machine(local)
            bus = names("orders")
            warm = run_order_step(local, machine_arn, bus, orders=WARMUP_ORDERS, rate=WARMUP_RATE, tag="warm")
            for rate in rates:
                # 1000 units per SKU and two per order: restock so no step runs out (OutOfStock path).
                seed_catalogue(local.report, local.region)
                step = run_order_step(local, machine_arn, bus, orders=orders, rate=rate, tag=f"r{rate:g}")
                steps.append(step)
                if not step["kept_up"]:
                    break  # past saturation: higher rates only queue up more
        except Exception as exc:
            return {"ran": False, "reason": f"{type(exc).__name__}: {exc}", "steps": steps}
        finally:
            local.stop()
    return {
        "ran": True,
        "sample": f"the bundled sample {ORDER_SAMPLE}.json with fresh orderIds",
        "inventory_table": table,
        "workers_per_function": workers,
        "warmup": {"completed": warm["completed"], "statuses": warm["statuses"]},
        "steps": steps,
        "sustained": _sustained(steps),
        # The first step's: the lowest offered rate, where the machine's load distorts it least. The stack's
        # processes (issue 10's figure), then with the load driver's thread in the endpoint's process.
        "cpu_ms_per_order": steps[0]["cpu"].get("cpu_ms_per_order") if steps else None,
        "cpu_ms_per_order_with_load_driver": (
            steps[0]["cpu"].get("cpu_ms_per_order_with_load_driver") if steps else None
        ),
        "target": {
            "orders_per_s": TARGET_ORDERS_PER_S,
            "p95_s": ORDER_P95_TARGET_S,
            "cpu_ms_per_order": TARGET_CPU_MS_PER_ORDER,
        },
    }
