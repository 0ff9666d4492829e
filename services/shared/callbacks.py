"""Answering the workflow's ``.waitForTaskToken`` requests.

Services talk to Step Functions only through :class:`TaskCallbacks`, so logic and tests can use a fake.
A task that no longer waits (timed out, already answered, or an unknown token) is reported as ``False``
rather than raised: retrying the message could never make that answer land, so the caller acknowledges it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from botocore.exceptions import ClientError

from services.shared import aws
from services.shared.observability import logger

# Error codes meaning "nobody is waiting for this token any more".
_TASK_CLOSED_CODES = frozenset({"TaskDoesNotExist", "TaskTimedOut", "InvalidToken"})


class TaskCallbacks(Protocol):
    def heartbeat(self, token: str) -> bool: ...

    def succeed(self, token: str, output: Mapping[str, Any]) -> bool: ...

    def fail(self, token: str, error: str, cause: str) -> bool: ...


class StepFunctionsCallbacks:
    """Answers through the Step Functions API (SendTaskHeartbeat/Success/Failure)."""

    def heartbeat(self, token: str) -> bool:
        return self._call("heartbeat", lambda: aws.stepfunctions().send_task_heartbeat(taskToken=token))

    def succeed(self, token: str, output: Mapping[str, Any]) -> bool:
        body = json.dumps(dict(output), default=str)
        return self._call(
            "success", lambda: aws.stepfunctions().send_task_success(taskToken=token, output=body)
        )

    def fail(self, token: str, error: str, cause: str) -> bool:
        # Step Functions caps the cause at 32768 characters.
        return self._call(
            "failure",
            lambda: aws.stepfunctions().send_task_failure(taskToken=token, error=error, cause=cause[:32_000]),
        )

    @staticmethod
    def _call(kind: str, send: Any) -> bool:
        try:
            send()
        except ClientError as exc:
            code = aws.error_code(exc)
            if code in _TASK_CLOSED_CODES:
                logger.warning("Task no longer waits for an answer", extra={"answer": kind, "code": code})
                return False
            raise
        return True
