"""CPU time spent by the whole local stack: this process (by component) and its Lambda worker processes.

Read from ``/proc`` (Linux), so it counts what the kernel charged, whatever the machine's load: the figure to
track on a shared machine, where wall-clock rates are noisy. ``CpuMeter`` samples every thread of this
process and every child process a few times a second, so that the CPU of a worker that ends between two
samples is counted up to its last sample.

The breakdown of this process adds up to its total (``time.process_time``, the kernel's count for every
thread, ended ones included):

* a thread's CPU is read to the nanosecond (``/proc/.../schedstat``; the clock ticks of ``stat``, 10 ms,
  lost up to 20 ms on each thread born during a run, about 2 ms per order);
* a thread started while a meter runs records its own total as it ends, whatever its class does with
  ``run()``: ``Thread.start`` is wrapped and the started thread's ``run`` is wrapped on the instance;
* the CPU of garbage collections (``gc.callbacks``) is its own component, taken out of the thread it ran on;
* what is left (a thread started before the meter that ended between samples, the gaps between reads) is
  reported as ``rest``, signed, never spread over the components.

Components of this process are told apart by thread name: Python names a thread after its target
(``Thread-7 (_execution_logic)``), and ours carry names of their own (``sqs-esm-...``). Issue 10's figure is
the stack's, so ``cpu_ms_per_order`` leaves the load driver out and ``cpu_ms_per_order_with_load_driver``
keeps it in: the benchmark's main thread and its threads named ``bench-...`` (the import part's observers),
and any child process whose environment names it ``OUTSIDE_THE_STACK`` (the orders part's driver,
``benchmarks.order_driver``).
"""

from __future__ import annotations

import gc
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
SAMPLE_SECONDS = 0.2
LOAD_DRIVER = "the benchmark's own threads (load driver, observers; not the stack's)"
GARBAGE_COLLECTION = "garbage collection (any thread)"
REST = "rest (not seen by any sample or end record)"
# A child process with this variable in its environment is not the stack's (a benchmark's load driver): its
# CPU is reported under its value, outside ``cpu_ms_per_order``.
OUTSIDE_THE_STACK = "ORDERFLOW_CPU_OUTSIDE_THE_STACK"
OUTSIDE_PREFIX = "outside the stack: "
_OUTSIDE_ENTRY = f"{OUTSIDE_THE_STACK}=".encode()

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
    ("sns delivery", re.compile(r"^sns-lambda")),
    ("console", re.compile(r"^console")),
    ("alarms", re.compile(r"cloudwatch-alarms")),
    ("lambda invoke (async)", re.compile(r"^lambda-async")),
    (LOAD_DRIVER, re.compile(r"^MainThread$|^bench-")),  # the import part's sampler: bench-import-sampler
)


def _cpu_seconds(stat_path: Path) -> float | None:
    """A process's or thread's CPU in clock ticks (``stat``: utime + stime), or None once it is gone."""
    try:
        text = stat_path.read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15 of stat)


