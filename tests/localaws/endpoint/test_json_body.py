"""A JSON-protocol call whose body is not a JSON object gets AWS's 400 SerializationException, naming why."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
from botocore.parsers import create_parser

from localaws.endpoint.json_body import body_problem
from localaws.endpoint.server import LocalEndpoint
from tests.localaws.endpoint.test_sfn_fast_path import _AUTH

JSON_1_0 = "application/x-amz-json-1.0"
JSON_1_1 = "application/x-amz-json-1.1"
# (credential scope, X-Amz-Target, content type): a call of each JSON-protocol service the stack uses
CALLS = [
    ("dynamodb", "DynamoDB_20120810.PutItem", JSON_1_0),
    ("sqs", "AmazonSQS.SendMessage", JSON_1_0),
    ("states", "AWSStepFunctions.StartExecution", JSON_1_0),
    ("events", "AWSEvents.PutEvents", JSON_1_1),
    ("kinesis", "Kinesis_20131202.PutRecord", JSON_1_1),
]
BAD_BODIES = [
    (b"{not json", "the request body is not valid JSON: Expecting property name enclosed in double quotes"),
    (b'{"TableName": "t"', "the request body is not valid JSON: Expecting ',' delimiter"),
    (b"[1, 2]", "the request body must be a JSON object, not list"),
    (b'"text"', "the request body must be a JSON object, not str"),
    (b"null", "the request body must be a JSON object, not NoneType"),
    (b"\xff\xfe{}", "the request body is not UTF-8 text"),
]


def post(
    endpoint: LocalEndpoint, scope: str, target: str, content_type: str, body: bytes
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=30)
    headers = {"Content-Type": content_type, "Authorization": _AUTH.format(scope=scope)}
    if target:
        headers["X-Amz-Target"] = target
    connection.request("POST", "/", body=body, headers=headers)
    response = connection.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def botocore_error(status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The error as botocore reads it off the wire."""
    parser: Any = create_parser("json")  # an error needs no output shape (typeshed wants one)
    parsed: dict[str, Any] = parser.parse({"status_code": status, "headers": headers, "body": body}, None)
    return dict(parsed["Error"])


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("bad", BAD_BODIES)
def test_a_body_that_is_not_a_json_object_is_a_serialization_error(
    endpoint: LocalEndpoint, call: tuple[str, str, str], bad: tuple[bytes, str]
) -> None:
    (scope, target, content_type), (body, reason) = call, bad
    # Given the endpoint
    # When a JSON-protocol call comes with a body that is not a JSON object
    status, headers, content = post(endpoint, scope, target, content_type, body)
    # Then AWS's answer: 400, SerializationException, the reason and the call named; botocore reads it so
    assert status == 400
    assert headers["Content-Type"] == content_type
    assert headers["x-amzn-ErrorType"] == "SerializationException"
    error = botocore_error(status, headers, content)
    assert error["Code"] == "SerializationException"
    assert error["Message"].startswith(reason), error["Message"]
    assert error["Message"].endswith(f"({target})")


def test_a_json_object_and_an_empty_body_still_reach_moto(endpoint: LocalEndpoint) -> None:
    # Given the endpoint
    # When DynamoDB is asked for its tables with an object and with no body, and for a missing table
    listed = post(endpoint, "dynamodb", "DynamoDB_20120810.ListTables", JSON_1_0, b"{}")
    empty = post(endpoint, "dynamodb", "DynamoDB_20120810.ListTables", JSON_1_0, b"")
    missing = post(
        endpoint,
        "dynamodb",
        "DynamoDB_20120810.DescribeTable",
        JSON_1_0,
        json.dumps({"TableName": "no"}).encode(),
    )
    # Then moto answers each as before
    assert (listed[0], json.loads(listed[2])) == (200, {"TableNames": []})
    assert (empty[0], json.loads(empty[2])) == (200, {"TableNames": []})
    assert missing[0] == 400
    assert botocore_error(*missing)["Code"] == "ResourceNotFoundException"


def test_other_protocols_are_left_to_moto(endpoint: LocalEndpoint) -> None:
    # Given the endpoint
    # When an SNS (query protocol) call and a JSON body without a target come
    query = post(
        endpoint, "sns", "", "application/x-www-form-urlencoded", b"Action=ListTopics&Version=2010-03-31"
    )
    # Then they are not refused as JSON
    assert query[0] == 200
    assert b"ListTopicsResponse" in query[2]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"", None),
        (b"  \n", None),
        (b"{}", None),
        (b'{"a": [1]}', None),
        (b"[]", "not list"),
        (b"1", "not int"),
    ],
)
def test_body_problem_names_what_is_wrong(raw: bytes, problem: str | None) -> None:
    found = body_problem(raw)
    assert found == problem if problem is None else (found is not None and found.endswith(problem))
