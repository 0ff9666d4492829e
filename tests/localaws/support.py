"""Helpers the delivery-mechanism tests share."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from typing import Any

import boto3

REGION = "us-east-1"
# Executing state machines and docker-less Lambda: the configuration the local runtime runs moto with.
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


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
