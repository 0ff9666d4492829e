"""In-process fast path for the service calls a Step Functions task makes (DynamoDB, SQS, SNS, Kinesis, ...).

With ``mock_aws`` active, a task's ``client.put_item(...)`` goes through all of botocore's client machinery
(about ten event hooks, endpoint rules, user agent, SigV4 signing, retry bookkeeping) only for moto's stubber
to catch the signed request and rebuild it as a werkzeug request. ``DirectClient`` stands in for that botocore
client: for the operations in ``COVERED_OPERATIONS`` it serializes the parameters with the client's own
serializer, hands the request to the moto handler the stubber would have chosen, and parses the answer with
botocore's own parser. Errors are raised as the very exception classes the client raises (modeled
``ClientError`` subclasses, same ``Error`` code and message, SQS query-compatible codes), so the engine's
error mapping (``DynamoDB.ConditionalCheckFailedException``, ``SQS.*``, ...) is unchanged.

Everything else -- other operations, streaming/event-stream answers we do not cover, moto's IAM
authorization switched on, passthrough URLs, moto not intercepting in-process -- goes through the botocore
client unchanged. Every moto and botocore internal used here is registered in ``localaws.patches.registry``.
"""

from __future__ import annotations

import datetime
import io
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSRequest, HeadersDict, prepare_request_dict
from botocore.response import StreamingBody

from localaws.endpoint.defaults import MOTO_DEFAULT_ACCESS_KEY
from localaws.patches import registry

# Operations (botocore names) taken on the fast path, per botocore service name.
COVERED_OPERATIONS: dict[str, frozenset[str]] = {
    "dynamodb": frozenset({"PutItem", "UpdateItem", "GetItem", "DeleteItem"}),
    "sqs": frozenset({"SendMessage"}),
    "sns": frozenset({"Publish"}),
    "kinesis": frozenset({"PutRecord"}),
    "events": frozenset({"PutEvents"}),
    "lambda": frozenset({"Invoke"}),
}

_STUBBER = registry.register(
    "moto.core.models.botocore_stubber",
    "enabled = moto intercepts in-process; only then is the fast path used",
)
_URL_PATTERNS = registry.register(
    "moto.backend_index.backend_url_patterns", "which moto service answers a URL (as the stubber matches it)"
)
_GET_BACKEND = registry.register("moto.backends.get_backend", "a service's backend, for its URL routes")
_BACKEND_DICT = registry.register("moto.core.base_backend.BackendDict", "as the stubber picks a backend")
_DEFAULT_ACCOUNT = registry.register("moto.core.DEFAULT_ACCOUNT_ID", "as the stubber picks a backend")
_NORMALIZE = registry.register("moto.core.request.normalize_request", "the request type handlers take")
_REQUEST = registry.register(
    "moto.core.request.Request", "the request type handlers take, from its WSGI environ"
)
_PRESERVED_KEY = registry.register(
    "moto.core.request.PRESERVED_HEADER_NAMES_ENVIRON_KEY",
    "set on the environ as Request.from_primitives does",
)
_PRESERVE = registry.register(
    "moto.core.request.should_preserve_original_header_name", "as Request.from_primitives does"
)
_ENVIRON_KEY = registry.register(
    "moto.core.request.environ_key_for_header", "as Request.from_primitives does"
)
_RECORDER = registry.register("moto.moto_api.recorder", "record the request as the stubber does")
registry.register(
    "moto.moto_api._internal.recorder.models.Recorder._record_request",
    "record the request as the stubber does",
)
_HTTP_EXCEPTION = registry.register(
    "moto.core.exceptions.HTTPException", "handler errors answered as the stubber answers them"
)
_PASSTHROUGH_URL = registry.register("moto.core.config.passthrough_url", "passthrough: use botocore")
_PASSTHROUGH_SERVICE = registry.register("moto.core.config.passthrough_service", "passthrough: use botocore")
_WHITELISTED = registry.register("moto.core.config.service_whitelisted", "not whitelisted: use botocore")
_AUTH_MIXIN = registry.register(
    "moto.core.authorization.ActionAuthenticatorMixin.request_count", "IAM authorization active: use botocore"
)
_NO_AUTH_COUNT = registry.register(
    "moto.settings.INITIAL_NO_AUTH_ACTION_COUNT", "IAM authorization active: use botocore"
)
_MOCK_RAW_RESPONSE = registry.register(
    "moto.core.botocore_stubber.MockRawResponse",
    "the raw body of a streaming answer, as the stubber gives it",
)