def _thread_cpu_seconds(task: Path) -> float | None:
    """A thread's CPU to the nanosecond (``schedstat``'s run time, the clock ``time.thread_time`` reads);
    in clock ticks where the kernel has no schedstat; None once the thread is gone."""
    try:
        return int((task / "schedstat").read_text().split(maxsplit=1)[0]) / 1e9
    except FileNotFoundError:
        return _cpu_seconds(task / "stat") if task.is_dir() else None
    except (OSError, ValueError, IndexError):
        return None


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
    """What a child process is: a Lambda function's worker, a process outside the stack, or other."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return "other process"
    for entry in environ:
        if entry.startswith(b"AWS_LAMBDA_FUNCTION_NAME="):
            return "lambda " + entry.split(b"=", 1)[1].decode()
        if entry.startswith(_OUTSIDE_ENTRY):
            return OUTSIDE_PREFIX + entry.split(b"=", 1)[1].decode()
    return "other process"


def available() -> bool:
    return Path("/proc/self/stat").is_file()


METER_THREAD = "cpu-meter"
_ended: dict[int, tuple[str, float]] = {}  # native thread id → (name, CPU seconds at its end)
_ended_lock = threading.Lock()
_original_start = threading.Thread.start


def _start_recording_end(self: threading.Thread) -> None:
    """``Thread.start`` while a meter runs: the thread's ``run`` (its class's own, if it overrides it) wrapped
    on the instance, so that the thread records its CPU as it ends, between two samples or not."""
    run = self.run

    def run_and_record() -> None:
        try:
            run()
        finally:
            self.__dict__.pop("run", None)  # no cycle left between the thread and this closure
            with _ended_lock:
                _ended[threading.get_native_id()] = (self.name, time.thread_time())

    self.run = run_and_record  # type: ignore[method-assign]
    _original_start(self)


class CpuMeter:
    """Samples this process's threads and its child processes until ``stop``; ``report`` gives the split.

    One meter at a time: the samples run on a thread of its own, whose CPU is left out of every figure.
    """

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._threads: dict[int, tuple[str, float, float]] = {}  # tid → (component, first seen, last)
        self._processes: dict[int, tuple[str, float, float]] = {}  # pid → (function, first seen, last)
        self._finished: list[tuple[str, float]] = []  # (component, CPU seconds) of threads that ended
        self._ended_unrecorded = (
            0  # threads started before the meter that ended: counted to their last sample
        )
        self._collections: dict[str, float] = {}  # component → CPU seconds of the collections on its threads
        self._collection_began = threading.local()
        self._own_start = self._own_end = self._meter_seconds = 0.0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> CpuMeter:
        threading.Thread.start = _start_recording_end  # type: ignore[method-assign]
        gc.callbacks.append(self._on_collection)
        self._thread = threading.Thread(target=self._run, name=METER_THREAD, daemon=True)
        self._thread.start()
        self._ready.wait()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        gc.callbacks.remove(self._on_collection)
        threading.Thread.start = _original_start  # type: ignore[method-assign]

    def _run(self) -> None:
        with _ended_lock:
            _ended.clear()  # what threads recorded after an earlier meter stopped
        self._sample(first=True)
        self._own_start = time.process_time()
        meter_start = time.thread_time()
        self._ready.set()
        while not self._stop.wait(SAMPLE_SECONDS):
            self._sample(first=False)
        self._sample(first=False)
        self._own_end = time.process_time()
        self._meter_seconds = time.thread_time() - meter_start

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        """A collection's CPU, taken from the component of the thread it ran on."""
        if phase == "start":
            self._collection_began.at = time.thread_time()
            return
        began = getattr(self._collection_began, "at", None)
        thread = threading.current_thread()
        if began is None or thread.name == METER_THREAD:
            return
        used = time.thread_time() - began
        component = component_of(thread.name)
        with self._lock:
            self._collections[component] = self._collections.get(component, 0.0) + used

    def _sample(self, *, first: bool) -> None:
        names = {thread.native_id: thread.name for thread in threading.enumerate()}
        with self._lock:
            alive = self._sample_threads(names, first=first)
            self._take_ended_threads(alive)
            self._sample_processes(first=first)

    def _sample_threads(self, names: dict[int | None, str], *, first: bool) -> set[int]:
        alive: set[int] = set()
        for task in Path(f"/proc/{self._pid}/task").iterdir():
            tid = int(task.name)
            cpu = _thread_cpu_seconds(task)
            if cpu is None or names.get(tid) == METER_THREAD:
                continue
            alive.add(tid)
            if tid in self._threads:
                component, base, _ = self._threads[tid]
                self._threads[tid] = (component, base, cpu)
            elif tid in names:  # a thread born since the last sample: all of its CPU is in the window
                self._threads[tid] = (component_of(names[tid]), cpu if first else 0.0, cpu)
            # (one started after ``threading.enumerate`` above is taken at the next sample, or as it ends)
        return alive

    def _take_ended_threads(self, alive: set[int]) -> None:
        """Threads that ended: to the end they recorded, or to their last sample if they recorded none."""
        with _ended_lock:
            ended = dict(_ended)
            _ended.clear()
        for tid, (name, cpu) in ended.items():
            if name == METER_THREAD:
                continue
            # Its id may be reused by a new thread: what it used moves to the finished list.
            _, base, _ = self._threads.pop(tid, ("", 0.0, 0.0))
            self._finished.append((component_of(name), cpu - base))
        for tid in [tid for tid in self._threads if tid not in alive]:
            component, base, last = self._threads.pop(tid)
            self._finished.append((component, last - base))
            self._ended_unrecorded += 1

    def _sample_processes(self, *, first: bool) -> None:
        for pid in _children(self._pid):
            cpu = _cpu_seconds(Path(f"/proc/{pid}/stat"))
            if cpu is None:
                continue
            if pid in self._processes:
                function, base, _ = self._processes[pid]
                self._processes[pid] = (function, base, cpu)
            else:
                self._processes[pid] = (_function_of(pid), cpu if first else 0.0, cpu)

    def _components(self) -> dict[str, float]:
        """CPU seconds of this process by component, garbage collection apart; not yet the rest."""
        components: dict[str, float] = {}
        for component, base, last in self._threads.values():
            components[component] = components.get(component, 0.0) + last - base
        for component, used in self._finished:
            components[component] = components.get(component, 0.0) + used
        for component, used in self._collections.items():
            components[component] = components.get(component, 0.0) - used
        components[GARBAGE_COLLECTION] = sum(self._collections.values())
        return components

    def report(self, units: int) -> dict[str, Any]:
        """CPU in ms per unit of work (e.g. per order), in total and split by process and component.

        ``cpu_ms_per_order`` is the stack's (issue 10's figure): every process of it, without the load
        driver (the benchmark's own threads, and child processes marked ``OUTSIDE_THE_STACK``);
        ``cpu_ms_per_order_with_load_driver`` adds the driver back. The components and ``rest`` add up to
        this process's total, its main thread included.
        """
        with self._lock:
            components = self._components()
            functions: dict[str, float] = {}
            outside: dict[str, float] = {}
            for function, base, last in self._processes.values():
                into = outside if function.startswith(OUTSIDE_PREFIX) else functions
                into[function] = into.get(function, 0.0) + last - base
            own = self._own_end - self._own_start - self._meter_seconds
            ended_unrecorded = self._ended_unrecorded
        components[REST] = own - sum(components.values())
        driver = components.get(LOAD_DRIVER, 0.0)
        workers = sum(functions.values())
        stack = own - driver + workers
        with_driver = own + workers + sum(outside.values())
        per = max(units, 1)

        def ms(seconds: float) -> float:
            return round(seconds * 1000 / per, 2)

        return {
            "cpu_ms_per_order": ms(stack),
            "cpu_ms_per_order_with_load_driver": ms(with_driver),
            "by_process": {
                "endpoint (engine, http, deliveries)": ms(own - driver),
                "lambda workers": ms(workers),
                LOAD_DRIVER: ms(driver),
                **{name: ms(used) for name, used in outside.items()},
            },
            "endpoint_by_component": {k: ms(v) for k, v in sorted(components.items(), key=lambda kv: -kv[1])},
            "endpoint_threads_ended_unrecorded": ended_unrecorded,
            "lambda_workers_by_function": {
                k: ms(v) for k, v in sorted(functions.items(), key=lambda kv: -kv[1])
            },
            "cpu_s_total": round(stack, 2),
            "cpu_s_total_with_load_driver": round(with_driver, 2),
            "units": units,
        }
