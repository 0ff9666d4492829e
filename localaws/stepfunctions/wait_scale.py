"""Time that tests choose: one factor that scales the embedded engine's own waits.

``ORDERFLOW_WAIT_SCALE`` (or ``LocalAws(wait_scale=...)``, ``orderflow local up --wait-scale``) multiplies
every wait the Step Functions engine makes on its own clock: Wait states (``Seconds``, ``SecondsPath``,
``Timestamp``, ``TimestampPath``), ``HeartbeatSeconds``, ``TimeoutSeconds`` (of a state and of the whole
state machine) and the pause between retries (``IntervalSeconds`` with ``BackoffRate`` and
``MaxDelaySeconds``, as the retrier computed it). 0.01 turns a 60 s heartbeat into 0.6 s.

Only the waiting is scaled, never the values: the history of a scaled run is the one an unscaled run
writes (``TaskScheduled`` still says ``heartbeatInSeconds: 60``), its events come in the same order and
its errors keep their names (``States.Timeout``, ``States.HeartbeatTimeout``). What the engine waits for
from outside (a handler's SendTaskSuccess, a queue's redelivery) still takes real time, so a factor that
makes a heartbeat shorter than a service's real answer time times that service out.

``ExecutionScale`` rules (``LocalAws(execution_wait_scales=[...])``, local only) give chosen executions a
scale of their own, in place of the engine's: the first rule whose ``input_contains`` is in the execution's
input (as JSON) decides it when the execution first waits, and every wait of that execution uses it, in its
Map iterations and Parallel branches too. A test makes the one order that must time out do so in seconds,
while every other order keeps the engine's scale; the histories are those of an unscaled run, as above.

``advance(input_contains, seconds)`` moves the clocks of the executions a rule chose ``seconds`` ahead, and
``rescale(input_contains, scale)`` changes a rule's scale while its executions run: "advance the clock"
controls. Each execution a rule chose keeps a clock of its own (engine seconds = real seconds / scale, summed
over the periods of each scale), and a Wait state or a heartbeat that is waiting re-times at once: what it
had already waited counts in engine seconds, and only the rest is waited at the new scale (such a wait wakes
at least every ``RETIME_SLICE`` seconds to look). Other waits (TimeoutSeconds, a retry's pause) take the
scale their execution has when they begin and see no jump (advancing past a task's TimeoutSeconds does
not fire it). The workflow suite makes a payment's 120 s heartbeat run out as soon as it has seen the
service take the charge, by advancing that order's clock by the heartbeat's seconds.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from localaws.patches import registry

ENVIRONMENT_VARIABLE = "ORDERFLOW_WAIT_SCALE"

_PARSER = "moto.stepfunctions.parser.asl"
_WAIT_BODY = f"{_PARSER}.component.state.wait.wait_function.wait_function.WaitFunction._eval_body"
_CALLBACK = f"{_PARSER}.eval.callback.callback"
_HEARTBEAT_WAIT = f"{_CALLBACK}.HeartbeatEndpoint.clear_and_wait"
_CALLBACK_WAIT = f"{_CALLBACK}.CallbackEndpoint.wait"
_ACTIVITY_START_WAIT = f"{_CALLBACK}.ActivityTaskStartEndpoint.wait"
_STATE_THREADING = f"{_PARSER}.component.state.exec.execute_state.threading"
_PROGRAM_THREADING = f"{_PARSER}.component.program.program.threading"
# Where a wait begins with the execution's environment at hand: the scale of that execution is set there,
# for the thread that waits.
_STATE_TIMEOUT = f"{_PARSER}.component.state.exec.execute_state.ExecutionState._evaluate_with_timeout"
_PROGRAM_EVAL = f"{_PARSER}.component.program.program.Program.eval"
_CALLBACK_TASK = f"{_PARSER}.component.state.exec.state_task.service.state_task_service_callback"
_TOKEN_HEARTBEAT = f"{_CALLBACK_TASK}.StateTaskServiceCallback._wait_for_task_token_heartbeat"
_TOKEN_TIMEOUT = f"{_CALLBACK_TASK}.StateTaskServiceCallback._wait_for_task_token_timeout"
_ACTIVITY_EXECUTION = (
    f"{_PARSER}.component.state.exec.state_task.state_task_activitiy.StateTaskActivity._eval_execution"
)

registry.register_attributes(
    f"{_CALLBACK}.HeartbeatEndpoint",
    ["_mutex", "_next_heartbeat_event", "_heartbeat_seconds"],
    "the heartbeat clock, waited on for HeartbeatSeconds x the scale",
)
registry.register_attributes(
    f"{_PARSER}.component.state.wait.wait_function.wait_function.WaitFunction",
    ["_get_wait_seconds"],
    "the seconds a Wait state asks for (Seconds, SecondsPath, Timestamp, TimestampPath)",
)
registry.register_attributes(
    f"{_PARSER}.eval.environment.Environment",
    ["is_running", "program_state_event", "states"],
    "a Wait ends early when the execution stops, as moto's does; the context object names the execution",
)


class WaitScaleError(ValueError):
    """The wait scale is not a number greater than 0."""


def parse(text: str, *, where: str = ENVIRONMENT_VARIABLE) -> float:
    """A scale from text; raises ``WaitScaleError`` naming ``where`` and the reason."""
    try:
        scale = float(text)
    except ValueError:
        raise WaitScaleError(f"{where}={text!r}: expected a number greater than 0, such as 0.01") from None
    if not 0 < scale < float("inf"):
        raise WaitScaleError(f"{where}={text!r}: expected a number greater than 0, such as 0.01")
    return scale


def from_environment() -> float:
    """``$ORDERFLOW_WAIT_SCALE``, or 1."""
    return parse(os.environ.get(ENVIRONMENT_VARIABLE, "1"))


@dataclass(frozen=True)
class ExecutionScale:
    """Executions whose input (as JSON) contains ``input_contains`` wait ``scale`` x their written time."""

    input_contains: str
    scale: float

    def __post_init__(self) -> None:
        if not self.input_contains:
            raise WaitScaleError("ExecutionScale.input_contains: expected a non-empty text")
        parse(str(self.scale), where=f"ExecutionScale({self.input_contains!r}).scale")


RETIME_SLICE = 0.05  # seconds: how late a waiting Wait state or heartbeat can notice a new scale


class ExecutionClock:
    """The time of one execution a rule chose: it runs at the rule's scale, which ``rescale`` can change."""

    def __init__(self, rule: str, scale: float) -> None:
        self.rule = rule
        self._lock = threading.Lock()
        self._scale = scale
        self._real_anchor = time.monotonic()
        self._engine_anchor = 0.0

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> float:
        """Engine seconds since the clock began."""
        with self._lock:
            return self._engine_anchor + (time.monotonic() - self._real_anchor) / self._scale

    def set_scale(self, scale: float) -> None:
        with self._lock:
            real = time.monotonic()
            self._engine_anchor += (real - self._real_anchor) / self._scale
            self._real_anchor = real
            self._scale = scale

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._engine_anchor += seconds

    def real_seconds_until(self, engine_deadline: float) -> float:
        """Real seconds left until ``engine_deadline`` (engine seconds on this clock) at the current scale."""
        with self._lock:
            engine_now = self._engine_anchor + (time.monotonic() - self._real_anchor) / self._scale
            return (engine_deadline - engine_now) * self._scale


