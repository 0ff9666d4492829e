"""benchmarks.cpu: the CPU of the stack's threads and worker processes, attributed to what spent it."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from benchmarks import cpu

pytestmark = pytest.mark.skipif(not cpu.available(), reason="needs /proc (Linux)")

SPIN = "n = 0\nfor i in range(3_000_000):\n    n += i\n"
ENDPOINT = "endpoint (engine, http, deliveries)"


def _spin() -> None:
    exec(SPIN, {})


def _spin_briefly() -> None:
    exec("n = 0\nfor i in range(200_000):\n    n += i\n", {})


class _PollerWithItsOwnRun(threading.Thread):
    """A thread whose class overrides ``run()`` (as ``threading.Timer`` does), with the CPU it used."""

    used_s = 0.0

    def run(self) -> None:
        _spin()
        self.used_s = time.thread_time()


def _ms(report: dict[str, Any], component: str) -> float:
    return float(report["endpoint_by_component"][component])


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
    assert report["by_process"][ENDPOINT] >= sqs
    assert cpu.METER_THREAD not in report["endpoint_by_component"]


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


def test_a_thread_whose_class_overrides_run_is_counted_to_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a meter that samples only at its start and stop, and a poller whose class has its own run()
    monkeypatch.setattr(cpu, "SAMPLE_SECONDS", 3600.0)
    meter = cpu.CpuMeter().start()
    poller = _PollerWithItsOwnRun(name="sqs-esm-orders-0")
    poller.start()
    poller.join()
    meter.stop()

    # When the report is read for one order
    report = meter.report(1)

    # Then all of the poller's CPU, which no sample saw, is the SQS event source's; none is left over
    assert _ms(report, "sqs event source") == pytest.approx(poller.used_s * 1000, abs=0.5)
    assert abs(_ms(report, cpu.REST)) < 5


def test_the_components_add_up_to_the_process_total(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a meter, twenty engine threads born during it that work briefly and outlive it, and a main
    # thread that works too
    monkeypatch.setattr(cpu, "SAMPLE_SECONDS", 0.05)
    meter = cpu.CpuMeter().start()
    release = threading.Event()

    def work_then_wait() -> None:
        _spin_briefly()
        release.wait(60)

    engine = [
        threading.Thread(target=work_then_wait, name=f"sfn-task-{n} (_exec_and_notify)") for n in range(20)
    ]
    for thread in engine:
        thread.start()
    _spin()
    time.sleep(0.3)  # every engine thread done with its work and seen by a sample
    meter.stop()
    release.set()
    for thread in engine:
        thread.join()

    # When the report is read for one order
    report = meter.report(1)

    # Then the components, the rest included, are the process total; the rest is near nothing (each thread
    # read to the nanosecond, not in 10 ms clock ticks), and the driver is apart from the stack's figure
    components = report["endpoint_by_component"]
    process_total = report["by_process"][ENDPOINT] + report["by_process"][cpu.LOAD_DRIVER]
    assert sum(components.values()) == pytest.approx(process_total, abs=0.2)
    assert _ms(report, "step functions engine") > 0
    assert abs(_ms(report, cpu.REST)) < 10
    driver = _ms(report, cpu.LOAD_DRIVER)
    assert driver > 0
    assert report["cpu_ms_per_order_with_load_driver"] - report["cpu_ms_per_order"] == pytest.approx(
        driver, abs=0.02
    )


def test_a_collection_is_garbage_collection_not_the_thread_it_ran_on() -> None:
    # Given a meter, and a delivery thread that makes reference cycles and collects them
    meter = cpu.CpuMeter().start()

    def make_garbage() -> None:
        for _ in range(200_000):
            cycle: list[Any] = []
            cycle.append(cycle)
        gc.collect()

    delivery = threading.Thread(target=make_garbage, name="eventbridge-delivery-0")
    delivery.start()
    delivery.join()
    meter.stop()

    # When the report is read for one order
    report = meter.report(1)

    # Then the collections have their own line, and the components still add up
    assert _ms(report, cpu.GARBAGE_COLLECTION) > 0
    assert _ms(report, "eventbridge delivery") > 0
    assert abs(_ms(report, cpu.REST)) < 10


@pytest.mark.parametrize(
    ("thread_name", "component"),
    [
        ("Thread-7 (_execution_logic)", "step functions engine"),
        ("Thread-9 (process_request_thread)", "http server"),
        ("kinesis-esm-shardId-000", "kinesis event source"),
        ("console-notifications", "console"),
        ("bench-import-sampler", cpu.LOAD_DRIVER),
        ("MainThread", cpu.LOAD_DRIVER),
        ("something-else", "other threads"),
    ],
)
def test_threads_are_told_apart_by_name(thread_name: str, component: str) -> None:
    assert cpu.component_of(thread_name) == component
