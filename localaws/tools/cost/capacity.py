"""Where AWS's default quotas bind as orders grow, and what the production target needs raised.

Each constraint turns one default quota into the highest steady order rate it allows, for orders that all take
one path with a given number of items: a token bucket's refill rate over what one order spends of it; Lambda's
concurrency over the seconds of function time one order holds; a FIFO queue's or message group's rate over the
messages one order puts there; a Kinesis shard's limits over the records one order writes. The lowest is
where the stack stops keeping up; the target (100 orders/s, P95 under 5 s, from the seed requirements) needs
every one above it, since a throttled call waits and retries, and the wait lands in the latency.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localaws.tools.cost.durations import Durations
    from localaws.tools.cost.usage import OrderUsage

QUOTAS_FILE = Path(__file__).resolve().parent / "quotas.json"
TARGET_ORDERS_PER_SECOND = 100.0
TARGET_P95_SECONDS = 5.0


@dataclass(frozen=True)
class StackShape:
    """What the template fixes about throughput (read by ``command.stack_shape``)."""

    inventory_queue: str
    inventory_high_throughput: bool  # FifoThroughputLimit perMessageGroupId
    inventory_batch_size: int
    kinesis_shards: int
    service_of: dict[str, str]  # function logical id → service


@dataclass(frozen=True)
class Workload:
    order_rate: float = TARGET_ORDERS_PER_SECOND
    hot_sku_share: float = (
        0.05  # share of orders holding the busiest SKU (uniform over the 20 catalogue SKUs)
    )
    kinesis_record_bytes: int = (
        1024  # an upper bound for one lifecycle message (its JSON is a few hundred bytes)
    )


@dataclass(frozen=True)
class Constraint:
    name: str
    quota: str  # key in quotas.json
    limit: float  # per second (or concurrent executions)
    per_order: float  # what one order uses of it (per order/s)
    unit: str
    source: str
    raise_how: str

    @property
    def max_order_rate(self) -> float:
        return math.inf if self.per_order <= 0 else self.limit / self.per_order

    def at(self, order_rate: float) -> float:
        return self.per_order * order_rate

    def binds_at(self, order_rate: float) -> bool:
        """At or over the limit: a token bucket refilled exactly as fast as it drains throttles any burst."""
        return self.at(order_rate) >= self.limit

    def to_json(self, order_rate: float) -> dict[str, Any]:
        return {
            "constraint": self.name,
            "quota": self.quota,
            "limit": self.limit,
            "unit": self.unit,
            "use_per_order_per_second": round(self.per_order, 4),
            "use_at_target": round(self.at(order_rate), 2),
            "max_orders_per_second": None
            if math.isinf(self.max_order_rate)
            else round(self.max_order_rate, 1),
            "binds_at_target": self.binds_at(order_rate),
            "needs": math.ceil(self.at(order_rate)) if self.binds_at(order_rate) else None,
            "how_to_raise": self.raise_how,
            "source": self.source,
        }


def load_quotas(path: Path = QUOTAS_FILE) -> dict[str, dict[str, Any]]:
    return dict(json.loads(path.read_text())["quotas"])


def constraints(
    usage: OrderUsage,
    shape: StackShape,
    durations: Durations,
    workload: Workload,
    quotas: dict[str, dict[str, Any]],
) -> list[Constraint]:
    """Every quota the order path meets, with what one order per second uses of it."""

    def quota(key: str, field: str = "per_second") -> tuple[float, str]:
        return float(quotas[key][field]), str(quotas[key]["source"])

    found: list[Constraint] = []
    limit, source = quota("stepfunctions_start_execution")
    found.append(
        Constraint(
            "Step Functions StartExecution rate",
            "stepfunctions_start_execution",
            limit,
            usage.executions,
            "executions/s",
            source,
            "Service Quotas: raise the StartExecution refill rate",
        )
    )
    limit, source = quota("stepfunctions_state_transition")
    found.append(
        Constraint(
            "Step Functions state transition rate",
            "stepfunctions_state_transition",
            limit,
            usage.transitions,
            "transitions/s",
            source,
            "Service Quotas: raise the StateTransition refill rate; or fewer states per order",
        )
    )
    for action, key in (
        ("SendTaskSuccess", "stepfunctions_send_task_success"),
        ("SendTaskHeartbeat", "stepfunctions_send_task_heartbeat"),
        ("SendTaskFailure", "stepfunctions_send_task_failure"),
    ):
        if usage.sfn_calls.get(action):
            limit, source = quota(key)
            found.append(
                Constraint(
                    f"Step Functions {action} rate",
                    key,
                    limit,
                    usage.sfn_calls[action],
                    "calls/s",
                    source,
                    f"Service Quotas: raise the {action} refill rate",
                )
            )
    seconds = sum(
        times * durations.seconds(shape.service_of[function])
        for function, times in usage.lambda_invocations.items()
    )
    limit, source = quota("lambda_concurrency", "limit")
    found.append(
        Constraint(
            "Lambda concurrent executions",
            "lambda_concurrency",
            limit,
            seconds,
            "concurrent executions",
            source,
            "Service Quotas: raise Lambda concurrent executions; shorter handlers need fewer",
        )
    )
    found += _inventory_fifo(usage, shape, durations, workload, quotas)
    found += _kinesis(usage, shape, workload, quotas)
    return found


def _inventory_fifo(
    usage: OrderUsage,
    shape: StackShape,
    durations: Durations,
    workload: Workload,
    quotas: dict[str, dict[str, Any]],
) -> list[Constraint]:
    sends = usage.queue_sends.get(shape.inventory_queue, 0)
    if not sends:
        return []
    found = []
    if shape.inventory_high_throughput:
        per_queue = quotas["sqs_fifo_high_throughput_per_queue"]
        found.append(
            Constraint(
                "FIFO inventory queue: messages per queue (high throughput)",
                "sqs_fifo_high_throughput_per_queue",
                float(per_queue["per_second"]),
                sends,
                "messages/s",
                str(per_queue["source"]),
                "AWS Support (the Region's high-throughput FIFO quota)",
            )
        )
    else:
        per_queue = quotas["sqs_fifo_per_queue"]
        found.append(
            Constraint(
                "FIFO inventory queue: SendMessage per queue",
                "sqs_fifo_per_queue",
                float(per_queue["per_second"]),
                sends,
                "SendMessage calls/s",
                str(per_queue["source"]),
                "not adjustable: enable high throughput FIFO (FifoThroughputLimit perMessageGroupId, "
                "DeduplicationScope messageGroup) on the inventory queue",
            )
        )
    # A message group is one SKU: every order line of the busiest SKU goes through it, one line per order.
    per_order_in_group = sends / max(usage.items, 1) * workload.hot_sku_share
    group = quotas["sqs_fifo_per_message_group"]
    found.append(
        Constraint(
            f"FIFO inventory message group (busiest SKU, {workload.hot_sku_share:.0%} of orders): requests",
            "sqs_fifo_per_message_group",
            float(group["per_second"]),
            per_order_in_group,
            "messages/s",
            str(group["source"]),
            "not adjustable: spread a hot SKU over several groups (stock shards), or group by order",
        )
    )
    # Lambda takes a FIFO group's messages in order: one batch of that group in flight at a time.
    group_rate = shape.inventory_batch_size / durations.seconds("inventory")
    found.append(
        Constraint(
            "FIFO inventory message group (busiest SKU): one batch in flight",
            "derived: batch size / inventory duration",
            group_rate,
            per_order_in_group,
            "messages/s",
            "derived: the template's BatchSize over the measured inventory duration (Lambda keeps a FIFO "
            "group in order; the page saying so was not re-read for this figure)",
            "shorter inventory handler, or spread a hot SKU over several groups",
        )
    )
    return found


def _kinesis(
    usage: OrderUsage, shape: StackShape, workload: Workload, quotas: dict[str, dict[str, Any]]
) -> list[Constraint]:
    if not usage.kinesis_records:
        return []
    shards = shape.kinesis_shards
    found = []
    for key, label, per_order, unit in (
        ("kinesis_shard_write_records", "records written", usage.kinesis_records, "records/s"),
        (
            "kinesis_shard_write_bytes",
            "bytes written",
            usage.kinesis_records * workload.kinesis_record_bytes,
            "bytes/s",
        ),
        (
            "kinesis_shard_read_bytes",
            "bytes read",
            usage.kinesis_records * workload.kinesis_record_bytes,
            "bytes/s",
        ),
    ):
        entry = quotas[key]
        found.append(
            Constraint(
                f"Kinesis {label} ({shards} shards)",
                key,
                float(entry["per_second"]) * shards,
                per_order,
                unit,
                str(entry["source"]),
                "more shards (ShardCount in infra/analytics.py) or on-demand capacity",
            )
        )
    return found


def binding(found: list[Constraint]) -> Constraint:
    """The constraint that stops the stack first."""
    return min(found, key=lambda c: c.max_order_rate)
