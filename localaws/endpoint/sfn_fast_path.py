"""Step Functions' hottest API calls over HTTP, answered without werkzeug's request and moto's serialiser.

Every execution a client starts is a StartExecution and, while it waits, DescribeExecution polls; every
callback task is answered by a SendTaskSuccess, SendTaskFailure or SendTaskHeartbeat. On the lean path
(``server.LeanDispatcher``) each such call builds werkzeug's request, runs ``BaseResponse.setup_class`` (form
and query-string parsing, URL parsing) and has moto's response serialiser walk the output shape through its
attribute picker: about half of a DescribeExecution's CPU was the serialiser, a fifth the request set-up.

``SfnFastPath`` sits after the access guard, the fault switch and TestState, in front of the lean dispatcher.
For a POST to ``/`` of the Step Functions app with an ``X-Amz-Target`` in ``FAST_OPERATIONS`` it fills a
``StepFunctionResponse`` with what ``setup_class`` would (the same body, query string, headers, URL, region,
access key and account, the same ``mark_account_as_visited``) by moto's own methods, and calls the handler's
``call_action``: so moto's authorisation, action lookup, the action method, every patch on any of them (the
size limits, the ``#TestCase`` suffix, SendTaskFailure's cause, the execution index below the backend) and
moto's request id run exactly as on the lean path. Only a success of a covered operation is serialised here,
from the output shape's members in their order with moto's own timestamp conversion; anything else (an error,
a value of a type not covered) goes to moto's serialiser. The WSGI answer is made as the lean path makes it.

What it does not take exactly -- a query string, a compressed body, another content type, a browser, moto's
recorder on, a URL not yet seen by the lean path, an ``Action`` in the body's query-string reading -- goes on
to the lean dispatcher untouched (the body put back for it to read), before anything has changed.
``SFN_HTTP`` is the switch (a ``PatchSet`` in the speed-ups, so the benchmark's ablation can turn it off).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl, urlparse

from botocore.exceptions import ClientError
from flask import Response
from werkzeug.exceptions import HTTPException

from localaws.endpoint.handler_arguments import cached_raw_url, request_headers
from localaws.endpoint.plain_response import plain_response
from localaws.patches import registry

_RESPONSES = "moto.core.responses"
_SFN_RESPONSE = "moto.stepfunctions.responses.StepFunctionResponse"
_TIMESTAMPS = "moto.core.serialize.TimestampSerializer"

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

SFN_HTTP = registry.PatchSet(
    "sfn_http",
    reads=[
        (_SFN_RESPONSE, "the handler the lean path's view builds for Step Functions"),
        (f"{_SFN_RESPONSE}.call_action", "authorisation, the action, errors and request id: moto's own"),
        (f"{_RESPONSES}.BaseResponse.setup_class", "what the fast path sets on the handler, as it does"),
        (f"{_RESPONSES}.BaseResponse.serialized", "errors and uncovered answers: moto's serialiser"),
        (f"{_RESPONSES}.BaseResponse.get_region_from_url", "the region, as setup_class finds it"),
        (f"{_RESPONSES}.BaseResponse.get_current_account", "the account, as setup_class finds it"),
        (f"{_RESPONSES}.BaseResponse.get_access_key", "the access key, as setup_class finds it"),
        (f"{_RESPONSES}.BaseResponse._get_action", "the action call_action will run"),
        (f"{_RESPONSES}.BaseResponse.service_name", "mark_account_as_visited's service"),
        (f"{_RESPONSES}.BaseResponse.use_raw_body", "the body is decoded unless a class keeps it raw"),
        (f"{_RESPONSES}.BaseResponse.automated_parameter_parsing", "parameters parsed by botocore's parser"),
        (f"{_RESPONSES}._decode_dict", "the query string, as setup_class decodes it"),
        (f"{_RESPONSES}.ActionResult", "an action's answer"),
        (f"{_RESPONSES}.EmptyResult", "an action's empty answer"),
        ("moto.core.utils.get_service_model", "the output shapes the answers are serialised from"),
        ("moto.core.responses.get_partition", "the partition, as setup_class finds it"),
        ("moto.core.request.EnvironHeaders", "the handler's headers, as moto's request gives them"),
        ("moto.iam.models.mark_account_as_visited", "the IAM bookkeeping every handled request does"),
        (_TIMESTAMPS, "timestamps converted by moto's own code"),
        (f"{_TIMESTAMPS}._convert_timestamp_to_str", "timestamps converted by moto's own code"),
        ("moto.settings.PRETTIFY_RESPONSES", "indented answers: moto's serialiser"),
        ("moto.moto_api.recorder", "recording on: the lean path records"),
        ("moto.moto_api._internal.recorder.models.Recorder._user_enabled", "whether moto records requests"),
        *(
            (f"{_RESPONSES}.BaseResponse.{name}", "set on the handler as setup_class sets it")
            for name in _HANDLER_FIELDS
        ),
    ],
)

TARGET_PREFIX = "AWSStepFunctions."
# Operations answered here; their successes are serialised here (the rest of their answers by moto).
FAST_OPERATIONS = frozenset(
    {
        "StartExecution",
        "DescribeExecution",
        "SendTaskSuccess",
        "SendTaskFailure",
        "SendTaskHeartbeat",
    }
)
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
_NOT_COVERED = object()


class _Moto:
    """moto's objects, resolved once (a lookup imports along the dotted path)."""

    def __init__(self) -> None:
        self.handler_class = registry.resolve(_SFN_RESPONSE)
        self.decode_dict = registry.resolve(f"{_RESPONSES}._decode_dict")
        self.action_result = registry.resolve(f"{_RESPONSES}.ActionResult")
        self.empty_result = registry.resolve(f"{_RESPONSES}.EmptyResult")
        self.get_partition = registry.resolve("moto.core.responses.get_partition")
        self.environ_headers = registry.resolve("moto.core.request.EnvironHeaders")
        self.mark_visited = registry.resolve("moto.iam.models.mark_account_as_visited")
        self.settings = registry.resolve("moto.settings")
        self.recorder = registry.resolve("moto.moto_api.recorder")
        self.timestamps = registry.resolve(_TIMESTAMPS)("unixtimestamp")
        model = registry.resolve("moto.core.utils.get_service_model")("stepfunctions")
        self.outputs = {name: model.operation_model(name).output_shape for name in FAST_OPERATIONS}


