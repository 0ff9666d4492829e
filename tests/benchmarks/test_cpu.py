"""benchmarks.cpu: the CPU of the stack's threads and worker processes, attributed to what spent it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from benchmarks import cpu

pytestmark = pytest.mark.skipif(not cpu.available(), reason="needs /proc (Linux)")

SPIN = "n = 0\nfor i in range(3_000_000):\n    n += i\n"


def _spin() -> None:
    exec(SPIN, {})


def test_a_thread_that_ends_is_counted_under_its_component() -> None:
    # Given a meter, and an SQS poller thread that works and ends before the meter samples again
    meter = cpu.CpuMeter().start()
    poller = threading.Thread(target=_spin, name="sqs-esm-orders-0")
    poller.start()
    poller.join()
    meter.stop()

    # When the report is read for one order
    report = meter.report(1)

    # Then its CPU is the SQS event source's, and counted in the endpoint's total
    sqs = report["endpoint_by_component"]["sqs event source"]
    assert sqs > 0
    # (the process total is read in clock ticks of 10 ms, a thread's total to the nanosecond)
    assert report["by_process"]["endpoint (engine, deliveries, load driver)"] >= sqs - 30
    assert cpu.METER not in report["endpoint_by_component"]


def test_a_worker_process_is_counted_under_its_function() -> None:
    # Given a meter, and a child process with a Lambda function's name in its environment
    meter = cpu.CpuMeter().start()
    environment = {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": "orderflow-payment"}
    child = subprocess.Popen([sys.executable, "-c", SPIN + "import time\ntime.sleep(1)\n"], env=environment)
    try:
        child.wait(timeout=60)
    finally:
        meter.stop()

    # When the report is read for two orders
    report = meter.report(2)

    # Then the child's CPU is the payment function's, per order, and part of the total
    payment = report["lambda_workers_by_function"]["lambda orderflow-payment"]
    assert payment > 0
    assert report["cpu_ms_per_order"] >= payment
    assert report["units"] == 2


@pytest.mark.parametrize(
    ("thread_name", "component"),
    [
        ("Thread-7 (_execution_logic)", "step functions engine"),
        ("Thread-9 (process_request_thread)", "http server"),
        ("kinesis-esm-shardId-000", "kinesis event source"),
        ("console-notifications", "console"),
        ("something-else", "other threads"),
    ],
)
def test_threads_are_told_apart_by_name(thread_name: str, component: str) -> None:
    assert cpu.component_of(thread_name) == component
