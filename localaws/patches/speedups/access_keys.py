"""Speed-up of moto's request handling: the access key read off a request's Authorization header.

* ``access_keys`` -- ``BaseResponse.get_access_key`` searches the Authorization header with
  ``access_key_regex`` (``AWS.*(?P<access_key>...)[:/]``), whose greedy ``.*`` runs to the end of the
  header and backtracks over all of it, signature included. Where no key matches (the local test key
  ``testing`` never does: moto then answers its default key) that is the whole header tried position by
  position, and every request searches twice (``setup_class`` sets ``access_key``, then
  ``get_current_account`` asks again): about 3 % of a served execution's instructions. Two exact changes:
  a match ends with ``:`` or ``/``, so moto's pattern searches the header only up to its last ``:`` or
  ``/`` (the same match, or none: nothing after can be part of one); and what the search finds is a
  function of the pattern and the text alone, so it is kept per (pattern, text) for the second ask, and
  for every task call (``task_adapters``). The rest of moto's method (the query string's key, else its
  default) is moto's, as written there.
"""

from __future__ import annotations

import functools
from typing import Any

from localaws.endpoint.defaults import MOTO_DEFAULT_ACCESS_KEY
from localaws.patches import registry

_BASE_RESPONSE = "moto.core.responses.BaseResponse"
_GET_ACCESS_KEY = f"{_BASE_RESPONSE}.get_access_key"
_ACCESS_KEY_REGEX = f"{_BASE_RESPONSE}.access_key_regex"
# Headers seen lately: each request's is new (its signature), so only the last few are ever asked again.
_KEPT = 256

_found: dict[tuple[Any, str], str | None] = {}


def access_key_in(pattern: Any, text: str) -> str | None:
    """``pattern.search(text).group(1)``, or None where it does not match: what moto's method reads."""
    known = (pattern, text)
    try:
        return _found[known]
    except KeyError:
        pass
    key = _search(pattern, text)
    if len(_found) >= _KEPT:
        _found.clear()
    _found[known] = key
    return key


def _search(pattern: Any, text: str) -> str | None:
    if pattern is not _moto_pattern():
        match = pattern.search(text)  # a class's own pattern: searched as moto would
    else:
        # moto's pattern ends with [:/]: a match lies before the last of them (none: no match)
        end = max(text.rfind(":"), text.rfind("/")) + 1
        match = pattern.search(text, 0, end) if end else None
    return match.group(1) if match else None


@functools.cache
def _moto_pattern() -> Any:
    """moto's ``access_key_regex``, resolved once per process."""
    return registry.resolve(_ACCESS_KEY_REGEX)


def _get_access_key(self: Any) -> str:
    """moto's ``get_access_key``: the key in the Authorization header (found once per header text), else
    the query string's ``AWSAccessKeyId``, else moto's default key."""
    headers = self.headers
    if "Authorization" in headers:
        text = headers["Authorization"]
        if type(text) is not str:
            answer: str = registry.original(_GET_ACCESS_KEY)(self)  # what moto's search makes of it
            return answer
        key = access_key_in(self.access_key_regex, text)
        if key is not None:
            return key
    if self.querystring.get("AWSAccessKeyId"):
        query_key: str = self.querystring["AWSAccessKeyId"][0]
        return query_key
    return MOTO_DEFAULT_ACCESS_KEY


def clear() -> None:
    _found.clear()


ACCESS_KEYS = registry.PatchSet(
    "access_keys",
    [registry.Patch(_GET_ACCESS_KEY, _get_access_key, "the header's access key found once per header text")],
    reads=[
        (_ACCESS_KEY_REGEX, "the pattern moto reads the key with: its matches end with : or /"),
        (f"{_BASE_RESPONSE}.querystring", "the query string's AWSAccessKeyId, as moto's method reads it"),
        (f"{_BASE_RESPONSE}.headers", "the request's headers, as moto's method reads them"),
    ],
)
