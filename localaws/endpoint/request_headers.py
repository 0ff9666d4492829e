"""A request's headers as the dict moto's Flask view hands a handler: ``dict(request.headers)``, made faster.

``dict()`` of moto's ``EnvironHeaders`` asks for the keys (a pass over the environ through werkzeug's and
moto's generators) and then looks each one up again by name: dozens of Python calls per header, on every
SDK call. This is the same pass and the same lookups, written out: the same names (werkzeug's title-cased
spelling, or the spelling moto preserved for underscored S3 metadata names), in the same order, with the
same values. The test compares the two on varied environs.
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
