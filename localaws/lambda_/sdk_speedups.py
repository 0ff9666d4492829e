"""What botocore repeats on every call of a Lambda worker and that never changes: worked out once, kept.

A worker's handler makes a few SDK calls per invocation with the same few clients. botocore rebuilds the
User-Agent string twice per call (once for the request, once more at ``request-created`` to add the feature
ids used by then): about 40 components, each cleaned character by character, for a string that is the same
every time. It was about a quarter of a worker's CPU per call.

``UserAgentString.to_string`` is kept per set of inputs: the ``UserAgentString``'s own fields (platform,
Python, ``AWS_EXECUTION_ENV``, the session's name, version and extra), the User-Agent settings of its client
``Config``, and the feature ids (the client's, then the request context's, in the order botocore joins
them). A call with inputs seen before gets the string botocore built for them; any new input builds it the
normal way. So the header is byte for byte botocore's (``tests/localaws/lambda_/test_sdk_speedups.py``
compares them), and the fault switch, which tells Lambda callers by ``exec-env/AWS_Lambda_`` in it, still
does.

Runs inside the Lambda worker: the standard library and botocore only. The botocore internals used are in
``BOTOCORE_INTERNALS``; the test resolves each, so a botocore upgrade that moves one fails there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

BOTOCORE_INTERNALS = (
    "botocore.useragent.UserAgentString.to_string",
    "botocore.useragent.UserAgentString._build_feature_metadata",
    "botocore.context.get_context",
)
# The client Config's settings that ``to_string`` reads.
_CONFIG_FIELDS = ("user_agent", "user_agent_extra", "user_agent_appid", "endpoint_discovery_enabled")

# Inputs are few (a handful of clients, one or two feature sets each); the bound only guards against a
# caller whose inputs never repeat.
MAX_KEPT = 256

_installed = False
_lock = threading.Lock()


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((key, _hashable(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_hashable(item) for item in value)
    return value


def _config_inputs(config: Any) -> Any:
    if config is None:
        return None
    # The Config itself (by identity; it defines no equality): botocore's client creation also sets on it the
    # user agent the caller supplied, which ``to_string`` reads, once, before any call.
    return (
        config,
        *(getattr(config, name, None) for name in _CONFIG_FIELDS),
        _hashable(getattr(config, "retries", None)),
    )


def cached_to_string(original: Callable[[Any], str], get_context: Callable[[], Any]) -> Callable[[Any], str]:
    """``UserAgentString.to_string`` that builds each distinct string once (``original`` builds it)."""
    kept: dict[Any, str] = {}

    def to_string(self: Any) -> str:
        fields = self.__dict__
        context = get_context()
        client_features = fields.get("_client_features") or set()
        # The order botocore joins them in: that of the union it makes.
        features = tuple(client_features.union(set() if context is None else context.features))
        try:
            key = (
                features,
                tuple(
                    (name, value)
                    for name, value in fields.items()
                    if name not in ("_client_config", "_client_features")
                ),
                _config_inputs(fields.get("_client_config")),
            )
            answer = kept.get(key)
        except TypeError:  # an input that cannot be a key: build it as botocore does
            return original(self)
        if answer is None:
            answer = original(self)
            if len(kept) >= MAX_KEPT:
                kept.clear()
            kept[key] = answer
        return answer

    to_string.__wrapped__ = original  # type: ignore[attr-defined]
    return to_string


def install() -> None:
    """Put the cached ``to_string`` in (idempotent). Imports botocore: call it once botocore is loaded."""
    global _installed  # noqa: PLW0603 - one patch per worker process
    from botocore import context, useragent  # noqa: PLC0415 - botocore is loaded by now (see sdk_channel)

    with _lock:
        if _installed:
            return
        original = useragent.UserAgentString.to_string
        useragent.UserAgentString.to_string = cached_to_string(  # type: ignore[method-assign,assignment]
            original, context.get_context
        )
        _installed = True
