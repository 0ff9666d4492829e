"""How many API calls the endpoint serves, by way in, service and operation, and the CPU each took.

Issue 10 asks where an order's CPU goes. The HTTP server's share is one number in the CPU meter; this says
which calls make it up: a whole order makes dozens of calls from the Lambda workers (on the Unix channel)
and a few from clients over TCP (the load driver, the console, the CLI). The benchmark takes two snapshots
around a step and reports the difference per order (``benchmarks.orders``).

The CPU is the serving thread's own (``time.thread_time``) from the access guard in to the answer's body:
the application's part. Reading and writing the HTTP request (or the channel's frame) is not in it; the CPU
meter's "http server" component counts everything.

A call is named by what it carries: the service from the SigV4 credential scope (``Credential=
key/date/region/SERVICE/aws4_request``), the operation from ``X-Amz-Target`` (the JSON protocols), from the
``Action`` of the query string or a form body (the query protocols: SNS, CloudWatch), or the method and
first path segment (the REST APIs: S3, Lambda; the console).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from localaws.endpoint.form_body import FORM, form_fields
from localaws.endpoint.json_fast_path import read_body

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# The environ key the Unix channel sets on its requests (``unix_channel``); absent over TCP.
WAY_IN_KEY = "localaws.way_in"
UNIX = "unix"
TCP = "tcp"
# (way in, service, operation)
CallName = tuple[str, str, str]


def service_of(environ: dict[str, Any]) -> str:
    """The service the call was signed for, or ``-`` when it was not signed (the console, curl)."""
    authorization = environ.get("HTTP_AUTHORIZATION") or ""
    _, found, rest = authorization.partition("Credential=")
    if not found:
        return "-"
    scope = rest.split(",", 1)[0].split("/")
    return scope[3] if len(scope) == 5 else "-"


def operation_of(environ: dict[str, Any]) -> str:
    """The call's operation: its ``X-Amz-Target`` or form ``Action``, else its method and first path part."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rpartition(".")[2]
    query = environ.get("QUERY_STRING")
    if query:
        action = parse_qs(str(query)).get("Action")
        if action:
            return action[0]
    method = environ.get("REQUEST_METHOD", "-")
    if method == "POST" and str(environ.get("CONTENT_TYPE", "")).startswith(FORM):
        form_action = _form_action(environ)
        if form_action:
            return form_action
    first = str(environ.get("PATH_INFO", "/")).lstrip("/").split("/", 1)[0]
    return f"{method} /{first}"


def _form_action(environ: dict[str, Any]) -> str | None:
    """The form body's first non-blank ``Action``: from the fields parsed once for the request (shared with
    the query fast path), or, for a body werkzeug would not read as a form, from its Latin-1 text."""
    fields = form_fields(environ)
    if fields is None:
        fields = parse_qsl(read_body(environ).decode("latin-1"))
    return next((value for name, value in fields if name == "Action" and value), None)


class RequestTally:
    """WSGI middleware: counts each call, its error answers (4xx, 5xx) and the serving thread's CPU for it
    (see the module docstring)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self._calls: dict[CallName, list[float]] = {}  # name -> [count, errors, CPU seconds]
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        began = time.thread_time()
        name = (environ.get(WAY_IN_KEY, TCP), service_of(environ), operation_of(environ))
        failed = [0]

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            failed[0] = int(status[:1] in "45")
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, start)
        finally:
            used = time.thread_time() - began
            with self._lock:
                counted = self._calls.setdefault(name, [0, 0, 0.0])
                counted[0] += 1
                counted[1] += failed[0]
                counted[2] += used

    def snapshot(self) -> dict[CallName, tuple[int, int, float]]:
        """Every call name seen so far with its count, error answers and CPU seconds."""
        with self._lock:
            return {
                name: (int(count), int(errors), used) for name, (count, errors, used) in self._calls.items()
            }


def per_unit(
    before: dict[CallName, tuple[int, int, float]], after: dict[CallName, tuple[int, int, float]], units: int
) -> dict[str, Any]:
    """The calls made between two snapshots, per unit of work (e.g. per order), most CPU first."""
    per = max(units, 1)
    rows: list[dict[str, Any]] = []
    for name, (count, errors, used) in after.items():
        count_before, errors_before, used_before = before.get(name, (0, 0, 0.0))
        calls = count - count_before
        if calls <= 0:
            continue
        cpu = used - used_before
        rows.append(
            {
                "call": "/".join(name),
                "per_unit": round(calls / per, 2),
                "errors_per_unit": round((errors - errors_before) / per, 2),
                "cpu_us_each": round(cpu * 1e6 / calls),
                "cpu_ms_per_unit": round(cpu * 1000 / per, 2),
            }
        )
    rows.sort(key=lambda row: -row["cpu_ms_per_unit"])
    return {
        "calls_per_unit": round(sum(row["per_unit"] for row in rows), 2),
        "cpu_ms_per_unit": round(sum(row["cpu_ms_per_unit"] for row in rows), 2),
        "by_call": rows,
    }
