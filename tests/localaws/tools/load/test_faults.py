"""The fault spec: what it accepts, what it refuses (naming the part), and the seeded plan it drives."""

from __future__ import annotations

from decimal import Decimal

import pytest

from localaws.tools.load.faults import ALL, KINDS, FaultSpecError, parse_fault_spec
from localaws.tools.load.plan import plan_run


def test_a_spec_gives_each_kind_its_share_in_percent_or_as_a_fraction() -> None:
    mix = parse_fault_spec("decline=5%,transient=0.1, hang=2% ,worker_kill=1.5%")
    assert mix.shares == {"decline": 0.05, "transient": 0.1, "hang": 0.02, "worker_kill": 0.015}
    assert mix.share("poison") == 0.0
    assert mix.infrastructure == {"worker_kill": 0.015}


def test_all_names_every_kind_and_can_be_narrowed() -> None:
    assert set(parse_fault_spec("all").shares) == set(KINDS)
    narrowed = parse_fault_spec("all,hang=0,throttle=20%")
    assert "hang" not in narrowed.shares
    assert narrowed.share("throttle") == 0.2
    assert narrowed.share("decline") == ALL["decline"]
    assert parse_fault_spec("none").shares == {}


def test_a_mix_written_back_parses_to_itself() -> None:
    mix = parse_fault_spec("all")
    assert parse_fault_spec(mix.spec()) == mix


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("decline=5%,meteor=1%", "'meteor': unknown fault kind"),
        ("decline", "expected kind=share"),
        ("decline=five", "decline=five: the share must be a percentage"),
        ("decline=-5%", "decline=-5%: the share must be a percentage"),
        ("throttle=150%", "throttle=150%: a share cannot exceed 100%"),
        ("decline=60%,hang=50%", "decline+hang add up to 110% of the orders"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_part_and_the_reason(spec: str, names: str) -> None:
    with pytest.raises(FaultSpecError, match=names.replace("+", r"\+")):
        parse_fault_spec(spec)


def test_the_same_seed_plans_the_same_run_and_another_seed_another() -> None:
    mix = parse_fault_spec("all")
    first = plan_run(run_id="r1", count=200, mix=mix, seed=7)
    again = plan_run(run_id="r1", count=200, mix=mix, seed=7)
    other = plan_run(run_id="r1", count=200, mix=mix, seed=8)
    assert first == again
    assert [o.kind for o in first.orders] != [o.kind for o in other.orders]


def test_the_plan_carries_each_business_fault_with_its_lever() -> None:
    plan = plan_run(run_id="r2", count=400, mix=parse_fault_spec("all"), seed=1)
    counts = plan.faults()
    for kind in ("decline", "transient", "out_of_stock", "shipping", "duplicate", "malformed", "poison"):
        assert counts[kind] > 0, kind
    by_kind = {o.kind: o for o in plan.orders}
    assert by_kind["decline"].detail["payment"]["token"] == "tok_decline"
    assert by_kind["transient"].detail["payment"]["token"] == "tok_transient"
    assert by_kind["shipping"].detail["shippingAddress"]["country"] == "AQ"
    assert any(sku.endswith("-SCARCE") for sku, _ in by_kind["out_of_stock"].lines)
    assert not by_kind["malformed"].valid
    # The scarce SKU is stocked for about half the orders that want it; the totals add up
    assert plan.initial_stock["LOAD-r2-SCARCE"] == counts["out_of_stock"] // 2
    for order in plan.orders:
        if order.valid:
            assert order.total == sum(Decimal(i["unitPrice"]) * i["quantity"] for i in order.detail["items"])
