"""Infrastructure faults in the embedded stack, and the time scale a run compresses the stack's clocks by.

- ``WorkerKiller``: a share of the service functions' invocations have their worker process SIGKILLed a
  moment after the request reached it, as a host failure would. The runtime replaces the worker; the
  invocation fails (``Runtime.ExitError``) and its batch returns to the queue when the visibility timeout
  ends; a killed validation (the orders function) is retried by the workflow's Validate Order task. Each
  kill is recorded with the orders of the batch, so the drain can say how long they took.
- ``MIN_TIME_SCALE``: how far a run may compress the stack's clocks so that a crashed invocation, a hang or
  a lost callback resolves within the run. ``LocalAws(time_scale=...)`` scales queue visibility, batching
  windows, backoffs and alarm periods, and ``LocalAws(wait_scale=...)`` (the engine's wait scale,
  ``localaws.stepfunctions.wait_scale``) the workflow's heartbeats, timeouts and retry pauses by the same
  factor, so that each keeps its relation to the visibility it waits on (``infra.timing``). Function
  timeouts are not scaled: a cold start on a busy laptop takes seconds. So the scale stops where the
  shortest service queue's visibility would fall below the function timeout, the floor AWS itself sets
  for a mapping.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localaws.lambda_.runtime import InvocationStarted, LambdaRuntime

# The functions fed by queues: a killed invocation's messages come back by redelivery. The orders function
# is invoked by the workflow's Validate Order task, whose Retry takes the crash (Runtime.ExitError).
KILLABLE_SERVICES = ("orders", "payment", "inventory", "shipping", "notification")
# Service queues have 60 s of visibility and functions 30 s of timeout (infra.timing): 60 s x 0.5 = 30 s.
MIN_TIME_SCALE = 0.5
# How long after the request reached the worker the kill lands: somewhere inside a handler's work.
KILL_DELAY_SECONDS = (0.005, 0.25)


@dataclass(frozen=True)
class Kill:
    function: str
    at: float  # epoch seconds
    orders: tuple[str, ...]


def _orders_of(event: Any) -> tuple[str, ...]:
    detail = event.get("detail") if isinstance(event, dict) else None
    if isinstance(detail, dict) and isinstance(detail.get("orderId"), str):
        return (detail["orderId"],)  # the OrderPlaced event the workflow validates
    found = []
    for record in event.get("Records", []) if isinstance(event, dict) else []:
        try:
            body = json.loads(record.get("body") or "")
        except json.JSONDecodeError:
            continue
        if isinstance(body, dict) and isinstance(body.get("orderId"), str):
            found.append(body["orderId"])
    return tuple(found)


@dataclass
class WorkerKiller:
    """Kills ``share`` of the service functions' invocations mid-flight (seeded: the same draws each run)."""

    runtime: LambdaRuntime
    share: float
    seed: int
    prefix: str
    kills: list[Kill] = field(default_factory=list)
    invocations: dict[str, int] = field(default_factory=dict)  # function → invocations seen
    records: dict[str, int] = field(default_factory=dict)  # function → SQS records handed to it

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        self._timers: list[threading.Timer] = []
        self._targets = {f"{self.prefix}-{service}" for service in KILLABLE_SERVICES}

    def start(self) -> None:
        self.runtime.invocation_listeners.append(self._started)

    def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.runtime.invocation_listeners.remove(self._started)
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()

    def _started(self, invocation: InvocationStarted) -> None:
        name = invocation.function_name
        event = invocation.event
        with self._lock:
            self.invocations[name] = self.invocations.get(name, 0) + 1
            records = event.get("Records", []) if isinstance(event, dict) else []
            self.records[name] = self.records.get(name, 0) + (len(records) or 1)
            if name not in self._targets or self._random.random() >= self.share:
                return
            delay = self._random.uniform(*KILL_DELAY_SECONDS)
            timer = threading.Timer(delay, self._kill, args=(invocation,))
            timer.daemon = True
            self._timers.append(timer)
        timer.start()

    def _kill(self, invocation: InvocationStarted) -> None:
        if not invocation.still_running():
            return  # it finished first: nothing to kill mid-flight
        with contextlib.suppress(ProcessLookupError):
            os.kill(invocation.pid, signal.SIGKILL)
            with self._lock:
                self.kills.append(Kill(invocation.function_name, time.time(), _orders_of(invocation.event)))
