"""The Step Functions fast path answers over HTTP exactly as the lean path does, call for call.

The same requests go to the endpoint in two worlds seeded alike, the fast path off then on; the status, every
header but the date (in order, the request id by its form) and the body (timestamps by their type) must be
the same, errors included, and the fast path must have answered the covered calls of the second world.
"""

from __future__ import annotations

import http.client
import json
import re
import time
from typing import Any, TypeVar

from localaws.endpoint import json_fast_path, sfn_fast_path
from localaws.endpoint.server import LocalEndpoint
from localaws.patches import speedups

_Middleware = TypeVar("_Middleware")
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/r"
_AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20261128/us-east-1/{scope}/aws4_request, "
    "SignedHeaders=host;x-amz-target, Signature=0"
)
_TIMESTAMP_KEYS = frozenset({"startDate", "stopDate", "creationDate", "updateDate", "redriveDate"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9]{52}$")
# An unnamed execution's generated name: drawn from moto's random, which the engine's threads draw from too.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# A task token's SQS message, in a history: its MD5 is of the token, random in each world.
_TOKEN_MD5 = re.compile(r'"MD5OfMessageBody": "[0-9a-f]{32}"')


class Raw:
    """Requests as the SDK sends them, answers as they come off the wire."""

    def __init__(self, endpoint: LocalEndpoint) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=30)

    def call(
        self,
        target: str,
        body: Any,
        *,
        scope: str = "states",
        content_type: str = "application/x-amz-json-1.0",
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.connection.request(
            "POST",
            "/",
            body=data,
            headers={
                "Content-Type": content_type,
                "X-Amz-Target": target,
                "Authorization": _AUTH.format(scope=scope),
            },
        )
        response = self.connection.getresponse()
        return response.status, response.getheaders(), response.read()

    def sfn(self, operation: str, body: Any) -> tuple[int, list[tuple[str, str]], bytes]:
        return self.call(f"AWSStepFunctions.{operation}", body)

    def ok(self, target: str, body: Any, *, scope: str = "states") -> dict[str, Any]:
        status, _, content = self.call(target, body, scope=scope)
        assert status == 200, content
        answer: dict[str, Any] = json.loads(content or b"{}")
        return answer


def comparable(answer: tuple[int, list[tuple[str, str]], bytes]) -> tuple[Any, ...]:
    """An answer with what differs between worlds by nature (date, request id, timestamps) as forms."""
    status, headers, content = answer
    shown = []
    for name, value in headers:
        if name.lower() == "date":
            continue
        shown_value: Any = value
        if name.lower() == "x-amzn-requestid":
            shown_value = bool(_REQUEST_ID.match(value))
        if name.lower() == "content-length":  # timestamps vary in length: the body's own length
            shown_value = value == str(len(content))
        shown.append((name, shown_value))
    try:
        body: Any = json.loads(content)
    except ValueError:
        body = content
    if isinstance(body, dict):
        body = {
            key: (
                _timestamp_form(value)
                if key in _TIMESTAMP_KEYS
                else _UUID.sub("<uuid>", value)
                if isinstance(value, str)
                else value
            )
            for key, value in body.items()
        }
        body["__order__"] = list(json.loads(content))
        if isinstance(body.get("events"), list):
            body["events"] = [_event_form(event) for event in body["events"]]
    return status, shown, body


def _event_form(value: Any, key: str = "") -> Any:
    """A history event with its members in order, its timestamp by type, and generated names as forms."""
    if isinstance(value, dict):
        return [(name, _event_form(inner, name)) for name, inner in value.items()]
    if isinstance(value, list):
        return [_event_form(inner) for inner in value]
    if key == "timestamp":
        return _timestamp_form(value)
    return _TOKEN_MD5.sub("<md5>", _UUID.sub("<uuid>", value)) if isinstance(value, str) else value


def _timestamp_form(value: Any) -> str:
    """A timestamp by kind: seconds, or the type name of anything else.

    moto keeps a history event's time to the millisecond and writes a whole second as an integer, so about one
    event in a thousand reads ``1764401405`` in one world where the other reads ``1764401405.123`` (this test
    failed about one run in ten on it). How a whole second is written is checked against moto's serialiser in
    ``test_json_answer``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "seconds"
    return type(value).__name__


def _wait(raw: Raw, execution_arn: str, *, running_ok: bool = False) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        described = raw.ok("AWSStepFunctions.DescribeExecution", {"executionArn": execution_arn})
        # moto sets a failed execution's status before its error and cause (_reflect_execution_status):
        # every failure here has both, so a FAILED answer without them is read again.
        settled = described["status"] != "FAILED" or {"error", "cause"} <= described.keys()
        if (described["status"] != "RUNNING" and settled) or running_ok:
            return
        time.sleep(0.02)
    raise AssertionError(f"{execution_arn} still running")


def _token(raw: Raw, queue_url: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        messages = raw.ok(
            "AmazonSQS.ReceiveMessage", {"QueueUrl": queue_url, "MaxNumberOfMessages": 1}, scope="sqs"
        ).get("Messages", [])
        if messages:
            return str(messages[0]["Body"])
        time.sleep(0.02)
    raise AssertionError("no task token came")


def _machine(raw: Raw, name: str, states: dict[str, Any], start: str) -> str:
    body = {"name": name, "roleArn": ROLE, "definition": json.dumps({"StartAt": start, "States": states})}
    return str(raw.ok("AWSStepFunctions.CreateStateMachine", body)["stateMachineArn"])


class World:
    """A freshly reset and seeded moto with three state machines; the answers recorded, each with whether
    the fast path answered it."""

    def __init__(self, endpoint: LocalEndpoint) -> None:
        self.raw = Raw(endpoint)
        self.fast = fast_path_of(endpoint)
        self.answers: list[tuple[str, tuple[Any, ...]]] = []
        reset = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=30)
        reset.request("POST", "/moto-api/reset")
        reset.getresponse().read()
        speedups.clear_caches()
        reset.request("POST", "/moto-api/seed?a=42")
        reset.getresponse().read()
        raw = self.raw
        self.queue_url = raw.ok("AmazonSQS.CreateQueue", {"QueueName": "tokens"}, scope="sqs")["QueueUrl"]
        self.quick = _machine(raw, "quick", {"P": {"Type": "Pass", "End": True}}, "P")
        self.failing = _machine(
            raw, "failing", {"F": {"Type": "Fail", "Error": "Bad", "Cause": "because"}}, "F"
        )
        task = {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": self.queue_url, "MessageBody.$": "$$.Task.Token"},
            "End": True,
        }
        self.waiting = _machine(raw, "waiting", {"T": task}, "T")

    def record(self, label: str, operation: str, body: Any) -> None:
        before = self.fast.fast_requests
        answer = comparable(self.raw.sfn(operation, body))
        self.answers.append((label, (*answer, self.fast.fast_requests - before)))


def _starts_and_lookups(w: World) -> None:
    quick, record = w.quick, w.record
    execution = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:quick"
    record("start", "StartExecution", {"stateMachineArn": quick, "name": "a", "input": '{"x": 1}'})
    _wait(w.raw, f"{execution}:a")
    record(
        "start again, same input",
        "StartExecution",
        {"stateMachineArn": quick, "name": "a", "input": '{"x": 1}'},
    )
    record("same name, other input", "StartExecution", {"stateMachineArn": quick, "name": "a", "input": "{}"})
    record("no input", "StartExecution", {"stateMachineArn": quick, "name": "b"})
    record("unnamed", "StartExecution", {"stateMachineArn": quick})
    record("missing machine", "StartExecution", {"stateMachineArn": quick + "-gone", "name": "c"})
    record("bad arn", "StartExecution", {"stateMachineArn": "not-an-arn", "name": "c"})
    record("bad input", "StartExecution", {"stateMachineArn": quick, "name": "d", "input": "{"})
    record("bad name", "StartExecution", {"stateMachineArn": quick, "name": "a b"})
    record("test case, no mock file", "StartExecution", {"stateMachineArn": quick + "#Case", "name": "e"})
    record(
        "over 256 KiB",
        "StartExecution",
        {"stateMachineArn": quick, "name": "f", "input": json.dumps("x" * 262200)},
    )
    record("unknown parameter", "StartExecution", {"stateMachineArn": quick, "name": "g", "other": 1})
    record("number for a name", "StartExecution", {"stateMachineArn": quick, "name": 7})
    record("malformed JSON", "StartExecution", b"{not json")
    record(
        "'Action=' in the body",
        "StartExecution",
        {"stateMachineArn": quick, "name": "h", "input": '{"q": "&Action=ListExecutions"}'},
    )
    record("succeeded", "DescribeExecution", {"executionArn": f"{execution}:a"})
    record("missing execution", "DescribeExecution", {"executionArn": f"{execution}:zz"})
    record("bad execution arn", "DescribeExecution", {"executionArn": "nope"})
    record("no arn", "DescribeExecution", {})
    record("empty body", "DescribeExecution", b"")
    failed = w.raw.ok("AWSStepFunctions.StartExecution", {"stateMachineArn": w.failing, "name": "f1"})
    _wait(w.raw, failed["executionArn"])
    record("failed", "DescribeExecution", {"executionArn": failed["executionArn"]})
    record("history of a success", "GetExecutionHistory", {"executionArn": f"{execution}:a"})
    record("history of a failure", "GetExecutionHistory", {"executionArn": failed["executionArn"]})
    record(
        "history, reversed, two a page",
        "GetExecutionHistory",
        {"executionArn": f"{execution}:a", "reverseOrder": True, "maxResults": 2},
    )
    record("history of a missing execution", "GetExecutionHistory", {"executionArn": f"{execution}:zz"})
    record("history, bad arn", "GetExecutionHistory", {"executionArn": "nope"})
    record("history, no arn", "GetExecutionHistory", {})


def _callbacks(w: World) -> None:
    raw, record = w.raw, w.record
    tokens = {}
    for name in ("w1", "w2", "w3", "w4"):
        started = raw.ok("AWSStepFunctions.StartExecution", {"stateMachineArn": w.waiting, "name": name})
        tokens[name] = (started["executionArn"], _token(raw, w.queue_url))
    (arn1, token1), (arn2, token2), (arn3, token3) = tokens["w1"], tokens["w2"], tokens["w3"]
    arn4, token4 = tokens["w4"]
    record("running", "DescribeExecution", {"executionArn": arn1})
    record("heartbeat", "SendTaskHeartbeat", {"taskToken": token1})
    record("success", "SendTaskSuccess", {"taskToken": token1, "output": '{"ok": true}'})
    _wait(raw, arn1)
    record("success again", "SendTaskSuccess", {"taskToken": token1, "output": "{}"})
    record("heartbeat, ended", "SendTaskHeartbeat", {"taskToken": token1})
    record("output of a success", "DescribeExecution", {"executionArn": arn1})
    # moto takes an output that is not JSON, and the execution then fails on it: a token of its own, and the
    # execution's end awaited, so that no later answer races it
    record("bad output", "SendTaskSuccess", {"taskToken": token4, "output": "{"})
    _wait(raw, arn4)
    record("failed on a bad output", "DescribeExecution", {"executionArn": arn4})
    record("failure", "SendTaskFailure", {"taskToken": token2, "error": "E", "cause": "why"})
    _wait(raw, arn2)
    record("failure again", "SendTaskFailure", {"taskToken": token2, "error": "E"})
    record("failed task", "DescribeExecution", {"executionArn": arn2})
    record("invalid token", "SendTaskSuccess", {"taskToken": "nope", "output": "{}"})
    record("invalid token, failure", "SendTaskFailure", {"taskToken": "nope"})
    record("invalid token, heartbeat", "SendTaskHeartbeat", {"taskToken": "nope"})
    record("no token", "SendTaskSuccess", {"output": "{}"})
    raw.ok("AWSStepFunctions.StopExecution", {"executionArn": arn3})
    _wait(raw, arn3)
    record("stopped", "DescribeExecution", {"executionArn": arn3})
    record("history of a task's success", "GetExecutionHistory", {"executionArn": arn1})
    record("history of a task's failure", "GetExecutionHistory", {"executionArn": arn2})
    record("history of a stopped execution", "GetExecutionHistory", {"executionArn": arn3})
    record("token of a stopped execution", "SendTaskSuccess", {"taskToken": token3, "output": "{}"})


def world(endpoint: LocalEndpoint) -> list[tuple[str, tuple[Any, ...]]]:
    """The same calls in a fresh world, their answers in a comparable form."""
    w = World(endpoint)
    _starts_and_lookups(w)
    _callbacks(w)
    return w.answers


def test_fast_path_answers_exactly_as_the_lean_path(fast_endpoint: LocalEndpoint) -> None:
    endpoint = fast_endpoint
    # Given the endpoint, its Step Functions fast path off, then on, in worlds reset and seeded alike
    # When the same calls are made
    # Then every answer is the same: status, headers, body; errors included
    lean, quick = same_answers_off_and_on(sfn_fast_path.SFN_HTTP, lambda: world(endpoint))
    # And the fast path answered each call but the one whose body reads as a query string with an Action, and
    # the malformed body (refused before it, by the endpoint's JSON body check)
    assert {label for label, answer in quick if answer[-1] != 1} == {
        "'Action=' in the body",
        "malformed JSON",
    }
    assert {answer[-1] for _, answer in lean} == {0}
    statuses = {label: answer[0] for label, answer in quick}
    assert statuses["start"] == statuses["success"] == statuses["failed task"] == 200
    assert (
        statuses["same name, other input"] == statuses["invalid token"] == statuses["malformed JSON"] == 400
    )
    bodies = {label: answer[2] for label, answer in quick}
    assert (bodies["failed on a bad output"]["status"], bodies["failed on a bad output"]["error"]) == (
        "FAILED",
        "States.Runtime",
    )
    assert (bodies["failed task"]["error"], bodies["failed task"]["cause"]) == ("E", "why")


Answers = list[tuple[str, tuple[Any, ...]]]


def same_answers_off_and_on(switch: Any, world_of: Any) -> tuple[Answers, Answers]:
    """A world's labelled answers with ``switch`` off, then on (each answer's last item: how many calls the
    fast path took); every label's answer but that count must be the same in both."""
    switch.uninstall()
    lean: Answers = world_of()
    switch.install()
    quick: Answers = world_of()
    assert [label for label, _ in quick] == [label for label, _ in lean]
    for (label, on), (_, off) in zip(quick, lean, strict=True):
        assert on[:-1] == off[:-1], label
    return lean, quick


def fast_path_of(endpoint: LocalEndpoint) -> json_fast_path.JsonFastPath:
    return middleware_of(endpoint, json_fast_path.JsonFastPath)


def middleware_of(endpoint: LocalEndpoint, kind: type[_Middleware]) -> _Middleware:
    """The endpoint's WSGI middleware of ``kind``, found down its chain of ``app``s."""
    assert endpoint._server is not None
    app: Any = endpoint._server.app
    while not isinstance(app, kind):
        app = app.app
    return app
