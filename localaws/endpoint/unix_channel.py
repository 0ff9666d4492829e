"""The endpoint's Unix socket for the Lambda workers' SDK calls (their side: ``lambda_.sdk_channel``).

Each frame is one HTTP request as botocore prepared it (method, target, headers, body). It is answered by
the HTTP server's own request handler class and application: the WSGI environ comes from the handler's
``make_environ`` (werkzeug's and moto's, the same keys and values as over TCP), the application is the one
the server serves (access guard, faults, TestState, the lean dispatcher, moto), and the answer's headers are
those the HTTP server would write (``response_parts``). Only the HTTP parsing and writing, and the kernel's
TCP, are skipped.

The socket lives in a directory only the user can enter (``mkdtemp``), so no other user, and no web page
(browsers cannot reach a Unix socket), can send on it. A connection's thread serves frame after frame
until the worker closes it; ``stop`` ends them all.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import os
import shutil
import socket
import tempfile
import threading
from typing import Any

from localaws.endpoint.environ_templates import EnvironTemplates
from localaws.endpoint.request_tally import UNIX, WAY_IN_KEY
from localaws.lambda_.sdk_channel import FrameReader, encode_frame

logger = logging.getLogger(__name__)

SOCKET_NAME = "endpoint.sock"
LISTEN_BACKLOG = 64
# What the application sees as the caller's address: a process on this machine, as over loopback.
_CLIENT_ADDRESS = ("127.0.0.1", 0)


class UnixChannel:
    """Serves ``server``'s application (a ``KeepAliveWSGIServer``) to SDK frames on a Unix socket."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self._handler_class = server.RequestHandlerClass
        self._directory = tempfile.mkdtemp(prefix="localaws-")
        self.path = os.path.join(self._directory, SOCKET_NAME)
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._names = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._environs = EnvironTemplates()  # make_environ's environs, from kept templates
        self.served = 0  # frames answered (approximate under concurrency: a statistic, not a ledger)

    def start(self) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        os.chmod(self.path, 0o600)
        listener.listen(LISTEN_BACKLOG)
        self._listener = listener
        # Named like the HTTP server's threads: the benchmark counts both as HTTP serving.
        self._thread = threading.Thread(target=self._accept_loop, name="localaws-http-unix", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5.0)
        shutil.rmtree(self._directory, ignore_errors=True)

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed by stop
                return
            with self._lock:
                self._connections.add(connection)
            threading.Thread(
                target=self._serve,
                args=(connection,),
                name=f"endpoint-conn-unix-{next(self._names)}",
                daemon=True,
            ).start()

    def _serve(self, connection: socket.socket) -> None:
        reader = FrameReader(connection)
        try:
            while True:
                try:
                    head, body = reader.read_frame()
                except (EOFError, OSError):  # the worker closed it (or ended), or stop did
                    return
                answer = self.answer(head, body)
                self.served += 1
                connection.sendall(answer)
        except OSError:
            return
        except Exception:
            logger.exception("the Unix channel failed on a frame; closing the connection")
        finally:
            with self._lock:
                self._connections.discard(connection)
            connection.close()

    def answer(self, head: dict[str, Any], body: bytes) -> bytes:
        """The response frame for one request frame, as the HTTP server would answer that request."""
        handler = self._handler_class.__new__(self._handler_class)  # no socket to read: set what it reads
        handler.server = self._server
        handler.client_address = _CLIENT_ADDRESS
        handler.connection = None
        handler.close_connection = False
        handler.command = head["method"]
        handler.path = head["target"]
        handler.request_version = "HTTP/1.1"
        handler.requestline = f"{handler.command} {handler.path} HTTP/1.1"
        handler.rfile = io.BytesIO(body)
        environ = self._environs.environ(handler, head["headers"])
        environ[WAY_IN_KEY] = UNIX  # so the request tally tells the workers' calls from TCP clients'
        status, response_headers, response_body = handler._call_application(environ)
        code, _, lines, response_body = handler.response_parts(
            environ, status, response_headers, response_body
        )
        return encode_frame({"status": code, "headers": lines}, response_body)
