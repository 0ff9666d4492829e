"""What the lean path hands a handler: ``raw_url`` and ``dict(request.headers)`` of moto's request."""

from __future__ import annotations

import io
from typing import Any

import pytest
from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY, Request

from localaws.endpoint.handler_arguments import raw_url, request_headers
from localaws.endpoint.server import make_keep_alive_server
from localaws.endpoint.unix_channel import UnixChannel

_BASE = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "SERVER_NAME": "127.0.0.1", "wsgi.input": io.BytesIO()}


@pytest.mark.parametrize(
    "environ",
    [
        {"HTTP_HOST": "127.0.0.1:4566", "CONTENT_TYPE": "application/x-amz-json-1.0", "CONTENT_LENGTH": "2"},
        {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.GetItem", "CONTENT_LENGTH": "", "CONTENT_TYPE": ""},
        {"HTTP_CONTENT_TYPE": "ignored", "HTTP_CONTENT_LENGTH": "9", "CONTENT_TYPE": "text/plain"},
        {"HTTP_AMZ_SDK_INVOCATION_ID": "x", "HTTP_USER_AGENT": "Boto3/1 exec-env/AWS_Lambda_python3.13"},
        {
            "HTTP_X_AMZ_META_MY_KEY": "underscored",
            "HTTP_X_AMZ_META_OTHER": "plain",
            PRESERVED_HEADER_NAMES_ENVIRON_KEY: {"HTTP_X_AMZ_META_MY_KEY": "X-Amz-Meta-my_key"},
        },
        {"HTTP_WWW_AUTHENTICATE": "a", "HTTP_X__DOUBLE": "b", "HTTP_": "empty name"},
    ],
)
def test_the_headers_are_moto_s(environ: dict[str, Any]) -> None:
    environ = {**_BASE, **environ}
    expected = dict(Request(environ).headers)
    ours = request_headers(environ)
    assert ours == expected
    assert list(ours) == list(expected)  # in the same order


def test_the_headers_of_a_frame_with_an_underscored_name_are_moto_s() -> None:
    # Given the channel's environ of a frame carrying an S3 metadata header with an underscore
    server = make_keep_alive_server("127.0.0.1", 0, lambda environ, start_response: [])
    channel = UnixChannel(server)
    try:
        handler_class: Any = server.RequestHandlerClass
        handler = handler_class.__new__(handler_class)
        handler.server, handler.client_address, handler.connection = server, ("127.0.0.1", 0), None
        handler.command, handler.path, handler.request_version = "PUT", "/bucket/key", "HTTP/1.1"
        handler.rfile = io.BytesIO(b"")
        environ = channel._environs.environ(handler, [["Host", "h"], ["X-Amz-Meta-my_key", "v"]])
    finally:
        channel.stop()
        server.server_close()
    # Then the handler gets the name as sent, as from moto's own request
    assert request_headers(environ) == dict(Request(environ).headers)
    assert "X-Amz-Meta-my_key" in request_headers(environ)


@pytest.mark.parametrize(
    "environ",
    [
        {"HTTP_HOST": "127.0.0.1:4566", "wsgi.url_scheme": "http", "SERVER_PORT": "4566"},
        {"HTTP_HOST": "localhost:80", "wsgi.url_scheme": "http", "SERVER_PORT": "80"},  # default port dropped
        {"HTTP_HOST": "[::1]:4566", "QUERY_STRING": "Action=ListQueues&x=%C3%A9"},
        {"SERVER_PORT": "4566", "PATH_INFO": "/bucket/a/b", "RAW_URI": "/bucket/a%2Fb"},  # no Host header
        {"HTTP_HOST": "h", "SCRIPT_NAME": "/root", "PATH_INFO": "//double", "RAW_URI": "//double?q=1"},
        {"HTTP_HOST": "h", "wsgi.url_scheme": "https", "SERVER_PORT": "443", "PATH_INFO": "/\xc3\xa9"},
    ],
)
def test_the_raw_url_is_moto_s_each_time(environ: dict[str, Any]) -> None:
    environ = {**_BASE, "SERVER_PORT": "4566", **environ}
    expected = Request(dict(environ)).raw_url
    # Computed, then taken from what was kept, then for a request differing only in its Host
    assert raw_url(Request(dict(environ))) == expected
    assert raw_url(Request(dict(environ))) == expected
    other = {**environ, "HTTP_HOST": "other:1"}
    assert raw_url(Request(other)) == Request(dict(other)).raw_url != expected
