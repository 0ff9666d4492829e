"""The HTTP server's environs from kept templates: what the handler's own ``make_environ`` builds."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from localaws.endpoint.environ_templates import EnvironTemplates
from localaws.endpoint.request_head import MAX_LINE
from localaws.endpoint.server import make_keep_alive_server
from tests.localaws.endpoint.test_request_head import SDK_HEAD

# Heads the stdlib reads without an error: plain ones, and ones the templates leave to make_environ.
HEADS = {
    "an SDK call": SDK_HEAD,
    "a query string": b"GET /?Action=ListQueues&Version=2012-11-05 HTTP/1.1\r\nHost: h\r\nAccept: a\r\n\r\n",
    "a repeated header": b"GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\naccept: b\r\n\r\n",
    "an escaped path": b"PUT /bucket/a%2Fkey%20%C3%A9?x=1 HTTP/1.1\r\nHost: h\r\n\r\n",
    "a folded header": b"GET / HTTP/1.1\r\nHost: h\r\nX-Amz-Meta-Note: line\r\n break\r\n\r\n",
    "HTTP/1.0": b"GET / HTTP/1.0\r\nHost: h\r\n\r\n",
    "an underscored header": (
        b"POST / HTTP/1.1\r\nHost: h\r\nX-Amz-Meta-my_key: u\r\nX-Amz-Meta-My-Key: d\r\n\r\n"
    ),
    "a chunked body": b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
    "an absolute target": b"GET http://other:1/path HTTP/1.1\r\nHost: h\r\n\r\n",
    "a double slash": b"DELETE //double/slash HTTP/1.1\r\n\r\n",
    "Connection: close": b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
}


@pytest.fixture
def connection() -> Iterator[tuple[Any, socket.socket]]:
    """The HTTP server and one end of a connected socket pair (what a handler's environ names)."""
    server = make_keep_alive_server("127.0.0.1", 0, lambda environ, start_response: [])
    ours, theirs = socket.socketpair()
    try:
        yield server, ours
    finally:
        ours.close()
        theirs.close()
        server.server_close()


def _handler(server: Any, connection: socket.socket, head: bytes) -> Any:
    """The server's request handler, having read ``head`` as over a connection from 127.0.0.1:50000."""
    handler_class: Any = server.RequestHandlerClass
    handler = handler_class.__new__(handler_class)
    handler.server, handler.connection, handler.client_address = server, connection, ("127.0.0.1", 50000)
    handler.rfile = io.BufferedReader(io.BytesIO(head + b"{}"))
    handler.wfile = io.BytesIO()
    handler.raw_requestline = handler.rfile.readline(MAX_LINE + 1)
    assert handler.parse_request()
    return handler


@pytest.mark.parametrize("name", sorted(HEADS))
def test_a_connection_s_environs_are_make_environ_s(connection: tuple[Any, socket.socket], name: str) -> None:
    # Given a connection's templates, and the same request read twice on that connection
    server, sock = connection
    templates = EnvironTemplates()
    handlers = [_handler(server, sock, HEADS[name]) for _ in range(3)]

    # When the first two are turned into environs by the templates (the second from a kept template),
    # and the third by the handler's own make_environ
    environs = [templates.environ(handler, handler.headers.items()) for handler in handlers[:2]]
    expected = handlers[2].make_environ()

    # Then they are the same, but for the input stream object (of the same kind: de-chunked or not)
    kinds = {type(environ.pop("wsgi.input")) for environ in (*environs, expected)}
    assert len(kinds) == 1
    assert environs[0] == environs[1] == expected


def test_the_handler_keeps_its_own_headers(connection: tuple[Any, socket.socket]) -> None:
    # Given a request whose environ make_environ must build (an underscored header)
    server, sock = connection
    handler = _handler(server, sock, HEADS["an underscored header"])
    headers = handler.headers

    # When the templates build its environ / Then the handler's headers are still the ones it read
    EnvironTemplates().environ(handler, headers.items())
    assert handler.headers is headers


def test_a_template_is_kept_per_http_version(connection: tuple[Any, socket.socket]) -> None:
    # Given a connection that sends the same target as HTTP/1.1, then as HTTP/1.0
    server, sock = connection
    templates = EnvironTemplates()
    newer = _handler(server, sock, b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
    older = _handler(server, sock, b"GET /x HTTP/1.0\r\nHost: h\r\n\r\n")

    # When both are turned into environs / Then each names its own protocol
    templates.environ(newer, newer.headers.items())
    assert templates.environ(older, older.headers.items())["SERVER_PROTOCOL"] == "HTTP/1.0"