# botocore internals the fast path shares with the client it stands in for (pinned with boto3 in uv.lock).
for _path, _why in (
    ("botocore.awsrequest.prepare_request_dict", "the request URL exactly as the client builds it"),
    ("botocore.awsrequest.AWSRequest", "body encoding exactly as the client prepares it"),
    ("botocore.endpoint.Endpoint._add_modeled_error_fields", "modeled error fields, as the client adds them"),
    ("botocore.client.BaseClient._get_credentials", "the access key moto maps to an account"),
    ("botocore.client.BaseClient._serializer", "the request dict exactly as the client serialises it"),
    ("botocore.client.BaseClient._endpoint", "the client's endpoint: its parser factory and error fields"),
    ("botocore.endpoint.Endpoint._response_parser_factory", "the answer parsed exactly as the client does"),
):
    registry.register(_path, _why)

_ROUTES_MAX = 512
# The WSGI environ keys werkzeug's EnvironBuilder derives from the method and URL alone, in its order.
_URL_ENVIRON_KEYS: tuple[str, ...] = (
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "REQUEST_URI",
    "RAW_URI",
    "SERVER_NAME",
    "SERVER_PORT",
    "HTTP_HOST",
    "SERVER_PROTOCOL",
    "wsgi.version",
    "wsgi.url_scheme",
)


# What ``task_adapter`` answers for a call it leaves to the direct path.
NOT_ADAPTED: Any = object()
# Set by ``localaws.patches.speedups.task_adapters``: (client, operation, params) -> the answer taken
# straight from moto's backend, or ``NOT_ADAPTED``. Consulted once the direct path is known to apply.
task_adapter: Callable[[Any, Any, dict[str, Any]], Any] | None = None


class DirectDispatchStats:
    """How many calls took the fast path and how many fell back, per reason."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.direct = 0
        self.fallback: dict[str, int] = {}

    def hit(self) -> None:
        with self._lock:
            self.direct += 1

    def miss(self, reason: str) -> None:
        with self._lock:
            self.fallback[reason] = self.fallback.get(reason, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"direct": self.direct, "fallback": dict(self.fallback)}

    def reset(self) -> None:
        with self._lock:
            self.direct = 0
            self.fallback = {}


stats = DirectDispatchStats()

_routes: OrderedDict[str, tuple[str, Callable[..., Any]] | None] = OrderedDict()
_routes_lock = threading.Lock()


def _route(clean_url: str) -> tuple[str, Callable[..., Any]] | None:
    """(moto service, handler) for a URL without its query: the stubber's own search, done once per URL."""
    with _routes_lock:
        if clean_url in _routes:
            _routes.move_to_end(clean_url)
            return _routes[clean_url]
    found = _search_route(clean_url)
    with _routes_lock:
        _routes[clean_url] = found
        while len(_routes) > _ROUTES_MAX:
            _routes.popitem(last=False)
    return found


def _search_route(clean_url: str) -> tuple[str, Callable[..., Any]] | None:
    backend_dict_type = registry.resolve(_BACKEND_DICT)
    default_account = registry.resolve(_DEFAULT_ACCOUNT)
    for service, pattern in registry.resolve(_URL_PATTERNS):
        if not pattern.match(clean_url):
            continue
        backend_dict = registry.resolve(_GET_BACKEND)(service)
        if isinstance(backend_dict, backend_dict_type):
            regions = backend_dict[default_account]
            backend = regions["us-east-1"] if "us-east-1" in regions else regions["aws"]
        else:
            backend = backend_dict["global"]
        for url, handler in backend.urls.items():
            if re.compile(url).match(clean_url):
                return service, handler
        return None  # the stubber stops at the first matching service too
    return None


