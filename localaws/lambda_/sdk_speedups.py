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

SigV4 signing (a fifth of a call's CPU) does two things twice that give the same answer both times: within
one ``add_auth`` it builds the map of headers to sign once for the canonical request and again for the
``SignedHeaders`` of the Authorization header (an ``email.message``-based map, slow to fill); and every
signature derives the signing key from the secret, the date, the region and the service through four HMACs.
``add_auth`` now builds the map once per signing (the headers do not change between the two uses), and the
key is kept per (secret, date, region, service). Both give the same bytes (the test signs the same requests
with and without them, at a fixed time); signatures are still made and sent, and any other caller of
``headers_to_sign`` gets it built as before.

Four more of a signing's steps cost far more than their answer (about a sixth of a worker's botocore CPU per
call, measured with cProfile over DynamoDB calls): ``headers_to_sign`` and ``canonical_headers`` pass every
header through the ``email`` policy of botocore's header map (a sanitising pass per header, per read and per
write); the payload hash asks ``AWSRequest.body``, which prepares the whole request (a case-insensitive copy
of every header, the Content-Length) only to return its body; and the Host header is worked out from the URL
(``urlsplit``, an IPv6 check) for every request to the same URL. The two header steps now read and write the
map's stored pairs when the policy would pass them unchanged (botocore's ``compat32`` with ASCII text),
``AWSRequest.body`` prepares only the body when nothing else in the preparation can change it (no query
parameters, a body of bytes, text or none, botocore's own preparer), and the Host is kept per URL. And
every ``HeadersDict`` (the prepared request's headers, a response's) is filled in one pass from its list of
pairs or plain dict, not through ``MutableMapping.update``.
Anything else takes botocore's path.

Before each call botocore gathers the inputs of the service's endpoint rules (``_get_provider_params``, about
a tenth of a worker's botocore CPU per call): for each of the ruleset's parameters it asks four places in
turn (the operation's static context, a member of the call's input, a JMESPath over the input, the client's
context), each through a per-instance cache keyed anew on every ask, then the builtins. Where each parameter
can come from depends on the resolver and the operation alone, so that is now worked out once per operation
(a plan); each call still asks the places in the same order for this call's values, emits
``before-endpoint-resolution`` with a fresh copy of the builtins (its handlers see and change what they
did), calls a callable builtin (the account id) and registers the feature ids, as botocore does. The rules
are still evaluated (botocore keeps their answers per set of inputs). A resolver of another class, or a
parameter naming a builtin botocore does not know (botocore raises), goes to botocore's method.

Runs inside the Lambda worker: the standard library and botocore only. The botocore internals used are in
``BOTOCORE_INTERNALS``; the test resolves each, so a botocore upgrade that moves one fails there.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Collection
from email.policy import compat32
from typing import Any

BOTOCORE_INTERNALS = (
    "botocore.useragent.UserAgentString.to_string",
    "botocore.useragent.UserAgentString._build_feature_metadata",
    "botocore.context.get_context",
    "botocore.auth.SigV4Auth.add_auth",
    "botocore.auth.SigV4Auth.headers_to_sign",
    "botocore.auth.SigV4Auth.signature",
    "botocore.auth.SigV4Auth._sign",
    "botocore.auth.S3SigV4Auth._modify_request_before_signing",
    "botocore.auth.SigV4Auth.canonical_headers",
    "botocore.auth.SigV4Auth._header_value",
    "botocore.auth.SIGNED_HEADERS_BLACKLIST",
    "botocore.auth._host_from_url",
    "botocore.awsrequest.AWSRequest.body",
    "botocore.awsrequest.AWSRequestPreparer._prepare_body",
    "botocore.compat.HTTPHeaders",
    "botocore.awsrequest.HeadersDict.__init__",
    "botocore.awsrequest._HeaderKey",
    "botocore.regions.EndpointRulesetResolver._get_provider_params",
    "botocore.regions.EndpointRulesetResolver._get_static_context_params",
    "botocore.regions.EndpointRulesetResolver._get_dynamic_context_params",
    "botocore.regions.EndpointRulesetResolver._get_client_context_params",
    "botocore.regions.EndpointRulesetResolver._get_customized_builtins",
    "botocore.regions.EndpointRulesetResolver._register_endpoint_feature_ids",
    "botocore.regions.EndpointResolverBuiltins",
)
# Instance attributes of botocore's objects read here (set by their ``__init__``; the test checks a signer's).
BOTOCORE_ATTRIBUTES = (
    "botocore.auth.SigV4Auth._region_name",
    "botocore.auth.SigV4Auth._service_name",
    # botocore's header map is an ``email.message.Message``: its stored (name, value) pairs and its policy.
    "botocore.compat.HTTPHeaders._headers",
    "botocore.compat.HTTPHeaders.policy",
    "botocore.awsrequest.AWSRequest._request_preparer",
    "botocore.awsrequest.HeadersDict._dict",
    "botocore.regions.EndpointRulesetResolver._param_definitions",
    "botocore.regions.EndpointRulesetResolver._client_context",
)
# The client Config's settings that ``to_string`` reads.
_CONFIG_FIELDS = ("user_agent", "user_agent_extra", "user_agent_appid", "endpoint_discovery_enabled")

# Inputs are few (a handful of clients, one or two feature sets each); the bound only guards against a
# caller whose inputs never repeat.
MAX_KEPT = 256

_installed = False
_lock = threading.Lock()


def _kept(kept: dict[Any, Any], key: Any, make: Callable[[], Any]) -> Any:
    """The answer kept for ``key``; ``make`` makes it the first time (all forgotten at ``MAX_KEPT``)."""
    answer = kept.get(key)
    if answer is None:
        answer = make()
        if len(kept) >= MAX_KEPT:
            kept.clear()
        kept[key] = answer
    return answer


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
            hash(key)
        except TypeError:  # an input that cannot be a key: build it as botocore does
            return original(self)
        answer: str = _kept(kept, key, lambda: original(self))
        return answer

    to_string.__wrapped__ = original  # type: ignore[attr-defined]
    return to_string


def install() -> None:
    """Put the cached ``to_string`` in (idempotent). Imports botocore: call it once botocore is loaded."""
    global _installed  # noqa: PLW0603 - one patch per worker process
    from botocore import (  # noqa: PLC0415 - loaded by now (see sdk_channel)
        auth,
        awsrequest,
        context,
        regions,
        useragent,
    )

    with _lock:
        if _installed:
            return
        original = useragent.UserAgentString.to_string
        useragent.UserAgentString.to_string = cached_to_string(  # type: ignore[method-assign,assignment]
            original, context.get_context
        )
        install_signing(auth.SigV4Auth, (auth.SigV4Auth, auth.S3SigV4Auth))
        install_request_inputs(auth, awsrequest)
        install_endpoint_plans(regions)
        _installed = True


# -- SigV4 --------------------------------------------------------------------------------------------

_signing = threading.local()  # the request being signed by this thread's add_auth, and its headers map


def headers_once(
    original_add_auth: Callable[[Any, Any], Any],
    original_headers: Callable[[Any, Any], Any],
    signers: tuple[type, ...],
) -> tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]:
    """``add_auth`` and ``headers_to_sign`` such that one signing builds the headers map once.

    Only for instances of exactly ``signers``: classes whose ``add_auth`` is ``SigV4Auth``'s and whose
    headers are all set before the canonical request asks for the map (``SigV4Auth``, ``S3SigV4Auth``).
    Other signers (the query-string and S3 POST ones change the request between the two) sign as before.
    """

    def add_auth(self: Any, request: Any) -> Any:
        if type(self) not in signers:
            return original_add_auth(self, request)
        outer = getattr(_signing, "state", None)  # a signer that signs another request inside (none today)
        _signing.state = [request, None]
        try:
            return original_add_auth(self, request)
        finally:
            _signing.state = outer

    def headers_to_sign(self: Any, request: Any) -> Any:
        state = getattr(_signing, "state", None)
        if state is None or state[0] is not request:
            return original_headers(self, request)
        if state[1] is None:
            state[1] = original_headers(self, request)
        return state[1]

    add_auth.__wrapped__ = original_add_auth  # type: ignore[attr-defined]
    headers_to_sign.__wrapped__ = original_headers  # type: ignore[attr-defined]
    return add_auth, headers_to_sign


