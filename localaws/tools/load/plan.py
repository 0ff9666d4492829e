"""What a load run sends: each order (normal or one of the fault kinds), duplicates and poison messages.

Drawn from one seeded ``random.Random``: the same ``--orders``, ``--faults`` and ``--seed`` give the same
orders, in the same order, with the same faults. Every run has its own SKUs (``LOAD-<run>-<n>``), stocked
by the run, so that its stock can be checked exactly even on a stack other runs share.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from localaws.tools import orders
from localaws.tools.load.faults import ORDER_KINDS, FaultMix
from services.shared.contract import TOKEN_DECLINE, TOKEN_HANG, TOKEN_TRANSIENT

REGULAR_SKUS = 8
REGULAR_UNITS = 1_000_000
PRIORITY_SHARE = 0.1  # of normal orders: the FIFO payment lane gets traffic too
# Queues a poison message is sent to, in turn (standard queues: a FIFO one would need a group id).
POISON_QUEUES = ("shipping", "payment")
_TOKENS = {"decline": TOKEN_DECLINE, "transient": TOKEN_TRANSIENT, "hang": TOKEN_HANG}
_UNSERVED_COUNTRY = "AQ"
# Every third malformed order is too large to start the workflow (StartExecution takes 256 KiB) but small
# enough for PutEvents (1 MB): it is dead-lettered, and the DLQ inspector records it as rejected.
OVERSIZE_EVERY = 3
OVERSIZE_PAD_CHARACTERS = 300_000


@dataclass(frozen=True)
class PlannedOrder:
    order_id: str
    kind: str  # "normal" or one of ORDER_KINDS
    detail: dict[str, Any]
    deliveries: int  # 2 when the same event is put twice

    @property
    def valid(self) -> bool:
        return self.kind != "malformed"

    @property
    def lines(self) -> list[tuple[str, int]]:
        return [(item["sku"], int(item["quantity"])) for item in self.detail.get("items", [])]

    @property
    def total(self) -> Decimal:
        return Decimal(str(self.detail.get("totalAmount", "0")))


@dataclass(frozen=True)
class PlannedPoison:
    ident: str
    queue: str  # the queue's short name (``shipping``), prefixed at send time
    body: str


@dataclass
class RunPlan:
    run_id: str
    orders: list[PlannedOrder]
    poison: list[PlannedPoison]
    initial_stock: dict[str, int] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return f"load-{self.run_id}-"

    def faults(self) -> dict[str, int]:
        """How many orders (or messages) carry each business fault."""
        counts = {kind: sum(1 for o in self.orders if o.kind == kind) for kind in ORDER_KINDS}
        counts["duplicate"] = sum(1 for o in self.orders if o.deliveries > 1)
        counts["poison"] = len(self.poison)
        return counts


def _price(sku_index: int) -> str:
    return f"{5 + 2.5 * sku_index:.2f}"


def _detail(
    order_id: str, lines: list[tuple[str, int, str]], *, token: str, country: str, priority: bool
) -> dict:
    total = sum(Decimal(price) * quantity for _, quantity, price in lines)
    detail = orders.sample("normal", order_id=order_id)
    detail.update(
        {
            "customerId": f"cust-{order_id[-5:]}",
            "items": [
                {"sku": sku, "quantity": quantity, "unitPrice": price} for sku, quantity, price in lines
            ],
            "totalAmount": str(total),
            "priority": priority,
            "payment": {"method": "card", "token": token},
        }
    )
    detail["shippingAddress"] = {**detail["shippingAddress"], "country": country}
    return detail


def _kind(rng: random.Random, mix: FaultMix) -> str:
    draw = rng.random()
    for kind in ORDER_KINDS:
        draw -= mix.share(kind)
        if draw < 0:
            return kind
    return "normal"


def plan_run(*, run_id: str, count: int, mix: FaultMix, seed: int) -> RunPlan:
    rng = random.Random(seed)
    skus = [f"LOAD-{run_id}-{n}" for n in range(1, REGULAR_SKUS + 1)]
    scarce = f"LOAD-{run_id}-SCARCE"
    planned: list[PlannedOrder] = []
    malformed = 0
    for n in range(count):
        order_id = f"load-{run_id}-{n:05d}"
        kind = _kind(rng, mix)
        deliveries = 2 if rng.random() < mix.share("duplicate") else 1
        if kind == "malformed":
            detail = orders.sample("malformed", order_id=order_id)
            malformed += 1
            if malformed % OVERSIZE_EVERY == 0:
                detail = orders.sample("normal", order_id=order_id) | {
                    "customerId": "c" * OVERSIZE_PAD_CHARACTERS
                }
        else:
            picked = rng.sample(range(REGULAR_SKUS), rng.randint(1, 3))
            lines = [(skus[i], rng.randint(1, 3), _price(i)) for i in picked]
            if kind == "out_of_stock":
                lines.append((scarce, 1, "42.00"))
            detail = _detail(
                order_id,
                lines,
                token=_TOKENS.get(kind, "tok_visa"),
                country=_UNSERVED_COUNTRY if kind == "shipping" else "GB",
                priority=kind == "normal" and rng.random() < PRIORITY_SHARE,
            )
        planned.append(PlannedOrder(order_id, kind, detail, deliveries))
    poison_count = round(mix.share("poison") * count)
    poison = [
        PlannedPoison(
            ident=f"load-{run_id}-poison-{n}",
            queue=POISON_QUEUES[n % len(POISON_QUEUES)],
            # Cut-off JSON, as a broken producer sends it; the id lets the DLQ check name it.
            body=f'{{"orderId": "load-{run_id}-poison-{n}", "action": ',
        )
        for n in range(poison_count)
    ]
    out_of_stock = sum(1 for o in planned if o.kind == "out_of_stock")
    initial = dict.fromkeys(skus, REGULAR_UNITS)
    initial[scarce] = out_of_stock // 2  # about half of those orders find a unit left
    return RunPlan(run_id=run_id, orders=planned, poison=poison, initial_stock=initial)
