"""The suite part: how long the workflow scenario suite (``make test-sfn``: ``pytest tests/workflows``) takes.

It runs in a child process exactly as ``make test-sfn`` runs it (test credentials, no endpoint of AWS's),
and reports its wall time and the CPU it and its children used (the Lambda workers, the subprocess tests):
on a shared machine the wall time moves with the load, the CPU much less, so the load average before and
after is reported beside them.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from typing import Any

from benchmarks.workload import REPO_ROOT

TARGET_WALL_S = 10.0
SUITE_DEADLINE_S = 900.0
_LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_COMPILED = ("localaws", "services", "tests/workflows", "tests/helpers", "workflows", "infra")
_SUMMARY = re.compile(r"=* ?(\d+ (?:passed|failed).*?) in [\d.]+s")


def suite_part() -> dict[str, Any]:
    """Run ``pytest tests/workflows`` once; its wall time, CPU and outcome."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    environment |= _LOCAL_AWS_ENV
    command = [sys.executable, "-m", "pytest", "-p", "no:hypothesispytest", "tests/workflows", "-q"]
    command += ["-p", "no:cacheprovider"]
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    try:
        # As make test-sfn: the project's sources byte-compiled first (quick when they are current).
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", *_COMPILED],
            cwd=REPO_ROOT,
            check=True,
            timeout=SUITE_DEADLINE_S,
        )
        done = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=SUITE_DEADLINE_S,
        )
    except subprocess.TimeoutExpired:
        return {"ran": False, "reason": f"did not finish in {SUITE_DEADLINE_S:.0f} s"}
    wall_s = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = _SUMMARY.findall(done.stdout)
    return {
        "ran": True,
        "command": "pytest tests/workflows (as make test-sfn)",
        "passed": done.returncode == 0,
        "summary": summary[-1] if summary else done.stdout.strip().splitlines()[-1:],
        "wall_s": round(wall_s, 2),
        "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2),
        "target_wall_s": TARGET_WALL_S,
        "load_average_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],  # before, after
    }
