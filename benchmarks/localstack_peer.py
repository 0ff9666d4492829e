"""The second peer: the same five-state workload over HTTP against LocalStack (host mode, no Docker).

LocalStack runs from its own venv on CPython 3.13 (``make bench`` builds ``.localstack/venv`` from
``peers/localstack/uv.lock``) and is started by ``peers.localstack.server``: loopback only, DynamoDB served
from moto inside it. Without that venv, the part says why it did not run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.workload import http_run, installed_version, ratio
from peers.localstack.server import ACCOUNT_ID, LocalStackServer

NO_LOCALSTACK_REASON = (
    "no LocalStack Python given (--localstack-python or LOCALSTACK_PYTHON); `make bench` builds one in "
    ".localstack/venv (it needs CPython 3.13)"
)


def localstack_part(
    *,
    python: str | None,
    executions: int,
    concurrency: int,
    log_dir: Path,
    ours_http_executions_per_s: float | None,
) -> dict[str, Any]:
    """LocalStack from ``python``; the ratio compares with our own HTTP run (None when that did not run)."""
    if not python:
        return {"ran": False, "name": "localstack", "reason": NO_LOCALSTACK_REASON}
    version = installed_version(python, "localstack-core")
    if version is None:
        return {"ran": False, "name": "localstack", "reason": f"{python} cannot import localstack"}
    server = LocalStackServer(python=Path(python), log_path=log_dir / "bench-localstack.log")
    try:
        with server:
            result = http_run(server.endpoint, ACCOUNT_ID, executions, concurrency, server.pid)
    except Exception as exc:
        return {
            "ran": False,
            "name": "localstack",
            "version": version,
            "reason": f"{type(exc).__name__}: {exc}",
        }
    result.update(
        {
            "ran": True,
            "name": "localstack",
            "version": version,
            "server": "child process, loopback, host mode (no Docker), DynamoDB from moto",
        }
    )
    result["ratio_ours_http_over_peer"] = ratio(ours_http_executions_per_s, result["executions_per_s"])
    return result
