"""A small ``orderflow load`` run on its own embedded stack, every fault kind on: the promise holds."""

from __future__ import annotations

import json

import pytest

from localaws.tools import cli
from localaws.tools.load.faults import BUSINESS_KINDS, parse_fault_spec
from localaws.tools.load.plan import plan_run

# Shares high enough that 30 orders carry every business fault (checked below for this seed).
SPEC = (
    "decline=8%,transient=8%,hang=5%,out_of_stock=10%,shipping=8%,duplicate=15%,malformed=5%,poison=5%,"
    "worker_kill=10%,throttle=5%,server_error=3%,lost_callback=8%"
)
ORDERS = 30
SEED = 1


def test_the_plan_of_this_run_carries_every_business_fault() -> None:
    counts = plan_run(run_id="x", count=ORDERS, mix=parse_fault_spec(SPEC), seed=SEED).faults()
    assert all(counts[kind] > 0 for kind in BUSINESS_KINDS), counts


def test_a_run_with_every_fault_keeps_the_order_promise(capsys: pytest.CaptureFixture[str]) -> None:
    # When the run goes through its own embedded stack
    status = cli.main(
        ["load", "--orders", str(ORDERS), "--rate", "6", "--faults", SPEC, "--seed", str(SEED), "--json"]
    )
    report = json.loads(capsys.readouterr().out)
    # Then every order drained and no invariant was violated
    assert report["invariant_violations"] == []
    assert report["drained"] is True
    assert status == 0
    # And the report has its keys, every order counted, and the faults were really injected
    assert report["orders"] == ORDERS
    assert sum(report["statuses"].values()) == ORDERS
    assert set(report["latency_ms"]) == {"p50", "p95", "p99"}
    assert report["throughput_orders_per_s"] > 0
    assert report["per_service_per_s"]["payment"]["invocations"] > 0
    injected = report["faults_injected"]
    assert all(injected[kind] > 0 for kind in BUSINESS_KINDS), injected
    assert injected["worker_kill"] + injected["throttle"] + injected["lost_callback"] > 0
    # And each poison message ended in a DLQ whose alarm was heard
    assert sum(report["dead_letters"].values()) >= injected["poison"]
