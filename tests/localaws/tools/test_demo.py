"""The main job, as `make demo` runs it: every sample order ends where it should, and the report says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_demo_reports_every_outcome_as_expected(tmp_path: Path) -> None:
    # Given the synthesized app (make test synthesizes before the suite)
    assert (REPO / "cdk.out" / "manifest.json").is_file(), "run `make synth` first"
    # When the demo runs with a machine-readable report, on a free port
    result = subprocess.run(
        [sys.executable, "-m", "localaws.tools.cli", "demo", "--json", "--port", "0"],
        cwd=REPO,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    # Then it exits 0 and its report holds the outcomes a new user is promised
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["ok"] is True
    orders = {o["scenario"]: o for o in report["orders"]}
    assert orders["malformed"]["order_status"] == "REJECTED"
    assert "quantity" in orders["malformed"]["reason"]
    assert [e["entryId"] for e in orders["duplicate"]["ledger"]] == ["CHARGE"]
    assert len(orders["duplicate"]["executions"]) == 2
    assert orders["declined"]["order_status"] == "CANCELLED"
    assert orders["declined"]["reason"] == "PaymentDeclined"
    assert sorted(e["entryId"] for e in orders["out-of-stock"]["ledger"]) == ["CHARGE", "REFUND"]
    poison_alarm = report["poison"]["alarm"]
    assert any(a["message"].get("AlarmName") == poison_alarm for a in report["alert_notifications"])
    assert any(row["pk"] == "revenue" for row in report["analytics"])
    # And the order file: its valid orders ran, its bad lines are reported with their numbers
    order_file = report["order_file"]
    assert order_file["totals"] == {"orders": 5, "accepted": 3, "known": 0, "rejected": 2}
    assert [r["line"] for r in order_file["rejected"]] == [2, 4]
    assert set(order_file["order_statuses"].values()) == {"COMPLETED"}
    # And the expected rejections and cancellations print no engine log lines (their histories hold them)
    assert "FailureEventException" not in result.stderr + result.stdout
