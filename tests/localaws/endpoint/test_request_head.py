"""The endpoint's request-head reading: the stdlib's results, for plain and for malformed heads."""

from __future__ import annotations

import io
import re
from http.server import BaseHTTPRequestHandler
from types import SimpleNamespace
from typing import Any

import pytest

from localaws.endpoint import server
from localaws.endpoint.request_head import MAX_HEADERS, MAX_LINE, read_plain_head

SDK_HEAD = (
    b"POST / HTTP/1.1\r\n"
    b"Host: 127.0.0.1:4566\r\n"
    b"Accept-Encoding: identity\r\n"
    b"X-Amz-Target: AWSStepFunctions.DescribeExecution\r\n"
    b"Content-Type: application/x-amz-json-1.0\r\n"
    b"User-Agent: Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux#6.1 lang/python#3.13.0\r\n"
    b"X-Amz-Date: 20261129T101500Z\r\n"
    b"amz-sdk-invocation-id: 0e3f7c52-5d0c-4b4f-9c1f-1c2d3e4f5a6b\r\n"
    b"amz-sdk-request: attempt=1\r\n"
    b"Authorization: AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/states/aws4_request, "
    b"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abcdef0123456789\r\n"
    b"Content-Length: 13\r\n"
    b"\r\n"
)
BODY = b'{"a": "b c"}\n'

# Heads the plain reader takes: the stdlib's results must be the same.
PLAIN_HEADS = {
    "an SDK call": SDK_HEAD,
    "no headers": b"GET /health HTTP/1.1\r\n\r\n",
    "a repeated header": b"GET / HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\n\r\n",
    "blanks around a value": b"GET / HTTP/1.1\r\nX-A: \t padded \t\r\nX-B:\r\nX-C:tight\r\n\r\n",
    "an underscored name": b"PUT /bucket/key HTTP/1.1\r\nx-amz-meta-my_key: v\r\n\r\n",
    "a query string": b"GET /?Action=ListQueues&Version=2012-11-05 HTTP/1.1\r\nHost: h\r\n\r\n",
    # The stdlib counts the blank line among its 100.
    "the most headers": b"GET / HTTP/1.1\r\n"
    + b"".join(b"X-%d: v\r\n" % n for n in range(MAX_HEADERS - 1))
    + b"\r\n",
}

# Heads it must leave to the stdlib: same answers and errors, because the stdlib gives them.
OTHER_HEADS = {
    "HTTP/1.0": b"GET / HTTP/1.0\r\nHost: h\r\n\r\n",
    "HTTP/2.0": b"GET / HTTP/2.0\r\nHost: h\r\n\r\n",
    "a bad version": b"GET / HTTP/1.x\r\nHost: h\r\n\r\n",
    "no version": b"GET /\r\n\r\n",
    "a bare word": b"GARBAGE\r\n\r\n",
    "too many words": b"GET / x HTTP/1.1\r\n\r\n",
    "a lower-case method": b"get / HTTP/1.1\r\n\r\n",
    "an absolute target": b"GET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n",
    "a double slash": b"GET //x/y HTTP/1.1\r\nHost: h\r\n\r\n",
    "two spaces": b"GET  / HTTP/1.1\r\n\r\n",
    "a bare LF request line": b"GET / HTTP/1.1\n\r\n",
    "a folded header": b"GET / HTTP/1.1\r\nX-A: one\r\n two\r\nX-B: 3\r\n\r\n",
    "a line without a colon": b"GET / HTTP/1.1\r\nX-A: 1\r\nnot a header\r\nX-B: 2\r\n\r\n",
    "an empty name": b"GET / HTTP/1.1\r\n: v\r\nX-B: 2\r\n\r\n",
    "a From line": b"GET / HTTP/1.1\r\nFrom nobody\r\nX-B: 2\r\n\r\n",
    "a space before the colon": b"GET / HTTP/1.1\r\nX-A : 1\r\n\r\n",
    "a bare LF header": b"GET / HTTP/1.1\r\nX-A: 1\nX-B: 2\r\n\r\n",
    "a bare CR in a value": b"GET / HTTP/1.1\r\nX-A: 1\rX-B: 2\r\n\r\n",
    "a form feed in a value": b"GET / HTTP/1.1\r\nX-A: 1\x0c2\r\n\r\n",
    "latin-1 in a value": b"GET / HTTP/1.1\r\nX-A: caf\xe9\x85\r\n\r\n",
    "Connection: close": b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
    "Connection: keep-alive": b"GET / HTTP/1.1\r\nconnection: Keep-Alive\r\n\r\n",
    "Expect: 100-continue": b"PUT /b/k HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
    "too many headers": b"GET / HTTP/1.1\r\n"
    + b"".join(b"X-%d: v\r\n" % n for n in range(MAX_HEADERS))
    + b"\r\n",
    "a line too long": b"GET / HTTP/1.1\r\nX-A: " + b"v" * MAX_LINE + b"\r\n\r\n",
    "no end of headers": b"GET / HTTP/1.1\r\nX-A: 1\r\n",
}


