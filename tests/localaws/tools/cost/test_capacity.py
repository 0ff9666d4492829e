"""Which default quota binds first, and at what order rate, for a configuration worked out by hand."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from localaws.tools.cost.capacity import StackShape, Workload, binding, constraints, load_quotas
from localaws.tools.cost.durations import Durations
from localaws.tools.cost.usage import OrderUsage

SHAPE = StackShape(
    inventory_queue="stock.fifo",
    inventory_high_throughput=False,
    inventory_batch_size=5,
    kinesis_shards=2,
    service_of={"Pay": "payment", "Stock": "inventory"},
)
DURATIONS = Durations({"payment": 200.0, "inventory": 100.0}, how="by hand")


def _quota(per_second: float) -> dict[str, Any]:
    return {"per_second": per_second, "source": "https://example.test/"}


QUOTAS: dict[str, dict[str, Any]] = {
    "stepfunctions_start_execution": _quota(300),
    "stepfunctions_state_transition": _quota(1500),
    "stepfunctions_send_task_success": _quota(500),
    "stepfunctions_send_task_heartbeat": _quota(500),
    "stepfunctions_send_task_failure": _quota(500),
    "lambda_concurrency": {"limit": 1000, "source": "https://example.test/"},
    "sqs_fifo_per_queue": _quota(300),
    "sqs_fifo_high_throughput_per_queue": _quota(70000),
    "sqs_fifo_per_message_group": _quota(300),
    "kinesis_shard_write_records": _quota(1000),
    "kinesis_shard_write_bytes": _quota(1048576),
    "kinesis_shard_read_bytes": _quota(2097152),
}


def _order(items: int, transitions: int) -> OrderUsage:
    # 1 payment and ``items`` inventory invocations; one SendTaskSuccess each, plus shipping's
    return OrderUsage(
        path="completed",
        items=items,
        transitions=transitions,
        lambda_invocations=Counter({"Pay": 1, "Stock": items}),
        sfn_calls=Counter({"SendTaskSuccess": items + 2}),
        queue_sends=Counter({"stock.fifo": items}),
        kinesis_records=3,
    )


def test_state_transitions_bind_first_for_a_one_item_order() -> None:
    # Given orders of 1 item and 21 transitions
    found = constraints(_order(1, 21), SHAPE, DURATIONS, Workload(), QUOTAS)

    # When the binding constraint is read
    first = binding(found)

    # Then it is the state transition refill: 1,500 / 21 = 71.4 orders/s, below the 100 orders/s target
    assert first.quota == "stepfunctions_state_transition"
    assert first.max_order_rate == pytest.approx(1500 / 21)
    assert first.binds_at(100) and first.to_json(100)["needs"] == 2100
    assert first.binds_at(1500 / 21) and not first.binds_at(70)  # at the refill rate it already throttles


def test_with_transitions_raised_a_big_basket_meets_sendtasksuccess_or_the_fifo_queue() -> None:
    # Given 8-item orders on an account whose state transitions were raised far out of the way
    quotas = {**QUOTAS, "stepfunctions_state_transition": _quota(1_000_000)}
    found = constraints(_order(8, 28), SHAPE, DURATIONS, Workload(), quotas)

    # When the binding constraint is read
    first = binding(found)

    # Then the FIFO queue's 300 sends/s over 8 sends an order (37.5/s) binds before SendTaskSuccess (50/s)
    assert (first.quota, first.max_order_rate) == ("sqs_fifo_per_queue", 300 / 8)
    rates = {c.quota: c.max_order_rate for c in found}
    assert rates["stepfunctions_send_task_success"] == 500 / 10


def test_high_throughput_fifo_lifts_the_per_queue_limit_and_leaves_the_hot_group() -> None:
    # Given the same orders with high throughput FIFO on the inventory queue, one SKU in half the orders,
    # and the Step Functions quotas raised out of the way
    quotas = {
        **QUOTAS,
        "stepfunctions_state_transition": _quota(1_000_000),
        "stepfunctions_send_task_success": _quota(1_000_000),
    }
    shape = StackShape(**{**SHAPE.__dict__, "inventory_high_throughput": True})
    found = constraints(_order(8, 28), shape, DURATIONS, Workload(hot_sku_share=0.5), quotas)

    # When the binding constraint is read
    first = binding(found)

    # Then that SKU's message group binds: one batch of 5 in flight per 0.1 s is 50 lines/s, and half the
    # orders carry one line of it, so 100 orders/s
    assert "sqs_fifo_per_queue" not in {c.quota for c in found}
    assert first.name.endswith("one batch in flight")
    assert first.max_order_rate == pytest.approx(100)


def test_lambda_concurrency_is_function_seconds_per_order() -> None:
    found = {c.quota: c for c in constraints(_order(3, 23), SHAPE, DURATIONS, Workload(), QUOTAS)}
    # 1 x 0.2 s + 3 x 0.1 s = 0.5 concurrent executions per order/s: 2,000 orders/s under 1,000
    assert found["lambda_concurrency"].max_order_rate == pytest.approx(2000)


def test_the_shipped_quota_file_has_every_quota_the_model_reads() -> None:
    shipped = load_quotas()
    assert set(QUOTAS) <= set(shipped)
    assert all(str(q["source"]).startswith("http") for q in shipped.values())
