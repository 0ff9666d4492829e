"""benchmarks.callbacks: the part runs each call on both paths at each step and reports it as JSON numbers."""

from __future__ import annotations

import json

from benchmarks.callbacks import CALLS, callbacks_part
from localaws.patches import speedups


def test_each_step_reports_every_call_on_both_paths() -> None:
    # Given two small steps; When the part runs; Then each call has a CPU figure on moto's walk and the index.
    report = callbacks_part(held=(0, 20), calls=3)
    assert json.loads(json.dumps(report)) == report
    assert [step["held_executions"] for step in report["steps"]] == [0, 20]
    for step in report["steps"]:
        for mode in ("moto", "index"):
            assert set(step[mode]) == set(CALLS)
            assert all(value > 0 for value in step[mode].values())
        assert set(step["moto_over_index"]) == set(CALLS)
    # The part leaves moto as it found it.
    assert speedups.installed() == frozenset()
