"""Reading a DLQ alarm and diagnosing each dead letter: unreadable, off-contract, or valid but failing.

The verdicts say what to do next: ``exhausted-retries`` messages can be redriven once the cause is fixed;
``malformed-json`` and ``contract-violation`` point at a producer bug and would only fail again.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from services.dlq_inspector.models import DeadLetter, Diagnosis, DlqReport
from services.dlq_inspector.rejections import RejectionRecorder, rejection_of
from services.shared.messages import InventoryRequest, PaymentRequest, ShippingRequest, StatusNotice
from services.shared.validation import describe_errors

PEEK_LIMIT = 10
# How many peeks an inspection makes at most while it keeps recording (and removing) undeliverable orders.
MAX_PEEKS = 20
_EXCERPT = 200

# Which message a queue carries, recognised by the service name in the queue's name.
_MODEL_BY_QUEUE_WORD: dict[str, type[BaseModel]] = {
    "payment": PaymentRequest,
    "inventory": InventoryRequest,
    "shipping": ShippingRequest,
    "notification": StatusNotice,
}
_MODEL_BY_ACTION: dict[str, type[BaseModel]] = {
    "charge": PaymentRequest,
    "refund": PaymentRequest,
    "reserve": InventoryRequest,
    "release": InventoryRequest,
    "ship": ShippingRequest,
}


class DeadLetterSource(Protocol):
    def peek(self, queue_name: str, limit: int) -> list[DeadLetter]:
        """Look at up to ``limit`` messages without taking them off the queue."""
        ...

    def remove(self, queue_name: str, letter: DeadLetter) -> None:
        """Take a letter that was acted on off the queue."""
        ...


class AlarmRearmer(Protocol):
    def rearm(self, alarm_name: str, reason: str) -> None:
        """Set the alarm back to OK, so that the next letter raises it (and wakes the inspector) again."""
        ...


class ReportPublisher(Protocol):
    def publish(self, report: DlqReport) -> None: ...


def alarmed_queue(message: str) -> tuple[str, str] | None:
    """``(alarm name, queue name)`` if ``message`` is a CloudWatch alarm entering ALARM on a queue metric."""
    try:
        alarm = json.loads(message)
    except (TypeError, ValueError, RecursionError):
        return None
    if not isinstance(alarm, dict) or alarm.get("NewStateValue") != "ALARM":
        return None
    alarm_name = alarm.get("AlarmName")
    trigger = alarm.get("Trigger")
    if not isinstance(alarm_name, str) or not isinstance(trigger, dict):
        return None
    for dimension in trigger.get("Dimensions") or []:
        if not isinstance(dimension, dict):
            continue
        # CloudWatch writes lower-case keys in notifications; accept the API's capitalised ones too.
        name = dimension.get("name", dimension.get("Name"))
        value = dimension.get("value", dimension.get("Value"))
        if name == "QueueName" and isinstance(value, str) and value:
            return alarm_name, value
    return None


def expected_model(queue_name: str, payload: dict[str, Any]) -> type[BaseModel] | None:
    for word, model in _MODEL_BY_QUEUE_WORD.items():
        if f"-{word}" in queue_name or queue_name.startswith(word):
            return model
    action = payload.get("action")
    return _MODEL_BY_ACTION.get(action) if isinstance(action, str) else None


def diagnose(queue_name: str, letter: DeadLetter) -> Diagnosis:
    common = {
        "messageId": letter.messageId,
        "receiveCount": letter.receiveCount,
        "attributes": letter.attributes,
    }
    try:
        payload = json.loads(letter.body)
    except json.JSONDecodeError as exc:
        return Diagnosis(
            verdict="malformed-json",
            detail=f"body is not JSON ({exc.msg} at position {exc.pos}): {letter.body[:_EXCERPT]!r}",
            retryable=False,
            **common,
        )
    except RecursionError:
        return Diagnosis(
            verdict="malformed-json",
            detail=f"body nests too deeply to read: {letter.body[:_EXCERPT]!r}",
            retryable=False,
            **common,
        )
    if not isinstance(payload, dict):
        return Diagnosis(
            verdict="contract-violation",
            detail=f"body: expected a JSON object, got {type(payload).__name__}",
            retryable=False,
            **common,
        )
    order_id = payload.get("orderId") if isinstance(payload.get("orderId"), str) else None
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    common |= {"orderId": order_id, "action": action}

    if "ERROR_CODE" in letter.attributes and isinstance(payload.get("detail-type"), str):
        return _undeliverable_event(payload, letter, common)

    if isinstance(payload.get("requestContext"), dict):
        # A Lambda on-failure destination record: the stream batch it describes ran out of retries.
        context = payload["requestContext"]
        return Diagnosis(
            verdict="exhausted-retries",
            detail=f"{context.get('condition', 'failed')}: {json.dumps(_batch_info(payload))}",
            retryable=True,
            **common,
        )

    model = expected_model(queue_name, payload)
    if model is None:
        return Diagnosis(
            verdict="unknown",
            detail=f"not a message orderflow sends: {letter.body[:_EXCERPT]!r}",
            retryable=False,
            **common,
        )
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        return Diagnosis(
            verdict="contract-violation",
            detail=f"not a valid {model.__name__}: " + "; ".join(describe_errors(exc)),
            retryable=False,
            **common,
        )
    received = f" after {letter.receiveCount} receives" if letter.receiveCount else ""
    return Diagnosis(
        verdict="exhausted-retries",
        detail=f"valid {model.__name__} that kept failing{received}",
        retryable=True,
        **common,
    )


def inspect_dead_letters(
    *,
    queue_name: str,
    alarm_name: str,
    now: str,
    source: DeadLetterSource,
    publisher: ReportPublisher,
    rejections: RejectionRecorder | None = None,
    alarms: AlarmRearmer | None = None,
) -> DlqReport:
    """Diagnose a sample of the queue's dead letters and publish one report about them.

    With ``rejections`` (the order-events DLQ), each order event that can never reach the workflow is
    recorded as a rejected order and taken off the queue, peek after peek while there are such letters;
    once the queue is empty the alarm is set back to OK, so that the next such letter raises it again.
    """
    diagnoses: list[Diagnosis] = []
    seen: set[str] = set()  # letters diagnosed by an earlier peek (one left on the queue is seen again)
    recorded = 0
    # Whether the last peek found the queue empty, or still recording (the peeks ran out): then re-arm.
    rearm = False
    for _ in range(MAX_PEEKS if rejections is not None else 1):
        peeked = source.peek(queue_name, PEEK_LIMIT)
        letters = [letter for letter in peeked if letter.messageId not in seen]
        seen.update(letter.messageId for letter in letters)
        recorded_now = 0
        for letter in letters:
            diagnosis = diagnose(queue_name, letter)
            if rejections is not None and diagnosis.verdict == "undeliverable-event":
                result = rejection_of(letter.body, letter.attributes)
                if result is not None:
                    rejections.record(result, now=now)
                    source.remove(queue_name, letter)
                    diagnosis = diagnosis.model_copy(
                        update={"orderId": result.orderKey, "recordedAs": "REJECTED"}
                    )
                    recorded_now += 1
            diagnoses.append(diagnosis)
        recorded += recorded_now
        rearm = not peeked or recorded_now > 0
        if not recorded_now:
            break
    if recorded and rearm and alarms is not None:
        alarms.rearm(alarm_name, f"{recorded} undeliverable order event(s) recorded as rejected orders")
    report = DlqReport(
        queue=queue_name,
        alarm=alarm_name,
        inspectedAt=now,
        sampled=len(diagnoses),
        counts=dict(Counter(diagnosis.verdict for diagnosis in diagnoses)),
        messages=diagnoses,
    )
    publisher.publish(report)
    return report


# EventBridge's error codes for a target that can never take the event (its input is too large, say).
_PERMANENT_DELIVERY_ERRORS = frozenset({"INVALID_PARAMETER", "RESOURCE_NOT_FOUND", "NO_PERMISSIONS"})


def _undeliverable_event(payload: dict[str, Any], letter: DeadLetter, common: dict[str, Any]) -> Diagnosis:
    """An event an EventBridge rule could not deliver: its DLQ message carries the rule's reason."""
    detail = payload.get("detail")
    order_id = detail.get("orderId") if isinstance(detail, dict) else None
    code = letter.attributes.get("ERROR_CODE", "")
    reason = letter.attributes.get("ERROR_MESSAGE", "")
    target = letter.attributes.get("TARGET_ARN", "its target")
    return Diagnosis(
        verdict="undeliverable-event",
        detail=f"{payload['detail-type']} event {payload.get('id')} not delivered to {target}: "
        f"{code}: {reason}",
        retryable=code not in _PERMANENT_DELIVERY_ERRORS,
        **(common | {"orderId": order_id if isinstance(order_id, str) else None}),
    )


def _batch_info(payload: dict[str, Any]) -> dict[str, Any]:
    for key in ("KinesisBatchInfo", "SQSBatchInfo", "DDBStreamBatchInfo"):
        if isinstance(payload.get(key), dict):
            return dict(payload[key])
    return {}
