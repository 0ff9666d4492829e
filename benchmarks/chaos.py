"""The chaos part: a short ``orderflow load`` run with every fault kind, on its own embedded stack.

It reports what ``orderflow load --json`` reports (throughput, latency from PutEvents to a terminal status,
faults injected by kind, how long killed invocations took to resolve, the invariant violations, CPU per
order); ``make soak`` is the long version.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks.workload import CDK_OUT, without_app
from localaws.tools.load.faults import parse_fault_spec
from localaws.tools.load.run import LoadOptions, run_embedded


def chaos_part(*, orders: int, rate: float, faults: str, seed: int) -> dict[str, Any]:
    if (missing := without_app()) is not None:
        return missing
    options = LoadOptions(
        orders=orders, rate=rate, mix=parse_fault_spec(faults), seed=seed, live=False, cdk_out=CDK_OUT
    )
    with tempfile.TemporaryDirectory(prefix="localaws-chaos-") as run_dir:
        try:
            report = run_embedded(options, Path(run_dir))
        except Exception as exc:
            return {"ran": False, "reason": f"{type(exc).__name__}: {exc}"}
    return {"ran": True, **report}
