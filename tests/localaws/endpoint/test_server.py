"""The endpoint: one set of moto backends, in-process and over HTTP on loopback."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from localaws.endpoint import server
from localaws.endpoint.defaults import TEST_CREDENTIALS, local_client
from localaws.endpoint.json_fast_path import WORKER_SERVICES
from localaws.endpoint.query_fast_path import SNS
from localaws.endpoint.server import LocalEndpoint, PortInUseError
from localaws.endpoint.sfn_fast_path import STEPFUNCTIONS
from localaws.local_aws import LocalAws
from tests.localaws.endpoint.test_query_fast_path import fast_path_of as query_fast_path_of
from tests.localaws.endpoint.test_sfn_fast_path import fast_path_of


def test_in_process_and_http_clients_share_the_same_backends(local_aws: LocalAws) -> None:
    # Given an in-process client (intercepted by mock_aws) and an HTTP client to the endpoint
    in_process = boto3.client("sqs", region_name=local_aws.region)
    over_http = local_aws.client("sqs")

    # When each creates a queue
    in_process.create_queue(QueueName="made-in-process")
    over_http.create_queue(QueueName="made-over-http")

    # Then each sees the other's
    assert any(u.endswith("/made-in-process") for u in over_http.list_queues()["QueueUrls"])
    assert any(u.endswith("/made-over-http") for u in in_process.list_queues()["QueueUrls"])


def test_endpoint_listens_on_loopback_only(local_aws: LocalAws) -> None:
    # Given / When / Then: the endpoint URL is a loopback address
    assert local_aws.endpoint_url.startswith("http://127.0.0.1:")
    with pytest.raises(ValueError, match="loopback"):
        LocalEndpoint(host="0.0.0.0")


def test_a_busy_port_is_a_clear_error(local_aws: LocalAws) -> None:
    # Given the running endpoint's port
    busy = LocalEndpoint(port=local_aws.endpoint.port)

    # When / Then: a second endpoint on it fails at once, saying what to do
    with pytest.raises(PortInUseError, match="--port"):
        busy.start()


def test_the_stock_aws_cli_works_against_the_endpoint(local_aws: LocalAws) -> None:
    # Given the AWS CLI installed in the venv
    aws = Path(sys.executable).parent / "aws"
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": TEST_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": TEST_CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": local_aws.region,
    }

    # When it lists queues with --endpoint-url
    listed = subprocess.run(
        [str(aws), "sqs", "list-queues", "--endpoint-url", local_aws.endpoint_url, "--output", "json"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=True,
    )

    # Then it sees the deployed queues
    assert "fixture-named" in listed.stdout


def _raw(endpoint_url: str, method: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    """One request with exactly these headers (urllib would add its own), answered in full."""
    port = int(endpoint_url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, "/", body=b"{}", headers={**_LIST_TABLES, **headers})
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


# DynamoDB ListTables as a page's fetch would send it (moto routes by credential scope; no signature check).
_LIST_TABLES = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
    "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0",
}


def test_the_running_endpoint_serves_its_own_names_and_origins_only(local_aws: LocalAws) -> None:
    # Given the endpoint on the free port it was given (port=0)
    port = local_aws.endpoint.port
    own = f"127.0.0.1:{port}"

    # When a table listing comes from the SDK, the endpoint's own origin, a foreign origin and a foreign Host
    sdk = _raw(local_aws.endpoint_url, "POST", {"Host": own})
    own_page = _raw(local_aws.endpoint_url, "POST", {"Host": own, "Origin": f"http://localhost:{port}"})
    foreign_page = _raw(
        local_aws.endpoint_url, "POST", {"Host": own, "Origin": f"http://127.0.0.1:{port + 1}"}
    )
    rebound = _raw(local_aws.endpoint_url, "POST", {"Host": f"attacker.example:{port}"})
    ipv6 = _raw(local_aws.endpoint_url, "POST", {"Host": f"[::1]:{port}"})

    # Then the SDK and the own page are served (the page with its origin, not moto's "*"); the others are not
    assert (sdk.status, own_page.status, ipv6.status) == (200, 200, 200)
    assert sdk.getheader("Access-Control-Allow-Origin") is None
    assert own_page.getheader("Access-Control-Allow-Origin") == f"http://localhost:{port}"
    assert (foreign_page.status, rebound.status) == (403, 403)
    assert foreign_page.getheader("Access-Control-Allow-Origin") is None


def _lean_dispatcher(app: Any) -> server.LeanDispatcher:
    """The lean dispatcher inside the endpoint's middleware (access guard, faults, TestState)."""
    while not isinstance(app, server.LeanDispatcher):
        app = app.app
    return app


