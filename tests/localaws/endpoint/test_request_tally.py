"""The request tally names each call by its way in, service and operation; it counts calls, errors, CPU."""

from __future__ import annotations

import io
from typing import Any

from localaws.endpoint.request_tally import (
    TCP,
    UNIX,
    WAY_IN_KEY,
    RequestTally,
    operation_of,
    per_unit,
    service_of,
)

_AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/{service}/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0"
)


def _environ(body: bytes = b"", **extra: str) -> dict[str, Any]:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    environ.update(extra)
    return environ


class _App:
    """Answers with a fixed status, and keeps the body it read."""

    def __init__(self, status: str = "200 OK") -> None:
        self.status = status
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.bodies.append(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        start_response(self.status, [("Content-Type", "text/plain")])
        return [b"ok"]


def test_a_call_is_named_by_its_signed_service_and_its_target_action_or_path() -> None:
    signed = {"HTTP_AUTHORIZATION": _AUTH.format(service="dynamodb")}
    assert service_of(signed) == "dynamodb"
    assert service_of({}) == "-"
    assert service_of({"HTTP_AUTHORIZATION": "Bearer x"}) == "-"
    assert operation_of(_environ(HTTP_X_AMZ_TARGET="DynamoDB_20120810.GetItem")) == "GetItem"
    assert operation_of(_environ(QUERY_STRING="Action=ListTopics&Version=2010-03-31")) == "ListTopics"
    assert operation_of(
        _environ(b"Action=Publish&Message=hi", CONTENT_TYPE="application/x-www-form-urlencoded")
    ) == ("Publish")
    assert (
        operation_of(_environ(REQUEST_METHOD="GET", PATH_INFO="/_console/api/executions")) == "GET /_console"
    )


def test_reading_a_form_body_for_its_action_leaves_the_body_to_the_application() -> None:
    # Given an SNS Publish as a form body
    app = _App()
    tally = RequestTally(app)
    body = b"Action=Publish&TopicArn=arn&Message=hello"
    environ = _environ(body, CONTENT_TYPE="application/x-www-form-urlencoded; charset=utf-8")
    environ["HTTP_AUTHORIZATION"] = _AUTH.format(service="sns")
    # When the tally names it and passes it on
    assert list(tally(environ, lambda *_: None)) == [b"ok"]
    # Then the application read the whole body, and the call is counted under its action
    assert app.bodies == [body]
    assert tally.snapshot().keys() == {(TCP, "sns", "Publish")}


def test_calls_errors_and_cpu_are_counted_per_way_in_and_call() -> None:
    # Given two calls over the Unix channel and one over TCP, one of them refused
    ok, refused = RequestTally(_App()), RequestTally(_App("400 Bad Request"))
    target = {"HTTP_X_AMZ_TARGET": "AWSStepFunctions.SendTaskSuccess"}
    unix = {**target, WAY_IN_KEY: UNIX}
    before = ok.snapshot()
    ok(_environ(b"{}", **unix), lambda *_: None)
    ok(_environ(b"{}", **unix), lambda *_: None)
    ok(_environ(b"{}", **target), lambda *_: None)
    refused(_environ(b"{}", **target), lambda *_: None)
    # Then each is counted under its own name, with its errors and some CPU
    counts = ok.snapshot()
    assert {name: (calls, errors) for name, (calls, errors, _) in counts.items()} == {
        (UNIX, "-", "SendTaskSuccess"): (2, 0),
        (TCP, "-", "SendTaskSuccess"): (1, 0),
    }
    assert all(cpu >= 0 for _, _, cpu in counts.values())
    assert [(calls, errors) for calls, errors, _ in refused.snapshot().values()] == [(1, 1)]
    # And per order, over two orders: the calls between the snapshots, most CPU first
    table = per_unit(before, counts, 2)
    assert table["calls_per_unit"] == 1.5
    assert {row["call"]: row["per_unit"] for row in table["by_call"]} == {
        "unix/-/SendTaskSuccess": 1.0,
        "tcp/-/SendTaskSuccess": 0.5,
    }


def test_per_unit_leaves_out_calls_not_made_between_the_snapshots() -> None:
    before = {(UNIX, "dynamodb", "GetItem"): (4, 1, 0.004), (TCP, "events", "PutEvents"): (2, 0, 0.002)}
    after = {(UNIX, "dynamodb", "GetItem"): (10, 1, 0.010), (TCP, "events", "PutEvents"): (2, 0, 0.002)}
    table = per_unit(before, after, 3)
    assert table["by_call"] == [
        {
            "call": "unix/dynamodb/GetItem",
            "per_unit": 2.0,
            "errors_per_unit": 0.0,
            "cpu_us_each": 1000,
            "cpu_ms_per_unit": 2.0,
        }
    ]
    assert table["cpu_ms_per_unit"] == 2.0
