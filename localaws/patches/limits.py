"""AWS's payload size limits, refused at the API as AWS refuses them, with AWS's error codes and messages.

moto checks some of these, by characters where AWS counts UTF-8 bytes, and leaves message attributes out
of the count; it does not check the others at all. The limits, from the service models of the pinned
botocore (1.44.5) and the AWS documentation:

- EventBridge ``PutEvents``: the entries of one request together must be under 1 MB (raised from 256 KB in
  January 2026), each entry counted as AWS's "Calculating PutEvents event entry size" says: 14 bytes for
  ``Time``, then the UTF-8 bytes of ``Source``, ``DetailType``, ``Detail`` and each of ``Resources``.
  ``ValidationException: Total size of the entries in the request is over the limit.`` An entry whose
  ``Detail`` is not a JSON object, or nests deeper than PutEvents processes (1000 levels on AWS, 200 here:
  see ``PUT_EVENTS_MAX_NESTING``), fails alone with ``MalformedDetail``; moto takes any JSON, and fails on
  deep nesting with a 500.
- Step Functions ``StartExecution``: ``input`` at most 262,144 UTF-8 bytes (``ValidationException``).
- SQS ``SendMessage``: the body and every part of each message attribute (name, type, value) count against
  the queue's ``MaximumMessageSize`` (default 1 MiB since August 2025; moto counts the body's characters).
  ``SendMessageBatch``: all of that for all entries at most 1 MiB (``BatchRequestTooLong``).
- SNS ``Publish``: message and attributes at most the topic's ``MaximumMessageSize``, 256 KiB by default
  (``InvalidParameter: Invalid parameter: Message too long``); ``PublishBatch`` the same for all entries
  together (``BatchRequestTooLong``).

The hook is one replacement of moto's ``BaseResponse.call_action``: the answer of every API call, over HTTP
or in-process, goes through it. For an action with a limit that the request breaks, the action's handler
is swapped, for this one request, for one that raises the service's own error; moto then serializes it as
it serializes any error of that service. Everything else goes straight to moto.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from moto.core.utils import camelcase_to_underscores
from moto.events.exceptions import ValidationException as EventsValidationError
from moto.sns.exceptions import InvalidParameterValue as SnsInvalidParameterError
from moto.sns.exceptions import SNSException
from moto.sqs.exceptions import InvalidParameterValue as SqsInvalidParameterError
from moto.sqs.exceptions import SQSException
from moto.stepfunctions.exceptions import ValidationException as StatesValidationError

from localaws.patches import registry

PUT_EVENTS_MAX_BYTES = 1_048_576
PUT_EVENTS_MAX_ENTRIES = 10
# AWS: "PutEvents will only process nested JSON up to 1000 levels deep". Locally every hop (moto's parser and
# its deepcopy of the event, the delivery, the engine, the Lambda worker) recurses once or twice per level
# within Python's 1,000 frames, and fails well before 1,000 levels with a 500 or a lost event. So locally the
# limit is 200 levels, with AWS's answer past it.
PUT_EVENTS_MAX_NESTING = 200
_MALFORMED_DETAIL = {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
STATE_MACHINE_INPUT_MAX_BYTES = 262_144
SQS_BATCH_MAX_BYTES = 1_048_576
SQS_DEFAULT_MESSAGE_MAX_BYTES = 1_048_576
SNS_DEFAULT_MESSAGE_MAX_BYTES = 262_144

SNS_TOPIC_MAX_BYTES = 1_048_576

_CALL_ACTION = "moto.core.responses.BaseResponse.call_action"
_SNS_MAXIMUM = "moto.sns.models.MAXIMUM_MESSAGE_LENGTH"


class SqsBatchRequestTooLongError(SQSException):
    """moto's own ``BatchRequestTooLong`` names its 1 MiB constant, not the queue's; same code and text."""

    def __init__(self, length: int) -> None:
        super().__init__(
            "BatchRequestTooLong",
            f"Batch requests cannot be longer than {SQS_BATCH_MAX_BYTES} bytes. "
            f"You have sent {length} bytes.",
        )


class SnsBatchRequestTooLongError(SNSException):
    code = "BatchRequestTooLong"
    message = "The length of all the messages put together is more than the limit."


def _utf8(text: Any) -> int:
    return len(text.encode("utf-8")) if isinstance(text, str) else 0


def put_events_entry_size(entry: Mapping[str, Any]) -> int:
    """An entry's size as EventBridge computes it (AWS's "Calculating PutEvents event entry size")."""
    size = 14 if entry.get("Time") is not None else 0
    size += _utf8(entry.get("Source")) + _utf8(entry.get("DetailType")) + _utf8(entry.get("Detail"))
    return size + sum(_utf8(resource) for resource in entry.get("Resources") or ())


def _attribute_value_size(value: Mapping[str, Any]) -> int:
    size = _utf8(value.get("DataType")) + _utf8(value.get("StringValue"))
    binary = value.get("BinaryValue")
    if isinstance(binary, bytes | bytearray):
        size += len(binary)
    elif isinstance(binary, str):
        # JSON protocols carry it base64-encoded; the limit counts the bytes themselves.
        try:
            size += len(base64.b64decode(binary, validate=False))
        except ValueError:
            size += len(binary)
    return size


def message_size(body: Any, attributes: Mapping[str, Any] | None) -> int:
    """Body plus every part of every message attribute (name, type, value), in UTF-8 bytes (SQS and SNS)."""
    size = _utf8(body)
    for name, value in (attributes or {}).items():
        size += _utf8(name) + (_attribute_value_size(value) if isinstance(value, Mapping) else 0)
    return size


def execution_input_error(execution_input: Any) -> StatesValidationError | None:
    """The error StartExecution answers for ``execution_input`` when it is too large, else None."""
    if _utf8(execution_input) <= STATE_MACHINE_INPUT_MAX_BYTES:
        return None
    return StatesValidationError(
        "1 validation error detected: Value at 'input' failed to satisfy constraint: "
        f"Member must have length less than or equal to {STATE_MACHINE_INPUT_MAX_BYTES}"
    )


# -- the checks, one per action: each reads the request through moto's handler and returns an error or None --


def detail_is_malformed(detail: Any) -> bool:
    """A Detail EventBridge refuses though it parses: not a JSON object, or nested over 1000 levels deep."""
    if not isinstance(detail, str) or not detail.strip():
        return False  # moto answers a missing Detail itself
    if not detail.lstrip().startswith("{"):
        return True
    return _nesting_depth(detail) > PUT_EVENTS_MAX_NESTING


def _nesting_depth(text: str) -> int:
    """How deeply the JSON ``text`` nests objects and arrays, without recursion (which deep input would
    exhaust, in moto's parser as in ours)."""
    if text.count("{") + text.count("[") <= PUT_EVENTS_MAX_NESTING:
        return 0  # cannot be deeper than the limit: skip the scan
    depth = deepest = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "{[":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "}]":
            depth -= 1
    return deepest


def _put_events(handler: Any) -> Exception | Callable[[], Any] | None:
    entries = handler._get_param("Entries") or []
    total = sum(put_events_entry_size(entry) for entry in entries if isinstance(entry, Mapping))
    if total > PUT_EVENTS_MAX_BYTES:
        return EventsValidationError("Total size of the entries in the request is over the limit.")
    malformed = {
        index
        for index, entry in enumerate(entries)
        if isinstance(entry, Mapping) and detail_is_malformed(entry.get("Detail"))
    }
    if not malformed or len(entries) > PUT_EVENTS_MAX_ENTRIES:
        return None  # moto answers more than 10 entries itself

    def answer() -> str:
        # The well-formed entries go on to moto; each malformed one fails alone, in its place.
        accepted = iter(
            handler.events_backend.put_events([e for i, e in enumerate(entries) if i not in malformed])
        )
        results = [_MALFORMED_DETAIL if i in malformed else next(accepted) for i in range(len(entries))]
        failed = sum(1 for result in results if "ErrorCode" in result)
        return json.dumps({"FailedEntryCount": failed, "Entries": results})

    return answer


def _start_execution(handler: Any) -> Exception | None:
    return execution_input_error(handler._get_param("input"))


def _sqs_queue_limit(handler: Any) -> int:
    try:
        queue = handler.sqs_backend.get_queue(handler._get_queue_name())
        return int(queue.maximum_message_size)
    except (SQSException, TypeError, ValueError, AttributeError):
        return SQS_DEFAULT_MESSAGE_MAX_BYTES  # moto answers an unknown queue itself


def _sqs_send_message(handler: Any) -> Exception | None:
    size = message_size(handler._get_param("MessageBody"), handler._get_param("MessageAttributes"))
    limit = _sqs_queue_limit(handler)
    if size > limit:
        return SqsInvalidParameterError(
            f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
        )
    return None


def _sqs_send_message_batch(handler: Any) -> Exception | None:
    entries = [entry for entry in handler._get_param("Entries") or [] if isinstance(entry, Mapping)]
    total = sum(message_size(e.get("MessageBody"), e.get("MessageAttributes")) for e in entries)
    if total > SQS_BATCH_MAX_BYTES:
        return SqsBatchRequestTooLongError(total)
    limit = _sqs_queue_limit(handler)
    if any(message_size(e.get("MessageBody"), e.get("MessageAttributes")) > limit for e in entries):
        return SqsInvalidParameterError(
            f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
        )
    return None


def _sns_topic_limit(handler: Any) -> int:
    try:
        topic = handler.backend.get_topic(handler._get_param("TopicArn"))
    except (SNSException, TypeError, ValueError, AttributeError):
        return SNS_DEFAULT_MESSAGE_MAX_BYTES  # moto answers an unknown topic itself
    return sns_topic_limit(topic)


def sns_topic_limit(topic: Any) -> int:
    """A topic's MaximumMessageSize in bytes."""
    # moto keeps each topic attribute on the topic, under its name in snake case.
    try:
        return int(getattr(topic, "maximum_message_size", SNS_DEFAULT_MESSAGE_MAX_BYTES))
    except (TypeError, ValueError):
        return SNS_DEFAULT_MESSAGE_MAX_BYTES


def _sns_publish(handler: Any) -> Exception | None:
    size = message_size(handler._get_param("Message"), handler._get_param("MessageAttributes"))
    if size > _sns_topic_limit(handler):
        return SnsInvalidParameterError("Invalid parameter: Message too long")
    return None


def _sns_publish_batch(handler: Any) -> Exception | None:
    entries = [e for e in handler._get_param("PublishBatchRequestEntries") or [] if isinstance(e, Mapping)]
    total = sum(message_size(e.get("Message"), e.get("MessageAttributes")) for e in entries)
    if total > _sns_topic_limit(handler):
        return SnsBatchRequestTooLongError()
    return None


CHECKS: dict[tuple[str, str], Callable[[Any], Exception | Callable[[], Any] | None]] = {
    ("events", "PutEvents"): _put_events,
    ("stepfunctions", "StartExecution"): _start_execution,
    ("sqs", "SendMessage"): _sqs_send_message,
    ("sqs", "SendMessageBatch"): _sqs_send_message_batch,
    ("sns", "Publish"): _sns_publish,
    ("sns", "PublishBatch"): _sns_publish_batch,
}
_SERVICES = frozenset(service for service, _ in CHECKS)


def _raiser(error: Exception) -> Callable[[], Any]:
    def refuse() -> Any:
        raise error

    return refuse


def _call_action(self: Any) -> Any:
    if self.service_name in _SERVICES:
        action = self._get_action()
        check = CHECKS.get((self.service_name, action))
        verdict = check(self) if check is not None else None
        if verdict is not None:
            # moto looks the handler up on the instance: for this request it is ours. One that raises the
            # service's error is answered exactly as moto answers that service's own errors.
            setattr(
                self,
                camelcase_to_underscores(action),
                _raiser(verdict) if isinstance(verdict, Exception) else verdict,
            )
    return registry.original(_CALL_ACTION)(self)


def _reads() -> Iterable[tuple[str, str]]:
    yield "moto.core.responses.BaseResponse._get_param", "the request's parameters, as the handler reads them"
    yield "moto.core.responses.BaseResponse._get_action", "which action the request calls"
    yield "moto.core.responses.BaseResponse.service_name", "which service the request calls"
    yield "moto.core.utils.camelcase_to_underscores", "the handler's method name, as moto derives it"
    yield "moto.sqs.responses.SQSResponse.sqs_backend", "the queue a message goes to (its size limit)"
    yield "moto.sqs.responses.SQSResponse._get_queue_name", "the queue a message goes to"
    yield "moto.sqs.models.SQSBackend.get_queue", "the queue's MaximumMessageSize"
    yield "moto.sqs.models.Queue._set_attributes", "keeps MaximumMessageSize as maximum_message_size"
    yield "moto.sns.responses.SNSResponse.backend", "the topic a message goes to (its size limit)"
    yield "moto.sns.models.SNSBackend.get_topic", "the topic's MaximumMessageSize attribute"
    yield "moto.sns.responses.SNSResponse.set_topic_attributes", "stores it as maximum_message_size"
    yield "moto.events.exceptions.ValidationException", "PutEvents over the limit"
    yield "moto.events.responses.EventsHandler.events_backend", "PutEvents' well-formed entries, put"
    yield "moto.events.models.EventsBackend.put_events", "PutEvents' well-formed entries, put"
    yield "moto.stepfunctions.exceptions.ValidationException", "StartExecution input over the limit"
    yield "moto.sqs.exceptions.InvalidParameterValue", "SendMessage over the queue's limit"
    yield "moto.sqs.exceptions.SQSException", "SQS errors as moto serializes them"
    yield "moto.sns.exceptions.InvalidParameterValue", "Publish over the topic's limit"
    yield "moto.sns.exceptions.SNSException", "SNS errors as moto serializes them"


SIZE_LIMITS = registry.PatchSet(
    "size_limits",
    [
        registry.Patch(_CALL_ACTION, _call_action, "refuse payloads over AWS's size limits, as AWS does"),
        # moto refuses any Publish over 256 KiB; a topic may raise its own limit to 1 MiB, checked above.
        registry.Patch(_SNS_MAXIMUM, SNS_TOPIC_MAX_BYTES, "a topic's MaximumMessageSize goes up to 1 MiB"),
    ],
    reads=list(_reads()),
)
