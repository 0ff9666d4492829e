"""Step Functions' hottest API calls over HTTP, answered without werkzeug's request and moto's serialiser.

Every execution a client starts is a StartExecution and, while it waits, DescribeExecution polls; every
callback task is answered by a SendTaskSuccess, SendTaskFailure or SendTaskHeartbeat. On the lean path
(``server.LeanDispatcher``) each such call builds werkzeug's request, runs ``BaseResponse.setup_class`` (form
and query-string parsing, URL parsing) and has moto's response serialiser walk the output shape through its
attribute picker: about half of a DescribeExecution's CPU was the serialiser, a fifth the request set-up.

``STEPFUNCTIONS`` is the service's entry for ``json_fast_path.JsonFastPath``, which skips werkzeug's request
and ``setup_class`` for a POST to ``/`` with an ``X-Amz-Target`` in ``FAST_OPERATIONS`` and calls the
``StepFunctionResponse``'s ``call_action`` (so moto's authorisation, the action, every patch on it -- the size
limits, the ``#TestCase`` suffix, SendTaskFailure's cause, the execution index -- and the request id run as on
the lean path). Only a success of a covered operation is serialised here, from the output shape's members in
their order with moto's own timestamp conversion (a list of structures, GetExecutionHistory's events, element
by element); anything else (an error, a value of a type not covered)
goes to moto's serialiser. ``SFN_HTTP`` is the switch (a ``PatchSet`` in the speed-ups, so the benchmark's
ablation can turn it off).
"""

from __future__ import annotations

import functools
import json
from enum import Enum
from typing import Any

from localaws.endpoint.json_fast_path import FastService, service_reads
from localaws.endpoint.plain_response import JSON_1_0
from localaws.patches import registry

_RESPONSES = "moto.core.responses"
_SFN_RESPONSE = "moto.stepfunctions.responses.StepFunctionResponse"
_TIMESTAMPS = "moto.core.serialize.TimestampSerializer"

SFN_HTTP = registry.PatchSet(
    "sfn_http",
    reads=service_reads(
        _SFN_RESPONSE,
        (f"{_RESPONSES}.BaseResponse.serialized", "errors and uncovered answers: moto's serialiser"),
        (f"{_RESPONSES}.ActionResult", "an action's answer"),
        (f"{_RESPONSES}.EmptyResult", "an action's empty answer"),
        ("moto.core.utils.get_service_model", "the output shapes the answers are serialised from"),
        (_TIMESTAMPS, "timestamps converted by moto's own code"),
        (f"{_TIMESTAMPS}._convert_timestamp_to_str", "timestamps converted by moto's own code"),
    ),
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
        # Read once per execution by clients that check what it did (the workflow suite, 39 times): moto's
        # serialiser took 41 ms of CPU for each (its attribute picker on every member of every event).
        "GetExecutionHistory",
    }
)
_NOT_COVERED = object()


class _Moto:
    """moto's objects, resolved once (a lookup imports along the dotted path)."""

    def __init__(self) -> None:
        self.action_result = registry.resolve(f"{_RESPONSES}.ActionResult")
        self.empty_result = registry.resolve(f"{_RESPONSES}.EmptyResult")
        self.timestamps = registry.resolve(_TIMESTAMPS)("unixtimestamp")
        model = registry.resolve("moto.core.utils.get_service_model")("stepfunctions")
        self.outputs = {name: model.operation_model(name).output_shape for name in FAST_OPERATIONS}


@functools.cache
def _resolved() -> _Moto:
    """moto's objects, resolved once per process."""
    return _Moto()


def _serialized(operation: str, handler: Any, result: Any, serialized: Any) -> Any:
    """A covered success as moto's JSON serialiser writes it; anything else by moto's serialiser."""
    moto = _resolved()
    body = _NOT_COVERED
    if type(result) is moto.empty_result or (type(result) is moto.action_result and result.result is None):
        body = "{}"
    elif type(result) is moto.action_result and type(result.result) is dict:
        members = _structure(moto, moto.outputs[operation], result.result)
        if members is not _NOT_COVERED:
            body = json.dumps(members)
    if body is _NOT_COVERED:
        return serialized(result)
    headers = {"Content-Type": JSON_1_0}
    headers.update(handler.response_headers)
    return 200, headers, body


STEPFUNCTIONS = FastService(
    "stepfunctions", TARGET_PREFIX, FAST_OPERATIONS, JSON_1_0, _SFN_RESPONSE, SFN_HTTP, _serialized
)


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
        elif kind in ("structure", "list"):
            inner = _nested(moto, member, item)
            if inner is _NOT_COVERED:
                return _NOT_COVERED
            out[member.serialization.get("name", name)] = inner
        else:
            return _NOT_COVERED
    return out


def _nested(moto: _Moto, member: Any, item: Any) -> Any:
    """A structure member or a list of structures, or ``_NOT_COVERED``."""
    if member.type_name == "structure" and type(item) is dict and not member.is_document_type:
        return _structure(moto, member, item)
    if member.type_name == "list" and type(item) is list:
        return _list_of_structures(moto, member.member, item)
    return _NOT_COVERED


def _list_of_structures(moto: _Moto, shape: Any, items: list[Any]) -> Any:
    """A list whose members are structures (GetExecutionHistory's events), each as ``_structure`` writes
    it, or ``_NOT_COVERED`` (another member type, a None element, a member serialised under another name:
    moto's serialiser then keeps the element as it is)."""
    if shape.type_name != "structure" or shape.is_document_type or "name" in shape.serialization:
        return _NOT_COVERED
    elements = []
    for item in items:
        if type(item) is not dict:
            return _NOT_COVERED
        inner = _structure(moto, shape, item)
        if inner is _NOT_COVERED:
            return _NOT_COVERED
        elements.append(inner)
    return elements
