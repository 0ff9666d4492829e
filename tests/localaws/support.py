"""Helpers the delivery-mechanism tests share."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import boto3
import pytest

from localaws.endpoint.defaults import DEFAULT_REGION as REGION
from localaws.endpoint.defaults import MOTO_CONFIG
from localaws.endpoint.server import LocalEndpoint
from localaws.lambda_.runtime import InvocationResult

__all__ = [
    "MOTO_CONFIG",
    "REGION",
    "RecordingInvoker",
    "placeholder_function",
    "recorded",
    "wait_for",
    "wait_until",
]

REPO = Path(__file__).resolve().parents[2]
HISTORIES = Path(__file__).parent / "console" / "histories"


def recorded(name: str) -> dict[str, Any]:
    """A history recorded from LocalAws (``status`` and ``events``), or the recorded definition."""
    return dict(json.loads((HISTORIES / f"{name}.json").read_text()))


def wait_for(check: Callable[[], Any], *, timeout: float = 30.0, every: float = 0.25) -> Any:
    """``check()``'s first truthy value; fails the test if none comes within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"nothing after {timeout} s: {check}")
        time.sleep(every)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        time.sleep(0.02)


def placeholder_function(name: str, *, region: str = REGION) -> str:
    """A function in moto's Lambda whose code never runs: the tests' fake invoker stands in for it."""
    role = boto3.client("iam", region_name=region).create_role(
        RoleName=f"{name}-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return None\n")
    created = boto3.client("lambda", region_name=region).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": archive.getvalue()},
    )
    return str(created["FunctionArn"])


Handler = Callable[[dict[str, Any]], Any]


class RecordingInvoker:
    """A Lambda invoker for delivery tests: records every event once handled; ``handler`` decides the response
    (an exception becomes a function error)."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler: Handler = handler or (lambda event: None)
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()

    def invoke(self, function_name_or_arn: str, event: Any) -> InvocationResult:
        try:
            payload, error, error_type = self.handler(event), None, None
        except Exception as exc:
            payload, error, error_type = {"errorMessage": str(exc)}, "Unhandled", type(exc).__name__
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()
        return InvocationResult(payload, error, error_type, str(uuid.uuid4()))

    def records(self) -> list[dict[str, Any]]:
        with self._cond:
            return [record for event in self.events for record in event["Records"]]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition():
                remaining = deadline - time.monotonic()
                assert remaining > 0, "condition not reached before the deadline"
                self._cond.wait(min(remaining, 0.05))


@contextmanager
def serving() -> Iterator[LocalEndpoint]:
    """A LocalEndpoint on a free port, stopped on the way out."""
    served = LocalEndpoint(port=0)
    served.start()
    try:
        yield served
    finally:
        served.stop()


def moto_client(service: str) -> Any:
    """A client of the in-process moto (the tests' ``mock_aws``), in the tests' region."""
    return cast(Any, boto3).client(service, region_name=REGION)