def _moto_route(clean_url: str) -> tuple[str, Callable[..., Any]] | None:
    """The moto service and handler the direct path hands a request for ``clean_url`` to, or ``None``
    (passed through, or not moto's: botocore's)."""
    moto = _resolved()
    if moto.passthrough_url(clean_url):
        return None
    route = _route(clean_url)
    if route is None:
        return None
    if moto.passthrough_service(route[0]) or not moto.service_whitelisted(route[0]):
        return None
    return route


def moto_service_for(clean_url: str) -> str | None:
    """The moto service the direct path hands a request for ``clean_url`` to, or ``None`` (botocore's)."""
    route = _moto_route(clean_url)
    return None if route is None else route[0]


def clear_routes() -> None:
    with _routes_lock:
        _routes.clear()
    clear_url_environs()


class _Moto:
    """The moto objects the fast path uses, resolved once (resolving imports; far too slow per call)."""

    def __init__(self) -> None:
        self.stubber = registry.resolve(_STUBBER)
        self.normalize_request = registry.resolve(_NORMALIZE)
        self.request_type = registry.resolve(_REQUEST)
        self.preserved_key = registry.resolve(_PRESERVED_KEY)
        self.preserve = registry.resolve(_PRESERVE)
        self.environ_key = registry.resolve(_ENVIRON_KEY)
        self.recorder = registry.resolve(_RECORDER)
        self.http_exception = registry.resolve(_HTTP_EXCEPTION)
        self.passthrough_url = registry.resolve(_PASSTHROUGH_URL)
        self.passthrough_service = registry.resolve(_PASSTHROUGH_SERVICE)
        self.service_whitelisted = registry.resolve(_WHITELISTED)
        self.authenticator = registry.resolve(_AUTH_MIXIN.rpartition(".")[0])
        self.settings = registry.resolve(_NO_AUTH_COUNT.rpartition(".")[0])
        self.mock_raw_response = registry.resolve(_MOCK_RAW_RESPONSE)

    def intercepting(self) -> bool:
        return bool(self.stubber.enabled)

    def iam_authorization_active(self) -> bool:
        return bool(self.authenticator.request_count >= self.settings.INITIAL_NO_AUTH_ACTION_COUNT)


_moto: _Moto | None = None


def _resolved() -> _Moto:
    global _moto  # noqa: PLW0603 - resolved once per process
    if _moto is None:
        _moto = _Moto()
    return _moto


_SECONDS_PER_DAY = 86400
_utc_day: tuple[int, str] = (-1, "")
_clock = time.time


