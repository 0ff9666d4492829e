"""Speed-up of moto's ASL interpreter: the thread each task state runs on.

* ``task_threads`` -- to enforce ``TimeoutSeconds``, every Task (and Map/Parallel) state runs its work on a
  new thread (``ExecutionState._evaluate_with_timeout``) and waits for it with that timeout: a thread
  created, started and torn down per state, about a twentieth of the engine's CPU under load. Its ``Thread``
  becomes ``_pooled_thread``: the work runs on a kept worker thread, in a fresh ``contextvars`` context as
  on a new thread, and the caller waits as before. A worker is never shared by two states at once: when none
  is idle, a new one starts, so a state that blocks (a task token, a task past its timeout) holds only its
  own worker, as it held its own thread. Idle workers end after ``IDLE_SECONDS``. Any other use of
  ``Thread`` in that module (not a daemon, or other arguments) gets a real ``threading.Thread``.
* A state with no bound on its wait (moto's default ``TimeoutSeconds``, 99999999 s, which is what a state
  without ``TimeoutSeconds``/``TimeoutSecondsPath`` gets) runs its work on the caller's own thread instead:
  the caller would only wait for the worker, so the hand-off (queue, wake-up, event, switch back) bought
  nothing. (Scaled by ``localaws.stepfunctions.wait_scale``, that default is still 11 days at 0.01: no
  test or run waits it out.) ``_exec_and_notify`` still runs in a fresh ``contextvars`` context, its
  errors still reach the caller through moto's own list, and an uncaught ``BaseException`` goes to
  ``threading.excepthook`` with the caller then waiting on an event nobody sets, as on moto's thread. The
  state is found in the target's closure (moto's ``_exec_and_notify`` closes over ``self``); a state with
  ``TimeoutSeconds``, ``TimeoutSecondsPath`` or only ``HeartbeatSeconds`` (moto then bounds it by 60 s)
  keeps its worker, so its timeout still fires.
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

_EXECUTE_STATE = "moto.stepfunctions.parser.asl.component.state.exec.execute_state"
_THREAD = f"{_EXECUTE_STATE}.Thread"
_TIMEOUT_SECONDS = "moto.stepfunctions.parser.asl.component.common.timeouts.timeout.TimeoutSeconds"
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


class _InlineThread(_PooledThread):
    """What ``execute_state`` starts for a state whose wait has no bound: ``target`` runs within ``start``,
    on the caller's thread, so the caller's wait finds it done."""

    def start(self) -> None:
        if self._started:
            raise RuntimeError("threads can only be started once")
        self._started = True
        contextvars.Context().run(self._run)  # a fresh context, as a new thread starts with


def _thread_call(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, tuple[Any, ...], dict[str, Any]] | None:
    """target, args and kwargs of ``Thread(target=..., daemon=True)`` as moto makes it; None for any other."""
    target = kwargs.get("target")
    if args or kwargs.get("daemon") is not True or not set(kwargs) <= {"target", "daemon", "args", "kwargs"}:
        return None
    if target is None:
        return None
    return target, tuple(kwargs.get("args", ())), dict(kwargs.get("kwargs") or {})


def _pooled_thread(*args: Any, **kwargs: Any) -> Any:
    """``threading.Thread(target=..., daemon=True)`` as moto makes it, on a kept worker."""
    call = _thread_call(args, kwargs)
    if call is None:
        return threading.Thread(*args, **kwargs)
    return _PooledThread(*call)


def _state_of(target: Any) -> Any:
    """The state whose work ``target`` is: moto's ``_exec_and_notify`` closes over the state as ``self``."""
    code = getattr(target, "__code__", None)
    if code is None or target.__closure__ is None or "self" not in code.co_freevars:
        return None
    return target.__closure__[code.co_freevars.index("self")].cell_contents


def _waits_unbounded(state: Any) -> bool:
    """The state waits moto's default 99999999 s: no TimeoutSeconds(Path), no HeartbeatSeconds."""
    timeout_seconds: Any = registry.resolve(_TIMEOUT_SECONDS)
    timeout: Any = getattr(state, "timeout", None)
    return (
        type(timeout) is timeout_seconds
        and timeout.timeout_seconds == timeout_seconds.DEFAULT_TIMEOUT_SECONDS
    )


def _state_thread(*args: Any, **kwargs: Any) -> Any:
    """execute_state's ``Thread``: a state's work on the caller's thread when its wait has no bound, else on
    a kept worker."""
    call = _thread_call(args, kwargs)
    if call is None:
        return threading.Thread(*args, **kwargs)
    if _waits_unbounded(_state_of(call[0])):
        return _InlineThread(*call)
    return _PooledThread(*call)


TASK_THREADS = registry.PatchSet(
    "task_threads",
    [
        registry.Patch(
            _THREAD,
            _state_thread,
            "a state's work on the caller's thread (no bound on its wait) or a kept worker, not a new thread",
        )
    ],
    reads=[
        (
            f"{_EXECUTE_STATE}.ExecutionState._evaluate_with_timeout",
            "starts the Thread on _exec_and_notify, which closes over the state as self, and waits for it "
            "with the state's timeout",
        ),
        (f"{_EXECUTE_STATE}.ExecutionState.timeout", "the state's Timeout: moto's default when unbounded"),
        (_TIMEOUT_SECONDS, "the type of a fixed TimeoutSeconds (and of moto's default)"),
        (f"{_TIMEOUT_SECONDS}.DEFAULT_TIMEOUT_SECONDS", "99999999 s: what a state without a timeout waits"),
        (f"{_TIMEOUT_SECONDS}.timeout_seconds", "the seconds a fixed TimeoutSeconds waits"),
    ],
)
