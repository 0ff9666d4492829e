"""benchmarks.held: the part times each call with moto's code and the speed-ups at each held size, as JSON."""

from __future__ import annotations

import json

from benchmarks.held import MODES, held_part
from localaws.patches import speedups


def test_each_step_reports_both_calls_in_both_modes() -> None:
    # Given two small steps; When the part runs
    report = held_part(held=(0, 30), calls=3)
    # Then each call has a CPU figure per turn, with moto's code and with the speed-ups
    assert json.loads(json.dumps(report)) == report
    assert [step["held_orders"] for step in report["steps"]] == [0, 30]
    for step in report["steps"]:
        for call in ("query", "put_record"):
            for mode in set(MODES):
                assert len(step[f"{call} {mode}"]) == MODES.count(mode)
                assert all(value > 0 for value in step[f"{call} {mode}"])
    # And the part leaves moto as it found it
    assert speedups.installed() == frozenset()