def utc_day() -> str:
    """``datetime.now(UTC).strftime("%Y%m%d")``, formatted once a day rather than once a call."""
    global _utc_day  # noqa: PLW0603 - one (day number, text) pair, replaced whole
    day = int(_clock() // _SECONDS_PER_DAY)
    known_day, text = _utc_day
    if day != known_day:
        text = datetime.datetime.fromtimestamp(day * _SECONDS_PER_DAY, datetime.UTC).strftime("%Y%m%d")
        _utc_day = (day, text)
    return text


_url_environs: OrderedDict[tuple[str, str], tuple[dict[str, Any], str]] = OrderedDict()
_url_environs_lock = threading.Lock()


def moto_request(prepared: Any) -> tuple[Any, str]:
    """``moto.core.request.normalize_request(prepared)`` and its ``raw_url``, the URL's part kept.

    moto builds the request through werkzeug's ``EnvironBuilder``, which re-derives the WSGI keys of the
    method and URL (``_URL_ENVIRON_KEYS``) on every call. Those are taken from moto's own request the first
    time a (method, URL) is seen; the rest is built here exactly as ``EnvironBuilder.get_environ`` and
    ``Request.from_primitives`` build it for a non-empty body: the body as ``wsgi.input`` and its length,
    ``Content-Type`` as ``CONTENT_TYPE``, each other header as ``HTTP_*`` (repeated names joined with ", "),
    then the preserved header names. An empty or streaming body takes moto's own path. ``raw_url``, which
    the stubber hands the handler, derives from those URL keys alone, so it is kept with them.
    """
    moto = _resolved()
    body = prepared.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, bytes) or not body:
        request = moto.normalize_request(prepared)
        return request, request.raw_url
    key = (prepared.method, prepared.url)
    with _url_environs_lock:
        known = _url_environs.get(key)
    if known is None:
        request = moto.normalize_request(prepared)
        raw_url: str = request.raw_url
        with _url_environs_lock:
            _url_environs[key] = ({name: request.environ[name] for name in _URL_ENVIRON_KEYS}, raw_url)
            while len(_url_environs) > _ROUTES_MAX:
                _url_environs.popitem(last=False)
        return request, raw_url
    url_environ, raw_url = known
    header_items = [
        (name, value.decode("utf-8") if isinstance(value, bytes) else value)
        for name, value in prepared.headers.items()
        if name.lower() != "transfer-encoding"
    ]
    environ = dict(url_environ)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["wsgi.errors"] = sys.stderr
    environ["wsgi.multithread"] = False
    environ["wsgi.multiprocess"] = False
    environ["wsgi.run_once"] = False
    content_type = next((value for name, value in header_items if name.lower() == "content-type"), None)
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    environ["CONTENT_LENGTH"] = str(len(body))
    combined: dict[str, list[str]] = {}
    for name, value in header_items:
        if name.lower() in ("content-type", "content-length"):
            continue
        combined.setdefault(f"HTTP_{name.upper().replace('-', '_')}", []).append(value)
    for environ_name, values in combined.items():
        environ[environ_name] = ", ".join(values)
    request = moto.request_type(environ)
    request.environ[moto.preserved_key] = {
        moto.environ_key(name): name for name, _ in header_items if moto.preserve(name)
    }
    request.environ.setdefault("CONTENT_LENGTH", "0")
    return request, raw_url


def clear_url_environs() -> None:
    with _url_environs_lock:
        _url_environs.clear()


class _Operation:
    """What one covered operation needs, computed once per client."""

    def __init__(self, client: Any, operation_name: str) -> None:
        service_model = client.meta.service_model
        self.model = service_model.operation_model(operation_name)
        self.name = operation_name
        self.streaming_output = bool(self.model.has_streaming_output)
        self.supported = not self.model.has_event_stream_output and not _has_idempotency_token(
            self.model.input_shape
        )


def _has_idempotency_token(shape: Any) -> bool:
    # botocore fills these in a before-parameter-build hook; we do not run hooks, so such calls fall back.
    if shape is None:
        return False
    return any(getattr(member, "metadata", {}).get("idempotencyToken") for member in shape.members.values())


