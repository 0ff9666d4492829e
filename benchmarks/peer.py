"""The peer part: the same five-state workload over HTTP against MiniStack in a child process.

MiniStack runs from its own Python (``make bench`` installs it in ``.bench/ministack-venv``), so its
dependencies never meet ours; without one, the part says why it did not run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.workload import (
    LOOPBACK,
    child_server,
    free_port,
    http_run,
    installed_version,
    quiet_env,
    ratio,
)

# The account MiniStack answers as (its default), used in the state machine's role ARN.
PEER_ACCOUNT_ID = "000000000000"
NO_PEER_REASON = (
    "no MiniStack Python given (--ministack-python or MINISTACK_PYTHON); "
    "install: python3 -m venv /tmp/ministack-venv && /tmp/ministack-venv/bin/pip install ministack"
)


def peer_part(
    *,
    python: str | None,
    executions: int,
    concurrency: int,
    log_dir: Path,
    ours_http_executions_per_s: float | None,
) -> dict[str, Any]:
    """MiniStack from ``python``; the ratio compares with our own HTTP run (None when that did not run)."""
    if not python:
        return {"ran": False, "reason": NO_PEER_REASON}
    version = installed_version(python, "ministack")
    if version is None:
        return {"ran": False, "reason": f"{python} cannot import ministack"}
    port = free_port()
    endpoint = f"http://{LOOPBACK}:{port}"
    env = quiet_env()
    env.update({"GATEWAY_PORT": str(port), "BIND_HOST": LOOPBACK, "LOG_LEVEL": "WARNING"})
    try:
        with child_server(
            [python, "-m", "ministack"],
            env,
            f"{endpoint}/_ministack/health",
            log_dir / "bench-ministack.log",
        ) as server:
            result = http_run(endpoint, PEER_ACCOUNT_ID, executions, concurrency, server.pid)
    except Exception as exc:
        return {
            "ran": False,
            "name": "ministack",
            "version": version,
            "reason": f"{type(exc).__name__}: {exc}",
        }
    result.update({"ran": True, "name": "ministack", "version": version, "server": "child process, loopback"})
    result["ratio_ours_http_over_peer"] = ratio(ours_http_executions_per_s, result["executions_per_s"])
    return result
