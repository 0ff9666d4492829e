"""The Lambda workers' SDK calls to the local endpoint, over a Unix socket instead of HTTP over TCP.

The runtime gives each worker ``LOCALAWS_ENDPOINT_SOCKET`` (see ``localaws.endpoint.unix_channel``). Every
botocore request to the endpoint (``AWS_ENDPOINT_URL``'s host and port) is then sent as one frame on that
socket from botocore's ``before-send`` event -- the hook botocore offers to answer a request without its
HTTP stack, and the one moto's own mock uses. Everything before it is untouched: parameter validation,
serialisation, the User-Agent, SigV4 signing; so is everything after: retries, checksum and response
parsing, errors. The endpoint turns the frame into the very WSGI environ its HTTP server would build and
answers through the same application (access guard, faults, moto). What it saves is urllib3's and
http.client's work on both ends, about a third of a worker's CPU per call. A request for any other host
(another endpoint, TestState's ``sync-`` host prefix) goes over HTTP as before.

Runs inside the Lambda worker: imports only the standard library and botocore (which the handlers load
anyway), never moto or the rest of ``localaws``.

Frame, both ways: two big-endian 32-bit lengths (head, body), a JSON head, the body. Request head:
``{"method", "target" (path and query), "headers": [[name, value], ...]}``; response head:
``{"status", "headers"}``.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import io
import json
import os
import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

SOCKET_ENV = "LOCALAWS_ENDPOINT_SOCKET"
ENDPOINT_ENV = "AWS_ENDPOINT_URL"
# botocore's own default read timeout: a call that gets no answer for this long fails as over HTTP.
TIMEOUT_SECONDS = 60.0
_LENGTHS = struct.Struct("!II")


def encode_frame(head: dict[str, Any], body: bytes) -> bytes:
    head_bytes = json.dumps(head, separators=(",", ":")).encode()
    return _LENGTHS.pack(len(head_bytes), len(body)) + head_bytes + body


class FrameReader:
    """The frames of one connected socket, each read with as few ``recv`` calls as the peer's writes allow.

    Each side writes a frame in one ``sendall``, so asking for up to ``CHUNK`` bytes at a time usually gets
    the whole frame in one call, where reading the lengths, the head and the body exactly took three (three
    system calls per SDK call on each side of the channel). Bytes read past a frame wait for the next one.
    """

    CHUNK = 1 << 16

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()

    def read_frame(self) -> tuple[dict[str, Any], bytes]:
        """The next frame; ``EOFError`` when the peer closed the socket (before or inside a frame)."""
        head_size, body_size = _LENGTHS.unpack(self._take(_LENGTHS.size))
        head: dict[str, Any] = json.loads(self._take(head_size))
        return head, self._take(body_size)

    def _take(self, size: int) -> bytes:
        buffer = self._buffer
        while len(buffer) < size:
            chunk = self.sock.recv(min(max(size - len(buffer), self.CHUNK), 1 << 20))
            if not chunk:
                raise EOFError("the endpoint closed the channel")
            buffer += chunk
        taken = bytes(buffer[:size])
        del buffer[:size]
        return taken


class _RawBody(io.BytesIO):
    """A response body as botocore reads a urllib3 response: ``read(amt)`` and ``stream()``."""

    def stream(self, amt: int = 1 << 16, decode_content: bool | None = None) -> Iterator[bytes]:
        while chunk := self.read(amt):
            yield chunk


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value  # as http.client sends it


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    data = body.read()  # a file-like body (e.g. an S3 upload)
    return data.encode() if isinstance(data, str) else bytes(data)


class SdkChannel:
    """Sends botocore's prepared requests for ``endpoint_url`` on the endpoint's Unix socket."""

    def __init__(self, socket_path: str, endpoint_url: str) -> None:
        self.socket_path = socket_path
        self.endpoint_url = endpoint_url
        self.netloc = urlsplit(endpoint_url).netloc
        self._idle: list[FrameReader] = []  # one per thread in flight at most; reused, most recent first
        self._lock = threading.Lock()
        # botocore's, looked up at the first request (botocore is loaded by then; a worker that never
        # makes an SDK call never loads it for us).
        self._response_class: Any = None
        self._errors: Any = None

    def before_send(self, request: Any, **_: Any) -> Any:
        """botocore's ``before-send`` handler: the response, or None to let botocore send it over HTTP."""
        url = urlsplit(request.url)
        if url.netloc != self.netloc:
            return None
        headers = [[_text(name), _text(value)] for name, value in request.headers.items()]
        names = {name.lower() for name, _ in headers}
        if "transfer-encoding" in names:  # a body streamed in chunks: HTTP carries it as it is
            return None
        # What http.client adds on the wire, so the endpoint sees the request as it would over HTTP.
        if "host" not in names:
            headers.insert(0, ["Host", url.netloc])
        if "accept-encoding" not in names:
            headers.insert(1, ["Accept-Encoding", "identity"])
        target = (url.path or "/") + (f"?{url.query}" if url.query else "")
        frame = encode_frame(
            {"method": request.method, "target": target, "headers": headers}, _body_bytes(request.body)
        )
        head, body = self._exchange(frame)
        return self._response(request.url, head, body)

    def _exchange(self, frame: bytes) -> tuple[dict[str, Any], bytes]:
        if self._errors is None:
            from botocore import awsrequest, exceptions  # noqa: PLC0415 - see __init__

            self._response_class, self._errors = awsrequest.AWSResponse, exceptions
        errors = self._errors
        reader = self._take()
        sock = None if reader is None else reader.sock
        try:
            if reader is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(TIMEOUT_SECONDS)
                try:
                    sock.connect(self.socket_path)
                except OSError as exc:
                    raise errors.EndpointConnectionError(endpoint_url=self.endpoint_url, error=exc) from exc
                reader = FrameReader(sock)
            reader.sock.sendall(frame)
            answer = reader.read_frame()
        except TimeoutError as exc:
            self._discard(sock)
            raise errors.ReadTimeoutError(endpoint_url=self.endpoint_url, error=exc) from exc
        except (OSError, EOFError, ValueError) as exc:
            self._discard(sock)
            raise errors.ConnectionClosedError(endpoint_url=self.endpoint_url) from exc
        except BaseException:
            self._discard(sock)
            raise
        with self._lock:
            self._idle.append(reader)
        return answer

    def _take(self) -> FrameReader | None:
        with self._lock:
            return self._idle.pop() if self._idle else None

    @staticmethod
    def _discard(sock: socket.socket | None) -> None:
        if sock is not None:
            sock.close()

    def _response(self, url: str, head: dict[str, Any], body: bytes) -> Any:
        # As urllib3 hands them to botocore: a repeated header's values joined with ", ".
        headers: dict[str, str] = {}
        spelling: dict[str, str] = {}
        for name, value in head["headers"]:
            first = spelling.setdefault(name.lower(), name)
            headers[first] = f"{headers[first]}, {value}" if first in headers else value
        return self._response_class(url, head["status"], headers, _RawBody(body))

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for reader in idle:
            reader.sock.close()