_scale = 1.0
_rules: tuple[ExecutionScale, ...] = ()
_chosen: dict[str, ExecutionClock | None] = {}  # execution ARN -> its clock (None: the engine's), with rules
_chosen_lock = threading.Lock()
_CHOSEN_KEPT = 10_000
_waiting = threading.local()  # .clock: the clock of the execution this thread waits for (None: the engine's)


def _clock() -> ExecutionClock | None:
    return getattr(_waiting, "clock", None)


def current() -> float:
    """The scale of the execution this thread is waiting for, or the engine's."""
    clock = _clock()
    return _scale if clock is None else clock.scale


def set_scale(scale: float) -> None:
    global _scale  # noqa: PLW0603 - one setting for the whole engine, read on every wait
    _scale = parse(str(scale), where="wait scale")


def set_execution_scales(rules: Iterable[ExecutionScale]) -> None:
    """Executions matched by a rule wait by its scale (the first that matches); the others by the engine's."""
    global _rules  # noqa: PLW0603 - one setting for the whole engine, read when an execution first waits
    with _chosen_lock:
        _rules = tuple(rules)
        _chosen.clear()


def execution_scales() -> tuple[ExecutionScale, ...]:
    return _rules


def rescale(input_contains: str, scale: float) -> int:
    """The rule for ``input_contains`` takes ``scale``: the executions it chose re-time at once (their
    waiting Wait states and heartbeats too), and the executions it chooses later start at it. Returns how
    many running executions it re-timed; raises ``WaitScaleError`` when no rule has that text."""
    global _rules  # noqa: PLW0603 - one setting for the whole engine, read when an execution first waits
    new = ExecutionScale(input_contains, scale)
    with _chosen_lock:
        if not any(rule.input_contains == input_contains for rule in _rules):
            raise WaitScaleError(
                f"rescale({input_contains!r}): no ExecutionScale rule has that input_contains"
            )
        _rules = tuple(new if rule.input_contains == input_contains else rule for rule in _rules)
        clocks = [clock for clock in _chosen.values() if clock is not None and clock.rule == input_contains]
    for clock in clocks:
        clock.set_scale(new.scale)
    return len(clocks)