class DirectClient:
    """A botocore client whose covered operations skip botocore's client machinery (see module docstring).

    Anything not covered -- other methods, attributes like ``exceptions`` -- is the wrapped client's.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.meta = client.meta
        service_model = client.meta.service_model
        self._service_name: str = service_model.service_name
        self._service_id: str = service_model.service_id.hyphenize()
        covered = COVERED_OPERATIONS.get(self._service_name, frozenset())
        self._operations: dict[str, _Operation] = {
            method: _Operation(client, api_name)
            for method, api_name in client.meta.method_to_api_mapping.items()
            if api_name in covered
        }
        self._protocol: str = service_model.resolved_protocol
        self._signing_name: str = service_model.signing_name or service_model.endpoint_prefix
        self._parser = client._endpoint._response_parser_factory.create_parser(self._protocol)
        self._parser_lock = threading.Lock()
        retries = client.meta.config.retries or {}
        # With one attempt in standard mode botocore marks every answer MaxAttemptsReached (and says so in
        # ClientError messages); other retry set-ups would retry, which the fast path does not: use botocore.
        self._single_attempt = retries.get("mode") in ("standard", "adaptive") and (
            retries.get("total_max_attempts") == 1
        )

    @property
    def wrapped(self) -> Any:
        return self._client

    def __getattr__(self, name: str) -> Any:
        operation = self._operations.get(name)
        if operation is None:
            return getattr(self._client, name)

        def call(**params: Any) -> Any:
            return self._call(name, operation, params)

        call.__name__ = name
        return call

    # -- the fast path ------------------------------------------------------------------------------

    def _fallback_reason(self, operation: _Operation) -> str | None:
        if not self._single_attempt:
            return "retrying-client"
        if not operation.supported:
            return "unsupported-shape"
        moto = _resolved()
        if not moto.intercepting():
            return "not-intercepting"
        if moto.iam_authorization_active():
            return "iam-authorization"
        return None

    def _call(self, method: str, operation: _Operation, params: dict[str, Any]) -> Any:
        reason = self._fallback_reason(operation)
        if reason is None and task_adapter is not None:
            answer = task_adapter(self._client, operation, params)
            if answer is not NOT_ADAPTED:
                stats.hit()
                return answer
        if reason is None:
            request = self._request(operation, params)
            if request is None:
                reason = "no-route"
            else:
                stats.hit()
                return self._dispatch(operation, *request)
        stats.miss(reason)
        return getattr(self._client, method)(**params)

    def _request(
        self, operation: _Operation, params: dict[str, Any]
    ) -> tuple[Any, str, Callable[..., Any]] | None:

        request_dict = self._client._serializer.serialize_to_request(params, operation.model)
        prepare_request_dict(request_dict, endpoint_url=self.meta.endpoint_url)
        url: str = request_dict["url"]
        clean_url = url.split("?", 1)[0]
        route = _moto_route(clean_url)
        if route is None:
            return None
        handler = route[1]
        headers = dict(request_dict["headers"])
        # moto reads the account from the access key and, for some services, the region from the credential
        # scope; this is the Authorization header botocore's signer would send, minus a real signature.
        credentials = self._client._get_credentials()
        access_key = credentials.access_key if credentials is not None else MOTO_DEFAULT_ACCESS_KEY
        today = utc_day()
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={access_key}/{today}/{self.meta.region_name}/"
            f"{self._signing_name}/aws4_request, SignedHeaders=host, Signature=direct"
        )
        prepared = AWSRequest(
            method=request_dict["method"], url=url, headers=headers, data=request_dict["body"]
        ).prepare()
        return (*moto_request(prepared), handler)

    def _dispatch(
        self, operation: _Operation, request: Any, raw_url: str, handler: Callable[..., Any]
    ) -> Any:

        moto = _resolved()
        moto.recorder._record_request(request)
        try:
            status, headers, body = handler(request, raw_url, request.headers)
        except moto.http_exception as error:
            status, headers, body = error.code, error.get_headers(), error.get_body()
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is None:
            body = b""
        response_dict: dict[str, Any] = {
            "headers": HeadersDict(headers or {}),
            "status_code": int(status),
            "context": {"operation_name": operation.name},
        }
        if response_dict["status_code"] < 300 and operation.streaming_output:
            raw = moto.mock_raw_response(body)
            response_dict["body"] = StreamingBody(raw, response_dict["headers"].get("content-length"))
        else:
            response_dict["body"] = body
        with self._parser_lock:  # botocore's parsers keep per-call state on the instance
            parsed: dict[str, Any] = self._parser.parse(response_dict, operation.model.output_shape)
            if response_dict["status_code"] >= 300:
                self._client._endpoint._add_modeled_error_fields(
                    response_dict, parsed, operation.model, self._parser
                )
        if "ResponseMetadata" in parsed:
            parsed["ResponseMetadata"]["MaxAttemptsReached"] = True
            parsed["ResponseMetadata"]["RetryAttempts"] = 0
        if response_dict["status_code"] < 300:
            return parsed
        error_info = parsed.get("Error", {})
        # botocore's after-call.sqs.* hook: SQS's JSON errors carry the query-protocol code separately.
        error_code = (
            error_info.get("QueryErrorCode") if self._service_name == "sqs" else None
        ) or error_info.get("Code")
        raise self._client.exceptions.from_code(error_code)(parsed, operation.name)
