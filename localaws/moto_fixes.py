"""Places where moto answers differently from AWS, corrected so handlers see what AWS would give them."""

from __future__ import annotations

from typing import Any

from localaws import moto_patches

NOTIFY_HEARTBEAT = moto_patches.register(
    "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackEndpoint.notify_heartbeat",
    "SendTaskHeartbeat on a task without a heartbeat",
)

SEND_TASK_FAILURE = moto_patches.register(
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


_FIXES = {NOTIFY_HEARTBEAT: _notify_heartbeat, SEND_TASK_FAILURE: _send_task_failure}


def install() -> None:
    for path, replacement in _FIXES.items():
        moto_patches.patch(path, replacement, "a moto answer that differs from AWS")


def uninstall() -> None:
    for path in _FIXES:
        moto_patches.unpatch(path)
