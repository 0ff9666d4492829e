"""The fault mix of a load run: ``decline=5%,transient=10%,...`` or ``all``, parsed and checked.

Business faults are kinds of order (or extra messages) that the sender makes with the services' own levers;
infrastructure faults are injected into the embedded stack while the run goes on:

| kind | share of | lever |
|---|---|---|
| ``decline``, ``transient``, ``hang`` | orders | the payment test tokens (``tok_decline``, ...) |
| ``out_of_stock`` | orders | a line of the run's scarce SKU, stocked for about half of them |
| ``shipping`` | orders | a destination the carrier refuses (``AQ``) |
| ``malformed`` | orders | an event that fails validation (recorded as rejected) |
| ``duplicate`` | orders | the same event put twice |
| ``poison`` | orders | a message no service can parse, sent straight to a service queue |
| ``worker_kill`` | service invocations | SIGKILL of the Lambda worker process mid-invocation |
| ``throttle``, ``server_error`` | handlers' AWS calls | the endpoint's fault switch (endpoint/faults.py) |
| ``lost_callback`` | handlers' SendTaskSuccess calls | the endpoint's fault switch drops them |
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Kinds of order: an order is at most one of these (the rest are normal orders).
ORDER_KINDS = ("decline", "transient", "hang", "out_of_stock", "shipping", "malformed")
BUSINESS_KINDS = (*ORDER_KINDS, "duplicate", "poison")
INFRASTRUCTURE_KINDS = ("worker_kill", "throttle", "server_error", "lost_callback")
KINDS = (*BUSINESS_KINDS, *INFRASTRUCTURE_KINDS)

# ``all``: every kind, in shares a run of a few hundred orders shows each of several times.
ALL = {
    "decline": 0.05,
    "transient": 0.05,
    "hang": 0.02,
    "out_of_stock": 0.05,
    "shipping": 0.05,
    "duplicate": 0.10,
    "malformed": 0.02,
    "poison": 0.01,
    "worker_kill": 0.02,
    "throttle": 0.05,
    "server_error": 0.02,
    "lost_callback": 0.02,
}

_SHARE = re.compile(r"^(?P<number>\d+(?:\.\d+)?)(?P<percent>%?)$")


class FaultSpecError(ValueError):
    """A fault spec that cannot be used; the message names the part and the reason."""


@dataclass(frozen=True)
class FaultMix:
    """Each fault kind's share, between 0 and 1 (kinds not named are 0)."""

    shares: dict[str, float] = field(default_factory=dict)

    def share(self, kind: str) -> float:
        return self.shares.get(kind, 0.0)

    @property
    def infrastructure(self) -> dict[str, float]:
        return {kind: share for kind, share in self.shares.items() if kind in INFRASTRUCTURE_KINDS and share}

    def spec(self) -> str:
        """The mix written back as a spec (``parse_fault_spec(mix.spec()) == mix``)."""
        return ",".join(f"{kind}={self.shares[kind] * 100:g}%" for kind in KINDS if self.shares.get(kind))


def _share(kind: str, text: str) -> float:
    match = _SHARE.match(text.strip())
    if match is None:
        raise FaultSpecError(f"{kind}={text}: the share must be a percentage (5%) or a fraction (0.05)")
    value = float(match["number"]) / (100 if match["percent"] else 1)
    if value > 1:
        raise FaultSpecError(f"{kind}={text}: a share cannot exceed 100%")
    return value


def parse_fault_spec(spec: str) -> FaultMix:
    """``all``, ``none``, or comma-separated ``kind=share``; ``all,hang=0`` starts from ``all``."""
    shares: dict[str, float] = {}
    for raw in spec.split(","):
        part = raw.strip()
        if not part or part == "none":
            continue
        if part == "all":
            shares.update(ALL)
            continue
        kind, equals, value = part.partition("=")
        kind = kind.strip()
        if not equals:
            raise FaultSpecError(f"{part!r}: expected kind=share (e.g. decline=5%) or 'all'")
        if kind not in KINDS:
            raise FaultSpecError(f"{kind!r}: unknown fault kind; kinds: {', '.join(KINDS)}")
        shares[kind] = _share(kind, value)
    per_order = sum(shares.get(kind, 0.0) for kind in ORDER_KINDS)
    if per_order > 1 + 1e-9:
        named = "+".join(kind for kind in ORDER_KINDS if shares.get(kind))
        raise FaultSpecError(f"{named} add up to {per_order:.0%} of the orders: at most 100%")
    return FaultMix({kind: share for kind, share in shares.items() if share})
