"""A query-protocol call's form body (SNS, CloudWatch), parsed once per request and kept in its environ.

The request tally names such a call by the ``Action`` of its body, and the query fast path fills moto's
handler with its fields: each used to parse the body on its own, and moto's request (werkzeug's form
parser) a third time. ``form_fields`` parses it once, as werkzeug's ``FormDataParser`` does for
``application/x-www-form-urlencoded`` (the body decoded as UTF-8, ``parse_qsl`` with blank values kept and
undecodable escapes left quoted), and keeps the answer in the environ for whoever asks next. The body is
put back (``read_body``), so moto's own request still reads it whole.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" error handler the parse uses

from localaws.endpoint.json_fast_path import read_body

FORM = "application/x-www-form-urlencoded"
# The environ key the parsed fields are kept under (None: not a form werkzeug would parse).
FIELDS_KEY = "localaws.form_fields"


def form_fields(environ: dict[str, Any]) -> list[tuple[str, str]] | None:
    """The body's fields in order, repeats included, as werkzeug's form parser reads them; None when the
    request is not a form POST or its body is not UTF-8 (werkzeug then reads no form at all)."""
    if FIELDS_KEY in environ:
        kept: list[tuple[str, str]] | None = environ[FIELDS_KEY]
        return kept
    fields = None
    mimetype = str(environ.get("CONTENT_TYPE") or "").partition(";")[0].strip().lower()
    if environ.get("REQUEST_METHOD") == "POST" and mimetype == FORM:
        try:
            text = read_body(environ).decode()
        except UnicodeDecodeError:
            pass
        else:
            fields = parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")
    environ[FIELDS_KEY] = fields
    return fields