def kept_signing_key(original_signature: Callable[[Any, str, Any], str]) -> Callable[[Any, str, Any], str]:
    """``SigV4Auth.signature`` with the signing key derived once per (secret, date, region, service).

    The derivation is botocore's own four ``_sign`` steps (``signature`` in ``botocore.auth``), done on the
    first request of a day, region and service; the last step, over the string to sign, runs every time.
    """
    kept: dict[tuple[str, str, str, str], bytes] = {}

    def signature(self: Any, string_to_sign: str, request: Any) -> str:
        date = request.context["timestamp"][0:8]
        key = (self.credentials.secret_key, date, self._region_name, self._service_name)

        def derive() -> bytes:
            k_date = self._sign(f"AWS4{key[0]}".encode(), date)
            k_region = self._sign(k_date, self._region_name)
            k_service = self._sign(k_region, self._service_name)
            derived: bytes = self._sign(k_service, "aws4_request")
            return derived

        signing_key = _kept(kept, key, derive)
        answer: str = self._sign(signing_key, string_to_sign, hex=True)
        return answer

    signature.__wrapped__ = original_signature  # type: ignore[attr-defined]
    return signature


def install_signing(sigv4: Any, signers: tuple[type, ...]) -> None:
    """Put both SigV4 shortcuts on ``sigv4`` (botocore's ``SigV4Auth``; its subclasses inherit them); once."""
    if hasattr(sigv4.signature, "__wrapped__"):
        return
    sigv4.add_auth, sigv4.headers_to_sign = headers_once(
        sigv4.add_auth, headers_to_sign_as_stored(sigv4.headers_to_sign), tuple(signers)
    )
    sigv4.signature = kept_signing_key(sigv4.signature)
    sigv4.canonical_headers = canonical_headers_as_stored(sigv4.canonical_headers)


