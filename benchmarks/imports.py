"""The bulk-import part: one order file through the real import pipeline, timed and metered.

A JSON Lines file of ``orders`` valid orders goes to the imports bucket's ``incoming/`` through the public S3
API, as ``orderflow import-orders`` sends it; S3 notifies the import queue, the importer publishes the
orders at its paced rate (held by the callback queues' backlog and the running orders, as deployed), and the
order workflow runs each. Measured: when the report is written, when every order's execution has ended,
orders per second end to end, the completions in each window of ``WINDOW_S`` (to see the rate change as
executions pile up in the stack), and the CPU per imported order of the whole stack (``benchmarks.cpu``: the
endpoint process by component, each Lambda function's workers).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from benchmarks import cpu
from benchmarks.order_driver import count_executions
from benchmarks.orders import bench_stack, order_machine
from benchmarks.workload import without_app
from infra.naming import Names, configured_prefix
from localaws.local_aws import LocalAws
from localaws.tools.imports import wait_for_report
from localaws.tools.orders import sample, seed_catalogue

IMPORT_DEADLINE_S = 3600.0
POLL_S = 2.0
WINDOW_S = 30.0
WARMUP_ORDERS = 10
RUNNING_PAGE = 1000
SKUS = 20


def order_file(orders: int, tag: str) -> bytes:
    """``orders`` valid orders, one unit each, spread over the stocked SKUs (as the import soak's file)."""
    lines = []
    for index in range(orders):
        detail = sample("normal", order_id=f"bench-import-{tag}-{index:05d}")
        detail["items"] = [{"sku": f"SKU-{index % SKUS + 1}", "quantity": 1, "unitPrice": "9.99"}]
        detail["totalAmount"] = "9.99"
        lines.append(json.dumps(detail) + "\n")
    return "".join(lines).encode()


def _running(sfn: Any, machine_arn: str) -> int:
    """The running executions, from one page: moto refuses the next page's token when the execution it
    points at has ended meanwhile (InvalidToken), and the importer keeps far fewer than a page running."""
    page = sfn.list_executions(stateMachineArn=machine_arn, statusFilter="RUNNING", maxResults=RUNNING_PAGE)
    return len(page["executions"])


def _statuses(sfn: Any, machine_arn: str) -> dict[str, int]:
    statuses: dict[str, int] = {}
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine_arn):
        for execution in page["executions"]:
            statuses[execution["status"]] = statuses.get(execution["status"], 0) + 1
    return statuses


def held_by(log: Path) -> dict[str, float]:
    """Seconds the importer held publishing, by limit, summed over its invocations (from its log)."""
    held: dict[str, float] = {}
    if not log.is_file():
        return held
    for line in log.read_text(errors="replace").splitlines():
        if '"held_seconds_by_limit"' not in line:
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        for limit, seconds in record.get("held_seconds_by_limit", {}).items():
            held[limit] = round(held.get(limit, 0.0) + float(seconds), 1)
    return held


