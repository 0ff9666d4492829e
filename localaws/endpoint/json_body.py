"""A JSON-protocol call whose body is not a JSON object, answered as AWS answers: 400 SerializationException.

moto's handlers for the AWS JSON protocols (DynamoDB, SQS, Step Functions, EventBridge, Kinesis, ...) load the
body with ``json.loads`` and read it as an object. A body that is not JSON, or is JSON but not an object,
raised inside most handlers (the endpoint answered 500 Internal Server Error, with a traceback in its log),
and others read it as no parameters (SQS answered QueueDoesNotExist, Kinesis "Stream None ... not found").
AWS answers such a request 400 with the error code ``SerializationException``, which botocore raises as a
``ClientError`` naming the reason. This middleware checks the body before moto sees it (``json.loads`` of an
UpdateItem's body: about 10 µs) and leaves it in the environ for whoever reads it next.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from localaws.endpoint.json_fast_path import read_body

SERIALIZATION_ERROR = "SerializationException"


def body_problem(raw: bytes) -> str | None:
    """Why ``raw`` is not the JSON object a JSON-protocol call carries; None when it is one, or is empty."""
    if not raw.strip():
        return None  # moto reads an empty body as no parameters, as AWS does
    try:
        text = raw.decode("utf-8")  # as moto reads it (json.loads of bytes would also take UTF-16 and -32)
    except UnicodeDecodeError:
        return "the request body is not UTF-8 text"
    try:
        parsed = json.loads(text)
    except ValueError as error:
        return f"the request body is not valid JSON: {error}"
    if not isinstance(parsed, dict):
        return f"the request body must be a JSON object, not {type(parsed).__name__}"
    return None


class JsonBodyCheck:
    """WSGI middleware: a JSON-protocol call (``X-Amz-Target``, an ``x-amz-json`` content type) whose body is
    not a JSON object is answered 400 ``SerializationException``; every other request goes to ``app``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        content_type = environ.get("CONTENT_TYPE", "")
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target is None or not content_type.startswith("application/x-amz-json-"):
            return self.app(environ, start_response)
        problem = body_problem(read_body(environ))
        if problem is None:
            return self.app(environ, start_response)
        body = json.dumps({"__type": SERIALIZATION_ERROR, "message": f"{problem} ({target})"}).encode()
        start_response(
            "400 Bad Request",
            [
                ("Content-Type", content_type),
                ("x-amzn-ErrorType", SERIALIZATION_ERROR),
                ("x-amzn-RequestId", str(uuid.uuid4())),
            ],
        )
        return [body]