class _Head:
    """A request handler of the endpoint's class reading one request from bytes, as over a socket."""

    def __init__(self, data: bytes, parse: Any) -> None:
        handler_class: Any = server._keep_alive_handler()
        handler = handler_class.__new__(handler_class)
        handler.server = SimpleNamespace(_server_version="Werkzeug/test")
        handler.client_address = ("127.0.0.1", 1)
        handler.rfile = io.BufferedReader(io.BytesIO(data), buffer_size=1 << 17)
        handler.wfile = io.BytesIO()
        handler.raw_requestline = handler.rfile.readline(MAX_LINE + 1)
        self.parsed = parse(handler)
        self.handler = handler

    def result(self) -> dict[str, Any]:
        handler = self.handler
        headers = getattr(handler, "headers", None)
        answer = re.sub(rb"Date: [^\r]*", b"Date: -", handler.wfile.getvalue())
        return {
            "parsed": self.parsed,
            "fields": {
                name: getattr(handler, name, None)
                for name in ("command", "path", "request_version", "requestline", "close_connection")
            },
            "headers class": type(headers),
            "headers": None if headers is None else _state(headers),
            "items": None if headers is None else headers.items(),
            "answer": answer,
            "left to read": handler.rfile.read(),
        }


def _state(message: Any) -> dict[str, Any]:
    """A message's state; its defects (objects compared by identity) by class and text."""
    state = dict(vars(message))
    state["defects"] = [(type(defect), str(defect)) for defect in state["defects"]]
    return state


def _ours(data: bytes) -> dict[str, Any]:
    return _Head(data, lambda handler: handler.parse_request()).result()


def _stdlib(data: bytes) -> dict[str, Any]:
    return _Head(data, BaseHTTPRequestHandler.parse_request).result()


@pytest.mark.parametrize("name", sorted(PLAIN_HEADS))
def test_a_plain_head_is_read_as_the_stdlib_reads_it(name: str) -> None:
    # Given a plain request head, then a body
    data = PLAIN_HEADS[name] + BODY

    # When the endpoint's handler and the stdlib's parse_request each read it
    ours, stdlib = _ours(data), _stdlib(data)

    # Then the handler's fields, the headers (the very message object's state), the answer written (none)
    # and what is left to read (the body) are the same
    assert ours == stdlib
    assert ours["parsed"] is True
    assert ours["left to read"] == BODY


@pytest.mark.parametrize("name", sorted(PLAIN_HEADS))
def test_a_plain_head_takes_the_plain_reader(name: str) -> None:
    # Given a plain head in a read buffer
    rfile = io.BufferedReader(io.BytesIO(PLAIN_HEADS[name] + BODY))
    raw_requestline = rfile.readline()

    # When the plain reader reads it / Then it takes it, leaving the body
    head = read_plain_head(raw_requestline, rfile, BaseHTTPRequestHandler.MessageClass)
    assert head is not None
    assert rfile.read() == BODY


@pytest.mark.parametrize("name", sorted(OTHER_HEADS))
def test_any_other_head_gets_the_stdlib_answer(name: str) -> None:
    # Given a head that is not plain (malformed, unusual, or one whose headers the stdlib acts on)
    data = OTHER_HEADS[name] + BODY

    # When the endpoint's handler and the stdlib's parse_request each read it
    ours, stdlib = _ours(data), _stdlib(data)

    # Then the results, any error answer and what is left to read are the same
    assert ours == stdlib


@pytest.mark.parametrize("name", sorted(OTHER_HEADS))
def test_any_other_head_is_left_unread(name: str) -> None:
    # Given a head that is not plain
    data = OTHER_HEADS[name] + BODY
    rfile = io.BufferedReader(io.BytesIO(data))
    raw_requestline = rfile.readline(MAX_LINE + 1)
    rest = data[len(raw_requestline) :]

    # When the plain reader looks at it / Then it declines and consumes nothing
    assert read_plain_head(raw_requestline, rfile, BaseHTTPRequestHandler.MessageClass) is None
    assert rfile.read() == rest


def test_a_head_not_yet_all_buffered_is_left_to_the_stdlib() -> None:
    # Given a plain head of which the buffer holds only a part (the client sent the rest later)
    rfile = io.BufferedReader(io.BytesIO(SDK_HEAD + BODY), buffer_size=64)
    raw_requestline = rfile.readline()

    # When the plain reader looks at it / Then it declines, consuming nothing
    assert read_plain_head(raw_requestline, rfile, BaseHTTPRequestHandler.MessageClass) is None
    assert rfile.read() == SDK_HEAD[len(raw_requestline) :] + BODY
