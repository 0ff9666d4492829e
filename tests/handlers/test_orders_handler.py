from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from services.orders.handler import handler
from tests.helpers.events import load_event
from tests.helpers.lambda_context import FakeLambdaContext


def test_valid_event_is_accepted_with_the_documented_shape() -> None:
    # Given the EventBridge OrderPlaced event the state machine passes in
    event = load_event("eventbridge_order_placed")
    # When the orders function is invoked
    result = handler(event, FakeLambdaContext())
    # Then it answers with the workflow's contract, JSON-serializable
    assert set(result) == {"valid", "orderKey", "order", "reasons", "reason", "rawDetail", "eventId"}
    assert result["valid"] is True
    assert result["orderKey"] == "ord-1001"
    assert result["order"]["totalAmount"] == "24.98"
    assert json.loads(result["rawDetail"]) == event["detail"]
    assert result["eventId"] == event["id"]
    json.dumps(result)


def _without_detail() -> dict[str, Any]:
    event = copy.deepcopy(load_event("eventbridge_order_placed"))
    del event["detail"]
    return event


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (_without_detail(), "detail: missing"),
        (
            {**load_event("eventbridge_order_placed"), "detail": "text"},
            "detail: Input should be a valid dictionary",
        ),
        ([1, 2, 3], "detail: missing"),
        (None, "detail: missing"),
    ],
)
def test_any_input_gets_an_answer_not_an_exception(event: Any, reason: str) -> None:
    # Given an input that is not a usable OrderPlaced event
    # When the orders function is invoked
    result = handler(event, FakeLambdaContext())
    # Then it rejects it with a reason instead of raising
    assert result["valid"] is False
    assert result["reasons"][0].startswith(reason)
    assert result["order"] is None
