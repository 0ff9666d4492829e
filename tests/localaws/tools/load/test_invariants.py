"""Each invariant holds on a consistent store state and fails, naming the orders, on a violating one."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from localaws.tools.load.faults import parse_fault_spec
from localaws.tools.load.invariants import Snapshot, Violation, check_invariants
from localaws.tools.load.plan import RunPlan, plan_run


@pytest.fixture
def plan() -> RunPlan:
    return plan_run(
        run_id="t1", count=40, mix=parse_fault_spec("decline=20%,malformed=10%,duplicate=10%"), seed=2
    )


def consistent(plan: RunPlan) -> Snapshot:
    """The stores as a correct stack leaves them: normal orders completed, declined ones cancelled."""
    snap = Snapshot()
    snap.stock = dict(plan.initial_stock)
    snap.reservations = {sku: {} for sku in plan.initial_stock}
    snap.shipments = {}
    for order in plan.orders:
        if not order.valid:
            snap.records[order.order_id] = {
                "status": "REJECTED",
                "history": ["REJECTED"],
                "reason": "currency",
            }
        elif order.kind == "decline":
            snap.records[order.order_id] = {"status": "CANCELLED", "history": ["RECEIVED", "CANCELLED"]}
        else:
            snap.records[order.order_id] = {
                "status": "COMPLETED",
                "history": ["RECEIVED", "PAID", "COMPLETED"],
                "totalAmount": order.total,
            }
            snap.captures[order.order_id] = [order.total]
            snap.shipments[order.order_id] = "BOOKED"
            for sku, quantity in order.lines:
                snap.stock[sku] -= quantity
                snap.reservations[sku][order.order_id] = quantity
    return snap


def completed(plan: RunPlan) -> list[str]:
    return [o.order_id for o in plan.orders if o.valid and o.kind != "decline"]


def only(violations: list[Violation], invariant: str) -> Violation:
    assert [v.invariant for v in violations] == [invariant], violations
    return violations[0]


def test_a_consistent_store_state_violates_nothing(plan: RunPlan) -> None:
    assert check_invariants(plan, consistent(plan)) == []


def test_an_order_without_a_terminal_state_is_named(plan: RunPlan) -> None:
    snap = consistent(plan)
    stuck = completed(plan)[0]
    snap.records[stuck]["status"] = "PAID"
    violations = check_invariants(plan, snap)
    assert [v.orders for v in violations if v.invariant == "terminal-state"] == [[stuck]]
    # A paid order that is not completed should not have kept the money, the stock or the shipment either
    assert {v.invariant for v in violations} == {"terminal-state", "money", "stock", "shipments"}


def test_a_lost_order_and_a_running_execution_are_named(plan: RunPlan) -> None:
    snap = consistent(plan)
    lost = plan.orders[-1].order_id
    del snap.records[lost]
    snap.running = [completed(plan)[1]]
    violations = check_invariants(plan, snap)
    terminal = [v for v in violations if v.invariant == "terminal-state"]
    assert [v.orders for v in terminal] == [[lost], [completed(plan)[1]]]


def test_two_terminal_states_in_one_history_are_named(plan: RunPlan) -> None:
    snap = consistent(plan)
    twice = completed(plan)[2]
    snap.records[twice]["history"].append("CANCELLED")
    assert only(check_invariants(plan, snap), "terminal-state").orders == [twice]


def test_a_second_capture_at_the_provider_is_a_double_charge(plan: RunPlan) -> None:
    snap = consistent(plan)
    charged = completed(plan)[0]
    snap.captures[charged].append(snap.captures[charged][0])
    violations = check_invariants(plan, snap)
    assert [v.orders for v in violations if v.invariant == "charged-once"] == [[charged]]
    # the money no longer balances for that order either
    assert [v.orders for v in violations if v.invariant == "money"] == [[charged]]


def test_a_cancelled_order_left_charged_breaks_the_balance(plan: RunPlan) -> None:
    snap = consistent(plan)
    cancelled = next(o for o in plan.orders if o.kind == "decline")
    snap.captures[cancelled.order_id] = [cancelled.total]
    assert only(check_invariants(plan, snap), "money").orders == [cancelled.order_id]


def test_a_refund_without_a_capture_is_named(plan: RunPlan) -> None:
    snap = consistent(plan)
    cancelled = next(o for o in plan.orders if o.kind == "decline").order_id
    snap.refunds[cancelled] = [Decimal("1.00")]
    violations = check_invariants(plan, snap)
    assert [v.orders for v in violations if v.invariant == "charged-once"] == [[cancelled]]


def test_stock_below_zero_or_off_by_a_reservation_is_named(plan: RunPlan) -> None:
    snap = consistent(plan)
    order = next(o for o in plan.orders if o.order_id in completed(plan))
    sku, quantity = order.lines[0]
    # Given a completed order whose reservation vanished and whose units went back to the shelf
    del snap.reservations[sku][order.order_id]
    snap.stock[sku] += quantity
    violations = [v for v in check_invariants(plan, snap) if v.invariant == "stock"]
    assert any(
        order.order_id in v.orders and "completed orders hold no reservation" in v.detail for v in violations
    )
    assert any(order.order_id in v.orders and "expected" in v.detail for v in violations)
    # And stock below zero is named as such
    snap = consistent(plan)
    snap.stock[sku] = -1
    assert any("below zero" in v.detail for v in check_invariants(plan, snap))


def test_units_still_held_for_a_cancelled_order_are_named(plan: RunPlan) -> None:
    snap = consistent(plan)
    cancelled = next(o for o in plan.orders if o.kind == "decline")
    sku, quantity = cancelled.lines[0]
    snap.reservations[sku][cancelled.order_id] = quantity
    snap.stock[sku] -= quantity
    violations = check_invariants(plan, snap)
    assert any(v.invariant == "stock" and v.orders == [cancelled.order_id] for v in violations)


def test_a_malformed_event_rejected_without_a_reason_is_named(plan: RunPlan) -> None:
    snap = consistent(plan)
    malformed = next(o for o in plan.orders if not o.valid).order_id
    snap.records[malformed]["reason"] = " "
    assert only(check_invariants(plan, snap), "rejected-with-reason").orders == [malformed]


def test_a_dead_letter_without_an_alarm_notification_is_named(plan: RunPlan) -> None:
    snap = consistent(plan)
    snap.dead_letters = {"orderflow-shipping-dlq": [{"body": "{", "orderId": "load-t1-poison-0"}]}
    assert only(check_invariants(plan, snap), "dlq-alarm").orders == ["load-t1-poison-0"]
    snap.alarms_notified = {"orderflow-shipping-dlq-not-empty"}
    assert check_invariants(plan, snap) == []


def test_a_booked_shipment_for_a_cancelled_order_is_named(plan: RunPlan) -> None:
    # Given a declined order whose shipment is (somehow) booked, and a completed one never shipped
    snap = consistent(plan)
    assert snap.shipments is not None
    declined = next(o.order_id for o in plan.orders if o.kind == "decline")
    unshipped = completed(plan)[0]
    snap.shipments[declined] = "BOOKED"
    del snap.shipments[unshipped]
    violations = [v for v in check_invariants(plan, snap) if v.invariant == "shipments"]
    assert [(v.detail, v.orders) for v in violations] == [
        ("shipment booked for an order that did not complete", [declined]),
        ("completed order with no booked shipment", [unshipped]),
    ]
    # And a cancelled shipment of a cancelled order is what the saga leaves: nothing to say
    snap.shipments[declined] = "CANCELLED"
    snap.shipments[unshipped] = "BOOKED"
    assert check_invariants(plan, snap) == []


def test_some_malformed_orders_are_too_large_to_start_the_workflow() -> None:
    # Given a plan with malformed orders
    many = plan_run(run_id="t2", count=200, mix=parse_fault_spec("malformed=10%"), seed=3)
    malformed = [o for o in many.orders if not o.valid]
    # Then every third is over StartExecution's 256 KiB but under PutEvents' 1 MB, so the invariant that
    # every malformed event is recorded as rejected covers the dead-lettered ones too
    sizes = [len(json.dumps(o.detail)) for o in malformed]
    oversize = [size for size in sizes if size > 262_144]
    assert len(oversize) == len(malformed) // 3 > 0
    assert all(size < 1_000_000 for size in oversize)
