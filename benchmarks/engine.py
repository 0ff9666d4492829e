"""The engine part: the five-state workload on stock moto and on ours, in-process and over HTTP.

In-process, stock moto and ``localaws.patches.speedups`` run in the same process one after the other, then
a leave-one-out ablation of the speed-ups; over HTTP, the workload runs against a child process
(``python -m benchmarks --serve-moto PORT``) serving localaws's endpoint with the speed-ups installed.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from moto import mock_aws
from moto.server import ThreadedMotoServer

from benchmarks.workload import (
    DEFINITION_SUMMARY,
    LOOPBACK,
    WARMUP_EXECUTIONS,
    cached_clients,
    child_server,
    create_workload,
    free_port,
    http_run,
    quiet_env,
    ratio,
    run_executions,
    side_effects,
)
from localaws.endpoint.defaults import DEFAULT_ACCOUNT_ID, MOTO_CONFIG
from localaws.endpoint.server import LocalEndpoint
from localaws.heap import Heap, wanted
from localaws.patches import speedups

# How long a served child waits for SIGTERM before it stops by itself.
SERVE_DEADLINE_S = 3600

# --- in-process ---------------------------------------------------------------------------------------


def _in_process_run(
    *, engine_patches: tuple[str, ...] | None, executions: int, concurrency: int
) -> dict[str, Any]:
    """One fresh moto world; ``engine_patches`` None = stock moto, else the patches to install."""
    speedups.uninstall()
    if engine_patches is not None:
        speedups.install(only=engine_patches)
    client = cached_clients()
    try:
        with mock_aws(config=MOTO_CONFIG):
            workload = create_workload(client, DEFAULT_ACCOUNT_ID)
            run_executions(client("stepfunctions"), workload, executions=WARMUP_EXECUTIONS, concurrency=1)
            result = run_executions(
                client("stepfunctions"),
                workload,
                executions=executions,
                concurrency=concurrency,
                first_index=WARMUP_EXECUTIONS,
            )
            result["side_effects"] = side_effects(client, workload)
            if engine_patches is not None:
                result["engine_cache_stats"] = speedups.stats()
    finally:
        speedups.uninstall()
    return result


def _ablation(ours: dict[str, Any], executions: int, concurrency: int) -> dict[str, Any]:
    """Leave one patch out at a time: the drop from "ours" is what that patch contributes."""
    without: dict[str, Any] = {}
    for left_out in speedups.PATCH_NAMES:
        kept = tuple(name for name in speedups.PATCH_NAMES if name != left_out)
        run = _in_process_run(engine_patches=kept, executions=executions, concurrency=concurrency)
        without[left_out] = {
            "executions_per_s": run["executions_per_s"],
            "latency_ms": run["latency_ms"],
            "failed": run["failed"],
            "ours_over_this": ratio(ours["executions_per_s"], run["executions_per_s"]),
        }
    return without


def in_process_part(executions: int, concurrency: int, ablation: bool) -> dict[str, Any]:
    stock = _in_process_run(engine_patches=None, executions=executions, concurrency=concurrency)
    ours = _in_process_run(
        engine_patches=speedups.PATCH_NAMES, executions=executions, concurrency=concurrency
    )
    result: dict[str, Any] = {
        "stock": stock,
        "ours": ours,
        "speedup_executions_per_s": ratio(ours["executions_per_s"], stock["executions_per_s"]),
    }
    if ablation:
        result["ablation_without"] = _ablation(ours, executions, concurrency)
    return result


# --- over HTTP ----------------------------------------------------------------------------------------


def _serve_stock_moto(port: int, stop: threading.Event) -> None:
    with mock_aws(config=MOTO_CONFIG):
        server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
        server.start()
        try:
            stop.wait(timeout=SERVE_DEADLINE_S)
        finally:
            server.stop()


def serve_moto(port: int) -> None:
    """Child-process entry: localaws's endpoint (mock_aws + keep-alive server) + engine until terminated.

    ``LOCALAWS_BENCH_STOCK=1`` serves stock moto instead: its ThreadedMotoServer, no engine. The heap is
    settled once the endpoint is up, as ``LocalAws`` settles the process that holds its endpoint (unless
    ``ORDERFLOW_SETTLE_HEAP=0``): the run measures the engine as the embedded stack runs it.
    """
    os.environ["MOTO_PORT"] = str(port)  # where moto's engine would call without the in-process stubber
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per request
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if os.environ.get("LOCALAWS_BENCH_STOCK") == "1":
        _serve_stock_moto(port, stop)
        return
    speedups.install()
    endpoint = LocalEndpoint(port=port)
    endpoint.start()
    heap = Heap()
    if wanted():
        heap.settle()
    try:
        stop.wait(timeout=SERVE_DEADLINE_S)
    finally:
        endpoint.stop()
        heap.restore()
        speedups.uninstall()


def moto_http_part(executions: int, concurrency: int, log_dir: Path) -> dict[str, Any]:
    port = free_port()
    endpoint = f"http://{LOOPBACK}:{port}"
    command = [sys.executable, "-m", "benchmarks", "--serve-moto", str(port)]
    try:
        with child_server(
            command, quiet_env(), f"{endpoint}/moto-api/", log_dir / "bench-moto-server.log"
        ) as server:
            result = http_run(endpoint, DEFAULT_ACCOUNT_ID, executions, concurrency, server.pid)
    except Exception as exc:
        return {"ran": False, "reason": f"{type(exc).__name__}: {exc}"}
    result["ran"] = True
    result["server"] = (
        "localaws.endpoint.server.LocalEndpoint + localaws.patches.speedups, child process, loopback"
    )
    return result


def engine_part(
    *, executions: int, concurrency: int, ablation: bool, http: bool, log_dir: Path
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "definition": DEFINITION_SUMMARY,
        "executions": executions,
        "concurrency": concurrency,
        "in_process": in_process_part(executions, concurrency, ablation),
    }
    if http:
        result["http"] = moto_http_part(executions, concurrency, log_dir)
    return result
