"""Fault injection at the endpoint: a share of the Lambda handlers' AWS calls fail as AWS fails under stress.

``EndpointFaults`` sits in front of the AWS APIs (``LocalEndpoint.faults``). It is off until configured,
and then touches only calls made from Lambda workers: botocore names its execution environment in the
User-Agent (``exec-env/AWS_Lambda_<runtime>``, from ``AWS_EXECUTION_ENV``, which the local runtime sets as
Lambda does), so the AWS CLI, scripts, the console and a load harness reading the stores are never hit.

- ``throttle``: the call is refused as AWS refuses it under load, ``ProvisionedThroughputExceededException``
  from DynamoDB and ``ThrottlingException`` from the others (HTTP 400, retryable);
- ``server_error``: HTTP 500 ``InternalFailure``;
- ``lost_callback``: ``SendTaskSuccess`` answers 200 and is dropped: the handler believes it answered, and
  the workflow's heartbeat or timeout must notice.

The SDK's own retries absorb most throttles and 500s, as they do on AWS; what is left reaches the handler.
"""

from __future__ import annotations

import json
import random
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from localaws.endpoint.plain_response import JSON_1_0

THROTTLE = "throttle"
SERVER_ERROR = "server_error"
LOST_CALLBACK = "lost_callback"
KINDS = (THROTTLE, SERVER_ERROR, LOST_CALLBACK)

_LAMBDA_CALLER = "exec-env/AWS_Lambda_"
_SEND_TASK_SUCCESS = "AWSStepFunctions.SendTaskSuccess"
_CREDENTIAL_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class FaultShareError(ValueError):
    """A share that is not a fraction between 0 and 1."""


@dataclass(frozen=True)
class FaultShares:
    """The share of Lambda callers' calls each fault hits (0 to 1)."""

    throttle: float = 0.0
    server_error: float = 0.0
    lost_callback: float = 0.0

    def __post_init__(self) -> None:
        for kind in KINDS:
            share = getattr(self, kind)
            if not 0.0 <= share <= 1.0:
                raise FaultShareError(f"{kind}: {share} is not a share between 0 and 1")

    @property
    def active(self) -> bool:
        return any(getattr(self, kind) for kind in KINDS)


def _service(environ: dict[str, Any]) -> str:
    """The service a signed request is for (its credential scope), e.g. ``dynamodb``, ``states``, ``sns``."""
    match = _CREDENTIAL_SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else ""


def _json_protocol(environ: dict[str, Any]) -> bool:
    return "x-amz-json" in environ.get("CONTENT_TYPE", "")


class EndpointFaults:
    """The switch: ``configure`` turns faults on, ``clear`` off; ``injected`` counts what it did, by kind."""

    def __init__(self) -> None:
        self._shares = FaultShares()
        self._random = random.Random()
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    @property
    def shares(self) -> FaultShares:
        return self._shares

    def configure(self, shares: FaultShares, *, seed: int | None = None) -> None:
        with self._lock:
            self._shares = shares
            self._random = random.Random(seed)
            self.injected = Counter()

    def clear(self) -> None:
        with self._lock:
            self._shares = FaultShares()

    def wrap(self, app: WSGIApp) -> WSGIApp:
        return _FaultyApp(self, app)

    def _draw(self, environ: dict[str, Any]) -> str | None:
        shares = self._shares
        with self._lock:
            if environ.get("HTTP_X_AMZ_TARGET") == _SEND_TASK_SUCCESS and (
                self._random.random() < shares.lost_callback
            ):
                fault: str | None = LOST_CALLBACK
            elif self._random.random() < shares.throttle:
                fault = THROTTLE
            elif self._random.random() < shares.server_error:
                fault = SERVER_ERROR
            else:
                fault = None
            if fault is not None:
                self.injected[fault] += 1
        return fault


class _FaultyApp:
    """``app`` behind the switch; the wrapped app's own attributes (e.g. counters) read through."""

    def __init__(self, faults: EndpointFaults, app: WSGIApp) -> None:
        self.faults = faults
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        faults = self.faults
        if not faults.shares.active or _LAMBDA_CALLER not in environ.get("HTTP_USER_AGENT", ""):
            return self.app(environ, start_response)
        fault = faults._draw(environ)
        if fault is None:
            return self.app(environ, start_response)
        return _answer(fault, environ, start_response)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)


def _answer(fault: str, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    request_id = str(uuid.uuid4())
    if fault == LOST_CALLBACK:
        start_response(
            "200 OK",
            [("Content-Type", JSON_1_0), ("x-amzn-RequestId", request_id)],
        )
        return [b"{}"]
    if fault == THROTTLE:
        status = "400 Bad Request"
        code = (
            "ProvisionedThroughputExceededException"
            if _service(environ) == "dynamodb"
            else "ThrottlingException"
        )
        message = "Rate exceeded (injected by the local endpoint's fault switch)"
    else:
        status = "500 Internal Server Error"
        code = "InternalFailure"
        message = "An internal error occurred (injected by the local endpoint's fault switch)"
    if _json_protocol(environ):
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", JSON_1_0), ("x-amzn-ErrorType", code)]
    else:  # the query protocol (SNS, CloudWatch): an XML error document
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    start_response(status, [*headers, ("x-amzn-RequestId", request_id)])
    return [body]
