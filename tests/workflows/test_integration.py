"""Integration scenarios: the real handlers behind the workflow, on the embedded runtime or on AWS."""

from __future__ import annotations

import pytest

from services.shared.contract import TOKEN_HANG, TOKEN_TRANSIENT, OrderStatus
from tests.workflows.conftest import Started
from tests.workflows.integration import INTEGRATION_SCENARIOS, IntegrationScenario, charge_left_open
from tests.workflows.polling import explained_by
from workflows import states

# The deployed stack is the e2e layer: `-m e2e` selects it, `-m "not e2e"` leaves it out.
TARGETS = ("embedded", pytest.param("aws", marks=pytest.mark.e2e))
# Checked in this order: the transient order last. Its payment's redeliveries wait in real time (1 s, then
# 2 s), so it ends last; the other orders are checked while it waits, not after it has ended.
CHECKED = sorted(INTEGRATION_SCENARIOS, key=lambda scenario: scenario.token == TOKEN_TRANSIENT)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("scenario", CHECKED, ids=[s.name for s in CHECKED])
def test_order(started: Started, target: str, scenario: IntegrationScenario) -> None:
    # Given the order, posted on the bus at session start (each delivery starts an execution)
    if target == "aws" and started.aws_error:
        pytest.fail(started.aws_error)
    if target not in started.desks:
        pytest.skip(started.integration_skip[target])
    desk = started.desks[target]
    order = next(o for o in started.posted[target] if o.scenario is scenario)
    expected = scenario.outcome

    # When every execution it started has ended
    records = desk.executions_for(order)

    # Then one of them processed the order, the others (redeliveries) stopped as duplicates
    processing = [r for r in records if r.path[-1] != states.DUPLICATE_ORDER]
    duplicates = [r for r in records if r.path[-1] == states.DUPLICATE_ORDER]
    assert (len(processing), len(duplicates)) == (1, scenario.deliveries - 1), [r.path for r in records]
    (record,) = processing
    with explained_by(record):
        assert record.status == expected.status
        assert record.path == list(expected.path)
        if expected.status == "SUCCEEDED":
            assert record.output["validation"]["orderKey"] == order.order_id
            assert record.output["shipment"]["trackingNumber"]
        # And its side effects are in the tables: the order record, the ledger, the stock
        stored = desk.order_record(order.order_id)
        assert stored["status"] == expected.order_status.value
        assert stored["executionArn"] == record.arn
        if expected.order_status is OrderStatus.CANCELLED:
            assert stored["cancelReason"] == expected.reason
        if expected.order_status is OrderStatus.REJECTED:
            assert "items[0].quantity" in stored["reason"]
        ledger = desk.ledger(order.order_id)
        entries = [entry["entryId"] for entry in ledger]
        assert (entries.count("CHARGE"), entries.count("REFUND")) == (expected.charges, expected.refunds)
        # And the charge records the delivery of the payment request that made it: the redeliveries it took
        for charge in (entry for entry in ledger if entry["entryId"] == "CHARGE"):
            assert charge["attempt"] >= expected.least_deliveries_to_charge
        for item in order.detail["items"]:
            assert desk.available(item["sku"]) == expected.stock_left(item["sku"], item["quantity"]), item
        # And a hung payment timed out on the service's silence: the service had taken the request before
        # the heartbeat ran out (locally the suite moves this order's clock past its heartbeat once it has
        # seen the charge taken, tests/workflows/conftest.py)
        if scenario.token == TOKEN_HANG and target == "embedded" and started.local is not None:
            taken = charge_left_open(started.local.run_dir / "logs", order.order_id)
            timed_out = next(e["timestamp"] for e in record.events if e["type"] == "TaskTimedOut")
            assert taken is not None, f"the payment service never took {order.order_id}'s charge"
            assert taken < timed_out, (taken, timed_out)
