"""``orderflow cost`` on the app's own synthesized template: JSON and human output, and its errors."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from localaws.tools import cli
from localaws.tools.cost.definition import load_stack
from localaws.tools.cost.transitions import PATHS, path_named, walk_path
from localaws.tools.cost.usage import order_usage

if TYPE_CHECKING:
    from pathlib import Path


def _report(capsys: pytest.CaptureFixture[str], assembly: Path, *extra: str) -> dict[str, Any]:
    assert cli.main(["cost", "--json", "--cdk-out", str(assembly), *extra]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_json_report_counts_prices_and_quotas_every_path(
    capsys: pytest.CaptureFixture[str], orderflow_assembly: Path
) -> None:
    # Given the synthesized app
    definition = load_stack(orderflow_assembly).definition

    # When `orderflow cost --json --items 3` runs
    report = _report(capsys, orderflow_assembly, "--items", "3")

    # Then every path has its transitions (as the walk counts them), its bill, and the bill adds up
    assert set(report["state_transitions"]) == {p.name for p in PATHS}
    for path in PATHS:
        counted = report["state_transitions"][path.name]
        assert counted["per_order"] == walk_path(definition, path, items=3).transitions
        assert counted["per_order"] == counted["fixed"] + 3 * counted["per_item"]
        bill = report["cost_per_million_orders"][path.name]
        assert bill["total_usd"] == pytest.approx(sum(line["usd"] for line in bill["lines"]), abs=0.01)
        for line in bill["lines"]:
            assert report["prices"][line["price"]]["source"] == line["source"]
    # And the quotas name the one that binds first, with the target it was checked against
    quotas = report["quotas"]
    assert quotas["target"]["orders_per_second"] == 100
    assert quotas["binds_first"]["constraint"] in {c["constraint"] for c in quotas["constraints"]}


def test_a_completed_order_uses_what_its_states_and_handlers_call(orderflow_assembly: Path) -> None:
    # Given a completed order of 2 items on the synthesized stack
    stack = load_stack(orderflow_assembly)
    path = path_named("completed")

    # When its usage is derived
    usage = order_usage(stack, path, walk_path(stack.definition, path, items=2), items=2)

    # Then, counted by hand from the definition and services/*/ (one message per batch):
    # SQS standard: payment, shipping, 2 notifications (placed, shipped; the filter drops paid), 3 each
    assert usage.sqs_standard == 12
    assert usage.sqs_fifo == 6  # 2 inventory reservations, 3 requests each
    assert usage.sns_publishes == 4  # 3 order-status milestones + the payment service's "captured"
    assert usage.kinesis_records == 3
    assert usage.eventbridge_events == 2  # OrderPlaced in, OrderCompleted out
    # WRU: 3 order writes, payment 6 (idempotency 2, the charge's two-item transaction 4), inventory 2 x 4
    # (transactions), shipping 3 (idempotency 2, the shipments book 1), notification 2, analytics 6 + 6 + 8
    # (marker and increments, shipped adds revenue)
    assert usage.wru == 3 + 6 + 8 + 3 + 2 + 20
    # ledger CHARGE and VOID rows, stock left after each reservation, notification audit x 2
    assert usage.rru == 2 + 2 + 2
    assert usage.sfn_calls == {"SendTaskHeartbeat": 4, "SendTaskSuccess": 4}


def test_human_output_shows_the_tables_the_binding_quota_and_the_sources(
    capsys: pytest.CaptureFixture[str], orderflow_assembly: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert cli.main(["cost", "--cdk-out", str(orderflow_assembly)]) == 0
    out = capsys.readouterr().out
    for expected in (
        "State transitions per order",
        "$ per million orders",
        "Binds first:",
        "https://aws.amazon.com/step-functions/pricing/",
        "Assumptions",
    ):
        assert expected in out


def test_a_missing_assembly_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["cost", "--cdk-out", str(tmp_path)]) == 1
    assert "make synth" in capsys.readouterr().err
