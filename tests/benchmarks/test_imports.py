"""benchmarks.imports: the order file it uploads, and what it reads back from the importer's log."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.imports import held_by, order_file
from services.importer.logic import contract_reasons


def test_the_order_file_is_valid_orders_with_distinct_ids_over_the_stocked_skus() -> None:
    # Given a file of 40 orders
    lines = order_file(40, "t").decode().splitlines()

    # Then every line is an order the workflow's contract accepts, each with its own id, over 20 SKUs
    orders = [json.loads(line) for line in lines]
    assert len(orders) == 40
    assert all(contract_reasons(order) == [] for order in orders)
    assert len({order["orderId"] for order in orders}) == 40
    assert {order["items"][0]["sku"] for order in orders} == {f"SKU-{n}" for n in range(1, 21)}


def test_held_seconds_are_summed_by_limit_over_the_importers_invocations(tmp_path: Path) -> None:
    # Given an importer log with two invocations that were held, and other lines (not JSON, other records)
    log = tmp_path / "orderflow-importer.log"
    records = [
        {"message": "Import held back", "held_seconds_by_limit": {"running-orders": 3.0}},
        {"message": "File imported", "accepted": 10},
        {"message": "Import held back", "held_seconds_by_limit": {"running-orders": 2.0, "backlog": 1.0}},
    ]
    broken = '{"held_seconds_by_limit": '
    log.write_text("\n".join(["START RequestId: x", *(json.dumps(r) for r in records), broken]) + "\n")

    # Then the seconds held are summed per limit; a missing log holds nothing
    assert held_by(log) == {"running-orders": 5.0, "backlog": 1.0}
    assert held_by(tmp_path / "absent.log") == {}
