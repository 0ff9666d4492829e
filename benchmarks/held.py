"""The held part: what an order's DynamoDB Query and Kinesis PutRecord cost as the stack holds more orders.

moto's ``Table.query`` sorts every item of the table to find one hash key's items, and ``Shard.put_record``
lists every key of the shard to find the last sequence number: each order's payment Query and lifecycle
PutRecords cost more with every order before it, which made a 10,000-line import slow down as it went
(``speedups.dynamodb_query_partition`` and ``speedups.kinesis_sequence_numbers`` take that away). In one
in-process moto world with every speed-up installed, this part fills a table shaped like the payment
provider's statement (one item an order) and a two-shard stream (``RECORDS_PER_ORDER`` records an order) up
to each held size, then times one Query of one order's captures and one PutRecord with the two speed-ups
out and in, twice, interleaved: CPU of the calling thread per call, median over ``calls`` calls.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.callbacks import thread_cpu_us, world_with_speedups
from benchmarks.workload import cached_clients
from localaws.patches.registry import PatchSet
from localaws.patches.speedups.dynamodb_query import DYNAMODB_QUERY_PARTITION
from localaws.patches.speedups.kinesis import KINESIS_SEQUENCE_NUMBERS

TABLE = "bench-held-statement"
STREAM = "bench-held-lifecycle"
RECORDS_PER_ORDER = 5  # the workflow's Track steps on an order's way
MEASURED: tuple[PatchSet, ...] = (DYNAMODB_QUERY_PARTITION, KINESIS_SEQUENCE_NUMBERS)
MODES = ("moto", "speedup", "moto", "speedup")


class _World:
    """One moto world: the statement table and the lifecycle stream, filled one order at a time."""

    def __init__(self) -> None:
        client = cached_clients()
        self.dynamodb, self.kinesis = client("dynamodb"), client("kinesis")
        self.dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "orderId", "KeyType": "HASH"},
                {"AttributeName": "movementId", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "orderId", "AttributeType": "S"},
                {"AttributeName": "movementId", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        self.kinesis.create_stream(StreamName=STREAM, ShardCount=2)
        self.orders = 0

    def hold(self, orders: int) -> None:
        while self.orders < orders:
            order_id = f"held-{self.orders}"
            self.dynamodb.put_item(
                TableName=TABLE,
                Item={
                    "orderId": {"S": order_id},
                    "movementId": {"S": f"capture#{self.orders:08d}"},
                    "amount": {"N": "44.98"},
                    "at": {"S": "2026-11-29T07:00:00.000+00:00"},
                },
            )
            for _ in range(RECORDS_PER_ORDER):
                self.kinesis.put_record(
                    StreamName=STREAM, PartitionKey=order_id, Data=b'{"status": "placed"}'
                )
            self.orders += 1

    def query(self) -> None:
        self.dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="orderId = :order AND begins_with(movementId, :kind)",
            ExpressionAttributeValues={":order": {"S": "held-0"}, ":kind": {"S": "capture#"}},
            ConsistentRead=True,
        )

    def put_record(self) -> None:
        self.kinesis.put_record(StreamName=STREAM, PartitionKey="measured", Data=b'{"status": "placed"}')


def _median_us(call: Callable[[], Any], calls: int) -> float:
    return round(statistics.median(thread_cpu_us(call) for _ in range(calls)), 1)


def _measure(world: _World, calls: int) -> dict[str, list[float]]:
    """Each call's median CPU per mode, the speed-ups taken out and put back in turn."""
    spent: dict[str, list[float]] = {
        f"{call} {mode}": [] for call in ("query", "put_record") for mode in MODES
    }
    for mode in MODES:
        for patch_set in MEASURED:
            patch_set.install() if mode == "speedup" else patch_set.uninstall()
        spent[f"query {mode}"].append(_median_us(world.query, calls))
        spent[f"put_record {mode}"].append(_median_us(world.put_record, calls))
    for patch_set in MEASURED:
        patch_set.install()
    return spent


def held_part(*, held: tuple[int, ...] = (0, 5_000, 10_000), calls: int = 100) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    started = time.monotonic()
    with world_with_speedups():
        world = _World()
        for orders in held:
            world.hold(orders)
            steps.append({"held_orders": orders, **_measure(world, calls)})
    return {
        "ran": True,
        "what": "CPU of the calling thread per call, median µs, moto / speed-up interleaved, N orders held",
        "records_per_order": RECORDS_PER_ORDER,
        "calls_per_measure": calls,
        "seconds": round(time.monotonic() - started, 1),
        "steps": steps,
    }
