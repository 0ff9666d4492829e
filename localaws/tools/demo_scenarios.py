"""What the demo posts and what each order must end as: its scenarios, their expectations, and the report.

Every outcome the workflow can reach is a scenario: normal, multi-SKU and priority orders, a declined payment,
a transient payment failure, out of stock, a shipping failure, the same event delivered twice, a malformed
event; and a poison message that must land in a DLQ and fire its alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from localaws.stepfunctions.history import TERMINAL_STATUSES
from services.shared.contract import OrderStatus
from workflows import states


@dataclass(frozen=True)
class Expectation:
    execution_status: str
    end_state: str
    order_status: OrderStatus
    charges: int
    refunds: int
    via: str | None = None  # a state the path must include


@dataclass(frozen=True)
class Scenario:
    name: str
    sample: str
    what: str
    expect: Expectation
    deliveries: int = 1  # the same event posted this many times


COMPLETED = Expectation("SUCCEEDED", states.ORDER_COMPLETED, OrderStatus.COMPLETED, charges=1, refunds=0)
# Charged, then a later step failed: stock released and the charge refunded.
COMPENSATED = Expectation(
    "FAILED", states.ORDER_CANCELLED, OrderStatus.CANCELLED, charges=1, refunds=1, via=states.RELEASE_STOCK
)
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("normal", "normal", "one item, card approved", COMPLETED),
    Scenario("multi-sku", "multi-sku", "three SKUs reserved in their own FIFO groups", COMPLETED),
    Scenario(
        "priority",
        "priority",
        "priority lane (FIFO payment queue)",
        Expectation(
            "SUCCEEDED",
            states.ORDER_COMPLETED,
            OrderStatus.COMPLETED,
            charges=1,
            refunds=0,
            via=states.REQUEST_PRIORITY_PAYMENT,
        ),
    ),
    Scenario(
        "declined",
        "declined",
        "card declined: cancelled, nothing charged",
        Expectation("FAILED", states.ORDER_CANCELLED, OrderStatus.CANCELLED, charges=0, refunds=0),
    ),
    Scenario("transient", "transient", "provider fails twice, SQS redelivers, charged once", COMPLETED),
    Scenario(
        "out-of-stock",
        "out-of-stock",
        "second SKU out of stock: first released, payment refunded",
        COMPENSATED,
    ),
    Scenario(
        "shipping-failure",
        "shipping-failure",
        "carrier does not serve AQ: stock released, payment refunded",
        COMPENSATED,
    ),
    Scenario("duplicate", "normal", "the same event delivered twice: one charge", COMPLETED, deliveries=2),
    Scenario(
        "malformed",
        "malformed",
        "invalid fields: recorded as rejected with the reasons",
        Expectation("FAILED", states.ORDER_REJECTED, OrderStatus.REJECTED, charges=0, refunds=0),
    ),
)
POISON_QUEUE = "shipping"
# A posted order: its scenario, its order id, and the id of each EventBridge event that delivered it.
PostedOrder = tuple[Scenario, str, list[str]]


@dataclass
class OrderOutcome:
    scenario: str
    what: str
    order_id: str
    executions: list[dict[str, Any]] = field(default_factory=list)
    order_status: str | None = None
    reason: str | None = None
    ledger: list[dict[str, str]] = field(default_factory=list)
    stock: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class DemoReport:
    endpoint: str
    orders: list[OrderOutcome]
    poison: dict[str, Any]
    dead_letter_queues: dict[str, list[dict[str, Any]]]
    alarms_fired: list[dict[str, Any]]
    alert_notifications: list[dict[str, Any]]
    analytics: list[dict[str, Any]]
    seconds: float
    problems: list[str]
    order_file: dict[str, Any] = field(default_factory=dict)  # the import of a file with bad lines

    @property
    def ok(self) -> bool:
        return not self.problems and all(o.ok for o in self.orders)


def check(outcome: OrderOutcome, scenario: Scenario) -> None:
    """Note in ``outcome.problems`` every way the order ended other than its scenario expects."""
    expect = scenario.expect
    problems = outcome.problems
    finished = [e for e in outcome.executions if e["status"] in TERMINAL_STATUSES]
    if len(finished) != scenario.deliveries:
        problems.append(f"{len(finished)} of {scenario.deliveries} executions finished")
        return
    main = [e for e in finished if e["path"] and e["path"][-1] != states.DUPLICATE_ORDER]
    duplicates = [e for e in finished if e["path"] and e["path"][-1] == states.DUPLICATE_ORDER]
    if len(main) != 1 or len(duplicates) != scenario.deliveries - 1:
        problems.append(f"expected 1 processing execution and {scenario.deliveries - 1} duplicates")
        return
    execution = main[0]
    if execution["status"] != expect.execution_status:
        problems.append(f"execution {execution['status']}, expected {expect.execution_status}")
    if execution["path"][-1] != expect.end_state:
        problems.append(f"ended in {execution['path'][-1]!r}, expected {expect.end_state!r}")
    if expect.via and expect.via not in execution["path"]:
        problems.append(f"path does not pass {expect.via!r}")
    if outcome.order_status != expect.order_status.value:
        problems.append(f"order record {outcome.order_status}, expected {expect.order_status.value}")
    if expect.order_status in (OrderStatus.REJECTED, OrderStatus.CANCELLED) and not outcome.reason:
        problems.append("no reason recorded")
    charges = sum(1 for e in outcome.ledger if e.get("entryId") == "CHARGE")
    refunds = sum(1 for e in outcome.ledger if e.get("entryId") == "REFUND")
    if (charges, refunds) != (expect.charges, expect.refunds):
        problems.append(
            f"{charges} charges and {refunds} refunds, expected {expect.charges} and {expect.refunds}"
        )
