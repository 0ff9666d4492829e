"""Order events that could never reach the workflow, recorded as rejected orders.

An ``OrderPlaced`` event that EventBridge accepted (PutEvents takes up to 1 MB) but could not deliver to the
workflow for good (StartExecution takes at most 256 KiB of input, say) lands in ``order-events-dlq`` with
the rule's reason. No execution ever ran for it, so nothing recorded it: the inspector does, as the
workflow records a rejection, so that a rejected order is never just dropped. The letter is then taken off
the queue (redriving it would only fail again; the whole event stays in the bus archive).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from services.orders.logic import MISSING, rejection, validate_order
from services.orders.models import ValidationResult
from services.shared.contract import EVENT_SOURCE, ORDER_PLACED, OrderStatus

# Step Functions' limit on an execution's input (UTF-8 JSON), which StartExecution enforces.
EXECUTION_INPUT_MAX_BYTES = 262_144
# EventBridge's error codes for a target that can never take the event.
PERMANENT_DELIVERY_ERRORS = frozenset({"INVALID_PARAMETER", "RESOURCE_NOT_FOUND", "NO_PERMISSIONS"})


class RejectionRecorder(Protocol):
    def record(self, result: ValidationResult, *, now: str) -> bool:
        """Record the rejected order unless the order has a record already; whether this call did."""
        ...


def rejection_of(body: str, attributes: dict[str, str]) -> ValidationResult | None:
    """The rejected order an undeliverable ``OrderPlaced`` dead letter stands for; None for anything else."""
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(event, dict) or (event.get("source"), event.get("detail-type")) != (
        EVENT_SOURCE,
        ORDER_PLACED,
    ):
        return None
    code = attributes.get("ERROR_CODE", "")
    if code not in PERMANENT_DELIVERY_ERRORS:
        return None  # it may still be delivered: a redrive is the answer, not a rejection
    event_bytes = len(body.encode("utf-8"))
    detail = event.get("detail", MISSING)
    if event_bytes > EXECUTION_INPUT_MAX_BYTES:
        detail_bytes = _json_bytes(None if detail is MISSING else detail)
        reason = (
            f"detail: too large: the event is {event_bytes} bytes (its detail {detail_bytes}), over the "
            f"{EXECUTION_INPUT_MAX_BYTES} bytes Step Functions accepts as a workflow execution's input"
        )
    else:
        reason = f"event: not delivered to the order workflow: {code}: {attributes.get('ERROR_MESSAGE', '')}"
    given_id = event.get("id")
    event_id = given_id if isinstance(given_id, str) else ""
    # What the contract says of the detail too, so that the producer learns everything at once.
    verdict = validate_order(event_id, detail)
    return rejection(event_id, detail, [reason, *verdict.reasons])


def rejected_order_item(result: ValidationResult, *, now: str) -> dict[str, Any]:
    """The orders table item, as the workflow's Record Rejection writes it (DynamoDB JSON)."""
    status = OrderStatus.REJECTED.value
    return {
        "orderId": {"S": result.orderKey},
        "status": {"S": status},
        "reason": {"S": result.reason},
        "detail": {"S": result.rawDetail},
        "eventId": {"S": result.eventId},
        "receivedAt": {"S": now},
        "updatedAt": {"S": now},
        "history": {"L": [{"M": {"status": {"S": status}, "at": {"S": now}}}]},
    }


def _json_bytes(value: Any) -> int:
    try:
        return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError):
        return 0
