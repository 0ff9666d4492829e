"""A plain HTTP/1.1 request head read without the stdlib's ``email`` parser; anything else left to the stdlib.

``BaseHTTPRequestHandler.parse_request`` reads the headers with ``http.client.parse_headers``, which runs the
``email`` package's feed parser over them: about 28 µs of a 10-header SDK call, a tenth of a Step Functions
call's CPU over TCP. An SDK's request head is always the same plain shape -- ``METHOD /path HTTP/1.1``, then
``Name: value`` lines of printable ASCII, then a blank line -- and for that shape the result is known: the
same ``HTTPMessage`` (the handler's ``MessageClass``) holding each name and its value with leading blanks
stripped, and an empty payload, as the ``email`` parser would give.

``read_plain_head`` takes a head only when all of it is already in the connection's read buffer (``peek``
reads the socket only if the buffer is empty, as the stdlib's first header read would), every line is that
plain shape, no header is ``Connection`` or ``Expect`` (their handling stays the stdlib's), and it is within
the stdlib's limits (99 headers and the blank line, 65,536 bytes a line). Otherwise it consumes nothing and
returns ``None``, and the stdlib's ``parse_request`` reads the request as ever: folded, malformed, non-ASCII,
oversized and unusual heads get the stdlib's own answers and errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# The stdlib's limits (http.client's _MAXHEADERS and _MAXLINE), on which it answers 431 or 400. It counts
# the blank line that ends the headers as one of its 100 lines.
MAX_HEADERS = 100
MAX_LINE = 65536
# A request line the stdlib would split into exactly these three words: an upper-case method, an
# origin-form target (one leading slash: the stdlib rewrites "//..."), HTTP/1.1 exactly.
_REQUEST_LINE = re.compile(rb"([A-Z]+) (/(?!/)[!-~]*) HTTP/1\.1\r\n")
# A header line the email parser reads as one header: a name of printable ASCII without ":" (so never a
# "From " line), a value of printable ASCII and tabs, CRLF. No other character that str.splitlines or the
# parser's line splitting would break on.
_HEADER_LINE = re.compile(rb"([!-9;-~]+):[\t -~]*\r\n")
_END = b"\r\n\r\n"
# Left to the stdlib, which decides keep-alive and 100-continue from them.
_STDLIB_HEADERS = frozenset({"connection", "expect"})


@dataclass(frozen=True)
class PlainHead:
    """What ``parse_request`` sets on the handler for a plain HTTP/1.1 head."""

    command: str
    path: str
    requestline: str
    headers: Any  # an instance of the handler's MessageClass (http.client.HTTPMessage)


def read_plain_head(raw_requestline: bytes, rfile: Any, message_class: Any) -> PlainHead | None:
    """The head of a plain request whose request line was ``raw_requestline``, its headers consumed from
    ``rfile``; or ``None``, nothing consumed, when the stdlib should read it (see the module docstring)."""
    request_line = _REQUEST_LINE.fullmatch(raw_requestline)
    peek = getattr(rfile, "peek", None)
    if request_line is None or peek is None:
        return None
    buffered = peek(0)  # what the buffer holds (one socket read if it holds nothing)
    if buffered.startswith(b"\r\n"):
        lines: list[bytes] = []
        block_length = 2
    else:
        end = buffered.find(_END)
        if end < 0:
            return None
        lines = buffered[: end + 2].split(b"\r\n")[:-1]
        block_length = end + len(_END)
    headers = _plain_headers(lines, message_class)
    if headers is None:
        return None
    rfile.read(block_length)  # from the buffer: the socket is not read
    command, path = (part.decode("ascii") for part in request_line.groups())
    return PlainHead(command, path, f"{command} {path} HTTP/1.1", headers)


def _plain_headers(lines: list[bytes], message_class: Any) -> Any:
    """The message the email parser would make of these header lines, or ``None`` if one is not plain."""
    if len(lines) + 1 > MAX_HEADERS:
        return None
    message = message_class()
    for line in lines:
        if len(line) + 2 > MAX_LINE or _HEADER_LINE.fullmatch(line + b"\r\n") is None:
            return None
        name, _, value = line.decode("ascii").partition(":")
        if name.lower() in _STDLIB_HEADERS:
            return None
        message[name] = value.lstrip(" \t")
    message.set_payload("")
    return message