class _Sampler:
    """Every ``POLL_S``, in a thread of its own: the running executions (one page of them) and the callback
    queues' backlog. Nothing that lists every execution runs while the meter does (serving that would be
    counted as the import's CPU); the executions' end times are read once, after it stops."""

    def __init__(self, sfn: Any, machine_arn: str, sqs: Any, queue_urls: list[str]) -> None:
        self._sfn = sfn
        self._arn = machine_arn
        self._sqs = sqs
        self._queue_urls = queue_urls
        self.most_waiting: dict[str, int] = {}  # the callback queues' largest backlog seen
        self.running: list[tuple[float, int]] = []  # (seconds since start, running executions)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-import-sampler", daemon=True)
        self.started_at = time.time()

    def start(self) -> _Sampler:
        self.started_at = time.time()
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            # An endpoint too busy to answer in time: the next poll asks again.
            with contextlib.suppress(BotoCoreError, ClientError):
                self._sample()
            self._stop.wait(POLL_S)

    def _sample(self) -> None:
        self.running.append((time.time() - self.started_at, _running(self._sfn, self._arn)))
        for url in self._queue_urls:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            name = url.rsplit("/", 1)[-1]
            waiting = int(attributes["ApproximateNumberOfMessages"])
            self.most_waiting[name] = max(self.most_waiting.get(name, 0), waiting)

    def wait_until_ended(self, ended_before: int, expected: int, deadline: float) -> int:
        """Wait until no execution runs and ``expected`` more have ended; returns how many ended."""
        ended = 0
        while time.monotonic() < deadline:
            if self.running and self.running[-1][1] == 0:
                ended = count_executions(self._sfn, self._arn) - _running(self._sfn, self._arn) - ended_before
                if ended >= expected:
                    break
            time.sleep(POLL_S)
        self._stop.set()
        self._thread.join(30.0)
        return ended

    def most_running(self) -> list[int]:
        """The most executions running at once in each ``WINDOW_S`` since the start."""
        most: list[int] = []
        for at, running in self.running:
            window = int(at // WINDOW_S)
            most.extend([0] * (window + 1 - len(most)))
            most[window] = max(most[window], running)
        return most


def _ended_per_window(sfn: Any, machine_arn: str, started_at: float) -> list[int]:
    """How many executions ended in each ``WINDOW_S`` after ``started_at`` (epoch seconds)."""
    ended: list[int] = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine_arn):
        for execution in page["executions"]:
            stop = execution.get("stopDate")
            if stop is None or stop.timestamp() < started_at:
                continue
            window = int((stop.timestamp() - started_at) // WINDOW_S)
            ended.extend([0] * (window + 1 - len(ended)))
            ended[window] += 1
    return ended


def run_import(
    local: LocalAws, bucket: str, machine_arn: str, importer: str, *, orders: int, tag: str
) -> dict[str, Any]:
    """Upload one file of ``orders`` orders; follow it to its report and every execution to its end."""
    s3 = local.client("s3")
    sfn = local.client("stepfunctions")
    body = order_file(orders, tag)
    key = f"incoming/bench-{tag}.jsonl"
    environment = local.client("lambda").get_function_configuration(FunctionName=importer)["Environment"]
    queue_urls = [url for url in environment["Variables"].get("BACKLOG_QUEUE_URLS", "").split(",") if url]
    sampler = _Sampler(sfn, machine_arn, local.client("sqs"), queue_urls)
    ended_before = count_executions(sfn, machine_arn) - _running(sfn, machine_arn)
    meter = cpu.CpuMeter().start() if cpu.available() else None
    started = time.monotonic()
    sampler.start()
    version = s3.put_object(Bucket=bucket, Key=key, Body=body)["VersionId"]
    report = wait_for_report(s3, bucket, key, version, timeout=IMPORT_DEADLINE_S, every=POLL_S)
    reported_s = time.monotonic() - started
    ended = sampler.wait_until_ended(ended_before, report.totals["accepted"], started + IMPORT_DEADLINE_S)
    finished_s = time.monotonic() - started
    if meter is not None:
        meter.stop()
    return {
        "orders": orders,
        "report": {"status": report.status, "totals": report.totals, "after_s": round(reported_s, 1)},
        "ended": ended,
        "all_ended_after_s": round(finished_s, 1),
        "orders_per_s": round(ended / finished_s, 2) if finished_s > 0 else None,
        f"ended_per_{WINDOW_S:g}_s": _ended_per_window(sfn, machine_arn, sampler.started_at),
        f"most_running_per_{WINDOW_S:g}_s": sampler.most_running(),
        "most_waiting_by_callback_queue": sampler.most_waiting,
        "cpu": meter.report(orders) if meter else {"ran": False, "reason": "no /proc here"},
    }


def import_part(
    *, orders: int, workers: int, time_scale: float = 1.0, keep_logs: Path | None = None
) -> dict[str, Any]:
    """One file of ``orders`` lines through the import pipeline of the synthesized app (module docstring)."""
    if (missing := without_app()) is not None:
        return missing
    names = Names(configured_prefix())
    with tempfile.TemporaryDirectory(prefix="localaws-bench-import-") as run_dir:
        local = bench_stack(Path(run_dir), workers=workers, time_scale=time_scale)
        try:
            local.start()
            seed_catalogue(local.report, local.region)
            machine_arn = order_machine(local)
            bucket = names.import_bucket(local.account_id, local.region)
            # Every function's workers have served once (imports and clients made) before the meter starts.
            warm = run_import(local, bucket, machine_arn, names("importer"), orders=WARMUP_ORDERS, tag="warm")
            result = run_import(local, bucket, machine_arn, names("importer"), orders=orders, tag=f"{orders}")
            result["warmup"] = {"orders": WARMUP_ORDERS, "ended": warm["ended"]}
            result["statuses"] = _statuses(local.client("stepfunctions"), machine_arn)
            result["importer_held_s"] = held_by(Path(run_dir) / "logs" / f"{names('importer')}.log")
        except Exception as exc:
            return {"ran": False, "reason": f"{type(exc).__name__}: {exc}"}
        finally:
            local.stop()
            if keep_logs is not None:
                shutil.copytree(Path(run_dir) / "logs", keep_logs, dirs_exist_ok=True)
    return {
        "ran": True,
        "file": f"{orders} JSON Lines orders (sample normal.json, one unit of one of {SKUS} SKUs each)",
        "workers_per_function": workers,
        "time_scale": time_scale,
        **result,
        "cpu_ms_per_order": result["cpu"].get("cpu_ms_per_order"),
        "cpu_ms_per_order_with_load_driver": result["cpu"].get("cpu_ms_per_order_with_load_driver"),
    }
