"""`python -m benchmarks`: the report on stdout, and the same JSON in the file ``--output`` names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.__main__ import main

NOTHING_RUN = [
    "--no-engine",
    "--no-orders",
    "--no-callbacks",
    "--no-held",
    "--import-orders",
    "0",
    "--no-suite",
    "--no-chaos",
]


def test_the_output_file_holds_the_report_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "bench" / "results.json"
    assert main([*NOTHING_RUN, "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert output.read_text() == printed
    report = json.loads(printed)
    assert report["orders"] == {"ran": False, "reason": "--no-orders"}
    assert set(report) == {"orders", "callbacks", "held", "imports", "suite", "chaos"}