# -- what a signing reads of the request ----------------------------------------------------------------


def _stored_text(headers: Any, header_class: Any) -> list[tuple[str, str]] | None:
    """The (name, value) pairs of botocore's header map (``header_class``, botocore's ``HTTPHeaders``) as its
    policy would hand them out, or None.

    botocore's ``HTTPHeaders`` is an ``email.message.Message`` with the ``compat32`` policy, which stores a
    pair as given (``header_store_parse``, no limit on repeats) and returns a stored text value unchanged
    unless it holds surrogates (``header_fetch_parse``), which ASCII text cannot. For such a map holding text
    names and ASCII text values, reading the stored pairs is reading the map; for anything else, None.
    """
    if type(headers) is not header_class or headers.policy is not compat32:
        return None
    pairs: list[tuple[Any, Any]] = headers._headers
    for name, value in pairs:
        if not (isinstance(name, str) and isinstance(value, str) and value.isascii()):
            return None
    return pairs


def headers_to_sign_as_stored(original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``SigV4Auth.headers_to_sign`` that copies the request's stored pairs, not each through the policy.

    botocore's method reads each header back through the policy and stores each lower-cased name through it
    again (and checks for ``host`` with a scan): for a map ``_stored_text`` accepts, that is the stored pairs,
    lower-cased, less the blacklist, then ``host`` from the URL if none was given. Any other map goes to
    botocore's method.
    """
    from botocore import auth  # noqa: PLC0415 - botocore is loaded by now
    from botocore.compat import HTTPHeaders  # noqa: PLC0415 - with it

    # A new map stores pairs as given only under compat32, which botocore's maps are made with: asked once.
    new_maps_store_as_given = HTTPHeaders().policy is compat32

    def headers_to_sign(self: Any, request: Any) -> Any:
        pairs = _stored_text(request.headers, HTTPHeaders)
        if pairs is None or not new_maps_store_as_given:
            return original(self, request)
        header_map = HTTPHeaders()
        stored = header_map._headers  # type: ignore[attr-defined]
        for name, value in pairs:
            lower = name.lower()
            if lower not in auth.SIGNED_HEADERS_BLACKLIST:
                stored.append((lower, value))
        if not any(name == "host" for name, _ in stored):
            stored.append(("host", auth._host_from_url(request.url)))  # type: ignore[attr-defined]
        return header_map

    headers_to_sign.__wrapped__ = original  # type: ignore[attr-defined]
    return headers_to_sign


def canonical_headers_as_stored(original: Callable[[Any, Any], str]) -> Callable[[Any, Any], str]:
    """``SigV4Auth.canonical_headers`` that reads the header map's stored values, not each through its policy.

    For a map ``_stored_text`` accepts, ``get_all(key)`` is the stored values whose name matches ``key``
    whatever its case, in order: grouped here in one pass. Any other map goes to botocore's method.
    """
    from botocore.compat import HTTPHeaders, ensure_unicode  # noqa: PLC0415 - botocore is loaded by now

    def canonical_headers(self: Any, headers_to_sign: Any) -> str:
        pairs = _stored_text(headers_to_sign, HTTPHeaders)
        if pairs is None:
            return original(self, headers_to_sign)
        stored: dict[str, list[str]] = {}
        for name, value in pairs:
            stored.setdefault(name.lower(), []).append(value)
        lines = []
        for key in sorted({name for name, _ in pairs}):
            value = ",".join(self._header_value(v) for v in stored[key.lower()])
            lines.append(f"{key}:{ensure_unicode(value)}")
        return "\n".join(lines)

    canonical_headers.__wrapped__ = original  # type: ignore[attr-defined]
    return canonical_headers


def kept_host(original: Callable[[str], str]) -> Callable[[str], str]:
    """``botocore.auth._host_from_url`` kept per URL: its answer depends on the URL's text alone."""
    kept: dict[str, str] = {}

    def host_from_url(url: str) -> str:
        host: str = _kept(kept, url, lambda: original(url))
        return host

    host_from_url.__wrapped__ = original  # type: ignore[attr-defined]
    return host_from_url


def body_alone(original: property, preparer_class: type) -> property:
    """``AWSRequest.body`` that prepares the body alone when the rest of the preparation cannot touch it.

    botocore's ``body`` is ``self.prepare().body`` (str encoded): ``prepare`` also builds the URL from the
    query parameters and a copy of the headers with the Content-Length, then drops both. With botocore's own
    preparer, no parameters and a body of bytes, text or none (what the JSON and query protocols send), those
    steps read nothing the body depends on and change nothing; a file-like body (its length is found by
    seeking it) or parameters go to botocore's property.
    """
    fget = original.fget
    assert fget is not None

    def body(self: Any) -> Any:
        preparer = self._request_preparer
        if (
            type(preparer) is not preparer_class
            or self.params
            or not isinstance(self.data, bytes | str | None)
        ):
            return fget(self)
        prepared = preparer._prepare_body(self)  # type: ignore[attr-defined]
        return prepared.encode("utf-8") if isinstance(prepared, str) else prepared

    body.__wrapped__ = fget  # type: ignore[attr-defined]
    return property(body)


def headers_dict_in_one_pass(headers_class: Any, header_key: type) -> Callable[..., None]:
    """``HeadersDict.__init__`` that fills its dict in one pass from a list of pairs or a plain dict.

    botocore's goes through ``MutableMapping.update`` (an ABC check, then ``__setitem__`` per header): for a
    list of pairs (the prepared request's, from ``HTTPHeaders.items()``) or a plain dict (a response's
    headers), that is a dict from each ``_HeaderKey`` to its value, the first spelling and the last value kept
    for a name given twice, as a dict built in one pass keeps them. A subclass, keywords or any other source
    goes to botocore's.
    """
    original = headers_class.__init__

    def fill(self: Any, *args: Any, **kwargs: Any) -> None:
        source: Any = args[0] if len(args) == 1 else None
        if kwargs or type(source) not in (list, dict) or type(self) is not headers_class:
            original(self, *args, **kwargs)
            return
        pairs = source.items() if type(source) is dict else source
        self._dict = {header_key(name): value for name, value in pairs}

    fill.__wrapped__ = original  # type: ignore[attr-defined]
    return fill


def install_request_inputs(auth: Any, awsrequest: Any) -> None:
    """The Host kept per URL (``auth`` is botocore.auth), the body alone and headers maps in one pass
    (``awsrequest``); once."""
    if not hasattr(auth._host_from_url, "__wrapped__"):
        auth._host_from_url = kept_host(auth._host_from_url)
    request_class = awsrequest.AWSRequest
    if not hasattr(request_class.body.fget, "__wrapped__"):
        request_class.body = body_alone(request_class.body, awsrequest.AWSRequestPreparer)
    headers_class = awsrequest.HeadersDict
    if not hasattr(headers_class.__init__, "__wrapped__"):
        headers_class.__init__ = headers_dict_in_one_pass(headers_class, awsrequest._HeaderKey)


# -- the endpoint rules' inputs -------------------------------------------------------------------------

# Where a parameter's value may come from, asked in botocore's order until one gives a value.
_STATIC, _MEMBER, _PATH, _CLIENT = "static", "member", "path", "client"

Source = tuple[str, Any]
# One parameter: its name, its places in order, and its builtin (or None).
ParamPlan = tuple[str, tuple[Source, ...], str | None]


def endpoint_param_plan(
    resolver: Any, operation_model: Any, known_builtins: Collection[str]
) -> tuple[ParamPlan, ...]:
    """Where each of the ruleset's parameters comes from for ``operation_model``; empty when a parameter
    names a builtin botocore does not know (its method raises ``UnknownEndpointResolutionBuiltInName``)."""
    import jmespath  # noqa: PLC0415 - botocore's dependency, loaded with it

    static = resolver._get_static_context_params(operation_model)
    members = resolver._get_dynamic_context_params(operation_model)
    paths = operation_model.operation_context_parameters
    client = resolver._get_client_context_params()
    plan: list[ParamPlan] = []
    for name, definition in resolver._param_definitions.items():
        sources: list[Source] = []
        if static.get(name) is not None:
            sources.append((_STATIC, static[name]))
        if name in members:
            sources.append((_MEMBER, members[name]))
        if name in paths:
            sources.append((_PATH, jmespath.compile(paths[name]["path"])))
        if name in client:
            sources.append((_CLIENT, client[name]))
        if definition.builtin is not None and definition.builtin not in known_builtins:
            return ()
        plan.append((name, tuple(sources), definition.builtin))
    return tuple(plan)


def _from_sources(resolver: Any, sources: tuple[Source, ...], call_args: dict[str, Any]) -> Any:
    """The first value the places give, as botocore's ``_resolve_param_from_context`` asks them."""
    for kind, where in sources:
        if kind == _STATIC:
            return where
        if kind == _MEMBER:
            value = call_args.get(where)
        elif kind == _PATH:
            value = where.search(call_args)
        else:
            value = resolver._client_context.get(where)
        if value is not None:
            return value
    return None


def provider_params_by_plan(resolver_class: Any, known_builtins: Collection[str]) -> Callable[..., Any]:
    """``EndpointRulesetResolver._get_provider_params`` that follows a plan kept per (resolver, operation)."""
    original = resolver_class._get_provider_params
    plans: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()

    def get_provider_params(self: Any, operation_model: Any, call_args: Any, request_context: Any) -> Any:
        if type(self) is not resolver_class:
            return original(self, operation_model, call_args, request_context)
        kept = plans.setdefault(self, {})
        plan = kept.get(operation_model)
        if plan is None:  # the first call of this operation on this resolver
            plan = _kept(
                kept, operation_model, lambda: endpoint_param_plan(self, operation_model, known_builtins)
            )
        if not plan:  # an unknown builtin (or no parameters): botocore's path
            return original(self, operation_model, call_args, request_context)
        builtins = self._get_customized_builtins(operation_model, call_args, request_context)
        params: dict[str, Any] = {}
        for name, sources, builtin in plan:
            value = _from_sources(self, sources, call_args) if sources else None
            if value is None and builtin is not None:
                value = builtins.get(builtin)
                if callable(value):
                    value = value()
            if value is not None:
                params[name] = value
                self._register_endpoint_feature_ids(name, value)
        return params

    get_provider_params.__wrapped__ = original  # type: ignore[attr-defined]
    return get_provider_params


def install_endpoint_plans(regions: Any) -> None:
    """The endpoint rules' inputs gathered by plan (``regions`` is botocore.regions); once."""
    resolver_class = regions.EndpointRulesetResolver
    if hasattr(resolver_class._get_provider_params, "__wrapped__"):
        return
    resolver_class._get_provider_params = provider_params_by_plan(resolver_class, known_builtins(regions))


def known_builtins(regions: Any) -> frozenset[str]:
    """The builtin names botocore knows (``regions`` is botocore.regions): its enum's values, as text (a
    ``str`` enum member equals its text but does not hash like it)."""
    return frozenset(member.value for member in regions.EndpointResolverBuiltins.__members__.values())