def _sdk_answers(endpoint: LocalEndpoint, name: str) -> list[object]:
    """Answers (with error codes) of SDK calls to the JSON and query APIs, over HTTP."""

    def client(service: str) -> Any:
        return local_client(service, endpoint_url=endpoint.url)

    answers: list[object] = []
    dynamodb, sqs, sns = client("dynamodb"), client("sqs"), client("sns")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=name, Item={"id": {"S": "a"}, "n": {"N": "1"}})
    answers.append(dynamodb.get_item(TableName=name, Key={"id": {"S": "a"}})["Item"])
    for call in (
        lambda: dynamodb.put_item(
            TableName=name, Item={"id": {"S": "a"}}, ConditionExpression="attribute_not_exists(id)"
        ),
        lambda: dynamodb.get_item(TableName="missing", Key={"id": {"S": "a"}}),
        lambda: sqs.get_queue_url(QueueName="missing"),
        lambda: sns.publish(TopicArn="arn:aws:sns:us-east-1:123456789012:missing", Message="m"),
    ):
        try:
            call()
            answers.append("no error")
        except ClientError as exc:
            answers.append(
                (exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"])
            )
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(
        QueueUrl=url, MessageBody="hello", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}}
    )
    message = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    answers.append((message["Body"], message["MessageAttributes"]))
    topic = sns.create_topic(Name=name)["TopicArn"]
    answers.append(topic.endswith(f":{name}"))
    return answers


def test_sdk_calls_skip_flask_with_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the endpoint with and without its lean path (and the JSON fast path, on if the session's stack
    # installed the speed-ups) for the JSON and query APIs
    answers = {}
    taken = {}
    switches = [service.switch for service in (STEPFUNCTIONS, *WORKER_SERVICES)] + [SNS.switch]
    installed = [switch for switch in switches if switch.installed]
    for lean in (False, True):
        if not lean:
            monkeypatch.setattr(server, "LEAN_SERVICES", frozenset())
            for switch in installed:
                switch.uninstall()
        else:
            monkeypatch.undo()
            for switch in installed:
                switch.install()
        endpoint = LocalEndpoint(port=0)
        endpoint.start()
        try:
            # When the same SDK calls are made
            answers[lean] = _sdk_answers(endpoint, f"lean-{lean}".lower())
            assert endpoint._server is not None
            taken[lean] = (
                _lean_dispatcher(endpoint._server.app).lean_requests
                + fast_path_of(endpoint).fast_requests
                + query_fast_path_of(endpoint).fast_requests
            )
        finally:
            endpoint.stop()
            for switch in installed:
                switch.install()
    # Then the answers and errors are the same, and only the lean endpoint skipped Flask (for all of them)
    assert answers[True] == answers[False]
    assert answers[True][1:5] == [
        ("ConditionalCheckFailedException", 400),
        ("ResourceNotFoundException", 400),
        ("AWS.SimpleQueueService.NonExistentQueue", 400),
        ("NotFound", 404),
    ]
    assert taken == {False: 0, True: 11}  # every call made (on the lean path or the fast path)


def test_a_client_that_leaves_mid_body_or_idles_out_costs_no_traceback(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an endpoint whose idle keep-alive connections close after a fraction of a second
    monkeypatch.setattr(server, "IDLE_CONNECTION_SECONDS", 0.3)
    endpoint = LocalEndpoint(port=0)
    endpoint.start()
    try:
        # When one client announces 100 bytes of body, sends 10 and goes (as a killed Lambda worker does),
        # and another opens a connection and says nothing
        gone = socket.create_connection(("127.0.0.1", endpoint.port))
        gone.sendall(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
            b"X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 100\r\n\r\n0123456789"
        )
        gone.close()
        idle = socket.create_connection(("127.0.0.1", endpoint.port))
        time.sleep(1.0)
        idle.close()

        # Then the endpoint still answers, and wrote neither a traceback nor a timeout line
        answer = local_client("dynamodb", endpoint_url=endpoint.url).list_tables()
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    finally:
        endpoint.stop()
    errors = capfd.readouterr().err
    assert "Traceback" not in errors
    assert "Request timed out" not in errors


def test_the_date_header_is_the_one_http_server_writes() -> None:
    # Given the stdlib's Date for now, read on both sides of ours (a second may turn in between)
    before = BaseHTTPRequestHandler.date_time_string(BaseHTTPRequestHandler.__new__(BaseHTTPRequestHandler))
    ours = server._http_date()
    after = BaseHTTPRequestHandler.date_time_string(BaseHTTPRequestHandler.__new__(BaseHTTPRequestHandler))
    # Then ours is one of them, in the same format
    assert ours in (before, after)
    assert ours.endswith(" GMT") and len(ours) == len(before)
