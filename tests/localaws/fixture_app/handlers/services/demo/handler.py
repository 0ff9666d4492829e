"""Tiny Lambda handlers used by the local AWS tests; they exercise the runtime, not business logic."""

from __future__ import annotations

import gc
import os
import sys
import time
from typing import Any


class PaymentDeclinedError(Exception):
    """Raised on purpose so that Step Functions Catch can match the error name."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    action = event.get("action", "echo") if isinstance(event, dict) else "echo"
    print(f"demo handler action={action}")
    if action == "decline":
        raise PaymentDeclinedError("card declined")
    slept: dict[str, float] = {}
    if action == "sleep":
        # Wall-clock moments, comparable across worker processes: did two invocations overlap?
        slept["sleptFrom"] = time.time()
        time.sleep(float(event["seconds"]))
        slept["sleptUntil"] = time.time()
    if action == "list_queues":  # an SDK call to the local endpoint, as the real handlers make
        import boto3  # noqa: PLC0415 - only this action needs the SDK (the others start fast without it)

        return {"queueUrls": boto3.client("sqs").list_queues().get("QueueUrls", [])}
    if action == "unmarshallable":  # a result JSON cannot carry
        return {"value": {1, 2}}
    if action == "exit":
        sys.stdout.flush()
        os._exit(3)
    return {
        "event": event,
        "functionName": context.function_name,
        "memory": context.memory_limit_in_mb,
        "remainingMs": context.get_remaining_time_in_millis(),
        "greeting": os.environ.get("GREETING"),
        "otherFunctionVariable": os.environ.get("ONLY_IN_OTHER"),
        "pid": os.getpid(),
        "python": sys.executable,
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "gcThresholds": list(gc.get_threshold()),
        "gcFrozen": gc.get_freeze_count(),
        **slept,
    }


def sqs_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"batchItemFailures": []}
