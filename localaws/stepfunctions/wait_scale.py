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
"""

from __future__ import annotations

import os
import threading
import time
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
    ["is_running", "program_state_event"],
    "a Wait ends early when the execution stops, as moto's does",
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


_scale = 1.0


def current() -> float:
    return _scale


def set_scale(scale: float) -> None:
    global _scale  # noqa: PLW0603 - one setting for the whole engine, read on every wait
    _scale = parse(str(scale), where="wait scale")


def scaled(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * _scale


# -- the replacements --------------------------------------------------------------------------------------


def _wait_state_body(self: Any, env: Any) -> None:
    # moto's own loop rounds what it waited to whole seconds, which never adds up for a scaled wait.
    seconds = self._get_wait_seconds(env=env)
    deadline = time.monotonic() + max(0, seconds) * _scale
    while env.is_running():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        env.program_state_event.wait(remaining)


def _heartbeat_clear_and_wait(self: Any) -> bool:
    with self._mutex:
        if self._next_heartbeat_event.is_set():
            self._next_heartbeat_event.clear()
            return True
    return bool(self._next_heartbeat_event.wait(timeout=self._heartbeat_seconds * _scale))


def _callback_wait(self: Any, timeout: float | None = None) -> Any:
    return registry.original(_CALLBACK_WAIT)(self, scaled(timeout))


def _activity_start_wait(self: Any, timeout_seconds: float) -> Any:
    return registry.original(_ACTIVITY_START_WAIT)(self, scaled(timeout_seconds))


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
    ],
)


def install(scale: float) -> None:
    """Scale the engine's waits by ``scale`` (1 keeps moto's own waits, exactly as they are)."""
    set_scale(scale)
    if scale == 1:
        WAIT_SCALE.uninstall()
    else:
        WAIT_SCALE.install()


def uninstall() -> None:
    WAIT_SCALE.uninstall()
    set_scale(1.0)
