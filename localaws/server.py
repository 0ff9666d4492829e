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
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer
from werkzeug.wsgi import LimitedStream

from localaws import moto_patches

if TYPE_CHECKING:
    from moto.core.config import DefaultConfig

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 4566
# An idle keep-alive connection is closed after this long (its server thread then ends).
IDLE_CONNECTION_SECONDS = 120.0
MOTO_CONFIG: DefaultConfig = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}

_DISPATCHER = moto_patches.register(
    "moto.moto_server.werkzeug_app.DomainDispatcherApplication",
    "the WSGI app of moto's server; we run it on our own socket to fail fast on a busy port",
)
_BACKEND_APP = moto_patches.register(
    "moto.moto_server.werkzeug_app.create_backend_app", "per-service WSGI apps over the shared backends"
)
_REQUEST_HANDLER = moto_patches.register(
    "moto.moto_server.werkzeug_app.MotoRequestHandler", "moto's request handler (keeps header spelling)"
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
    app: WSGIApp = moto_patches.resolve(_DISPATCHER)(moto_patches.resolve(_BACKEND_APP))
    return app


def _keep_alive_handler() -> type:
    base = moto_patches.resolve(_REQUEST_HANDLER)

    class KeepAliveRequestHandler(base):  # type: ignore[misc, valid-type]
        """moto's request handler (its environ keeps S3 metadata header spelling), with keep-alive."""

        protocol_version = "HTTP/1.1"
        timeout = IDLE_CONNECTION_SECONDS

        def setup(self) -> None:
            super().setup()
            # Responses go out in one write; without this a client's next request can wait on delayed ACKs.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.server.track(self.connection, add=True)

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                self.server.track(self.connection, add=False)

        # One log line per API call would drown the handlers' own logs.
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return

        def run_wsgi(self) -> None:
            if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.environ = environ = self.make_environ()
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
            code_text, _, reason = status.partition(" ")
            code = int(code_text)
            self.send_response(code, reason)
            length = None
            for key, value in headers:
                if key.lower() == "content-length":
                    length = value
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            bodiless = 100 <= code < 200 or code in (204, 304)
            if environ["REQUEST_METHOD"] == "HEAD":
                # A HEAD answer describes the GET body it does not carry.
                if length is not None:
                    self.send_header("Content-Length", length)
                body = b""
            elif not bodiless:
                self.send_header("Content-Length", str(len(body)))
            else:
                body = b""
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if body:
                self.wfile.write(body)

    return KeepAliveRequestHandler


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
    """``mock_aws`` plus an HTTP server for it, bound to loopback only."""

    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        host: str = LOOPBACK,
        wrap: Callable[[WSGIApp], WSGIApp] | None = None,
    ) -> None:
        if host not in (LOOPBACK, "localhost", "::1"):
            raise ValueError("the local endpoint binds to loopback only")
        self.host = host
        self._wrap = wrap  # e.g. mounts the console beside the AWS APIs
        self._requested_port = port
        self._mock: Any = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("endpoint not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        from moto import mock_aws

        busy = PortInUseError(
            f"cannot listen on {self.host}:{self._requested_port}: the port is in use; "
            "is another `orderflow local up` running? Use --port to pick another port."
        )
        if self._requested_port and not port_is_free(self._requested_port, self.host):
            raise busy
        try:
            app = wsgi_app() if self._wrap is None else self._wrap(wsgi_app())
            self._server = make_keep_alive_server(self.host, self._requested_port, app)
        except (OSError, SystemExit) as exc:  # werkzeug exits the process on a busy port
            raise busy from exc
        self._mock = mock_aws(config=MOTO_CONFIG)
        self._mock.start()
        # moto reads MOTO_PORT when something falls back to HTTP (e.g. the ASL engine without the stubber).
        os.environ["MOTO_PORT"] = str(self.port)
        self._thread = threading.Thread(target=self._server.serve_forever, name="localaws-http", daemon=True)
        self._thread.start()
        logger.info("local AWS endpoint on %s", self.url)

    def stop(self) -> None:
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


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
