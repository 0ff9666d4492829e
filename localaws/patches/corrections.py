"""Places where moto answers differently from AWS, corrected so handlers see what AWS would give them."""

from __future__ import annotations

from typing import Any

from moto.core.responses import EmptyResult
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import HeartbeatTimeoutError

from localaws.patches import registry

NOTIFY_HEARTBEAT = "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackEndpoint.notify_heartbeat"
SEND_TASK_FAILURE = "moto.stepfunctions.responses.StepFunctionResponse.send_task_failure"
TASK_FROM_ERROR = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task.StateTask._from_error"
)
ERROR_EQUALS = (
    "moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl.ErrorEqualsDecl._eval_body"
)
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"


def _send_task_failure(self: Any) -> Any:
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


class MissedHeartbeat(StatesErrorName):
    """A missed heartbeat: States.Timeout, as AWS reports it, that a Catch or Retry on States.HeartbeatTimeout
    matches as well."""


def _task_from_error(self: Any, env: Any, ex: Exception) -> Any:
    event = registry.original(TASK_FROM_ERROR)(self, env, ex)
    if isinstance(ex, HeartbeatTimeoutError):
        # moto reports a missed heartbeat as a plain States.Timeout, which a Catch on
        # States.HeartbeatTimeout never sees; AWS lets both names match it.
        event.error_name = MissedHeartbeat(typ=StatesErrorNameType.StatesTimeout)
    return event


def _error_equals_eval_body(self: Any, env: Any) -> None:
    error_name = env.stack[-1] if env.stack else None
    if isinstance(error_name, MissedHeartbeat) and any(
        getattr(name, "error_name", None) == HEARTBEAT_TIMEOUT for name in self.error_names
    ):
        env.stack.pop()
        env.stack.append(True)
        return
    registry.original(ERROR_EQUALS)(self, env)


CORRECTIONS = registry.PatchSet(
    "corrections",
    [
        registry.Patch(
            NOTIFY_HEARTBEAT, _notify_heartbeat, "SendTaskHeartbeat on a task without a heartbeat"
        ),
        registry.Patch(SEND_TASK_FAILURE, _send_task_failure, "SendTaskFailure drops the cause"),
        registry.Patch(
            TASK_FROM_ERROR,
            _task_from_error,
            "a missed heartbeat must be catchable as States.HeartbeatTimeout",
        ),
        registry.Patch(
            ERROR_EQUALS,
            _error_equals_eval_body,
            "ErrorEquals: States.HeartbeatTimeout matches a missed heartbeat",
        ),
    ],
    reads=[
        ("moto.core.responses.EmptyResult", "SendTaskFailure's answer"),
        (
            "moto.stepfunctions.parser.asl.component.common.error_name.states_error_name.StatesErrorName",
            "base of the missed-heartbeat error name",
        ),
        (
            "moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type.StatesErrorNameType",
            "States.Timeout",
        ),
        (
            "moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type.StatesErrorNameType"
            ".StatesTimeout",
            "the error name a missed heartbeat keeps",
        ),
        ("moto.stepfunctions.parser.asl.eval.callback.callback.HeartbeatTimeoutError", "a missed heartbeat"),
        ("moto.core.responses.BaseResponse._get_param", "SendTaskFailure's taskToken, error and cause"),
        (
            "moto.stepfunctions.responses.StepFunctionResponse.stepfunction_backend",
            "SendTaskFailure's backend",
        ),
        (
            "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackEndpoint._heartbeat_endpoint",
            "the heartbeat clock of a task (None when the task has no HeartbeatSeconds)",
        ),
    ],
)