def advance(input_contains: str, seconds: float) -> int:
    """The executions the rule for ``input_contains`` chose jump ``seconds`` ahead on their clocks: a Wait
    state or heartbeat they are waiting in has that much less to wait (none left: it ends now). Returns how
    many it advanced; raises ``WaitScaleError`` when no rule has that text or ``seconds`` is below 0."""
    if not 0 <= seconds < float("inf"):
        raise WaitScaleError(f"advance({input_contains!r}, {seconds!r}): expected seconds of 0 or more")
    with _chosen_lock:
        if not any(rule.input_contains == input_contains for rule in _rules):
            raise WaitScaleError(
                f"advance({input_contains!r}): no ExecutionScale rule has that input_contains"
            )
        clocks = [clock for clock in _chosen.values() if clock is not None and clock.rule == input_contains]
    for clock in clocks:
        clock.advance(seconds)
    return len(clocks)


def clock_of(env: Any) -> ExecutionClock | None:
    """The clock of the execution ``env`` belongs to, when a rule chose it (None: the engine's scale)."""
    if not _rules:
        return None
    execution = env.states.context_object.context_object_data["Execution"]
    arn = str(execution["Id"])
    with _chosen_lock:
        if arn in _chosen:
            return _chosen[arn]
    text = json.dumps(execution.get("Input"), ensure_ascii=False)
    rule = next((rule for rule in _rules if rule.input_contains in text), None)
    with _chosen_lock:
        if arn not in _chosen:
            if len(_chosen) >= _CHOSEN_KEPT:
                _chosen.clear()
            _chosen[arn] = None if rule is None else ExecutionClock(rule.input_contains, rule.scale)
        return _chosen[arn]


def scale_of(env: Any) -> float:
    """The scale of the execution ``env`` belongs to (now: a rule's scale can change)."""
    clock = clock_of(env)
    return _scale if clock is None else clock.scale


@contextmanager
def waiting_for(env: Any) -> Iterator[None]:
    """Within: this thread waits on the clock of the execution ``env`` belongs to."""
    had = hasattr(_waiting, "clock")
    before = _clock()
    _waiting.clock = clock_of(env)
    try:
        yield
    finally:
        if had:
            _waiting.clock = before
        else:
            del _waiting.clock


