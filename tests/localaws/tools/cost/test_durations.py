"""Lambda durations: the recorded medians, and new ones measured from a run's REPORT lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from localaws.tools.cost.durations import from_logs, recorded

if TYPE_CHECKING:
    from pathlib import Path


def test_medians_come_from_the_report_lines_of_each_function_log(tmp_path: Path) -> None:
    # Given a run's logs: three payment invocations and one shipping, among other lines
    (tmp_path / "orderflow-payment.log").write_text(
        "START\nREPORT RequestId: a\tDuration: 10.00 ms\nREPORT RequestId: b\tDuration: 30.00 ms\n"
        "some log line\nREPORT RequestId: c\tDuration: 20.50 ms\n"
    )
    (tmp_path / "orderflow-shipping.log").write_text("REPORT RequestId: d\tDuration: 7.25 ms\n")

    # When durations are measured from them
    measured = from_logs(tmp_path)

    # Then each function gets its median; a function with no log keeps the recorded figure
    assert measured.median_ms["payment"] == 20.5
    assert measured.seconds("shipping") == pytest.approx(0.00725)
    assert measured.median_ms["inventory"] == recorded().median_ms["inventory"]
    assert "payment 3" in measured.how


def test_logs_without_report_lines_are_refused(tmp_path: Path) -> None:
    (tmp_path / "orderflow-payment.log").write_text("nothing measured here\n")
    with pytest.raises(FileNotFoundError, match="no REPORT lines"):
        from_logs(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        from_logs(tmp_path / "missing")
