"""Query-protocol API calls over HTTP (SNS Publish), answered without werkzeug's request and ``setup_class``.

A Lambda worker's SNS Publish (the payment service's, one an order) is a form POST to ``/``:
``Action=Publish&Version=...&TopicArn=...``. On the lean path (``server.LeanDispatcher``) it built werkzeug's
request, whose form parser read the body, and ``BaseResponse.setup_class`` (about 40 % of the call's CPU),
then moto's XML writer (``xmltodict`` over the serialiser's dicts, about a quarter).

``QueryFastPath`` sits beside ``json_fast_path.JsonFastPath``, in front of the lean dispatcher. For a POST to
``/`` of botocore's form content type, whose ``Action`` names a ``QueryService``'s operation (its switch
installed), it fills the service's moto handler with what ``setup_class`` would -- the form's fields (parsed
once, shared with the request tally: ``form_body``), no body left (werkzeug's form parser has read it), the
URL, region, access key and account, botocore's parameter parsing of the fields, the IAM visit -- by the
same steps as the JSON fast path, and calls the handler's ``call_action``: moto's authorisation, the action,
the backend, every patch on them (the SNS size limits) and the request id, as on the lean path. A success is
written by ``query_answer`` as moto's serialiser writes it; errors, and anything it does not cover, by moto's
serialiser. What it does not take exactly (a query string, a compressed body, a browser, a body that is not
UTF-8, a URL the lean path has not seen yet, a body botocore's parser refuses) goes on untouched.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import ImmutableMultiDict

from localaws.endpoint.form_body import form_fields
from localaws.endpoint.json_fast_path import (
    RequestBody,
    finish_set_up,
    service_handler,
    service_reads,
    set_up,
)
from localaws.endpoint.plain_response import handler_response
from localaws.endpoint.query_answer import QueryAnswers
from localaws.patches import registry

# What botocore sends a query-protocol call as (any other spelling goes to the lean path).
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"

_SNS_HANDLER = "moto.sns.responses.SNSResponse"
SNS_HTTP = registry.PatchSet(
    "sns_http",
    reads=service_reads(
        _SNS_HANDLER,
        ("werkzeug.formparser.FormDataParser._parse_urlencoded", "the form's fields, read as it reads them"),
        ("moto.core.responses.BaseResponse.determine_response_protocol", "query, or query-json"),
        (f"{_SNS_HANDLER}.RESPONSE_KEY_PATH_TO_TRANSFORMER", "answers moto transforms: its serialiser"),
    ),
)


@dataclass(frozen=True)
class QueryService:
    """One service's query-protocol calls the fast path takes: which, for which moto handler, under which
    switch."""

    service: str  # the dispatcher's name for the service's app
    operations: frozenset[str]
    handler_class: str  # dotted path of moto's handler class for "/"
    switch: registry.PatchSet


SNS = QueryService("sns", frozenset({"Publish"}), _SNS_HANDLER, SNS_HTTP)

# Every service's successes, written as moto's serialiser writes them (one writer per operation, kept).
_ANSWERS = QueryAnswers()


class QueryFastPath:
    """WSGI middleware: the covered query-protocol calls of ``services`` answered here, the rest by
    ``app``."""

    def __init__(self, app: Any, dispatcher: Any, services: Iterable[QueryService]) -> None:
        self.app = app
        self.dispatcher = dispatcher  # moto's DomainDispatcherApplication: which service a request is for
        self.services = tuple(services)
        self.fast_requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (
            environ.get("CONTENT_TYPE") == FORM_CONTENT_TYPE
            and environ.get("REQUEST_METHOD") == "POST"
            and environ.get("PATH_INFO") == "/"
            and not environ.get("QUERY_STRING")
            and "HTTP_X_AMZ_TARGET" not in environ
            and "HTTP_ORIGIN" not in environ
            and "HTTP_CONTENT_ENCODING" not in environ
            and environ.get("HTTP_HOST")
        ):
            answer = self._fast(environ, start_response)
            if answer is not None:
                return answer
        result: Iterable[bytes] = self.app(environ, start_response)
        return result

    def _fast(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes] | None:
        fields = form_fields(environ)
        if not fields:
            return None
        first = _first_values(fields)
        action = first.get("Action")
        service = next((s for s in self.services if s.switch.installed and action in s.operations), None)
        if service is None or "key" in first:  # setup_class takes such a form's body from it (for S3)
            return None
        handler = self._handler(environ, service, str(action), fields, first)
        if handler is None:
            return None
        serialized = handler.serialized
        handler.serialized = lambda result: _ANSWERS.serialized(handler, result, serialized)
        self.fast_requests += 1
        return handler_response(handler.call_action, environ, start_response)

    def _handler(
        self,
        environ: dict[str, Any],
        service: QueryService,
        operation: str,
        fields: list[tuple[str, str]],
        first: Mapping[str, str],
    ) -> Any:
        """The service's moto handler set up as ``setup_class`` would for this form, or None."""
        found = service_handler(self.dispatcher, environ, service.service, service.handler_class)
        if found is None:
            return None
        handler, full_url = found
        # setup_class: the query string is the form's first values; the body was read by the form parser.
        querystring: dict[str, Any] = OrderedDict((key, [value]) for key, value in first.items())
        set_up(handler, environ, full_url, RequestBody(b"", "", ImmutableMultiDict(fields), querystring))
        return finish_set_up(handler, environ, operation, first, b"")


def _first_values(fields: list[tuple[str, str]]) -> dict[str, str]:
    """Each field's first value, in the order the names first come: werkzeug's form as a query-protocol
    parser reads it (``get`` answers the first value, iteration the names)."""
    first: dict[str, str] = {}
    for key, value in fields:
        first.setdefault(key, value)
    return first
