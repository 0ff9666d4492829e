"""Lambda without Docker: each function's handler runs in warm worker processes of its own.

``LambdaRuntime`` is the ``Invoker`` the delivery mechanisms use, and it is also wired into moto, so that the
Lambda ``Invoke`` API, Step Functions ``lambda:invoke`` tasks and moto's SNS/SQS/Kinesis deliveries run the
real handler instead of moto's echo.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import functools
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from localaws.endpoint.defaults import TEST_CREDENTIALS
from localaws.heap import WORKER_SETTLE_ENV
from localaws.lambda_.sdk_channel import SOCKET_ENV
from localaws.patches import registry

logger = logging.getLogger(__name__)

TIMEOUT_ERROR_TYPE = "Sandbox.Timedout"
RUNTIME_EXIT_ERROR_TYPE = "Runtime.ExitError"
INIT_TIMEOUT_SECONDS = 60.0  # imports on a busy 2-core laptop; AWS allows 10 s but runs on idle hosts

_FUNCTION_INVOKE = "moto.awslambda.models.LambdaFunction.invoke"
_SIMPLE_BACKEND_INVOKE = "moto.awslambda_simple.models.LambdaSimpleBackend.invoke"
_BASE_BACKEND_INVOKE = registry.register(
    "moto.awslambda.models.LambdaBackend.invoke",
    "the non-echo backend invoke (looks the function up, then calls LambdaFunction.invoke)",
)


@dataclass(frozen=True)
class InvocationResult:
    payload: Any  # parsed JSON returned by the handler, or the error object
    function_error: str | None  # None on success, "Unhandled" on an exception
    error_type: str | None  # the exception's class name, e.g. "PaymentDeclinedError"
    request_id: str


class Invoker(Protocol):
    def invoke(self, function_name_or_arn: str, event: Any) -> InvocationResult: ...


@dataclass(frozen=True)
class FunctionSpec:
    """What the runtime needs to run one deployed function."""

    name: str
    arn: str
    handler: str
    code_dir: Path
    environment: dict[str, str] = field(default_factory=dict)
    timeout_seconds: float = 3.0
    memory_size: int = 128
    runtime: str = "python3.12"


@dataclass(frozen=True)
class InvocationStarted:
    """An invocation handed to a worker process, as ``LambdaRuntime.invocation_listeners`` are told of it."""

    function_name: str
    request_id: str
    event: Any
    pid: int
    still_running: Callable[[], bool]  # whether that worker is still on this request


class UnknownFunctionError(LookupError):
    """No function of that name or ARN is deployed in the local runtime."""


class WorkerDiedError(RuntimeError):
    """The worker process exited while we waited for it."""


def function_name_of(function_name_or_arn: str) -> str:
    """``name``, ``name:qualifier`` or a function ARN (with or without qualifier) → the function name."""
    if function_name_or_arn.startswith("arn:"):
        return function_name_or_arn.split(":")[6]
    return function_name_or_arn.split(":", 1)[0]


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# How Lambda's runtime reports a process that ended (Go's wording): "signal: killed", "exit status 1".
_SIGNAL_WORDS = {signal.SIGKILL: "killed", signal.SIGTERM: "terminated", signal.SIGSEGV: "segmentation fault"}


def exit_description(returncode: int) -> str:
    """What follows "Runtime exited with error: " in a Runtime.ExitError, as Lambda words it."""
    if returncode >= 0:
        return f"exit status {returncode}"
    number = -returncode
    try:
        word = _SIGNAL_WORDS.get(signal.Signals(number)) or signal.Signals(number).name.lower()
    except ValueError:
        word = str(number)
    return f"signal: {word}"


def error_payload(error_type: str, message: str, request_id: str) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": []}


class _Worker:
    """One warm execution environment (a ``localaws.lambda_.worker`` process) and its two pipes."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str], log_path: Path, generation: int):
        self.generation = generation
        request_read, self._requests = os.pipe()
        self._replies, reply_write = os.pipe()
        self._buffer = bytearray()
        self._ready = False
        self.request_id: str | None = None  # the invocation it runs now
        with open(log_path, "ab", buffering=0) as log:
            self.process = subprocess.Popen(
                [sys.executable, "-u", "-m", "localaws.lambda_.worker", str(request_read), str(reply_write)],
                env=environment,
                cwd=spec.code_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(request_read, reply_write),
                close_fds=True,
            )
        os.close(request_read)
        os.close(reply_write)

    def _read_message(self, deadline: float) -> dict[str, Any] | None:
        """Next reply line, or None when the deadline passes first (a blocking select, no polling)."""
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([self._replies], [], [], remaining)
            if not readable:
                return None
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise WorkerDiedError(exit_description(self.process.wait()))
            self._buffer.extend(chunk)
        line, _, rest = self._buffer.partition(b"\n")
        self._buffer = bytearray(rest)
        message: dict[str, Any] = json.loads(line)
        return message

    def wait_ready(self) -> dict[str, Any] | None:
        """None once the handler is imported; the error document when init failed."""
        if self._ready:
            return None
        message = self._read_message(time.monotonic() + INIT_TIMEOUT_SECONDS)
        if message is None:
            return error_payload("Runtime.InitTimeout", "handler import did not finish in time", "")
        if message.get("type") == "init_error":
            error: dict[str, Any] = message["error"]
            return error
        self._ready = True
        return None

    def run(self, request: dict[str, Any], deadline: float) -> dict[str, Any] | None:
        data = json.dumps(request, default=_json_default).encode() + b"\n"
        view = memoryview(data)
        self.request_id = request["requestId"]
        try:
            while view:
                written = os.write(self._requests, view)
                view = view[written:]
            return self._read_message(deadline)
        except BrokenPipeError as exc:  # it died while idle (killed, out of memory)
            raise WorkerDiedError(exit_description(self.process.wait())) from exc
        finally:
            self.request_id = None

    def runs(self, request_id: str) -> bool:
        return self.request_id == request_id

    def stop(self) -> None:
        self.kill()
        self.reap()

    def kill(self) -> None:
        """Close its pipes and kill it, without waiting for it to exit (``reap`` does)."""
        for fd in (self._requests, self._replies):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.process.poll() is None:
            self.process.kill()

    def reap(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


class _FunctionPool:
    """Warm workers of one function; at most ``size`` run at once, extra invocations wait their turn."""

    def __init__(self, runtime: LambdaRuntime, spec: FunctionSpec, size: int) -> None:
        self._runtime = runtime
        self.spec = spec
        self._size = size
        self._idle: list[_Worker] = []
        self._count = 0
        self._generation = 0
        self._closed = False
        self._cond = threading.Condition()

    def replace_spec(self, spec: FunctionSpec) -> None:
        """A redeploy changed the function: idle workers go now, busy ones when they finish."""
        with self._cond:
            self.spec = spec
            self._generation += 1
            stale, self._idle = self._idle, []
            self._count -= len(stale)
            self._cond.notify_all()
        for worker in stale:
            worker.stop()

    def _spawn(self) -> _Worker:
        spec = self.spec
        return _Worker(
            spec, self._runtime.environment_for(spec), self._runtime.log_path(spec), self._generation
        )

    def prewarm(self, count: int) -> None:
        with self._cond:
            wanted = min(count, self._size) - self._count
            self._count += max(0, wanted)
        for _ in range(max(0, wanted)):
            worker = self._spawn()
            with self._cond:
                self._idle.append(worker)
                self._cond.notify()

    def acquire(self) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise UnknownFunctionError(f"{self.spec.name} is shut down")
                if self._idle:
                    return self._idle.pop()  # the most recently used worker is the warmest
                if self._count < self._size:
                    self._count += 1
                    break
                self._cond.wait()
        try:
            return self._spawn()
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def release(self, worker: _Worker, reusable: bool) -> None:
        with self._cond:
            keep = reusable and not self._closed and worker.generation == self._generation
            if keep:
                self._idle.append(worker)
            else:
                self._count -= 1
            self._cond.notify()
        if not keep:
            worker.stop()

    def close(self) -> list[_Worker]:
        """Take no more invocations; the idle workers, handed back for the caller to stop (busy ones stop
        when they finish)."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._cond.notify_all()
        return idle


class LambdaRuntime:
    """Runs deployed Python functions in warm worker processes; implements ``Invoker``."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        region: str,
        account_id: str,
        log_dir: Path,
        workers_per_function: int = 2,
        endpoint_socket: str | None = None,
        settle_heap: bool = False,
    ) -> None:
        """``endpoint_socket``: the endpoint's Unix socket for the workers' SDK calls (``sdk_channel``);
        ``settle_heap``: each worker tunes its garbage collector once warm (``localaws.heap``)."""
        self.endpoint_url = endpoint_url
        self.endpoint_socket = endpoint_socket
        self.settle_heap = settle_heap
        self.region = region
        self.account_id = account_id
        self.log_dir = log_dir
        self.workers_per_function = workers_per_function
        self._pools: dict[str, _FunctionPool] = {}
        self._lock = threading.Lock()
        self._async = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lambda-async")
        # Told of every invocation as it is handed to a worker (fault injection kills workers mid-invocation).
        self.invocation_listeners: list[Callable[[InvocationStarted], None]] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    # -- deployment ---------------------------------------------------------------------------------

    def register(self, spec: FunctionSpec) -> None:
        """Add a function, or replace its definition after a redeploy."""
        with self._lock:
            pool = self._pools.get(spec.name)
            if pool is None:
                self._pools[spec.name] = _FunctionPool(self, spec, self.workers_per_function)
                return
        if pool.spec != spec:
            pool.replace_spec(spec)

    def functions(self) -> list[FunctionSpec]:
        with self._lock:
            return [pool.spec for pool in self._pools.values()]

    def knows(self, function_name_or_arn: str) -> bool:
        with self._lock:
            return function_name_of(function_name_or_arn) in self._pools

    def prewarm(self, count: int = 1, *, leave_out: Collection[str] = ()) -> None:
        """Start ``count`` workers per function now, so first invocations do not pay for imports; the
        functions whose ARN is in ``leave_out`` start with their first invocation (a cold start)."""
        with self._lock:
            pools = [pool for pool in self._pools.values() if pool.spec.arn not in leave_out]
        for pool in pools:
            pool.prewarm(count)

    def environment_for(self, spec: FunctionSpec) -> dict[str, str]:
        """Exactly the function's variables plus what the Lambda service sets; nothing from our process."""
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": "UTC",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{dt.date.today():%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
            "LOCALAWS_FUNCTION_ARN": spec.arn,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": TEST_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": TEST_CREDENTIALS["aws_secret_access_key"],
            "AWS_ENDPOINT_URL": self.endpoint_url,
            # No X-Ray daemon locally: Powertools Tracer would otherwise try to emit segments.
            "POWERTOOLS_TRACE_DISABLED": "1",
        }
        if self.endpoint_socket:
            environment[SOCKET_ENV] = self.endpoint_socket
        if self.settle_heap:
            environment[WORKER_SETTLE_ENV] = "1"
        environment.update(spec.environment)
        return environment

    def log_path(self, spec: FunctionSpec) -> Path:
        return self.log_dir / f"{spec.name}.log"

    # -- invocation ---------------------------------------------------------------------------------

    def _pool(self, function_name_or_arn: str) -> _FunctionPool:
        name = function_name_of(function_name_or_arn)
        with self._lock:
            pool = self._pools.get(name)
        if pool is None:
            raise UnknownFunctionError(f"Function not found: {function_name_or_arn}")
        return pool

    def invoke(self, function_name_or_arn: str, event: Any) -> InvocationResult:
        pool = self._pool(function_name_or_arn)
        request_id = str(uuid.uuid4())
        worker = pool.acquire()
        spec = pool.spec
        reusable = False
        try:
            init_error = worker.wait_ready()
            if init_error is not None:
                init_error["requestId"] = request_id
                return InvocationResult(init_error, "Unhandled", init_error["errorType"], request_id)
            timeout = spec.timeout_seconds
            request = {
                "requestId": request_id,
                "event": event,
                "deadlineEpochMs": int((time.time() + timeout) * 1000),
            }
            for listener in self.invocation_listeners:
                listener(
                    InvocationStarted(
                        spec.name,
                        request_id,
                        event,
                        worker.process.pid,
                        functools.partial(worker.runs, request_id),
                    )
                )
            reply = worker.run(request, time.monotonic() + timeout)
            if reply is None:
                message = f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
                logger.warning("%s: %s", spec.name, message)
                error = error_payload(TIMEOUT_ERROR_TYPE, message, request_id)
                return InvocationResult(error, "Unhandled", TIMEOUT_ERROR_TYPE, request_id)
            reusable = True
            if reply["ok"]:
                return InvocationResult(reply["payload"], None, None, request_id)
            error = reply["error"]
            return InvocationResult(error, "Unhandled", error["errorType"], request_id)
        except WorkerDiedError as exc:
            message = f"RequestId: {request_id} Error: Runtime exited with error: {exc}"
            error = error_payload(RUNTIME_EXIT_ERROR_TYPE, message, request_id)
            return InvocationResult(error, "Unhandled", RUNTIME_EXIT_ERROR_TYPE, request_id)
        finally:
            pool.release(worker, reusable)

    def invoke_async(self, function_name_or_arn: str, event: Any) -> None:
        """InvocationType=Event: run later; failures are logged (as the Lambda service would)."""
        self._pool(function_name_or_arn)  # unknown functions fail now, like the API

        def run() -> None:
            result = self.invoke(function_name_or_arn, event)
            if result.function_error:
                logger.warning("async invocation of %s failed: %s", function_name_or_arn, result.payload)

        self._async.submit(run)

    def stop(self) -> None:
        uninstall_moto_hooks(self)
        self._async.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        idle = [worker for pool in pools for worker in pool.close()]
        # All killed first, then all waited for: their exits overlap rather than follow one another.
        for worker in idle:
            worker.kill()
        for worker in idle:
            worker.reap()


