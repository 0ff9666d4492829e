"""``orderflow cost``: the deployed stack on paper.

Reads the synthesized app (``cdk.out``) and prints, per order path: the Step Functions state transitions, the
dollars a million such orders cost at published us-east-1 prices (each price with its source), and the AWS
default quotas the stack meets first as the order rate grows, against the production target of 100 orders/s.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from localaws.deploy.assembly import AssemblyNotFoundError
from localaws.tools.cost import capacity, durations, pricing
from localaws.tools.cost.definition import DeployedStack, StackShapeError, load_stack
from localaws.tools.cost.transitions import PATHS, PathError, walk_path
from localaws.tools.cost.usage import ASSUMPTIONS, OrderUsage, order_usage
from workflows import states

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)
COMPLETED = "completed"
HOURS_PER_MONTH = 730  # 365 x 24 / 12
_MARK = {"aws": "", "third-party": "*", "unverified": "†"}


def stack_shape(stack: DeployedStack) -> capacity.StackShape:
    """The throughput-fixing settings of the template: the inventory FIFO queue and the analytics stream."""
    service_of = {
        logical: str(r["Properties"].get("Handler", "")).split(".")[1]
        for logical, r in stack.of_type("AWS::Lambda::Function").items()
        if str(r.get("Properties", {}).get("Handler", "")).startswith("services.")
    }
    reserve = _find_state(stack.definition, states.RESERVE_ITEM)
    queue_token = (reserve or {}).get("Parameters", {}).get("QueueUrl", "")
    queue = stack.resource(str(queue_token))
    queue_props = queue[1].get("Properties", {}) if queue else {}
    batch = 10
    for mapping in stack.of_type("AWS::Lambda::EventSourceMapping").values():
        props = mapping.get("Properties", {})
        if queue and props.get("EventSourceArn", {}).get("Fn::GetAtt", [None])[0] == queue[0]:
            batch = int(props.get("BatchSize", 10))
    shards = sum(
        int(r.get("Properties", {}).get("ShardCount", 1))
        for r in stack.of_type("AWS::Kinesis::Stream").values()
    )
    return capacity.StackShape(
        inventory_queue=str(queue_props.get("QueueName", "")),
        inventory_high_throughput=queue_props.get("FifoThroughputLimit") == "perMessageGroupId",
        inventory_batch_size=batch,
        kinesis_shards=shards,
        service_of=service_of,
    )


def _find_state(machine: dict[str, Any], name: str) -> dict[str, Any] | None:
    for state_name, state in machine["States"].items():
        if state_name == name:
            return dict(state)
        for inner in [*state.get("Branches", []), state.get("ItemProcessor") or state.get("Iterator")]:
            if inner:
                found = _find_state(inner, name)
                if found is not None:
                    return found
    return None


def report(
    stack: DeployedStack,
    *,
    items: int,
    order_rate: float,
    batch_fill: int,
    workload: capacity.Workload,
    measured: durations.Durations,
) -> dict[str, Any]:
    """Everything the command prints, as one JSON-ready dictionary."""
    prices = pricing.load_prices()
    shape = stack_shape(stack)
    transitions = {}
    usages: dict[str, OrderUsage] = {}
    costs = {}
    for path in PATHS:
        one, two = (walk_path(stack.definition, path, items=n).transitions for n in (1, 2))
        walk = walk_path(stack.definition, path, items=items)
        transitions[path.name] = {
            "what": path.what,
            "per_order": walk.transitions,
            "fixed": one - (two - one),
            "per_item": two - one,
            "states_entered": walk.entered,
            "retries": dict(walk.retries),
        }
        usage = order_usage(stack, path, walk, items=items, batch_fill=batch_fill)
        usages[path.name] = usage
        lines = pricing.cost_per_million(
            usage,
            prices,
            measured,
            service_of=shape.service_of,
            order_rate=order_rate,
            kinesis_shards=shape.kinesis_shards,
        )
        costs[path.name] = {
            "total_usd": round(sum(line.usd for line in lines), 2),
            "lines": [line.to_json() for line in lines],
        }
    found = capacity.constraints(usages[COMPLETED], shape, measured, workload, capacity.load_quotas())
    first = capacity.binding(found)
    binding_now = [c for c in found if c.binds_at(order_rate)]
    return {
        "region": "us-east-1",
        "items_per_order": items,
        "order_rate_per_second": order_rate,
        "batch_fill": batch_fill,
        "state_transitions": transitions,
        "usage_per_order": {name: usage.to_json() for name, usage in usages.items()},
        "cost_per_million_orders": costs,
        "fixed_per_month": {
            "kinesis_shard_hours": shape.kinesis_shards * HOURS_PER_MONTH,
            "usd": round(shape.kinesis_shards * HOURS_PER_MONTH * prices["kinesis_shard_hour"].usd, 2),
            "note": f"{shape.kinesis_shards} provisioned shards billed every hour, orders or not",
        },
        "prices": {
            key: {"usd": p.usd, "unit": p.unit, "status": p.status, "source": p.source, "read_on": p.read_on}
            for key, p in prices.items()
        },
        "quotas": {
            "path": COMPLETED,
            "target": {
                "orders_per_second": order_rate,
                "p95_seconds": capacity.TARGET_P95_SECONDS,
                "hot_sku_share": workload.hot_sku_share,
            },
            "constraints": [c.to_json(order_rate) for c in found],
            "binds_first": {"constraint": first.name, "max_orders_per_second": _rate(first.max_order_rate)},
            "bind_at_target": [c.name for c in binding_now],
            "critical_path_service_seconds": _critical_path_seconds(measured),
        },
        "lambda_durations": {"median_ms": measured.median_ms, "how": measured.how},
        "assumptions": list(ASSUMPTIONS),
    }


def _rate(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 1)


def _critical_path_seconds(measured: durations.Durations) -> float:
    """Handler time an order waits on in turn: validate, charge, reserve (items in parallel), ship."""
    return round(sum(measured.seconds(s) for s in ("orders", "payment", "inventory", "shipping")), 3)


# -- printing --------------------------------------------------------------------------------------------


def _print_transitions(data: dict[str, Any]) -> None:
    table = Table(title=f"State transitions per order (Standard, billed), {data['items_per_order']} item(s)")
    for column in ("path", "what", "transitions", "formula"):
        table.add_column(column, justify="right" if column == "transitions" else "left")
    for name, entry in data["state_transitions"].items():
        formula = (
            f"{entry['fixed']} + {entry['per_item']} x items" if entry["per_item"] else str(entry["fixed"])
        )
        table.add_row(name, entry["what"], str(entry["per_order"]), formula)
    console.print(table)


def _print_costs(data: dict[str, Any]) -> None:
    paths = list(data["cost_per_million_orders"])
    table = Table(
        title=f"$ per million orders (us-east-1, on-demand), at {data['order_rate_per_second']:g} orders/s"
    )
    table.add_column("service")
    for name in paths:
        table.add_column(name, justify="right")
    services = [line["service"] for line in data["cost_per_million_orders"][paths[0]]["lines"]]
    for index, service in enumerate(services):
        status = data["cost_per_million_orders"][paths[0]]["lines"][index]["price_status"]
        row = [f"{service}{_MARK.get(status, '?')}"]
        row += [f"{data['cost_per_million_orders'][p]['lines'][index]['usd']:,.2f}" for p in paths]
        table.add_row(*row)
    table.add_row(
        "[bold]total[/]", *[f"[bold]{data['cost_per_million_orders'][p]['total_usd']:,.2f}[/]" for p in paths]
    )
    console.print(table)
    console.print(
        "  * price read from a third-party price guide, not the AWS page; † no source found (unverified)"
    )
    fixed = data["fixed_per_month"]
    console.print(
        f"  Kinesis shard hours above are those a million orders take at this rate; the {fixed['note']}, "
        f"cost ${fixed['usd']:,.2f} a month ({fixed['kinesis_shard_hours']:,} shard hours)."
    )


def _print_prices(data: dict[str, Any]) -> None:
    console.print(
        "[bold]Prices[/] (prices.json; read through the search tool's stored copies on the date shown)"
    )
    for key, price in data["prices"].items():
        usd = price["usd"]
        amount = f"${usd * 1e6:,.4g} per million" if 0 < usd < 0.001 else f"${usd:g} per"
        console.print(
            f"  {key}: {amount} {price['unit']} ({price['status']}, read {price['read_on']})\n"
            f"      {price['source']}",
            highlight=False,
        )


def _print_quotas(data: dict[str, Any]) -> None:
    quotas = data["quotas"]
    target = quotas["target"]["orders_per_second"]
    table = Table(
        title=f"AWS default quotas: completed orders of {data['items_per_order']} item(s), "
        f"target {target:g} orders/s"
    )
    for column in ("constraint", "limit", "use at target", "max orders/s", "at target"):
        table.add_column(column, justify="left" if column == "constraint" else "right")
    for c in quotas["constraints"]:
        verdict = f"[red]binds: needs over {c['needs']:,}[/]" if c["binds_at_target"] else "[green]ok[/]"
        max_rate = "∞" if c["max_orders_per_second"] is None else f"{c['max_orders_per_second']:,.1f}"
        table.add_row(
            c["constraint"], f"{c['limit']:,.0f} {c['unit']}", f"{c['use_at_target']:,.1f}", max_rate, verdict
        )
    console.print(table)
    first = quotas["binds_first"]
    console.print(
        f"Binds first: [bold]{first['constraint']}[/] at {first['max_orders_per_second']} orders/s."
    )
    if quotas["bind_at_target"]:
        console.print(f"For {target:g} orders/s with P95 under {quotas['target']['p95_seconds']:g} s, raise:")
        for c in quotas["constraints"]:
            if c["binds_at_target"]:
                console.print(
                    f"  - {c['constraint']}: {c['how_to_raise']} (needs over {c['needs']:,} {c['unit']})"
                )
    else:
        console.print(f"No default quota binds at {target:g} orders/s.")
    console.print(
        f"Handler time on the critical path (validate, charge, reserve, ship; measured medians): "
        f"{quotas['critical_path_service_seconds']:g} s of the {quotas['target']['p95_seconds']:g} s budget; "
        "any throttling above adds its wait to that."
    )
    console.print(f"[dim]Lambda durations: {data['lambda_durations']['how']}[/]")


def _print_assumptions(data: dict[str, Any]) -> None:
    console.print("[bold]Assumptions[/]")
    for line in data["assumptions"]:
        console.print(f"  - {line}")


def main(args: argparse.Namespace) -> int:
    try:
        stack = load_stack(Path(args.cdk_out))
        measured = durations.from_logs(Path(args.lambda_logs)) if args.lambda_logs else durations.recorded()
        data = report(
            stack,
            items=args.items,
            order_rate=args.rate,
            batch_fill=args.batch_fill,
            workload=capacity.Workload(order_rate=args.rate, hot_sku_share=args.hot_sku_share),
            measured=measured,
        )
    except (
        AssemblyNotFoundError,
        StackShapeError,
        PathError,
        FileNotFoundError,
        KeyError,
        ValueError,
    ) as exc:
        errors.print(f"[bold red]error:[/] {exc}")
        return 1
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    _print_transitions(data)
    _print_costs(data)
    _print_quotas(data)
    _print_prices(data)
    _print_assumptions(data)
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a share between 0 and 1, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cdk-out", default="cdk.out", help="the synthesized app (default: cdk.out)")
    parser.add_argument("--items", type=_positive_int, default=1, help="order lines per order (default: 1)")
    parser.add_argument(
        "--rate",
        type=_positive_float,
        default=capacity.TARGET_ORDERS_PER_SECOND,
        help="orders per second: the target for the quotas, and how long the shards bill (default: 100)",
    )
    parser.add_argument(
        "--batch-fill",
        type=_positive_int,
        default=1,
        help="messages per Lambda batch from SQS and Kinesis (default 1: the most it can cost)",
    )
    parser.add_argument(
        "--hot-sku-share",
        type=_share,
        default=capacity.Workload().hot_sku_share,
        help="share of orders holding the busiest SKU, whose FIFO message group they share (default: 0.05)",
    )
    parser.add_argument(
        "--lambda-logs", help="measure Lambda durations from a run's logs (e.g. .localaws/logs)"
    )
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
