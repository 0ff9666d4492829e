"""The local AWS endpoint: moto's backends active in-process and served over HTTP on 127.0.0.1.

``mock_aws`` makes boto3 calls made inside this process (the deployer, Step Functions tasks, the delivery
mechanisms) go straight to moto's backends. The HTTP server serves the very same backend objects, so the
stock AWS CLI, boto3 with ``AWS_ENDPOINT_URL`` and the Lambda workers see one consistent world.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, make_server

from localaws import moto_patches

if TYPE_CHECKING:
    from moto.core.config import DefaultConfig

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 4566
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


class PortInUseError(OSError):
    """Something already listens on the port we were asked to serve on."""


def _quiet_handler() -> type:
    base = moto_patches.resolve(_REQUEST_HANDLER)

    class QuietRequestHandler(base):  # type: ignore[misc, valid-type]
        # One log line per API call would drown the handlers' own logs.
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return

    return QuietRequestHandler


class LocalEndpoint:
    """``mock_aws`` plus an HTTP server for it, bound to loopback only."""

    def __init__(self, *, port: int = DEFAULT_PORT, host: str = LOOPBACK) -> None:
        if host not in (LOOPBACK, "localhost", "::1"):
            raise ValueError("the local endpoint binds to loopback only")
        self.host = host
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

        dispatcher = moto_patches.resolve(_DISPATCHER)(moto_patches.resolve(_BACKEND_APP))
        busy = PortInUseError(
            f"cannot listen on {self.host}:{self._requested_port}: the port is in use; "
            "is another `orderflow local up` running? Use --port to pick another port."
        )
        if self._requested_port and not port_is_free(self._requested_port, self.host):
            raise busy
        try:
            self._server = make_server(
                self.host, self._requested_port, dispatcher, threaded=True, request_handler=_quiet_handler()
            )
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
