"""What moto's Flask view hands a handler -- ``request.raw_url`` and ``dict(request.headers)`` -- made faster.

The lean dispatcher calls a handler as moto's Flask view does, ``callback(request, request.raw_url,
dict(request.headers))``; those two arguments cost dozens of Python calls on every SDK call.

* ``request_headers``: ``dict()`` of moto's ``EnvironHeaders`` lists the keys through werkzeug's and moto's
  generators and then looks each name up again. This makes the same pass and the same lookups directly:
  the same names (werkzeug's title-cased spelling, or the spelling moto preserved for underscored S3
  metadata names), in the same order, with the same values.
* ``raw_url``: werkzeug builds the URL root (host check, IRI decoding) and moto parses the raw path, for a
  handful of distinct URLs (every JSON API call is a POST to ``/`` of one host). The URL is computed by
  moto's own property once per distinct set of the environ values it is made of, then reused.

The tests compare both with moto's on varied environs.
"""

from __future__ import annotations

from typing import Any

from localaws.patches import registry

_PRESERVED_NAMES = registry.resolve(
    registry.register(
        "moto.core.request.PRESERVED_HEADER_NAMES_ENVIRON_KEY",
        "where moto's request keeps the original spelling of underscored header names",
    )
)
_environ_key = registry.resolve(
    registry.register(
        "moto.core.request.environ_key_for_header",
        "how moto keys a preserved header name (the name's environ key)",
    )
)
# Every environ value werkzeug's url_root and moto's raw_path and raw_url read.
_URL_KEYS = (
    "wsgi.url_scheme",
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "SCRIPT_NAME",
    "PATH_INFO",
    "RAW_URI",
    "QUERY_STRING",
)
_URLS_MAX = 1024
_urls: dict[tuple[Any, ...], str] = {}
_ENTITY_KEYS = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})
_HTTP_ENTITY_KEYS = frozenset({"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"})


def request_headers(environ: dict[str, Any]) -> dict[str, str]:
    """``dict(moto.core.request.EnvironHeaders(environ))``."""
    preserved: dict[str, str] = environ.get(_PRESERVED_NAMES) or {}
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            if key in _HTTP_ENTITY_KEYS:
                continue
            name = key[5:].replace("_", "-").title()
        elif key in _ENTITY_KEYS and value:
            name = key.replace("_", "-").title()
        else:
            continue
        if preserved:
            name = preserved.get(_environ_key(name), name)
        # The value is looked up by the name, as EnvironHeaders.__getitem__ does.
        lookup = name.upper().replace("-", "_")
        headers[name] = environ[lookup] if lookup in _ENTITY_KEYS else environ[f"HTTP_{lookup}"]
    return headers


def raw_url(request: Any) -> str:
    """``request.raw_url`` (moto's request), computed once for each distinct set of its environ values."""
    environ = request.environ
    key = tuple(environ.get(name) for name in _URL_KEYS)
    url = _urls.get(key)
    if url is None:
        url = request.raw_url
        if len(_urls) < _URLS_MAX:
            _urls[key] = url
    return url


def cached_raw_url(environ: dict[str, Any]) -> str | None:
    """``raw_url``'s answer for this environ when it has been computed before, else None."""
    return _urls.get(tuple(environ.get(name) for name in _URL_KEYS))
