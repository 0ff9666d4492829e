"""The alert an order execution that ended badly sends to ``system-alerts``, and reading its order back.

A rule on the default bus matches Step Functions' ``Execution Status Change`` events of the order workflow
whose status is FAILED, TIMED_OUT or ABORTED, and its input transformer shapes them into this alert. The
order's id is inside ``input``: Step Functions sends the execution input as a JSON *string*, and an input
transformer can only select values, never parse a string, on AWS as locally. So the alert carries the
input whole, and ``order_id_of`` reads the id out of it (the orders rule starts each execution with the
``OrderPlaced`` event itself, whose ``detail`` is the order).
"""

from __future__ import annotations

import json
from typing import Any, Final

EXECUTION_ALERT_KIND: Final = "execution-status"
ALERTING_STATUSES: Final = ("FAILED", "TIMED_OUT", "ABORTED")
# The alert's fields and where each comes from in the status-change event.
EXECUTION_ALERT_FIELDS: Final = {
    "status": "$.detail.status",
    "execution": "$.detail.name",
    "executionArn": "$.detail.executionArn",
    "stateMachineArn": "$.detail.stateMachineArn",
    "error": "$.detail.error",
    "cause": "$.detail.cause",
    "stopDate": "$.detail.stopDate",
    "input": "$.detail.input",
}


def order_id_of(execution_input: Any) -> str | None:
    """The ``orderId`` in an order execution's input (the ``OrderPlaced`` event, as a JSON string)."""
    if not isinstance(execution_input, str):
        return None
    try:
        started_with = json.loads(execution_input)
    except ValueError:
        return None
    detail = started_with.get("detail") if isinstance(started_with, dict) else None
    order_id = detail.get("orderId") if isinstance(detail, dict) else None
    return order_id if isinstance(order_id, str) else None


def is_execution_alert(message: Any) -> bool:
    return isinstance(message, dict) and message.get("kind") == EXECUTION_ALERT_KIND
