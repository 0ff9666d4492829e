"""The order promise, checked from what the stores hold after a run: every order ends exactly once, and is
never lost, stuck or charged twice.

The checks are pure functions of a ``Snapshot`` (read from DynamoDB, Step Functions, the queues and an inbox
subscribed to the alerts topic by ``localaws.tools.load.stores``) and the ``RunPlan`` (what was sent), so
each can be shown a violating state. Each violation names the invariant, what is wrong, and the orders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from localaws.tools.load.plan import RunPlan
from services.shared.contract import OrderStatus

TERMINAL = frozenset({OrderStatus.COMPLETED.value, OrderStatus.CANCELLED.value, OrderStatus.REJECTED.value})


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str
    orders: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"invariant": self.invariant, "detail": self.detail, "orders": self.orders}


@dataclass
class Snapshot:
    """What the stores hold for one run's orders (and the run's SKUs, dead letters and alerts)."""

    # orderId → the order record: status, statuses in its history, totalAmount, reason
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    # orderIds whose execution is still RUNNING (the orders of every running execution of the run)
    running: list[str] = field(default_factory=list)
    # the payment provider's own statement: orderId → amounts captured / refunded, one entry per movement
    captures: dict[str, list[Decimal]] = field(default_factory=dict)
    refunds: dict[str, list[Decimal]] = field(default_factory=dict)
    # inventory: SKU → available units; SKU → {orderId: reserved units}
    stock: dict[str, int] = field(default_factory=dict)
    reservations: dict[str, dict[str, int]] = field(default_factory=dict)
    # the shipping service's shipments book: orderId → BOOKED or CANCELLED (None: a stack without one)
    shipments: dict[str, str] | None = None
    # dead-letter queue → the messages in it (each as {"body": ..., "orderId": ...}); alarms notified
    dead_letters: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    alarms_notified: set[str] = field(default_factory=set)


def every_order_ends_once(plan: RunPlan, snap: Snapshot) -> list[Violation]:
    """Each order has a record in one terminal state, reached once; no execution is still running."""
    found: list[Violation] = []
    missing = [o.order_id for o in plan.orders if o.order_id not in snap.records]
    if missing:
        found.append(Violation("terminal-state", "no order record", missing))
    unfinished = [
        o.order_id
        for o in plan.orders
        if o.order_id in snap.records and snap.records[o.order_id].get("status") not in TERMINAL
    ]
    if unfinished:
        found.append(Violation("terminal-state", "order record not in a terminal status", unfinished))
    twice = [
        order_id
        for order_id, record in snap.records.items()
        if sum(1 for status in record.get("history", []) if status in TERMINAL) > 1
    ]
    if twice:
        found.append(Violation("terminal-state", "more than one terminal status in the history", twice))
    wrong_kind = [
        o.order_id
        for o in plan.orders
        if o.order_id in snap.records
        and (snap.records[o.order_id].get("status") == OrderStatus.REJECTED.value) == o.valid
    ]
    if wrong_kind:
        found.append(
            Violation("terminal-state", "valid order rejected, or malformed one accepted", wrong_kind)
        )
    if snap.running:
        found.append(
            Violation("terminal-state", "execution still RUNNING after the drain", sorted(snap.running))
        )
    return found


def no_order_charged_twice(plan: RunPlan, snap: Snapshot) -> list[Violation]:
    """At most one capture and one refund per order at the provider, and no refund without a capture."""
    found: list[Violation] = []
    twice = sorted(order_id for order_id, amounts in snap.captures.items() if len(amounts) > 1)
    if twice:
        found.append(Violation("charged-once", "captured more than once by the provider", twice))
    refunded_twice = sorted(order_id for order_id, amounts in snap.refunds.items() if len(amounts) > 1)
    if refunded_twice:
        found.append(Violation("charged-once", "refunded more than once by the provider", refunded_twice))
    uncaptured = sorted(o for o, amounts in snap.refunds.items() if amounts and not snap.captures.get(o))
    if uncaptured:
        found.append(Violation("charged-once", "refunded without a capture", uncaptured))
    return found


def money_matches_completed_orders(plan: RunPlan, snap: Snapshot) -> list[Violation]:
    """Captured minus refunded equals the totals of completed orders, in all and order by order."""
    found: list[Violation] = []
    wrong: list[str] = []
    for order in plan.orders:
        kept = sum(snap.captures.get(order.order_id, []), Decimal(0)) - sum(
            snap.refunds.get(order.order_id, []), Decimal(0)
        )
        completed = snap.records.get(order.order_id, {}).get("status") == OrderStatus.COMPLETED.value
        expected = Decimal(str(snap.records[order.order_id].get("totalAmount"))) if completed else Decimal(0)
        if kept != expected:
            wrong.append(order.order_id)
    if wrong:
        found.append(
            Violation("money", "captured minus refunded differs from the completed order's total", wrong)
        )
    run_orders = {o.order_id for o in plan.orders}
    strangers = sorted((set(snap.captures) | set(snap.refunds)) - run_orders)
    if strangers:
        found.append(Violation("money", "money moved for orders the run never placed", strangers))
    return found


def stock_matches_completed_orders(plan: RunPlan, snap: Snapshot) -> list[Violation]:
    """Stock is never negative and equals the initial stock minus what completed orders reserved."""
    found: list[Violation] = []
    completed = {
        o.order_id: o
        for o in plan.orders
        if snap.records.get(o.order_id, {}).get("status") == OrderStatus.COMPLETED.value
    }
    taken: dict[str, int] = defaultdict(int)
    for order in completed.values():
        for sku, quantity in order.lines:
            taken[sku] += quantity
    for sku, initial in sorted(plan.initial_stock.items()):
        available = snap.stock.get(sku)
        held = snap.reservations.get(sku, {})
        if available is None:
            found.append(Violation("stock", f"{sku}: no stock record", []))
            continue
        holders = sorted(held)
        if available < 0:
            found.append(Violation("stock", f"{sku}: {available} units available, below zero", holders))
        if available != initial - taken[sku]:
            found.append(
                Violation(
                    "stock",
                    f"{sku}: {available} available, expected {initial} less {taken[sku]} (completed)",
                    sorted({*holders, *(o for o in completed if sku in dict(completed[o].lines))}),
                )
            )
        # A reservation is held for a completed order, and for no other.
        stray = sorted(o for o in held if o not in completed)
        if stray:
            found.append(
                Violation("stock", f"{sku}: units still held for orders that did not complete", stray)
            )
        unheld = sorted(o for o, order in completed.items() if sku in dict(order.lines) and o not in held)
        if unheld:
            found.append(Violation("stock", f"{sku}: completed orders hold no reservation", unheld))
    return found


def shipments_match_order_ends(plan: RunPlan, snap: Snapshot) -> list[Violation]:
    """The shipping service's book agrees with each order's end: no booked shipment for an order that did
    not complete (the saga cancels it), and a booked one for every completed order."""
    if snap.shipments is None:
        return []
    shipments = snap.shipments
    status = {order_id: record.get("status") for order_id, record in snap.records.items()}
    booked_not_completed = sorted(
        order_id
        for order_id, shipment in shipments.items()
        if shipment == "BOOKED" and status.get(order_id) != OrderStatus.COMPLETED.value
    )
    unshipped = sorted(
        o.order_id
        for o in plan.orders
        if status.get(o.order_id) == OrderStatus.COMPLETED.value and shipments.get(o.order_id) != "BOOKED"
    )
    found = []
    if booked_not_completed:
        found.append(
            Violation("shipments", "shipment booked for an order that did not complete", booked_not_completed)
        )
    if unshipped:
        found.append(Violation("shipments", "completed order with no booked shipment", unshipped))
    return found


def malformed_orders_are_rejected_with_a_reason(plan: RunPlan, snap: Snapshot) -> list[Violation]:
    """Every malformed event is recorded as rejected, with the reason."""
    wrong = []
    for order in plan.orders:
        record = snap.records.get(order.order_id, {})
        rejected = record.get("status") == OrderStatus.REJECTED.value
        if not order.valid and not (rejected and str(record.get("reason") or "").strip()):
            wrong.append(order.order_id)
    if not wrong:
        return []
    return [
        Violation("rejected-with-reason", "malformed event not recorded as rejected with a reason", wrong)
    ]


def dead_letters_raised_alarms(plan: RunPlan, snap: Snapshot) -> list[Violation]:
    """A DLQ that holds a message had its alarm's notification reach the alerts topic."""
    found: list[Violation] = []
    for dlq, messages in sorted(snap.dead_letters.items()):
        if messages and f"{dlq}-not-empty" not in snap.alarms_notified:
            orders = sorted({str(m.get("orderId")) for m in messages if m.get("orderId")})
            found.append(
                Violation(
                    "dlq-alarm", f"{len(messages)} message(s) in {dlq} and no alarm notification", orders
                )
            )
    return found


CHECKS: tuple[Callable[[RunPlan, Snapshot], list[Violation]], ...] = (
    every_order_ends_once,
    no_order_charged_twice,
    money_matches_completed_orders,
    stock_matches_completed_orders,
    shipments_match_order_ends,
    malformed_orders_are_rejected_with_a_reason,
    dead_letters_raised_alarms,
)


def check_invariants(plan: RunPlan, snap: Snapshot) -> list[Violation]:
    return [violation for check in CHECKS for violation in check(plan, snap)]
