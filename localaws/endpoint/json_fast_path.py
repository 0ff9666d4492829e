"""JSON-protocol API calls over HTTP, answered without werkzeug's request and ``BaseResponse.setup_class``.

Every SDK call of a Lambda worker (DynamoDB, SQS, EventBridge, Kinesis) and of a Step Functions client is a
JSON POST to ``/`` with an ``X-Amz-Target``. On the lean path (``server.LeanDispatcher``) each builds
werkzeug's request and runs ``setup_class`` (form and query-string parsing, URL parsing) before moto's action.

``JsonFastPath`` sits after the access guard, the fault switch and TestState, in front of the lean dispatcher.
For a POST to ``/`` whose target names a ``FastService`` (its prefix and one of its operations, its switch
installed) it fills the service's moto handler with what ``setup_class`` would (the same body, query string,
headers, URL, region, access key and account, the same botocore parameter parsing where the class asks for
it, the same ``mark_account_as_visited``) by moto's own methods, and calls the handler's ``call_action``: so
moto's authorisation, action lookup, the action, every patch on any of them (the size limits, the DynamoDB
lock of ``patches/corrections.py``, the speed-ups) and moto's request id run exactly as on the lean path. A
success is written by ``json_answer`` as moto's serialiser writes it (errors and what it does not cover, by
moto's serialiser). The WSGI answer is made as the lean path makes it.

What it does not take exactly -- a query string, a compressed body, another content type, a browser, moto's
recorder on, a URL not yet seen by the lean path, an ``Action`` in the body's query-string reading, a body
botocore's parser rejects -- goes on to the lean dispatcher untouched (the body put back for it to read),
before anything has changed. Each service's ``PatchSet`` (in the speed-ups) is its switch, so the benchmark's
ablation can turn it off.
"""

from __future__ import annotations

import contextlib
import functools
import io
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlparse

from localaws.endpoint.handler_arguments import cached_raw_url, request_headers
from localaws.endpoint.json_answer import JsonAnswers
from localaws.endpoint.plain_response import JSON_1_0, JSON_1_1, handler_response
from localaws.patches import registry

_RESPONSES = "moto.core.responses"

# What setup_class sets on a handler, and the fast path sets in its place.
_HANDLER_FIELDS = (
    "is_werkzeug_request",
    "normalized_request",
    "parsed_url",
    "form_data",
    "raw_body",
    "body",
    "uri",
    "path",
    "raw_path",
    "querystring",
    "data",
    "method",
    "headers",
    "region",
    "partition",
    "uri_match",
    "response_headers",
    "access_key",
    "current_account",
)

# The moto internals every service's fast path reads (each service's PatchSet declares them, and its handler).
COMMON_READS: tuple[tuple[str, str], ...] = (
    (f"{_RESPONSES}.BaseResponse.setup_class", "what the fast path sets on the handler, as it does"),
    (f"{_RESPONSES}.BaseResponse.get_region_from_url", "the region, as setup_class finds it"),
    (f"{_RESPONSES}.BaseResponse.get_current_account", "the account, as setup_class finds it"),
    (f"{_RESPONSES}.BaseResponse.get_access_key", "the access key, as setup_class finds it"),
    (f"{_RESPONSES}.BaseResponse._get_action", "the action call_action will run"),
    (f"{_RESPONSES}.BaseResponse.service_name", "mark_account_as_visited's service"),
    (f"{_RESPONSES}.BaseResponse.use_raw_body", "the body is decoded unless a class keeps it raw"),
    (f"{_RESPONSES}.BaseResponse.automated_parameter_parsing", "parameters parsed by botocore's parser"),
    (f"{_RESPONSES}.BaseResponse.parse_parameters", "botocore's parser, as setup_class runs it"),
    (f"{_RESPONSES}.BaseResponse.params", "what parse_parameters sets"),
    (f"{_RESPONSES}._decode_dict", "the query string, as setup_class decodes it"),
    ("moto.core.responses.get_partition", "the partition, as setup_class finds it"),
    ("moto.core.request.EnvironHeaders", "the handler's headers, as moto's request gives them"),
    ("moto.iam.models.mark_account_as_visited", "the IAM bookkeeping every handled request does"),
    ("moto.settings.PRETTIFY_RESPONSES", "indented answers: moto's serialiser"),
    ("moto.moto_api.recorder", "recording on: the lean path records"),
    ("moto.moto_api._internal.recorder.models.Recorder._user_enabled", "whether moto records requests"),
    *(
        (f"{_RESPONSES}.BaseResponse.{name}", "set on the handler as setup_class sets it")
        for name in _HANDLER_FIELDS
    ),
)


