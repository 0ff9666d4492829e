"""The Lambda workers' Unix socket: the same requests, environs and answers as HTTP over TCP."""

from __future__ import annotations

import dataclasses
import io
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localaws.endpoint import environ_templates
from localaws.endpoint.defaults import TEST_CREDENTIALS
from localaws.endpoint.request_tally import UNIX, WAY_IN_KEY
from localaws.endpoint.server import make_keep_alive_server
from localaws.endpoint.unix_channel import UnixChannel
from localaws.lambda_.sdk_channel import FrameReader, SdkChannel, encode_frame
from localaws.local_aws import LocalAws
from tests.localaws.lambda_.test_runtime import _function

REGION = "us-east-1"
# Differ between any two requests, whatever carries them.
_PER_REQUEST = {"HTTP_X_AMZ_DATE", "HTTP_AUTHORIZATION", "HTTP_AMZ_SDK_INVOCATION_ID", "REMOTE_PORT"}
# Objects, not values: the stream and socket of the connection.
_PER_CONNECTION = {"wsgi.input", "wsgi.errors", "werkzeug.socket", "werkzeug.request"}


def _client(service: str, endpoint_url: str, channel: SdkChannel | None) -> Any:
    session = boto3.session.Session(
        region_name=REGION,
        aws_access_key_id=TEST_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=TEST_CREDENTIALS["aws_secret_access_key"],
    )
    client: Any = session.client(  # type: ignore[call-overload]
        service, endpoint_url=endpoint_url, config=Config(retries={"max_attempts": 1})
    )
    if channel is not None:
        client.meta.events.register("before-send", channel.before_send)
    return client