_moto: _Moto | None = None


def _resolved() -> _Moto:
    global _moto  # noqa: PLW0603 - resolved once per process
    if _moto is None:
        _moto = _Moto()
    return _moto


class SfnFastPath:
    """WSGI middleware: the covered Step Functions calls answered here, everything else by ``app``."""

    def __init__(self, app: Any, dispatcher: Any) -> None:
        self.app = app
        self.dispatcher = dispatcher  # moto's DomainDispatcherApplication: which service a request is for
        self.fast_requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if (
            SFN_HTTP.installed
            and type(target) is str
            and target.startswith(TARGET_PREFIX)
            and target[len(TARGET_PREFIX) :] in FAST_OPERATIONS
            and environ.get("REQUEST_METHOD") == "POST"
            and environ.get("PATH_INFO") == "/"
            and not environ.get("QUERY_STRING")
            and "HTTP_ORIGIN" not in environ
            and "HTTP_CONTENT_ENCODING" not in environ
            and environ.get("HTTP_HOST")
            and environ.get("CONTENT_TYPE") == JSON_CONTENT_TYPE
        ):
            answer = self._fast(environ, start_response, target[len(TARGET_PREFIX) :])
            if answer is not None:
                return answer
        result: Iterable[bytes] = self.app(environ, start_response)
        return result

    def _fast(
        self, environ: dict[str, Any], start_response: Callable[..., Any], operation: str
    ) -> Iterable[bytes] | None:
        full_url = cached_raw_url(environ)
        if full_url is None or "?" in full_url:
            return None  # a URL the lean path has not computed yet (it keeps it for next time)
        moto = _resolved()
        if moto.recorder._user_enabled or moto.settings.PRETTIFY_RESPONSES:
            return None
        app = self.dispatcher.get_application(environ)
        if getattr(app, "service", None) != "stepfunctions":
            return None
        raw_body = _read_body(environ)
        handler = moto.handler_class()
        if handler.use_raw_body or handler.automated_parameter_parsing:
            return None
        try:
            body = raw_body.decode("utf-8")
        except UnicodeDecodeError:
            return None  # moto's set-up keeps such a body as bytes: the lean path
        _set_up(handler, moto, environ, full_url, (raw_body, body))
        if handler._get_action() != operation:
            return None  # e.g. an "Action" read from the body as a query string: the lean path
        handler.current_account = handler.get_current_account()
        moto.mark_visited(
            account_id=handler.current_account,
            access_key=handler.access_key,
            service=handler.service_name,
            region=handler.region,
        )
        serialized = handler.serialized
        handler.serialized = lambda result: _serialized(moto, operation, handler, result, serialized)
        self.fast_requests += 1
        try:
            try:
                status, headers, content = handler.call_action()
            except ClientError as exc:  # as the lean path answers one
                status, headers, content = 400, {}, exc.response["Error"]["Message"]
        except HTTPException as exc:  # what Flask would answer for it
            response: Any = exc.get_response(environ)
        else:
            plain = plain_response(status, headers, content, start_response)
            if plain is not None:
                return plain
            response = Response(response=content, status=status, headers=headers)
        answer: Iterable[bytes] = response(environ, start_response)
        return answer