# -- moto wiring --------------------------------------------------------------------------------------

_active_runtime: LambdaRuntime | None = None


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None


def _function_invoke(function: Any, body: Any, request_headers: Any, response_headers: Any) -> str | bytes:
    """Replacement for moto's ``LambdaFunction.invoke``: run the real handler."""
    runtime = _active_runtime
    if runtime is None or not runtime.knows(function.function_name):
        return registry.original(_FUNCTION_INVOKE)(function, body, request_headers, response_headers)
    if isinstance(body, bytes):
        body = body.decode()
    event = json.loads(body) if isinstance(body, str) and body else (body or {})
    if _header(request_headers, "x-amz-invocation-type") == "Event":
        runtime.invoke_async(function.function_arn, event)
        return b""
    result = runtime.invoke(function.function_arn, event)
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    response_headers["x-amz-executed-version"] = "$LATEST"
    return json.dumps(result.payload, default=_json_default).encode()


def _simple_backend_invoke(  # noqa: PLR0917 - moto's signature
    backend: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> str | bytes | None:
    """Replacement for the docker-less backend's echo: behave like the real backend for our functions."""
    runtime = _active_runtime
    if runtime is None or not runtime.knows(function_name):
        return registry.original(_SIMPLE_BACKEND_INVOKE)(
            backend, function_name, qualifier, body, headers, response_headers
        )
    base_invoke = registry.resolve(_BASE_BACKEND_INVOKE)
    return base_invoke(backend, function_name, qualifier, body, headers, response_headers)


# moto's Lambda runs our handlers while a runtime is active (one per process: moto's backends are global).
MOTO_HOOKS = registry.PatchSet(
    "lambda runtime",
    [
        registry.Patch(
            _FUNCTION_INVOKE,
            _function_invoke,
            "every moto path that runs a function (Invoke API, SNS, SQS/Kinesis mappings) ends here; "
            "we run the real handler instead of Docker",
        ),
        registry.Patch(
            _SIMPLE_BACKEND_INVOKE,
            _simple_backend_invoke,
            "with use_docker=False this backend echoes the payload; we route it back to the function",
        ),
    ],
)


def install_moto_hooks(runtime: LambdaRuntime) -> None:
    """Make moto run ``runtime``'s handlers wherever it would invoke a function."""
    global _active_runtime  # noqa: PLW0603 - moto's hooks are process-wide, so is the active runtime
    _active_runtime = runtime
    MOTO_HOOKS.install()


def uninstall_moto_hooks(runtime: LambdaRuntime) -> None:
    global _active_runtime  # noqa: PLW0603
    if _active_runtime is runtime:
        _active_runtime = None
        MOTO_HOOKS.uninstall()
