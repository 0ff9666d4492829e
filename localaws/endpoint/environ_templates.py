"""WSGI environs as the request handler's ``make_environ`` builds them, without building each anew.

``make_environ`` (werkzeug's, then moto's pass over the header names for S3's underscored metadata) splits
and decodes the URL, reads the headers through an email-style message and builds some twenty keys: about
70 µs of an SDK call's CPU, a third of a small Step Functions call over TCP. What it takes from the request
line and the connection is the same for every request with that method, target and version on that
connection: it is built once by ``make_environ`` itself (from no headers) and each request adds its headers
to a copy, as werkzeug does. Headers werkzeug or moto treat specially (an underscore in the name,
Transfer-Encoding) and absolute targets go to ``make_environ``.

The Unix channel keeps one ``EnvironTemplates`` for all its frames (its handlers all have the same address
and no socket); the HTTP server one per connection (its address and socket are in the environ).
"""

from __future__ import annotations

import http.client
from collections.abc import Iterable, Sequence
from typing import Any

from localaws.patches import registry

# A request's header names and values: the HTTP server's (name, value) pairs, the Unix channel's lists.
Headers = Iterable[Sequence[str]]
# Distinct (method, target, version) kept: SDK calls use a handful (JSON APIs all POST "/").
TEMPLATES_MAX = 256
_PRESERVED_NAMES = registry.resolve(
    registry.register(
        "moto.core.request.PRESERVED_HEADER_NAMES_ENVIRON_KEY",
        "the environ key moto's make_environ sets for underscored headers; a copy of a template sets it too",
    )
)


def handler_environ(handler: Any, headers: Headers) -> dict[str, Any]:
    """The handler's own ``make_environ`` (werkzeug's and moto's) for these headers; the handler's own
    headers, if it has some, are left as they were."""
    message = http.client.HTTPMessage()
    for name, value in headers:
        message[name] = value
    previous = getattr(handler, "headers", None)
    handler.headers = message
    try:
        environ: dict[str, Any] = handler.make_environ()
    finally:
        if previous is not None:
            handler.headers = previous
    return environ


class EnvironTemplates:
    """``make_environ``'s environs from kept per-target templates (see the module docstring)."""

    def __init__(self) -> None:
        self._templates: dict[tuple[str, str, str], dict[str, Any]] = {}

    def environ(self, handler: Any, headers: Headers) -> dict[str, Any]:
        """What ``handler.make_environ()`` would build for ``headers``, its input the handler's ``rfile``."""
        pairs = list(headers)
        key = (handler.command, handler.path, handler.request_version)
        template = self._templates.get(key)
        if template is None:
            if "://" in handler.path:
                return handler_environ(handler, pairs)
            template = handler_environ(handler, [])
            del template["wsgi.input"]
            if len(self._templates) < TEMPLATES_MAX:
                self._templates[key] = template
        environ = dict(template)
        for name, value in pairs:
            if "_" in name or name.lower() == "transfer-encoding":
                return handler_environ(handler, pairs)
            wsgi_key = name.upper().replace("-", "_")
            text = value.replace("\r\n", "")
            if wsgi_key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                wsgi_key = f"HTTP_{wsgi_key}"
                if wsgi_key in environ:
                    text = f"{environ[wsgi_key]},{text}"
            environ[wsgi_key] = text
        environ["wsgi.input"] = handler.rfile
        environ[_PRESERVED_NAMES] = {}  # moto's map of underscored header names: none here
        return environ
