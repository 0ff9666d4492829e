"""The local AWS endpoint: moto's backends active in-process and served over HTTP on 127.0.0.1.

``mock_aws`` makes boto3 calls made inside this process (the deployer, Step Functions tasks, the delivery
mechanisms) go straight to moto's backends. The HTTP server serves the very same backend objects, so the
stock AWS CLI, boto3 with ``AWS_ENDPOINT_URL`` and the Lambda workers see one consistent world.

The server is werkzeug's threaded WSGI server with one change: connections are kept alive (HTTP/1.1).
werkzeug's development server closes every connection after one response, so every API call of every client
(the Lambda workers make all of theirs over HTTP) paid a TCP connect and a new server thread. Here a
connection's thread serves request after request; each request's body is bounded by its Content-Length (or
de-chunked) and drained before the next request line is read, which is what werkzeug could not guarantee.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from moto import mock_aws
from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer
from werkzeug.wsgi import LimitedStream

from localaws.endpoint.access import AccessGuard, AccessPolicy, validate_settings
from localaws.endpoint.access_settings import AccessSettings
from localaws.endpoint.defaults import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_REGION,
    MOTO_CONFIG,
)
from localaws.endpoint.environ_templates import EnvironTemplates
from localaws.endpoint.faults import EndpointFaults
from localaws.endpoint.handler_arguments import raw_url, request_headers
from localaws.endpoint.json_body import JsonBodyCheck
from localaws.endpoint.json_fast_path import WORKER_SERVICES, JsonFastPath
from localaws.endpoint.plain_response import handler_response
from localaws.endpoint.query_fast_path import SNS, QueryFastPath
from localaws.endpoint.request_head import read_plain_head
from localaws.endpoint.request_tally import RequestTally
from localaws.endpoint.sfn_fast_path import STEPFUNCTIONS
from localaws.endpoint.unix_channel import UnixChannel
from localaws.patches import registry
from localaws.stepfunctions.teststate import TestStateRoute

logger = logging.getLogger(__name__)

LOOPBACK = DEFAULT_HOST
# An idle keep-alive connection is closed after this long (its server thread then ends).
IDLE_CONNECTION_SECONDS = 120.0
# How often the serving loop looks for a stop request between connections. stop() waits for that look:
# with socketserver's default of 0.5 s a stop took 0.17-0.21 s (0.30-0.45 s at the end of the workflow
# suite); at 0.1 s, 0.005-0.08 s. The idle loop's looks cost about 0.3 ms of CPU a second more.
STOP_POLL_SECONDS = 0.1

_DISPATCHER = registry.register(
    "moto.moto_server.werkzeug_app.DomainDispatcherApplication",
    "the WSGI app of moto's server; we run it on our own socket to fail fast on a busy port",
)
_BACKEND_APP = registry.register(
    "moto.moto_server.werkzeug_app.create_backend_app", "per-service WSGI apps over the shared backends"
)
_REQUEST_HANDLER = registry.register(
    "moto.moto_server.werkzeug_app.MotoRequestHandler", "moto's request handler (keeps header spelling)"
)

_GET_APPLICATION = registry.register(
    "moto.moto_server.werkzeug_app.DomainDispatcherApplication.get_application",
    "which per-service Flask app a request belongs to (the lean path asks the same question)",
)
_BACKEND_REQUEST = registry.register(
    "moto.moto_server.werkzeug_app.BackendRequest", "the request class moto's Flask apps build"
)
_FLASK_VIEW = registry.register(
    "moto.core.utils.convert_to_flask_response",
    "moto's Flask view around a handler: its callback is what the lean path calls",
)
_NORMALIZE_REQUEST = registry.register(
    "moto.core.request.normalize_request", "as moto's Flask view prepares the request"
)
_RECORDER = registry.register("moto.moto_api.recorder", "requests are recorded as moto's Flask view does")
registry.register(
    "moto.moto_api._internal.recorder.models.Recorder._record_request",
    "requests are recorded as moto's Flask view does",
)
registry.register("moto.mock_aws", "the in-process backends the endpoint serves, and boto3 calls made here")

# Services whose SDK calls are all POSTs to "/" answered by one handler (``BaseResponse.dispatch``): the AWS
# JSON and query protocols. Their requests skip Flask (see ``LeanDispatcher``).
LEAN_SERVICES = frozenset(
    {"dynamodb", "sqs", "sns", "stepfunctions", "events", "kinesis", "sts", "cloudwatch"}
)

# Hop-by-hop headers are the server's business, never the application's.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class PortInUseError(OSError):
    """Something already listens on the port we were asked to serve on."""


def wsgi_app() -> WSGIApp:
    """The WSGI application the endpoint serves: moto's dispatcher over the shared backends.

    The one place the application is built, so that a caller can wrap it (e.g. mount a console next to it).
    """
    dispatcher = LeanDispatcher(registry.resolve(_DISPATCHER)(registry.resolve(_BACKEND_APP)))
    # The hottest JSON-protocol calls skip werkzeug's request and setup_class (json_fast_path);
    # Step Functions' also moto's serialiser (sfn_fast_path).
    json_fast = JsonFastPath(dispatcher, dispatcher.dispatcher, (STEPFUNCTIONS, *WORKER_SERVICES))
    # The workers' SNS Publish (a form POST) skips them too, and moto's XML writer (query_fast_path).
    fast = QueryFastPath(json_fast, dispatcher.dispatcher, (SNS,))
    # moto has no TestState: Step Functions' TestState calls are answered beside it.
    # A JSON-protocol body that is not a JSON object: 400 SerializationException, as AWS answers (json_body).
    return JsonBodyCheck(TestStateRoute(fast, account=DEFAULT_ACCOUNT_ID, region=DEFAULT_REGION))


class LeanDispatcher:
    """moto's dispatcher, with SDK calls to the JSON/query APIs answered without Flask.

    Every Lambda handler's call (dozens per order) lands here, and Flask's part of each one (request and app
    contexts, URL matching, the after-request hooks, building a Flask response) was a fifth of the server's
    CPU for a call. For a POST to ``/`` of a service in ``LEAN_SERVICES`` we call the handler moto's Flask
    view wraps, exactly as that view does (same request class, normalisation, recording, ``raw_url``, headers,
    ClientError → 400), and answer with the same response class. (Flask-CORS's headers are not imitated: the
    endpoint's ``AccessGuard`` drops them and answers CORS itself.) Anything
    else -- other methods and paths, browsers (an ``Origin`` header), other services, a route we do not
    recognise -- goes through moto's Flask app unchanged.
    """

    def __init__(self, dispatcher: Any) -> None:
        self.dispatcher = dispatcher
        self._views: dict[int, Any] = {}  # id(Flask app) → the handler behind its "/" route, or None
        self.lean_requests = 0
        # Resolved once: a lookup imports its way along the dotted path.
        self._flask_view = registry.resolve(_FLASK_VIEW)
        self._request_class = registry.resolve(_BACKEND_REQUEST)
        self._normalize = registry.resolve(_NORMALIZE_REQUEST)
        self._recorder = registry.resolve(_RECORDER)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        app = self.dispatcher.get_application(environ)
        if (
            environ.get("REQUEST_METHOD") == "POST"
            and environ.get("PATH_INFO") == "/"
            and "HTTP_ORIGIN" not in environ
            and getattr(app, "service", None) in LEAN_SERVICES
        ):
            callback = self._root_handler(app, environ)
            if callback is not None:
                self.lean_requests += 1
                return self._answer(callback, environ, start_response)
        result: Iterable[bytes] = app(environ, start_response)
        return result

    def _root_handler(self, app: Any, environ: dict[str, Any]) -> Any:
        key = id(app)
        if key not in self._views:
            callback = None
            try:
                endpoint, _ = app.url_map.bind_to_environ(environ).match("/", method="POST")
                view = app.view_functions.get(endpoint)
                if isinstance(view, self._flask_view):
                    callback = view.callback
            except Exception:  # no route for "/": Flask answers it, as before
                logger.debug("no lean route for %s", getattr(app, "service", app), exc_info=True)
            self._views[key] = callback
        return self._views[key]

    def _answer(
        self, callback: Any, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:

        request = self._normalize(self._request_class(environ))

        def call() -> Any:
            self._recorder._record_request(request)
            return callback(request, raw_url(request), request_headers(request.environ))

        return handler_response(call, environ, start_response)


def _keep_alive_handler() -> type:
    base = registry.resolve(_REQUEST_HANDLER)

    class KeepAliveRequestHandler(base):  # type: ignore[misc, valid-type]
        """moto's request handler (its environ keeps S3 metadata header spelling), with keep-alive."""

        protocol_version = "HTTP/1.1"
        timeout = IDLE_CONNECTION_SECONDS

        def setup(self) -> None:
            super().setup()
            # Responses go out in one write; without this a client's next request can wait on delayed ACKs.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.server.track(self.connection, add=True)
            # This connection's requests' environs (its address and socket are in them).
            self.environ_templates = EnvironTemplates()

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                self.server.track(self.connection, add=False)

        def parse_request(self) -> bool:
            """The stdlib's, except that a plain SDK request head is read without the ``email`` parser
            (``request_head``: the same headers; any other head is the stdlib's to read and answer)."""
            head = read_plain_head(self.raw_requestline, self.rfile, self.MessageClass)
            if head is None:
                return bool(super().parse_request())
            self.command, self.path, self.requestline = head.command, head.path, head.requestline
            self.request_version = "HTTP/1.1"
            self.headers = head.headers
            # As the stdlib decides for an HTTP/1.1 request without a Connection header.
            self.close_connection = not self.protocol_version >= "HTTP/1.1"
            return True

        # One log line per API call would drown the handlers' own logs.
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return

        def log_error(self, format: str, *args: Any) -> None:
            # A keep-alive connection left idle past the timeout is closed: routine, not an error.
            if format.startswith("Request timed out"):
                logger.debug("closing an idle connection from %s", self.client_address)
                return
            super().log_error(format, *args)

        def run_wsgi(self) -> None:
            if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.environ = environ = self.environ_templates.environ(self, self.headers.items())
            if not environ.get("wsgi.input_terminated"):  # not chunked: the body is Content-Length bytes
                try:
                    length = max(0, int(environ.get("CONTENT_LENGTH") or 0))
                except ValueError:
                    self.send_error(400, "Bad Content-Length")
                    self.close_connection = True
                    return
                environ["wsgi.input"] = LimitedStream(self.rfile, length)
            body_stream = environ["wsgi.input"]
            status, headers, body = self._call_application(environ)
            try:
                _drain(body_stream)  # so the next request line is really the next request's
            except ClientDisconnected:
                # The client went before sending its whole body (a killed Lambda worker does): there is
                # no one to answer, and nothing more will come on this connection.
                self.close_connection = True
                return
            except (OSError, ValueError):
                self.close_connection = True
            self._respond(environ, status, headers, body)

        def _call_application(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
            started: list[Any] = []
            written: list[bytes] = []

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                if exc_info is not None and started:
                    raise exc_info[1].with_traceback(exc_info[2])
                started[:] = [status, headers]
                return written.append

            try:
                result = self.server.app(environ, start_response)
                try:
                    written.extend(result)
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
            except Exception:
                logger.exception("error on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
                self.close_connection = True
                return "500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")], b"Internal Server Error"
            if not started:
                self.close_connection = True
                return "500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")], b"no response"
            return started[0], started[1], b"".join(written)

        def _respond(
            self, environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes
        ) -> None:
            code, reason, lines, body = self.response_parts(environ, status, headers, body)
            self.log_request(code)
            head = [f"{self.protocol_version} {code} {reason}", *(f"{k}: {v}" for k, v in lines), "", ""]
            # Status line, headers and body in one write: one segment on the wire, one wake-up of the client.
            self.wfile.write("\r\n".join(head).encode("latin-1") + body)

        def response_parts(
            self, environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes
        ) -> tuple[int, str, list[tuple[str, str]], bytes]:
            """Status code, reason, the headers sent and the body sent (also the Unix channel's answer)."""
            code_text, _, reason = status.partition(" ")
            code = int(code_text)
            lines = [("Server", self.version_string()), ("Date", _http_date())]
            length = None
            for key, value in headers:
                if key.lower() == "content-length":
                    length = value
                if key.lower() not in _HOP_BY_HOP:
                    lines.append((key, value))
            bodiless = 100 <= code < 200 or code in (204, 304)
            if environ["REQUEST_METHOD"] == "HEAD":
                # A HEAD answer describes the GET body it does not carry.
                if length is not None:
                    lines.append(("Content-Length", length))
                body = b""
            elif not bodiless:
                lines.append(("Content-Length", str(len(body))))
            else:
                body = b""
            if self.close_connection:
                lines.append(("Connection", "close"))
            return code, reason, lines, body

    return KeepAliveRequestHandler