def scaled(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * current()


# -- the replacements --------------------------------------------------------------------------------------


def _wait_state_body(self: Any, env: Any) -> None:
    # moto's own loop rounds what it waited to whole seconds, which never adds up for a scaled wait.
    seconds = max(0, self._get_wait_seconds(env=env))
    clock = clock_of(env)
    if clock is None:
        deadline = time.monotonic() + seconds * _scale
        while env.is_running():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            env.program_state_event.wait(remaining)
        return
    engine_deadline = clock.now() + seconds
    while env.is_running():
        remaining = clock.real_seconds_until(engine_deadline)
        if remaining <= 0:
            return
        env.program_state_event.wait(min(remaining, RETIME_SLICE))


def _heartbeat_clear_and_wait(self: Any) -> bool:
    with self._mutex:
        if self._next_heartbeat_event.is_set():
            self._next_heartbeat_event.clear()
            return True
    clock = _clock()
    if clock is None:
        return bool(self._next_heartbeat_event.wait(timeout=self._heartbeat_seconds * _scale))
    engine_deadline = clock.now() + self._heartbeat_seconds
    while True:
        remaining = clock.real_seconds_until(engine_deadline)
        if remaining <= 0:
            return self._next_heartbeat_event.is_set()
        if self._next_heartbeat_event.wait(timeout=min(remaining, RETIME_SLICE)):
            return True


def _callback_wait(self: Any, timeout: float | None = None) -> Any:
    return registry.original(_CALLBACK_WAIT)(self, scaled(timeout))


def _activity_start_wait(self: Any, timeout_seconds: float) -> Any:
    return registry.original(_ACTIVITY_START_WAIT)(self, scaled(timeout_seconds))


def _for_the_execution(path: str) -> Callable[..., Any]:
    """moto's ``path`` (a method taking the environment first), its waits at the scale of env's execution."""

    def waiting(self: Any, env: Any, *args: Any, **kwargs: Any) -> Any:
        with waiting_for(env):
            return registry.original(path)(self, env, *args, **kwargs)

    return waiting


class _ScaledEvent(threading.Event):
    """The event a state's TimeoutSeconds is waited on."""

    def wait(self, timeout: float | None = None) -> bool:
        return super().wait(scaled(timeout))


class _ScaledJoinThread(threading.Thread):
    """The thread a state machine's TimeoutSeconds is joined on."""

    def join(self, timeout: float | None = None) -> None:
        super().join(scaled(timeout))


class _Threading:
    """Stands in for the ``threading`` module where moto waits out a TimeoutSeconds."""

    Event = _ScaledEvent
    Thread = _ScaledJoinThread

    def __getattr__(self, name: str) -> Any:
        return getattr(threading, name)


WAIT_SCALE = registry.PatchSet(
    "wait scale",
    [
        registry.Patch(_WAIT_BODY, _wait_state_body, "a Wait state waits its seconds x the scale"),
        registry.Patch(_HEARTBEAT_WAIT, _heartbeat_clear_and_wait, "HeartbeatSeconds x the scale"),
        registry.Patch(_CALLBACK_WAIT, _callback_wait, "a callback task waits TimeoutSeconds x the scale"),
        registry.Patch(
            _ACTIVITY_START_WAIT,
            _activity_start_wait,
            "an activity waits for a worker TimeoutSeconds x the scale",
        ),
        registry.Patch(_STATE_THREADING, _Threading(), "a state's TimeoutSeconds x the scale"),
        registry.Patch(_PROGRAM_THREADING, _Threading(), "the state machine's TimeoutSeconds x the scale"),
        *(
            registry.Patch(path, _for_the_execution(path), f"{what}: at the scale of its execution")
            for path, what in (
                (_STATE_TIMEOUT, "a state's TimeoutSeconds"),
                (_PROGRAM_EVAL, "the state machine's TimeoutSeconds"),
                (_TOKEN_HEARTBEAT, "a .waitForTaskToken task's HeartbeatSeconds"),
                (_TOKEN_TIMEOUT, "a .waitForTaskToken task's TimeoutSeconds"),
                (_ACTIVITY_EXECUTION, "an activity task's waits"),
            )
        ),
    ],
)


def install(scale: float, executions: Iterable[ExecutionScale] = ()) -> None:
    """Scale the engine's waits by ``scale``, and those of the executions a rule matches by its own (1 and
    no rules keep moto's own waits, exactly as they are)."""
    set_scale(scale)
    set_execution_scales(executions)
    if scale == 1 and not _rules:
        WAIT_SCALE.uninstall()
    else:
        WAIT_SCALE.install()


def uninstall() -> None:
    WAIT_SCALE.uninstall()
    set_scale(1.0)
    set_execution_scales(())
