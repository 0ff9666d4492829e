"""The largest order the contract accepts, run through the whole workflow on the embedded stack: no state
may grow past what the orders function projected for it when it accepted the order (and so never past
Step Functions' 256 KB), down the longest path there is: charged, stock refused, every item released,
refunded, cancelled."""

from __future__ import annotations

import json
import time
from typing import Any

from infra.naming import Names
from localaws.local_aws import LocalAws
from localaws.tools.orders import put_order
from services.orders.logic import STATE_LIMIT_BYTES, projected_state_bytes, validate_order
from workflows import states

WIDE = "\U0001d518"  # four bytes in UTF-8: the most a character of free text can take


def largest_valid_order() -> dict[str, Any]:
    text = WIDE * 256
    return {
        "orderId": "largest-" + "x" * 56,
        "customerId": text,
        "currency": "EUR",
        # SKUs nobody stocks, so the order takes the longest path: every item reserved, then released.
        "items": [
            {"sku": f"NOSKU-{n:03d}-".ljust(64, "z"), "quantity": 10_000, "unitPrice": "99999.99"}
            for n in range(100)
        ],
        "totalAmount": "99999990000.00",
        "priority": False,
        "payment": {"method": "card", "token": text},
        "shippingAddress": {
            "name": text,
            "line1": text,
            "line2": text,
            "city": text,
            "postalCode": text,
            "country": "GB",
        },
        "contact": {"email": "a" * 242 + "@example.com", "phone": "+44 (20) 7946-0000"},
    }


def _largest_state(stepfunctions: Any, execution_arn: str) -> tuple[int, str]:
    """The largest input or output any state of the execution had, in UTF-8 bytes, and the state's event."""
    largest, where = 0, ""
    for event in stepfunctions.get_execution_history(executionArn=execution_arn)["events"]:
        for key, details in event.items():
            if not key.endswith("EventDetails") or not isinstance(details, dict):
                continue
            for field in ("input", "output"):
                size = len(str(details.get(field) or "").encode())
                if size > largest:
                    largest, where = size, f"{event['type']} {details.get('name', '')}"
    return largest, where


def test_the_largest_valid_order_never_outgrows_its_projection(
    orderflow_local: LocalAws, orderflow_names: Names
) -> None:
    # Given the largest order the contract accepts
    detail = largest_valid_order()
    verdict = validate_order("00000000-0000-0000-0000-000000000000", detail)
    assert verdict.valid, verdict.reasons
    projected = projected_state_bytes(verdict)
    assert projected <= STATE_LIMIT_BYTES

    # When it goes through the workflow, down its longest path
    event_id = put_order(
        orderflow_local.client("events"), json.loads(json.dumps(detail)), orderflow_names("orders")
    )
    stepfunctions = orderflow_local.client("stepfunctions")
    machine = next(
        m["stateMachineArn"]
        for m in stepfunctions.list_state_machines()["stateMachines"]
        if m["name"] == orderflow_names("order-workflow")
    )
    described: dict[str, Any] = {}
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        execution = next(
            (
                e
                for e in stepfunctions.list_executions(stateMachineArn=machine)["executions"]
                if e["name"].startswith(event_id)
            ),
            None,
        )
        if execution is not None:
            described = stepfunctions.describe_execution(executionArn=execution["executionArn"])
            if described["status"] != "RUNNING":
                break
        time.sleep(0.5)

    # Then it ends cancelled (compensated), not of a size limit
    assert (described.get("status"), described.get("error")) == ("FAILED", states.ORDER_CANCELLED_ERROR)
    # And no state ever held more than was projected when the order was accepted
    largest, where = _largest_state(stepfunctions, described["executionArn"])
    assert largest <= projected, f"{where}: {largest} bytes, projected {projected}"