_date_line: tuple[int, str] = (0, "")


def _http_date() -> str:
    """``date_time_string()`` of now, formatted once per second rather than per response."""
    global _date_line  # noqa: PLW0603 - one second's text, shared by every connection's thread
    now = time.time()
    second, text = _date_line
    if int(now) != second:
        text = email.utils.formatdate(now, usegmt=True)
        _date_line = (int(now), text)
    return text


def _drain(stream: Any) -> None:
    if isinstance(stream, LimitedStream):
        stream.exhaust()
        return
    while stream.read(1 << 16):  # de-chunked input: read to its terminating chunk
        pass


class KeepAliveWSGIServer(ThreadedWSGIServer):
    """werkzeug's threaded server; open connections are tracked so ``server_close`` can end them at once."""

    # Idle keep-alive connections must not hold up server_close; we close their sockets instead.
    block_on_close = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def track(self, connection: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def server_close(self) -> None:
        super().server_close()
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def make_keep_alive_server(host: str, port: int, app: WSGIApp) -> KeepAliveWSGIServer:
    return KeepAliveWSGIServer(host, port, app, handler=_keep_alive_handler())


class LocalEndpoint:
    """``mock_aws`` plus an HTTP server for it, bound to loopback only, serving only the user's own tools.

    ``access`` adds host names and web origins to the endpoint's own (see ``localaws.endpoint.access``);
    ``pages`` are path prefixes of pages a user may reach by a link from another site (the console).
    """

    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        host: str = LOOPBACK,
        wrap: Callable[[WSGIApp], WSGIApp] | None = None,
        access: AccessSettings | None = None,
        pages: tuple[str, ...] = (),
    ) -> None:
        if host not in (LOOPBACK, "localhost", "::1"):
            raise ValueError("the local endpoint binds to loopback only")
        self.host = host
        self._wrap = wrap  # e.g. mounts the console beside the AWS APIs
        self.access = access or AccessSettings()
        validate_settings(self.access)  # a mistyped option fails here, before anything starts
        self._pages = pages
        self.faults = EndpointFaults()  # off until configured (localaws.endpoint.faults)
        self.policy: AccessPolicy | None = None
        self.tally: RequestTally | None = None
        self._requested_port = port
        self._mock: Any = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._channel: UnixChannel | None = (
            None  # the Lambda workers' way in (localaws.endpoint.unix_channel)
        )

    @property
    def channel(self) -> UnixChannel | None:
        """The Unix socket the Lambda workers' SDK calls use, while the endpoint runs."""
        return self._channel

    @property
    def socket_path(self) -> str | None:
        return None if self._channel is None else self._channel.path

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("endpoint not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:

        busy = PortInUseError(
            f"cannot listen on {self.host}:{self._requested_port}: the port is in use; "
            "is another `orderflow local up` running? Use --port to pick another port."
        )
        if self._requested_port and not port_is_free(self._requested_port, self.host):
            raise busy
        try:
            app = self.faults.wrap(wsgi_app() if self._wrap is None else self._wrap(wsgi_app()))
            self._server = make_keep_alive_server(self.host, self._requested_port, app)
        except (OSError, SystemExit) as exc:  # werkzeug exits the process on a busy port
            raise busy from exc
        # The allowed Host names carry the bound port, known only now (port 0 picks a free one).
        self.policy = AccessPolicy(port=self.port, settings=self.access, pages=self._pages)
        # The calls served, by way in, service and operation (the benchmark's request table).
        self.tally = RequestTally(AccessGuard(app, self.policy))
        self._server.app = self.tally
        self._channel = UnixChannel(self._server)
        self._channel.start()
        self._mock = mock_aws(config=MOTO_CONFIG)
        self._mock.start()
        # moto reads MOTO_PORT when something falls back to HTTP (e.g. the ASL engine without the stubber).
        os.environ["MOTO_PORT"] = str(self.port)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": STOP_POLL_SECONDS},
            name="localaws-http",
            daemon=True,
        )
        self._thread.start()
        logger.info("local AWS endpoint on %s", self.url)

    def stop(self) -> None:
        if self._channel is not None:
            self._channel.stop()
            self._channel = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._mock is not None:
            self._mock.stop()
        self._server = None
        self._thread = None
        self._mock = None
        self.policy = None


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
