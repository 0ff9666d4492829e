"""A moto handler's ``(status, headers, body)`` sent as the WSGI response Flask's ``Response`` makes of it.

The lean dispatcher's calls (dozens per order) used to build a Flask ``Response`` for each answer, then have
it start the WSGI response: header objects, a content-type lookup, an encoded-body iterator, about a tenth
of the HTTP server's own CPU. For the answers the AWS JSON and query APIs give (a 2xx-5xx status code, a dict
of single-valued headers, a ``str`` or ``bytes`` body, no ``Location``) this writes the very same status
line, headers in the same order and body. Anything else returns None and the caller builds the ``Response``
(the test compares both, case by case).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError
from flask import Response
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

# The content types of the AWS JSON protocols (1.0: DynamoDB, SQS, Step Functions; 1.1: EventBridge, Kinesis).
JSON_1_0 = "application/x-amz-json-1.0"
JSON_1_1 = "application/x-amz-json-1.1"
# What Flask's Response sets when the handler names no content type (its default mimetype and charset).
DEFAULT_CONTENT_TYPE = "text/html; charset=utf-8"
# Headers werkzeug rewrites (IRI to URI) before sending: left to werkzeug.
_REWRITTEN = frozenset({"location", "content-location"})
# werkzeug refuses a header value with a line break (ValueError): left to werkzeug, so it still does.
_LINE_BREAK = re.compile(r"[\r\n]")
_STATUS_LINES = {code: f"{code} {reason.upper()}" for code, reason in HTTP_STATUS_CODES.items()}


def plain_response(
    status: Any, headers: Any, content: Any, start_response: Callable[..., Any]
) -> Iterable[bytes] | None:
    """Start the response and return its body, as ``flask.Response(content, status, headers)`` would;
    None (nothing started) when the answer is not one this covers."""
    if type(status) is not int or not 200 <= status < 600 or status in {204, 304}:
        return None
    status_line = _STATUS_LINES.get(status)
    if status_line is None or type(headers) is not dict:
        return None
    if isinstance(content, str):
        body = content.encode()
    elif isinstance(content, bytes):
        body = content
    else:
        return None
    lines = _header_lines(headers, len(body))
    if lines is None:
        return None
    start_response(status_line, lines)
    return [body]


def handler_response(
    call: Callable[[], Any], environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    """The answer of a moto handler's ``call`` as the WSGI response, as Flask's view answers it: a
    ``ClientError`` as 400 with its message, an ``HTTPException`` (moto's RESTError) as Flask answers it;
    the handler's ``(status, headers, body)`` (or bare body) plain when ``plain_response`` covers it, else
    Flask's."""
    try:
        try:
            result = call()
        except ClientError as exc:
            result = 400, {}, exc.response["Error"]["Message"]
    except HTTPException as exc:
        error: Iterable[bytes] = exc.get_response(environ)(environ, start_response)
        return error
    status, headers, content = result if len(result) == 3 else (200, {}, result)
    plain = plain_response(status, headers, content, start_response)
    if plain is not None:
        return plain
    answer: Iterable[bytes] = Response(response=content, status=status, headers=headers)(
        environ, start_response
    )
    return answer


def _header_lines(headers: dict[Any, Any], length: int) -> list[tuple[str, str]] | None:
    """The headers werkzeug sends for ``headers`` and a body of ``length`` bytes, or None."""
    lines: list[tuple[str, str]] = []
    length_at = -1
    typed = False
    for key, value in headers.items():
        if type(key) is not str or isinstance(value, list | tuple | set):
            return None
        text = value if type(value) is str else str(value)
        lower = key.lower()
        if lower in _REWRITTEN or _LINE_BREAK.search(text) is not None:
            return None
        if lower == "content-type":
            typed = True
        elif lower == "content-length":
            if length_at >= 0:  # werkzeug keeps one Content-Length, where the first was
                continue
            length_at = len(lines)
        lines.append((key, text))
    if not typed:
        lines.append(("Content-Type", DEFAULT_CONTENT_TYPE))
    if length_at >= 0:
        lines[length_at] = ("Content-Length", str(length))  # werkzeug's spelling, in the first's place
    else:
        lines.append(("Content-Length", str(length)))
    return lines
