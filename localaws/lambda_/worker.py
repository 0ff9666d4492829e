"""One Lambda execution environment: a warm Python process that runs one function's handler.

Started by ``localaws.lambda_.runtime`` with exactly the function's environment, the code asset directory as
working directory, and two pipe file descriptors (requests in, replies out) given on the command line.
Protocol: one JSON document per line. The handler's own stdout/stderr go to the function's log file.

Keep this module free of moto and of the rest of ``localaws`` (but ``sdk_channel`` and ``sdk_speedups``, made
to run here): it runs in the Lambda's process.
"""

from __future__ import annotations

import decimal
import importlib
import json
import os
import sys
import time
import traceback
from typing import Any, BinaryIO

from localaws.heap import WORKER_SETTLE_ENV, Heap
from localaws.lambda_ import sdk_channel, sdk_speedups


class LambdaContext:
    """The context object a Python Lambda handler receives (the attributes Powertools reads)."""

    def __init__(self, request_id: str, deadline_epoch_ms: int) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ["LOCALAWS_FUNCTION_ARN"]
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.aws_request_id = request_id
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_epoch_ms = deadline_epoch_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_epoch_ms - int(time.time() * 1000))


class _LambdaJSONEncoder(json.JSONEncoder):
    """Like the Lambda Python runtime's marshaller: Decimal becomes a number."""

    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        return super().default(o)


def error_object(
    exc: BaseException, error_type: str | None = None, *, skip_frames: int = 0
) -> dict[str, Any]:
    """The error document AWS Lambda returns for an unhandled exception."""
    frames = traceback.extract_tb(exc.__traceback__)[skip_frames:]
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(frames),
    }


def _load_handler(handler_path: str) -> Any:
    module_name, _, function_name = handler_path.rpartition(".")
    if not module_name:
        raise ValueError(f"Bad handler '{handler_path}': expected module.function")
    module = importlib.import_module(module_name)
    return getattr(module, function_name)


_ENCODER = _LambdaJSONEncoder()


def _encode(message: dict[str, Any]) -> bytes:
    return _ENCODER.encode(message).encode() + b"\n"


def _send(replies: BinaryIO, message: dict[str, Any]) -> None:
    _write(replies, _encode(message))


def _write(replies: BinaryIO, line: bytes) -> None:
    replies.write(line)
    replies.flush()


def _run_one(handler: Any, request: dict[str, Any]) -> bytes:
    """The reply line for one invocation, encoded once (the result's marshalling is its check)."""
    request_id = request["requestId"]
    context = LambdaContext(request_id, request["deadlineEpochMs"])
    print(f"START RequestId: {request_id} Version: {context.function_version}", flush=True)
    started = time.monotonic()
    try:
        result = handler(request["event"], context)
        try:
            line = _encode({"ok": True, "payload": result})
        except (TypeError, ValueError) as exc:
            line = _encode({"ok": False, "error": error_object(exc, "Runtime.MarshalError")})
    except Exception as exc:
        print(f"[ERROR] {type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exc()
        error = error_object(exc, skip_frames=1)  # not our own frame
        error["requestId"] = request_id
        line = _encode({"ok": False, "error": error})
    elapsed_ms = (time.monotonic() - started) * 1000
    sys.stderr.flush()
    # One write for both lines: the same text in the log, one system call fewer per invocation.
    print(
        f"END RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms",
        flush=True,
    )
    return line


def main(argv: list[str]) -> int:
    requests = os.fdopen(int(argv[0]), "rb")
    replies = os.fdopen(int(argv[1]), "wb")
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    # The asset directory shadows everything, as /var/task does on AWS.
    sys.path[:] = [task_root, *[p for p in sys.path if p not in ("", task_root, os.getcwd())]]
    try:
        sdk_channel.install_from_environment()  # before the handler's module makes its first client
        sdk_channel.when_botocore_loads(lambda _: sdk_speedups.install())
        handler = _load_handler(os.environ["_HANDLER"])
    except Exception as exc:
        traceback.print_exc()
        kind = "Runtime.ImportModuleError" if isinstance(exc, ImportError) else "Runtime.HandlerNotFound"
        _send(replies, {"type": "init_error", "error": error_object(exc, kind)})
        return 1
    heap = Heap() if os.environ.get(WORKER_SETTLE_ENV) == "1" else None
    if heap is not None:
        heap.settle()  # the SDK, Powertools and the handler's module
    _send(replies, {"type": "ready"})
    for count, line in enumerate(requests):
        _write(replies, _run_one(handler, json.loads(line)))
        if heap is not None and count == 0:
            heap.settle()  # and what the first invocation loads: botocore's service models, the clients
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
