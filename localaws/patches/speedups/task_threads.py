"""Speed-up of moto's ASL interpreter: the thread each task state runs on.

* ``task_threads`` -- to enforce ``TimeoutSeconds``, every Task (and Map/Parallel) state runs its work on a
  new thread (``ExecutionState._evaluate_with_timeout``) and waits for it with that timeout: a thread
  created, started and torn down per state, about a twentieth of the engine's CPU under load. Its ``Thread``
  becomes ``_pooled_thread``: the work runs on a kept worker thread, in a fresh ``contextvars`` context as
  on a new thread, and the caller waits as before. A worker is never shared by two states at once: when none
  is idle, a new one starts, so a state that blocks (a task token, a task past its timeout) holds only its
  own worker, as it held its own thread. Idle workers end after ``IDLE_SECONDS``. Any other use of
  ``Thread`` in that module (not a daemon, or other arguments) gets a real ``threading.Thread``.
"""

from __future__ import annotations

import contextvars
import itertools
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any

from localaws.patches import registry

_THREAD = "moto.stepfunctions.parser.asl.component.state.exec.execute_state.Thread"
# How long an idle worker waits for the next state before it ends.
IDLE_SECONDS = 30.0


class _Workers:
    """Daemon threads that run one job at a time; a job never waits for a busy worker."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)  # workers waiting for a job and not yet promised one
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self.started = 0

    def submit(self, job: Callable[[], None]) -> None:
        if not self._idle.acquire(blocking=False):
            with self._lock:
                self.started += 1
            # Named after the target, as Python names a Thread (benchmarks.cpu counts it as the engine's).
            threading.Thread(
                target=self._work, name=f"sfn-task-{next(self._numbers)} (_exec_and_notify)", daemon=True
            ).start()
        self._jobs.put(job)

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                if self._idle.acquire(blocking=False):
                    return  # no job was promised to this worker: end
                continue  # one was: it is on its way
            contextvars.Context().run(job)
            self._idle.release()


workers = _Workers()


class _PooledThread:
    """What ``execute_state`` starts: ``target`` on a kept worker; ``is_alive``/``join`` as a Thread's."""

    def __init__(self, target: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._target = target
        self._args = args
        self._kwargs = kwargs
        self._started = False
        self._done = threading.Event()
        self.daemon = True
        self.name = f"sfn-task ({getattr(target, '__name__', 'target')})"

    def start(self) -> None:
        if self._started:
            raise RuntimeError("threads can only be started once")
        self._started = True
        workers.submit(self._run)

    def _run(self) -> None:
        try:
            self._target(*self._args, **self._kwargs)
        except BaseException:
            # What an uncaught exception on a thread does: threading.excepthook, then the thread goes on.
            exc_type, exc_value, exc_traceback = sys.exc_info()
            threading.excepthook(
                threading.ExceptHookArgs((exc_type, exc_value, exc_traceback, threading.current_thread()))
            )
        finally:
            self._done.set()

    def is_alive(self) -> bool:
        return self._started and not self._done.is_set()

    def join(self, timeout: float | None = None) -> None:
        if not self._started:
            raise RuntimeError("cannot join thread before it is started")
        self._done.wait(timeout)


def _pooled_thread(*args: Any, **kwargs: Any) -> Any:
    """``threading.Thread(target=..., daemon=True)`` as execute_state makes it, on a kept worker."""
    target = kwargs.get("target")
    if args or kwargs.get("daemon") is not True or not set(kwargs) <= {"target", "daemon", "args", "kwargs"}:
        return threading.Thread(*args, **kwargs)
    if target is None:
        return threading.Thread(*args, **kwargs)
    return _PooledThread(target, tuple(kwargs.get("args", ())), dict(kwargs.get("kwargs") or {}))


TASK_THREADS = registry.PatchSet(
    "task_threads",
    [registry.Patch(_THREAD, _pooled_thread, "a state's work on a kept worker thread, not a new thread")],
    reads=[
        (
            "moto.stepfunctions.parser.asl.component.state.exec.execute_state.ExecutionState",
            "_evaluate_with_timeout starts the Thread and waits for it with the state's timeout",
        )
    ],
)