_installed: SdkChannel | None = None
_HANDLERS_MODULE = "botocore.handlers"
_after_handlers: list[Callable[[Any], None]] = []  # run once botocore.handlers has run


def install(socket_path: str, endpoint_url: str) -> SdkChannel:
    """Route every botocore session's requests for ``endpoint_url`` through the socket (idempotent).

    botocore registers ``BUILTIN_HANDLERS`` on each session it creates, so the handler is added to that
    list as soon as botocore loads it (``when_botocore_loads``), and so before the function's code can make
    its first client.
    """
    global _installed  # noqa: PLW0603 - one channel per worker process, as botocore's handlers are global
    if _installed is None:
        _installed = SdkChannel(socket_path, endpoint_url)
        when_botocore_loads(_register)
    return _installed


def when_botocore_loads(callback: Callable[[Any], None]) -> None:
    """``callback(botocore.handlers)`` now if botocore is loaded, else right after that module runs.

    A function that never imports botocore pays nothing for it.
    """
    loaded = sys.modules.get(_HANDLERS_MODULE)
    if loaded is not None:
        callback(loaded)
        return
    if not _after_handlers:
        sys.meta_path.insert(0, _AfterBotocoreHandlers())
    _after_handlers.append(callback)


def _register(handlers_module: Any) -> None:
    assert _installed is not None
    handlers_module.BUILTIN_HANDLERS.append(("before-send", _installed.before_send))


class _AfterBotocoreHandlers(importlib.abc.MetaPathFinder):
    """Finds ``botocore.handlers`` as the other finders would, and runs the callbacks once it ran."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != _HANDLERS_MODULE:
            return None
        sys.meta_path.remove(self)  # once: the module is being imported now
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        run_module = loader.exec_module

        def exec_module(module: Any) -> None:
            run_module(module)
            callbacks = list(_after_handlers)
            _after_handlers.clear()
            for callback in callbacks:
                callback(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install_from_environment() -> SdkChannel | None:
    """``install`` when the runtime gave this worker a socket and an endpoint URL; else nothing."""
    socket_path = os.environ.get(SOCKET_ENV)
    endpoint_url = os.environ.get(ENDPOINT_ENV)
    if not socket_path or not endpoint_url:
        return None
    return install(socket_path, endpoint_url)
