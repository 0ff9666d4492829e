"""Places where moto answers differently from AWS, corrected so handlers see what AWS would give them."""

from __future__ import annotations

import functools
from typing import Any

from localaws.patches import registry

NOTIFY_HEARTBEAT = registry.register(
    "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackEndpoint.notify_heartbeat",
    "SendTaskHeartbeat on a task without a heartbeat",
)

SEND_TASK_FAILURE = registry.register(
    "moto.stepfunctions.responses.StepFunctionResponse.send_task_failure",
    "SendTaskFailure drops the cause",
)


def _send_task_failure(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    # moto's handler forwards the error but drops the cause, which the workflow records as the reason.
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


def _notify_heartbeat(self: Any) -> bool:
    # AWS accepts SendTaskHeartbeat for a task with no HeartbeatSeconds (there is simply no clock to reset);
    # moto answers InvalidToken, which would make a service take a live task for a stale one.
    endpoint = self._heartbeat_endpoint
    if endpoint is not None:
        endpoint.notify()
    return True


TASK_FROM_ERROR = registry.register(
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task.StateTask._from_error",
    "a missed heartbeat must be catchable as States.HeartbeatTimeout",
)
ERROR_EQUALS = registry.register(
    "moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl.ErrorEqualsDecl._eval_body",
    "ErrorEquals: States.HeartbeatTimeout matches a missed heartbeat",
)
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"


@functools.cache
def _missed_heartbeat() -> type:
    """The error name of a missed heartbeat: States.Timeout, as AWS reports it, that a Catch or Retry on
    States.HeartbeatTimeout matches as well (moto's modules load lazily, hence a class made on first use)."""
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName

    return type("MissedHeartbeat", (StatesErrorName,), {})


def _task_from_error(self: Any, env: Any, ex: Exception) -> Any:
    from moto.stepfunctions.parser.asl.eval.callback.callback import HeartbeatTimeoutError

    event = registry.original(TASK_FROM_ERROR)(self, env, ex)
    if isinstance(ex, HeartbeatTimeoutError):
        # moto reports a missed heartbeat as a plain States.Timeout, which a Catch on
        # States.HeartbeatTimeout never sees; AWS lets both names match it.
        from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
            StatesErrorNameType,
        )

        event.error_name = _missed_heartbeat()(typ=StatesErrorNameType.StatesTimeout)
    return event


def _error_equals_eval_body(self: Any, env: Any) -> None:
    error_name = env.stack[-1] if env.stack else None
    if isinstance(error_name, _missed_heartbeat()) and any(
        getattr(name, "error_name", None) == HEARTBEAT_TIMEOUT for name in self.error_names
    ):
        env.stack.pop()
        env.stack.append(True)
        return
    registry.original(ERROR_EQUALS)(self, env)


_FIXES = {
    NOTIFY_HEARTBEAT: _notify_heartbeat,
    SEND_TASK_FAILURE: _send_task_failure,
    TASK_FROM_ERROR: _task_from_error,
    ERROR_EQUALS: _error_equals_eval_body,
}


def install() -> None:
    for path, replacement in _FIXES.items():
        registry.patch(path, replacement, "a moto answer that differs from AWS")


def uninstall() -> None:
    for path in _FIXES:
        registry.unpatch(path)