def _read_body(environ: dict[str, Any]) -> bytes:
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


def _set_up(
    handler: Any, moto: _Moto, environ: dict[str, Any], full_url: str, bodies: tuple[bytes, str]
) -> None:
    """What ``BaseResponse.setup_class`` sets for a JSON POST to ``/`` from the WSGI server, by its steps."""
    raw, body = bodies
    headers = moto.environ_headers(environ)
    handler.is_werkzeug_request = True
    handler.normalized_request = None
    handler.parsed_url = urlparse(full_url)
    handler.form_data = {}
    handler.raw_body = raw
    handler.body = body
    querystring: dict[str, Any] = OrderedDict()
    if body:
        querystring.update(
            OrderedDict((key, [value]) for key, value in parse_qsl(body, keep_blank_values=True))
        )
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


class _Headers:
    """What ``get_region_from_url`` reads of the request: its headers."""

    def __init__(self, headers: Any) -> None:
        self.headers = headers


def _serialized(moto: _Moto, operation: str, handler: Any, result: Any, serialized: Any) -> Any:
    """A covered success as moto's JSON serialiser writes it; anything else by moto's serialiser."""
    body = _NOT_COVERED
    if type(result) is moto.empty_result or (type(result) is moto.action_result and result.result is None):
        body = "{}"
    elif type(result) is moto.action_result and type(result.result) is dict:
        members = _structure(moto, moto.outputs[operation], result.result)
        if members is not _NOT_COVERED:
            body = json.dumps(members)
    if body is _NOT_COVERED:
        return serialized(result)
    headers = {"Content-Type": JSON_CONTENT_TYPE}
    headers.update(handler.response_headers)
    return 200, headers, body


def _structure(moto: _Moto, shape: Any, value: dict[str, Any]) -> Any:
    """A structure's members in the shape's order, skipping absent and None ones, or ``_NOT_COVERED``."""
    members = shape.members
    if not value.keys() <= members.keys():
        return _NOT_COVERED  # moto's picker would also try aliases (snake_case names): its serialiser
    out: dict[str, Any] = {}
    for name, member in members.items():
        item = value.get(name)
        if item is None:
            continue
        kind = member.type_name
        if kind == "string":
            if isinstance(item, Enum):
                item = item.value
            if type(item) is not str:
                return _NOT_COVERED
            out[member.serialization.get("name", name)] = item
        elif kind == "timestamp":
            fmt = member.serialization.get("timestampFormat", "unixtimestamp")
            out[member.serialization.get("name", name)] = moto.timestamps._convert_timestamp_to_str(item, fmt)
        elif (kind == "boolean" and type(item) is bool) or (
            kind in ("integer", "long") and type(item) is int
        ):
            out[member.serialization.get("name", name)] = item
        elif kind == "structure" and type(item) is dict and not member.is_document_type:
            inner = _structure(moto, member, item)
            if inner is _NOT_COVERED:
                return _NOT_COVERED
            out[member.serialization.get("name", name)] = inner
        else:
            return _NOT_COVERED
    return out