class _EnvironRecorder:
    """A WSGI app that keeps each request's environ and body and answers a fixed JSON document."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, Any], bytes]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.seen.append((dict(environ), body))
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0"), ("X-Extra", "1")])
        return [b'{"TableNames": ["t"]}']


@pytest.fixture
def recorder_server() -> Iterator[tuple[_EnvironRecorder, str, UnixChannel]]:
    recorder = _EnvironRecorder()
    server = make_keep_alive_server("127.0.0.1", 0, recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    channel = UnixChannel(server)
    channel.start()
    try:
        yield recorder, f"http://127.0.0.1:{server.server_address[1]}", channel
    finally:
        channel.stop()
        server.shutdown()
        server.server_close()


def test_the_application_sees_the_same_environ_and_body_over_the_socket(
    recorder_server: tuple[_EnvironRecorder, str, UnixChannel],
) -> None:
    # Given one client over HTTP and one over the Unix socket, to the same server
    recorder, url, channel = recorder_server
    over_http = _client("dynamodb", url, None)
    over_socket = _client("dynamodb", url, SdkChannel(channel.path, url))

    # When each makes the same call
    answers = [client.list_tables(Limit=5) for client in (over_http, over_socket)]

    # Then the application saw the same environ, but for what differs per request or connection
    (http_environ, http_body), (socket_environ, socket_body) = recorder.seen
    assert socket_body == http_body == b'{"Limit": 5}'
    # (the socket's own mark, for the endpoint's request tally, aside)
    assert socket_environ.pop(WAY_IN_KEY) == UNIX and WAY_IN_KEY not in http_environ
    ignored = _PER_REQUEST | _PER_CONNECTION
    assert {k: v for k, v in socket_environ.items() if k not in ignored} == {
        k: v for k, v in http_environ.items() if k not in ignored
    }
    # And the client parsed the same answer, headers included (but the date)
    for answer in answers:
        answer["ResponseMetadata"]["HTTPHeaders"].pop("date")
    assert answers[0] == answers[1]
    assert answers[1]["TableNames"] == ["t"]
    assert channel.served == 1


def _calls(local: LocalAws, tag: str) -> list[tuple[str, str, dict[str, Any]]]:
    queue_url = f"{local.endpoint_url}/{local.account_id}/channel-{tag}"
    table = f"channel-{tag}"
    return [
        ("sqs", "create_queue", {"QueueName": f"channel-{tag}"}),
        ("sqs", "send_message", {"QueueUrl": queue_url, "MessageBody": "héllo"}),
        ("sqs", "receive_message", {"QueueUrl": queue_url, "MaxNumberOfMessages": 1}),
        ("sqs", "send_message", {"QueueUrl": queue_url + "-missing", "MessageBody": "x"}),
        (
            "dynamodb",
            "create_table",
            {
                "TableName": table,
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
        ),
        ("dynamodb", "put_item", {"TableName": table, "Item": {"pk": {"S": "a"}, "n": {"N": "1"}}}),
        (
            "dynamodb",
            "put_item",
            {
                "TableName": table,
                "Item": {"pk": {"S": "a"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            },
        ),
        ("dynamodb", "get_item", {"TableName": table, "Key": {"pk": {"S": "a"}}}),
        ("dynamodb", "get_item", {"TableName": "no-such-table", "Key": {"pk": {"S": "a"}}}),
        ("stepfunctions", "describe_execution", {"executionArn": "not-an-arn"}),
        ("events", "put_events", {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]}),
        ("sts", "get_caller_identity", {}),
    ]


def _outcome(client: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    try:
        answer = getattr(client, operation)(**params)
    except ClientError as exc:
        answer = exc.response
    metadata = answer.pop("ResponseMetadata")
    # What differs on every call: ids, dates, message ids, receipt handles.
    for key in ("MessageId", "ReceiptHandle", "Entries"):
        answer.pop(key, None)
    for message in answer.get("Messages", []):
        message.pop("MessageId")
        message.pop("ReceiptHandle")
    description = answer.get("TableDescription", {})
    for key in ("CreationDateTime", "TableId"):
        description.pop(key, None)
    headers = {
        name: value
        for name, value in metadata["HTTPHeaders"].items()
        if name not in ("date", "x-amzn-requestid", "x-amz-crc32", "content-length")
    }
    return {"status": metadata["HTTPStatusCode"], "headers": headers, "answer": answer}


def test_moto_answers_the_same_over_the_socket_call_for_call(local_aws: LocalAws) -> None:
    # Given the endpoint's socket, and one client per service over each transport
    assert local_aws.endpoint.socket_path is not None
    channel = SdkChannel(local_aws.endpoint.socket_path, local_aws.endpoint_url)

    # When the same calls (successes and errors) are made over HTTP, then over the socket
    outcomes: dict[str, list[dict[str, Any]]] = {}
    for tag, transport in (("http", None), ("socket", channel)):
        clients: dict[str, Any] = {}
        outcomes[tag] = []
        for service, operation, params in _calls(local_aws, "same"):
            client = clients.setdefault(service, _client(service, local_aws.endpoint_url, transport))
            outcomes[tag].append(_outcome(client, operation, params))
        clients["sqs"].delete_queue(QueueUrl=f"{local_aws.endpoint_url}/{local_aws.account_id}/channel-same")
        clients["dynamodb"].delete_table(TableName="channel-same")

    # Then the answers, statuses, errors and headers are the same
    assert outcomes["socket"] == outcomes["http"]
    statuses = [outcome["status"] for outcome in outcomes["socket"]]
    assert statuses.count(400) == 4  # missing queue, failed condition, missing table, bad ARN
    assert json.dumps(outcomes["socket"][2]["answer"]["Messages"][0]["Body"]) == '"h\\u00e9llo"'


def _raw_frame(path: str, headers: list[list[str]]) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        sock.sendall(
            encode_frame({"method": "POST", "target": "/", "headers": headers}, b"Action=ListQueues")
        )
        head, _ = FrameReader(sock).read_frame()
    return head


def test_the_access_guard_checks_what_comes_over_the_socket(local_aws: LocalAws) -> None:
    # Given the endpoint's socket and an SQS query call's headers
    path = local_aws.endpoint.socket_path
    assert path is not None
    own_host = local_aws.endpoint_url.removeprefix("http://")
    form = ["Content-Type", "application/x-www-form-urlencoded"]

    # When the call names the endpoint, then another host, then comes from a web page of another origin
    allowed = _raw_frame(path, [["Host", own_host], form])
    rebound = _raw_frame(path, [["Host", f"attacker.example:{local_aws.endpoint.port}"], form])
    from_page = _raw_frame(path, [["Host", own_host], ["Origin", "https://attacker.example"], form])

    # Then only the first is served
    assert allowed["status"] == 200
    assert rebound["status"] == 403
    assert from_page["status"] == 403


def test_lambda_workers_call_the_endpoint_over_its_socket(local_aws: LocalAws) -> None:
    # Given the demo function's code as a function of its own, with time to import boto3 on a busy machine
    demo = _function(local_aws, "DemoFunction")
    spec = next(spec for spec in local_aws.invoker.functions() if spec.name == demo)
    local_aws.invoker.register(dataclasses.replace(spec, name="channel-probe", timeout_seconds=60.0))
    channel = local_aws.endpoint.channel
    assert channel is not None
    served = channel.served

    # When its handler makes an SDK call
    result = local_aws.invoker.invoke("channel-probe", {"action": "list_queues"})

    # Then the call succeeded, and it came over the socket
    assert result.function_error is None, result.payload
    assert any(url.endswith("/fixture-named") for url in result.payload["queueUrls"])
    assert channel.served > served


def test_the_channel_is_added_to_botocore_only_when_botocore_loads() -> None:
    # Given a fresh Python in which the channel is installed before anything imports botocore
    script = (
        "import sys\n"
        "from localaws.lambda_ import sdk_channel\n"
        "channel = sdk_channel.install('/nonexistent.sock', 'http://127.0.0.1:1')\n"
        "print('botocore' in sys.modules)\n"
        "import boto3\n"
        "from botocore.handlers import BUILTIN_HANDLERS\n"
        "print(('before-send', channel.before_send) in BUILTIN_HANDLERS)\n"
        "from botocore.config import Config\n"
        "client = boto3.client('sqs', region_name='us-east-1', endpoint_url='http://127.0.0.1:1',\n"
        "    aws_access_key_id='a', aws_secret_access_key='b', config=Config(retries={'max_attempts': 1}))\n"
        "try:\n"
        "    client.list_queues()\n"
        "except Exception as exc:\n"
        "    print(type(exc.kwargs['error']).__name__)\n"
    )

    # When it runs
    ran = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120
    )

    # Then botocore was not loaded by the install, and its sessions got the handler once it was
    assert ran.returncode == 0, ran.stderr
    # (the call went to the socket, which does not exist, not to port 1)
    assert ran.stdout.split() == ["False", "True", "FileNotFoundError"]


def test_a_closed_socket_is_a_connection_error_botocore_retries(tmp_path: Any) -> None:
    # Given a channel to a socket no one listens on
    channel = SdkChannel(str(tmp_path / "none.sock"), "http://127.0.0.1:1")
    client = _client("sqs", "http://127.0.0.1:1", channel)

    # When / Then: the call fails as an unreachable endpoint does
    with pytest.raises(Exception, match="Could not connect to the endpoint URL"):
        client.list_queues()


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        ("POST", "/", [["Host", "127.0.0.1:4566"], ["Content-Type", "application/x-amz-json-1.0"]]),
        (
            "POST",
            "/",
            [["Host", "h"], ["X-Amz-Target", "DynamoDB_20120810.GetItem"], ["Content-Length", "2"]],
        ),
        ("GET", "/?Action=ListQueues&Version=2012-11-05", [["Host", "h"], ["Accept", "a"], ["accept", "b"]]),
        ("PUT", "/bucket/a%2Fkey%20%C3%A9?x=1", [["Host", "h"], ["X-Amz-Meta-Note", "line\r\nbreak"]]),
        ("POST", "/", [["Host", "h"], ["X-Amz-Meta-my_key", "underscored"], ["X-Amz-Meta-My-Key", "dashed"]]),
        ("POST", "/", [["Host", "h"], ["Transfer-Encoding", "chunked"]]),
        ("GET", "http://other:1/path", [["Host", "h"]]),
        ("DELETE", "//double/slash", []),
    ],
)
def test_frame_environs_are_make_environ_s(method: str, target: str, headers: list[list[str]]) -> None:
    # Given the HTTP server's request handler, and the channel's environ for a frame
    server = make_keep_alive_server("127.0.0.1", 0, _EnvironRecorder())
    channel = UnixChannel(server)
    try:

        def handler() -> Any:
            handler_class: Any = server.RequestHandlerClass
            made = handler_class.__new__(handler_class)
            made.server, made.client_address, made.connection = server, ("127.0.0.1", 0), None
            made.command, made.path, made.request_version = method, target, "HTTP/1.1"
            made.rfile = io.BytesIO(b"{}")
            return made

        # When the same frame is turned into an environ twice (the second from a kept template)
        # and by make_environ itself
        environs = [channel._environs.environ(handler(), headers) for _ in range(2)]
        expected = environ_templates.handler_environ(handler(), headers)
    finally:
        channel.stop()
        server.server_close()

    # Then they are the same, but for the input stream object (of the same kind: de-chunked or not)
    kinds = {type(environ.pop("wsgi.input")) for environ in (*environs, expected)}
    assert len(kinds) == 1
    assert environs[0] == environs[1] == expected


# -- frames ----------------------------------------------------------------------------------------------


def _frames() -> list[tuple[dict[str, Any], bytes]]:
    return [
        ({"status": 200, "headers": [["Content-Type", "application/x-amz-json-1.0"]]}, b'{"Item":{}}'),
        ({"method": "POST", "target": "/", "headers": []}, b""),
        ({"status": 400, "headers": [["x-amzn-ErrorType", "h\u00e9"]]}, bytes(range(256)) * 600),  # > CHUNK
    ]


@pytest.mark.parametrize("piece", [1, 7, 4096, 1 << 20])
def test_a_frame_reader_reads_each_frame_however_the_bytes_arrive(piece: int) -> None:
    # Given frames written back to back, arriving in pieces of ``piece`` bytes
    frames = _frames()
    data = b"".join(encode_frame(head, body) for head, body in frames)
    ours, theirs = socket.socketpair()
    with ours, theirs:

        def write_in_pieces() -> None:
            for start in range(0, len(data), piece):
                theirs.sendall(data[start : start + piece])

        writer = threading.Thread(target=write_in_pieces)
        writer.start()

        # When one reader reads them
        reader = FrameReader(ours)
        read = [reader.read_frame() for _ in frames]
        writer.join()

        # Then each is the frame written, in order, nothing lost or carried into the next
        assert read == frames
        theirs.close()
        with pytest.raises(EOFError):  # and the peer's close, between frames
            reader.read_frame()


def test_a_frame_cut_short_by_the_peer_is_an_eof() -> None:
    # Given a peer that closes halfway through a frame's body
    ours, theirs = socket.socketpair()
    with ours, theirs:
        frame = encode_frame({"status": 200, "headers": []}, b"0123456789")
        theirs.sendall(frame[:-4])
        theirs.close()

        # When / Then: the reader says so rather than answer a partial frame
        with pytest.raises(EOFError):
            FrameReader(ours).read_frame()