@dataclass(frozen=True)
class FastService:
    """One service's calls the fast path takes: which, for which moto handler, under which switch."""

    service: str  # the dispatcher's name for the service's app
    target_prefix: str  # "DynamoDB_20120810." of "DynamoDB_20120810.GetItem"
    operations: frozenset[str]
    content_type: str
    handler_class: str  # dotted path of moto's handler class for "/"
    switch: registry.PatchSet


def service_reads(handler_class: str, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    """Every moto internal a service's fast path reads, for its switch (a ``PatchSet`` the service's own
    module builds, so that the registry names that module as the one declaring them)."""
    return [
        (handler_class, "the handler the lean path's view builds for the service"),
        (f"{handler_class}.call_action", "authorisation, the action, errors and request id: moto's own"),
        *COMMON_READS,
        *extra,
    ]


_DYNAMODB_HANDLER = "moto.dynamodb.responses.DynamoHandler"
_SQS_HANDLER = "moto.sqs.responses.SQSResponse"
_EVENTS_HANDLER = "moto.events.responses.EventsHandler"
_KINESIS_HANDLER = "moto.kinesis.responses.KinesisResponse"
DYNAMODB_HTTP = registry.PatchSet("dynamodb_http", reads=service_reads(_DYNAMODB_HANDLER))
SQS_HTTP = registry.PatchSet("sqs_http", reads=service_reads(_SQS_HANDLER))
EVENTS_HTTP = registry.PatchSet("events_http", reads=service_reads(_EVENTS_HANDLER))
KINESIS_HTTP = registry.PatchSet("kinesis_http", reads=service_reads(_KINESIS_HANDLER))

# The Lambda workers' calls: the data plane of the services they use.
WORKER_SERVICES: tuple[FastService, ...] = (
    FastService(
        "dynamodb",
        "DynamoDB_20120810.",
        frozenset(
            {
                "GetItem",
                "PutItem",
                "UpdateItem",
                "DeleteItem",
                "Query",
                "Scan",
                "BatchGetItem",
                "BatchWriteItem",
                "TransactGetItems",
                "TransactWriteItems",
            }
        ),
        JSON_1_0,
        _DYNAMODB_HANDLER,
        DYNAMODB_HTTP,
    ),
    FastService(
        "sqs",
        "AmazonSQS.",
        frozenset(
            {
                "SendMessage",
                "SendMessageBatch",
                "ReceiveMessage",
                "DeleteMessage",
                "DeleteMessageBatch",
                "ChangeMessageVisibility",
                "GetQueueUrl",
                "GetQueueAttributes",
            }
        ),
        JSON_1_0,
        _SQS_HANDLER,
        SQS_HTTP,
    ),
    FastService("events", "AWSEvents.", frozenset({"PutEvents"}), JSON_1_1, _EVENTS_HANDLER, EVENTS_HTTP),
    FastService(
        "kinesis",
        "Kinesis_20131202.",
        frozenset({"PutRecord", "PutRecords", "GetShardIterator", "GetRecords"}),
        JSON_1_1,
        _KINESIS_HANDLER,
        KINESIS_HTTP,
    ),
)


class _Moto:
    """moto's objects, resolved once (a lookup imports along the dotted path)."""

    def __init__(self) -> None:
        self.decode_dict = registry.resolve(f"{_RESPONSES}._decode_dict")
        self.get_partition = registry.resolve("moto.core.responses.get_partition")
        self.environ_headers = registry.resolve("moto.core.request.EnvironHeaders")
        self.mark_visited = registry.resolve("moto.iam.models.mark_account_as_visited")
        self.settings = registry.resolve("moto.settings")
        self.recorder = registry.resolve("moto.moto_api.recorder")
        self.handler_classes: dict[str, Any] = {}

    def handler_class(self, path: str) -> Any:
        cls = self.handler_classes.get(path)
        if cls is None:
            cls = self.handler_classes[path] = registry.resolve(path)
        return cls


@functools.cache
def _resolved() -> _Moto:
    """moto's objects, resolved once per process."""
    return _Moto()


# Every service's successes, written as moto's serialiser writes them (one writer per shape, kept).
_ANSWERS = JsonAnswers()


class JsonFastPath:
    """WSGI middleware: the covered calls of ``services`` answered here, everything else by ``app``."""

    def __init__(self, app: Any, dispatcher: Any, services: Iterable[FastService]) -> None:
        self.app = app
        self.dispatcher = dispatcher  # moto's DomainDispatcherApplication: which service a request is for
        self.services: Mapping[str, FastService] = {s.target_prefix: s for s in services}
        self.fast_requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if type(target) is str:
            prefix, dot, operation = target.partition(".")
            service = self.services.get(prefix + dot)
            if (
                service is not None
                and service.switch.installed
                and operation in service.operations
                and environ.get("REQUEST_METHOD") == "POST"
                and environ.get("PATH_INFO") == "/"
                and not environ.get("QUERY_STRING")
                and "HTTP_ORIGIN" not in environ
                and "HTTP_CONTENT_ENCODING" not in environ
                and environ.get("HTTP_HOST")
                and environ.get("CONTENT_TYPE") == service.content_type
            ):
                answer = self._fast(environ, start_response, service, operation)
                if answer is not None:
                    return answer
        result: Iterable[bytes] = self.app(environ, start_response)
        return result

    def _handler(self, environ: dict[str, Any], service: FastService, operation: str) -> Any:
        """The service's moto handler set up as ``setup_class`` would, or None: the lean path's call."""
        found = service_handler(self.dispatcher, environ, service.service, service.handler_class)
        if found is None:
            return None
        handler, full_url = found
        raw_body = read_body(environ)
        try:
            body = raw_body.decode("utf-8")
        except UnicodeDecodeError:
            return None  # moto's set-up keeps such a body as bytes: the lean path
        querystring: dict[str, Any] = OrderedDict()
        if body:
            querystring.update(
                OrderedDict((key, [value]) for key, value in parse_qsl(body, keep_blank_values=True))
            )
        set_up(handler, environ, full_url, RequestBody(raw_body, body, {}, querystring))
        return finish_set_up(handler, environ, operation, {}, raw_body)

    def _fast(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        service: FastService,
        operation: str,
    ) -> Iterable[bytes] | None:
        handler = self._handler(environ, service, operation)
        if handler is None:
            return None
        serialized = handler.serialized
        handler.serialized = lambda result: _ANSWERS.serialized(operation, handler, result, serialized)
        self.fast_requests += 1
        return handler_response(handler.call_action, environ, start_response)  # as the lean path answers


def read_body(environ: dict[str, Any]) -> bytes:
    """The request's body; the environ gets a stream of the same bytes, for whoever reads it next."""
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        raw = stream.read()
    else:
        try:
            length = max(0, int(environ.get("CONTENT_LENGTH") or 0))
        except ValueError:
            length = 0
        raw = stream.read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    return bytes(raw)


def service_handler(
    dispatcher: Any, environ: dict[str, Any], service: str, handler_class: str
) -> tuple[Any, str] | None:
    """A new moto handler of ``handler_class`` and the request's URL, or None where the fast paths do not
    fill a handler exactly as the lean path would (a URL not yet seen, moto's recorder on, indented answers,
    another service's app, a class that keeps its body raw)."""
    full_url = cached_raw_url(environ)
    if full_url is None or "?" in full_url:
        return None  # a URL the lean path has not computed yet (it keeps it for next time)
    moto = _resolved()
    if moto.recorder._user_enabled or moto.settings.PRETTIFY_RESPONSES:
        return None
    app = dispatcher.get_application(environ)
    if getattr(app, "service", None) != service:
        return None
    handler = moto.handler_class(handler_class)()
    if handler.use_raw_body:
        return None
    return handler, full_url


@dataclass(frozen=True)
class RequestBody:
    """What ``setup_class`` reads off the request's body: the bytes and text it keeps, the form, and the
    query string it makes of them (a JSON body: its own bytes, no form; a form: no bytes left, its fields)."""

    raw: bytes
    text: str
    form: Any
    querystring: dict[str, Any]


def set_up(handler: Any, environ: dict[str, Any], full_url: str, body: RequestBody) -> None:
    """What ``BaseResponse.setup_class`` sets for a POST to ``/`` from the WSGI server, by its steps (the
    parameters, account and IAM visit follow in ``finish_set_up``, in setup_class's order)."""
    moto = _resolved()
    headers = moto.environ_headers(environ)
    handler.is_werkzeug_request = True
    handler.normalized_request = None
    handler.parsed_url = urlparse(full_url)
    handler.form_data = body.form
    handler.raw_body = body.raw
    handler.body = body.text
    querystring = body.querystring
    if not querystring:
        querystring.update(request_headers(environ))
    with contextlib.suppress(UnicodeDecodeError):  # setup_class keeps it undecoded then
        querystring = moto.decode_dict(querystring)
    handler.uri = full_url
    handler.path = handler.parsed_url.path
    handler.raw_path = "/"
    handler.querystring = querystring
    handler.data = querystring
    handler.method = "POST"
    handler.headers = headers
    handler.region = handler.get_region_from_url(_Headers(headers), full_url)
    handler.partition = moto.get_partition(handler.region)
    handler.uri_match = {}
    handler.response_headers = {"server": "amazon.com"}
    handler.access_key = handler.get_access_key()


def finish_set_up(
    handler: Any, environ: dict[str, Any], operation: str, values: Mapping[str, Any], data: bytes
) -> Any:
    """The rest of ``setup_class``: botocore's parameter parsing (of the request's ``values`` and ``data``,
    as werkzeug's request gives them), the account and the IAM visit; the handler, or None when the action
    is not ``operation`` or the parser refuses the request (the lean path then answers as moto does)."""
    if handler._get_action() != operation:
        return None  # e.g. an "Action" read from the body as a query string: the lean path
    if handler.automated_parameter_parsing:
        try:
            handler.parse_parameters(_ParsedRequest(environ, handler.headers, values, data))
        except Exception:  # whatever botocore's parser raises, the lean path raises as moto does
            return None
    handler.current_account = handler.get_current_account()
    _resolved().mark_visited(
        account_id=handler.current_account,
        access_key=handler.access_key,
        service=handler.service_name,
        region=handler.region,
    )
    return handler


class _Headers:
    """What ``get_region_from_url`` reads of the request: its headers."""

    def __init__(self, headers: Any) -> None:
        self.headers = headers


class _ParsedRequest:
    """What ``parse_parameters`` reads of the request: a JSON-protocol parser reads the body (a JSON POST has
    no form or query values), a query-protocol parser the values (a form POST's body is read by then)."""

    def __init__(self, environ: dict[str, Any], headers: Any, values: Mapping[str, Any], data: bytes) -> None:
        self.method = "POST"
        self.values = values
        self.headers = headers
        self.data = data
        self.path = "/"
        self.content_type = environ["CONTENT_TYPE"]
