"""CPU time spent by the whole local stack: this process (by component) and its Lambda worker processes.

Read from ``/proc`` (Linux), so it counts what the kernel charged, whatever the machine's load: the figure to
track on a shared machine, where wall-clock rates are noisy. ``CpuMeter`` samples every thread of this
process and every child process a few times a second, so that the CPU of a worker that ends between two
samples is counted up to its last sample. A thread of this process that ends records its own total as it
ends (``Thread.run`` is wrapped while a meter runs); what no sample saw is reported as ``unattributed``.

Components of this process are told apart by thread name: Python names a thread after its target
(``Thread-7 (_execution_logic)``), and ours carry names of their own (``sqs-esm-...``).
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path
from typing import Any

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
SAMPLE_SECONDS = 0.2
METER = "cpu meter (not counted)"

# (component, pattern on the Python thread name); first match wins.
COMPONENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("http server", re.compile(r"localaws-http|process_request_thread|serve_forever|endpoint-conn")),
    (
        "step functions engine",
        re.compile(r"_execution_logic|\(eval\)|_exec_and_notify|wait_for_task_token|_run_with_timeout"),
    ),
    ("sqs event source", re.compile(r"^sqs-esm")),
    ("kinesis event source", re.compile(r"^kinesis-esm")),
    ("eventbridge delivery", re.compile(r"eventbridge|events-")),
    ("console", re.compile(r"^console")),
    ("alarms", re.compile(r"cloudwatch-alarms")),
    ("lambda invoke (async)", re.compile(r"^lambda-async")),
    ("main (load driver)", re.compile(r"^MainThread$")),
    (METER, re.compile(r"^cpu-meter$")),
)


def _cpu_seconds(stat_path: Path) -> float | None:
    try:
        text = stat_path.read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15 of stat)


def component_of(thread_name: str) -> str:
    for component, pattern in COMPONENTS:
        if pattern.search(thread_name):
            return component
    return "other threads"


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.extend(int(child) for child in task.read_text().split())
        except OSError:
            continue
    return found


def _function_of(pid: int) -> str:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return "other process"
    for entry in environ:
        if entry.startswith(b"AWS_LAMBDA_FUNCTION_NAME="):
            return "lambda " + entry.split(b"=", 1)[1].decode()
    return "other process"


def available() -> bool:
    return Path("/proc/self/stat").is_file()


_ended: dict[int, tuple[str, float]] = {}  # native thread id → (name, CPU seconds at its end)
_ended_lock = threading.Lock()
_original_run = threading.Thread.run


def _run_and_record(self: threading.Thread) -> None:
    try:
        _original_run(self)
    finally:
        with _ended_lock:
            _ended[threading.get_native_id()] = (self.name, time.thread_time())


class CpuMeter:
    """Samples this process's threads and its child processes until ``stop``; ``report`` gives the split."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._threads: dict[int, tuple[str, float, float]] = {}  # tid → (component, first seen, last)
        self._processes: dict[int, tuple[str, float, float]] = {}  # pid → (function, first seen, last)
        self._finished: list[tuple[str, float]] = []  # (component, CPU seconds) of threads that ended
        self._own_start = _cpu_seconds(Path(f"/proc/{self._pid}/stat")) or 0.0
        self._own_end = self._own_start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> CpuMeter:
        threading.Thread.run = _run_and_record  # type: ignore[method-assign]
        self._sample(first=True)
        self._thread = threading.Thread(target=self._run, name="cpu-meter", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self._sample(first=False)
        threading.Thread.run = _original_run  # type: ignore[method-assign]

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self._sample(first=False)

    def _sample(self, *, first: bool) -> None:
        names = {thread.native_id: thread.name for thread in threading.enumerate()}
        with self._lock:
            for task in Path(f"/proc/{self._pid}/task").iterdir():
                tid = int(task.name)
                cpu = _cpu_seconds(task / "stat")
                if cpu is None:
                    continue
                if tid in self._threads:
                    component, base, _ = self._threads[tid]
                    self._threads[tid] = (component, base, cpu)
                elif tid in names:  # a thread born since the last sample: all of its CPU is in the window
                    self._threads[tid] = (component_of(names[tid]), cpu if first else 0.0, cpu)
                # (one started after ``threading.enumerate`` above is taken at the next sample, or as it ends)
            for pid in _children(self._pid):
                cpu = _cpu_seconds(Path(f"/proc/{pid}/stat"))
                if cpu is None:
                    continue
                if pid in self._processes:
                    function, base, _ = self._processes[pid]
                    self._processes[pid] = (function, base, cpu)
                else:
                    self._processes[pid] = (_function_of(pid), cpu if first else 0.0, cpu)
            with _ended_lock:
                ended = dict(_ended)
                _ended.clear()
            for tid, (name, cpu) in ended.items():
                # Its id may be reused by a new thread: what it used moves to the finished list.
                _, base, _ = self._threads.pop(tid, ("", 0.0, 0.0))
                self._finished.append((component_of(name), cpu - base))
            own = _cpu_seconds(Path(f"/proc/{self._pid}/stat"))
            if own is not None:
                self._own_end = own

    def report(self, units: int) -> dict[str, Any]:
        """CPU in ms per unit of work (e.g. per order), in total and split by process and component."""
        with self._lock:
            components: dict[str, float] = {}
            for component, base, last in self._threads.values():
                components[component] = components.get(component, 0.0) + last - base
            for component, used in self._finished:
                components[component] = components.get(component, 0.0) + used
            functions: dict[str, float] = {}
            for function, base, last in self._processes.values():
                functions[function] = functions.get(function, 0.0) + last - base
            own = self._own_end - self._own_start
        seen = sum(components.values())
        components["unattributed (threads that ended between samples)"] = max(0.0, own - seen)
        # Reading /proc is the meter's cost, not the stack's. The process total counts in 10 ms clock ticks,
        # a thread's to the nanosecond: on a mostly idle endpoint the meter's share can exceed the total.
        own = max(0.0, own - components.pop(METER, 0.0))
        workers = sum(functions.values())
        per = max(units, 1)

        def ms(seconds: float) -> float:
            return round(seconds * 1000 / per, 2)

        return {
            "cpu_ms_per_order": ms(own + workers),
            "by_process": {
                "endpoint (engine, deliveries, load driver)": ms(own),
                "lambda workers": ms(workers),
            },
            "endpoint_by_component": {k: ms(v) for k, v in sorted(components.items(), key=lambda kv: -kv[1])},
            "lambda_workers_by_function": {
                k: ms(v) for k, v in sorted(functions.items(), key=lambda kv: -kv[1])
            },
            "cpu_s_total": round(own + workers, 2),
            "units": units,
        }
