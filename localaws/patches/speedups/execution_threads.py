"""Speed-up of moto's ASL interpreter: the two threads every execution starts.

* ``execution_threads`` -- StartExecution starts a thread for the execution (``ExecutionWorker.start``:
  ``_execution_logic``), and that thread starts another for the program (``Program.eval``, to enforce the
  definition's ``TimeoutSeconds``) and waits for it: two threads created, started and torn down per
  execution, on top of the one per Task state that ``task_threads`` already keeps. Both run on the kept
  workers of ``task_threads`` (a fresh ``contextvars`` context each, a worker never shared by two jobs at
  once, a new worker when none is idle, so an execution that waits holds only its own worker).
  ``ExecutionWorker``'s ``Thread`` becomes ``task_threads._pooled_thread``; ``Program.eval`` is moto's own
  with ``_PooledThread`` for ``threading.Thread`` (that module's ``threading`` is the global one, so it
  cannot be swapped by name): same timeout, same ``set_timed_out``, the job still listed in ``TMP_THREADS``.
  A definition without ``TimeoutSeconds`` (moto joins the thread with no timeout: it only waits) runs its
  states on the execution's own worker, one hand-off fewer.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from localaws.patches import registry
from localaws.patches.speedups import task_threads

_EXECUTION_THREAD = "moto.stepfunctions.parser.backend.execution_worker.Thread"
_PROGRAM = "moto.stepfunctions.parser.asl.component.program.program.Program"
_PROGRAM_EVAL = f"{_PROGRAM}.eval"
_PROGRAM_TMP_THREADS = "moto.stepfunctions.parser.asl.component.program.program.TMP_THREADS"


def _program_eval(self: Any, env: Any) -> None:
    """moto's ``Program.eval``: the program's states on a kept worker, waited for up to its timeout; with no
    timeout (moto joins its thread for ever), on this thread, an uncaught error reported as a thread's is."""
    timeout = self.timeout_seconds.timeout_seconds if self.timeout_seconds else None
    env.next_state_name = self.start_at.start_at_name
    program = registry.resolve(_PROGRAM)
    if timeout is None:
        try:
            super(program, self).eval(env)
        except BaseException:  # what an uncaught error on moto's thread does: threading.excepthook
            exc_type, exc_value, exc_traceback = sys.exc_info()
            threading.excepthook(
                threading.ExceptHookArgs((exc_type, exc_value, exc_traceback, threading.current_thread()))
            )
        return
    worker_thread = task_threads._PooledThread(super(program, self).eval, (env,), {})
    registry.resolve(_PROGRAM_TMP_THREADS).append(worker_thread)
    worker_thread.start()
    worker_thread.join(timeout=timeout)
    if worker_thread.is_alive():
        env.set_timed_out()


EXECUTION_THREADS = registry.PatchSet(
    "execution_threads",
    [
        registry.Patch(
            _EXECUTION_THREAD,
            task_threads._pooled_thread,
            "an execution's logic on a kept worker thread, not a new thread",
        ),
        registry.Patch(_PROGRAM_EVAL, _program_eval, "a program's states on a kept worker, not a new thread"),
    ],
    reads=[
        (
            "moto.stepfunctions.parser.backend.execution_worker.ExecutionWorker",
            "start() starts Thread(target=_execution_logic, daemon=True)",
        ),
        (_PROGRAM, "Program.eval's super().eval runs the states"),
        (_PROGRAM_TMP_THREADS, "the program's worker is listed there, as moto lists its thread"),
    ],
)
