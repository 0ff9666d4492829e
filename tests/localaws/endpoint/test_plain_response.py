"""The lean path's plain WSGI answer: the same status line, headers and body as Flask's Response."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from flask import Response
from werkzeug.test import EnvironBuilder

from localaws.endpoint import plain_response as plain_response_module
from localaws.endpoint.defaults import local_client
from localaws.endpoint.plain_response import plain_response
from localaws.endpoint.server import LocalEndpoint

Answer = tuple[str, list[tuple[str, str]], bytes]


def _flask_answer(status: Any, headers: Any, content: Any) -> Answer:
    started: list[Any] = []

    def start_response(status: str, lines: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.append((status, lines))
        return None

    response = Response(response=content, status=status, headers=headers)
    environ = EnvironBuilder(method="POST", path="/").get_environ()
    body = b"".join(response(environ, start_response))
    return started[0][0], list(started[0][1]), body


def _plain_answer(status: Any, headers: Any, content: Any) -> Answer | None:
    started: list[Any] = []
    body = plain_response(status, headers, content, lambda status, lines: started.append((status, lines)))
    if body is None:
        assert not started  # nothing was sent: the caller can still answer with Flask
        return None
    return started[0][0], list(started[0][1]), b"".join(body)


@pytest.mark.parametrize(
    ("status", "headers", "content"),
    [
        (
            200,
            {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "r", "status": "200"},
            '{"a":"é"}',
        ),
        (400, {}, "Requested resource not found"),  # no content type: Flask's default
        (200, {"content-length": "3", "X-Count": 7}, b"abcdef"),  # a stale length is replaced in place
        (200, {"content-length": "1", "Content-Length": "2", "A": "b"}, "xy"),  # one length is kept
        (404, {"server": "amazon.com", "content-type": "text/xml"}, ""),
        (500, {"x-amzn-ErrorType": "InternalFailure"}, "<Error/>"),
        (201, {"ETag": '"abc"'}, b""),
    ],
)
def test_plain_answers_are_the_ones_flask_gives(status: Any, headers: Any, content: Any) -> None:
    # Given a handler's answer
    # When it is answered plainly and by Flask's Response
    # Then the status line, headers (names, values, order) and body are the same
    assert _plain_answer(status, dict(headers), content) == _flask_answer(status, dict(headers), content)


@pytest.mark.parametrize(
    ("status", "headers", "content"),
    [
        (204, {}, ""),  # werkzeug drops the body and its length
        (304, {"ETag": "x"}, ""),
        (302, {"Location": "/next"}, ""),  # werkzeug rewrites Location
        (200, {"Content-Location": "/é"}, ""),
        (200, {"Set-Cookie": ["a=1", "b=2"]}, ""),  # one header line per value
        (200, {"X-Bad": "a\nb"}, ""),  # werkzeug refuses it
        (200, {}, None),
        (200, {}, [b"chunk"]),
        ("200", {}, ""),
        (299, {}, ""),  # no reason phrase known
        (200, [("A", "b")], ""),
        (True, {}, ""),
    ],
)
def test_other_answers_are_left_to_flask(status: Any, headers: Any, content: Any) -> None:
    assert _plain_answer(status, headers, content) is None


def _calls(endpoint: LocalEndpoint) -> int:
    """SDK calls to every lean service, successes and errors alike; the number of errors seen."""
    dynamodb, sqs, sns = (
        local_client(name, endpoint_url=endpoint.url) for name in ("dynamodb", "sqs", "sns")
    )
    sfn, events, kinesis = (
        local_client(name, endpoint_url=endpoint.url) for name in ("stepfunctions", "events", "kinesis")
    )
    cloudwatch, sts = (
        local_client("cloudwatch", endpoint_url=endpoint.url),
        local_client("sts", endpoint_url=endpoint.url),
    )
    dynamodb.create_table(
        TableName="plain",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    url = sqs.create_queue(QueueName="plain")["QueueUrl"]
    topic = sns.create_topic(Name="plain")["TopicArn"]
    calls = [
        lambda: dynamodb.put_item(TableName="plain", Item={"id": {"S": "a"}, "n": {"N": "1"}}),
        lambda: dynamodb.get_item(TableName="plain", Key={"id": {"S": "a"}}),
        lambda: dynamodb.update_item(
            TableName="plain",
            Key={"id": {"S": "a"}},
            UpdateExpression="SET n = n + :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="ALL_NEW",
        ),
        lambda: dynamodb.put_item(
            TableName="plain", Item={"id": {"S": "a"}}, ConditionExpression="attribute_not_exists(id)"
        ),
        lambda: dynamodb.get_item(TableName="missing", Key={"id": {"S": "a"}}),
        lambda: dynamodb.query(TableName="plain", KeyConditionExpression="nope = :v"),  # a bad parameter
        lambda: sqs.send_message(QueueUrl=url, MessageBody="héllo"),
        lambda: sqs.receive_message(QueueUrl=url),
        lambda: sqs.get_queue_url(QueueName="missing"),
        lambda: sns.publish(TopicArn=topic, Message="m"),
        lambda: sns.publish(TopicArn=topic + "-missing", Message="m"),
        sfn.list_state_machines,
        lambda: sfn.describe_execution(executionArn="not-an-arn"),
        lambda: events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}]),
        lambda: kinesis.describe_stream(StreamName="missing"),
        lambda: cloudwatch.put_metric_data(Namespace="plain", MetricData=[{"MetricName": "m", "Value": 1.0}]),
        sts.get_caller_identity,
    ]
    errors = 0
    for call in calls:
        try:
            call()
        except ClientError:
            errors += 1
    return errors


def test_every_lean_answer_is_the_one_flask_would_send(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the endpoint, each plain answer checked against Flask's Response for the same handler result
    compared: list[str] = []

    def checked(status: Any, headers: Any, content: Any, start_response: Any) -> Any:
        expected = _flask_answer(status, dict(headers), content)
        plain = _plain_answer(status, dict(headers), content)
        assert plain == expected
        compared.append(plain[0])
        return plain_response(status, headers, content, start_response)

    monkeypatch.setattr(plain_response_module, "plain_response", checked)  # the lean and fast paths' answers
    endpoint = LocalEndpoint(port=0)
    endpoint.start()
    try:
        # When SDK clients call every lean service, with successes and errors
        errors = _calls(endpoint)
    finally:
        endpoint.stop()

    # Then every call was answered plainly, errors included, each exactly as Flask would have
    assert errors == 7
    assert len(compared) == 20
    assert sorted(set(compared)) == ["200 OK", "400 BAD REQUEST", "404 NOT FOUND"]
