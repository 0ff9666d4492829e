"""Speed-ups of moto's request dispatch: which backend serves a Host, and which actions a response class has.

* ``http_dispatch`` -- moto's HTTP server maps every request's Host to a backend by listing moto's package
  directory (one stat per entry) and then trying each backend's URL regexes. Both answers are fixed for the
  life of the process.
* ``action_lookup`` -- every moto API call lists its handler class's methods with ``inspect.getmembers``
  (about 0.1 ms) to check the action exists; the list changes only when a method is added to the class.
* ``request_ids`` -- every answer gets a 52-character request id from moto's random strings: 52 calls of
  ``Random.choice``, three Python calls a character (about 47 us of a call's 700). The same draws of
  ``getrandbits`` in one loop give the very same string, so a seeded moto still gives the same ids.
  And every answer's body is searched with a regex for ``<RequestId>`` to write that id in, JSON bodies
  too; the search runs only when the body holds the tag (without it the regex cannot match).
"""

from __future__ import annotations

import random
import string
import threading
from typing import Any

from localaws.patches import registry
from localaws.patches.speedups.cache import LruCache

_MOTO_MODULES = "moto.backends.list_of_moto_modules"
_BACKEND_FOR_HOST = "moto.moto_server.werkzeug_app.DomainDispatcherApplication.get_backend_for_host"
_METHOD_NAMES = "moto.core.responses.method_names_from_class"
_MOTO_RANDOM = "moto.moto_api._internal.moto_random.MotoRandom"
_RANDOM_STRING = f"{_MOTO_RANDOM}.get_random_string"
_ENRICH = "moto.core.responses.BaseResponse._enrich_response"
_REQUEST_ID = "moto.core.responses.gen_amzn_requestid_long"
_REQUEST_ID_TAG = "<RequestId>"
# Hosts a process sees: one per service and region it is called for.
_HOSTS_MAX = 1024

hosts = LruCache(_HOSTS_MAX)

# --- http_dispatch ------------------------------------------------------------------------------------

_moto_modules: tuple[str, ...] | None = None


def _cached_moto_modules() -> tuple[str, ...]:
    global _moto_modules  # noqa: PLW0603 - computed once per process
    if _moto_modules is None:
        _moto_modules = tuple(registry.original(_MOTO_MODULES)())
    return _moto_modules


def _cached_backend_for_host(self: Any, host: str | None) -> Any:
    if host is None:
        return None
    return hosts.get_or_create(host, lambda: registry.original(_BACKEND_FOR_HOST)(self, host))


# --- action_lookup ------------------------------------------------------------------------------------

_method_names: dict[type, tuple[tuple[int, ...], list[str]]] = {}
_method_names_lock = threading.Lock()


def _cached_method_names(clazz: Any) -> list[str]:
    """moto's ``method_names_from_class`` (the function names of a response class), listed once per class.

    Keyed on the size of each class's namespace along the MRO: a method added anywhere (a patch adding a new
    action) lists again; a method replaced in place keeps the same names.
    """
    fingerprint = tuple(len(vars(klass)) for klass in getattr(clazz, "__mro__", (clazz,)))
    with _method_names_lock:
        cached = _method_names.get(clazz)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    names: list[str] = registry.original(_METHOD_NAMES)(clazz)
    with _method_names_lock:
        _method_names[clazz] = (fingerprint, names)
    return names


# --- request_ids --------------------------------------------------------------------------------------

_WITH_GETRANDBITS = random.Random._randbelow_with_getrandbits  # type: ignore[attr-defined]


def _random_string(self: Any, length: int = 20, include_digits: bool = True, lower_case: bool = False) -> str:
    """``MotoRandom.get_random_string``: ``length`` times ``choice(pool)``, each drawn as ``choice`` draws it.

    ``choice`` takes ``_randbelow(len(pool))``, which asks ``getrandbits(k)`` until the number is below the
    pool's size; so does this loop, in the same order. A subclass that draws otherwise gets moto's own code.
    """
    if type(self)._randbelow is not _WITH_GETRANDBITS:
        text: str = registry.original(_RANDOM_STRING)(self, length, include_digits, lower_case)
        return text
    pool = string.ascii_letters + string.digits if include_digits else string.ascii_letters
    size = len(pool)
    bits = size.bit_length()
    getrandbits = self.getrandbits
    chars = []
    for _ in range(length):
        drawn = getrandbits(bits)
        while drawn >= size:
            drawn = getrandbits(bits)
        chars.append(pool[drawn])
    text = "".join(chars)
    return text.lower() if lower_case else text


_request_id: Any = None


def _enrich_response(headers: dict[str, Any], body: Any) -> tuple[dict[str, Any], Any]:
    """``BaseResponse._enrich_response``: moto's own when the body holds ``<RequestId>``; otherwise what
    moto's does with such a body (the status as text, a new request id, the body untouched)."""
    if isinstance(body, str) and _REQUEST_ID_TAG in body:
        enriched: tuple[dict[str, Any], Any] = registry.original(_ENRICH)(headers, body)
        return enriched
    global _request_id  # noqa: PLW0603 - resolved once per process
    if _request_id is None:
        _request_id = registry.resolve(_REQUEST_ID)
    if "status" in headers:
        headers["status"] = str(headers["status"])
    _request_id(headers)
    return headers, body


def clear() -> None:
    global _moto_modules  # noqa: PLW0603 - listed again after a reset
    hosts.clear()
    _moto_modules = None
    with _method_names_lock:
        _method_names.clear()


HTTP_DISPATCH = registry.PatchSet(
    "http_dispatch",
    [
        registry.Patch(
            _MOTO_MODULES, _cached_moto_modules, "list moto's package directory once, not per request"
        ),
        registry.Patch(_BACKEND_FOR_HOST, _cached_backend_for_host, "map each Host header to a backend once"),
    ],
)
ACTION_LOOKUP = registry.PatchSet(
    "action_lookup",
    [
        registry.Patch(
            _METHOD_NAMES, _cached_method_names, "list a response class's methods once, not per API call"
        )
    ],
)
REQUEST_IDS = registry.PatchSet(
    "request_ids",
    [
        registry.Patch(
            _RANDOM_STRING,
            _random_string,
            "draw a random string (every answer's request id) in one loop: the same draws, less CPU",
        ),
        registry.Patch(
            _ENRICH,
            staticmethod(_enrich_response),
            "search a body for <RequestId> with a regex only when it holds the tag",
        ),
    ],
    reads=[
        (_REQUEST_ID, "gives each answer its request id, as in moto's _enrich_response"),
        (f"{_MOTO_RANDOM}._randbelow", "how MotoRandom's choice() draws (the stdlib picks it per class)"),
        (f"{_MOTO_RANDOM}._randbelow_with_getrandbits", "the drawing the loop reproduces"),
    ],
)
