"""Property-based: for any input, the contract parser and every handler's message parsing give an accepted
order (a parsed message) or a rejection that names the field and the reason, never another exception."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from services.analytics.handler import MALFORMED_RECORD_ERRORS
from services.analytics.logic import increments_for
from services.analytics.models import LifecycleEvent
from services.dlq_inspector.logic import alarmed_queue, diagnose
from services.dlq_inspector.models import DeadLetter
from services.orders.handler import handler as orders_handler
from services.orders.logic import STATE_LIMIT_BYTES, validate_order
from services.shared.messages import InventoryRequest, PaymentRequest, ShippingRequest, StatusNotice
from services.shared.validation import describe_errors
from tests.helpers.bad_events import valid_detail
from tests.helpers.lambda_context import FakeLambdaContext

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any JSON value: the scalars JSON has (and the big, tiny, non-finite numbers Python's json reads), nested.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["", " ", "0", "-1", "1e400", "NaN", "9.999", "\u202e", "\ud800", "SKU-1", "EUR", "GB"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
paths_in_valid_detail = st.sampled_from(
    [
        ("orderId",),
        ("customerId",),
        ("currency",),
        ("items",),
        ("items", 0),
        ("items", 0, "sku"),
        ("items", 0, "quantity"),
        ("items", 0, "unitPrice"),
        ("items", 1, "quantity"),
        ("totalAmount",),
        ("priority",),
        ("payment",),
        ("payment", "method"),
        ("payment", "token"),
        ("shippingAddress",),
        ("shippingAddress", "name"),
        ("shippingAddress", "country"),
        ("shippingAddress", "postalCode"),
        ("contact",),
        ("contact", "email"),
        ("contact", "phone"),
        ("surprise",),
    ]
)


_REMOVE = object()


def _with(detail: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """``detail`` with the value at ``path`` replaced (or removed when ``value`` is ``_REMOVE``)."""
    target: Any = detail
    for step in path[:-1]:
        target = target[step]
    if value is _REMOVE:
        target.pop(path[-1], None) if isinstance(target, dict) else None
    else:
        target[path[-1]] = value
    return detail


def _apply(changes: list[tuple[tuple[Any, ...], Any]]) -> dict[str, Any]:
    detail = valid_detail()
    for path, value in changes:
        # An earlier change may have removed or replaced the parent: then this one has nothing to change.
        with contextlib.suppress(KeyError, IndexError, TypeError):
            _with(detail, path, value)
    return detail


# Near-valid orders: the valid detail with one to three fields replaced by anything, or removed.
mutated_details = st.builds(
    _apply,
    st.lists(st.tuples(paths_in_valid_detail, json_values | st.just(_REMOVE)), min_size=1, max_size=3),
)


def _assert_verdict(answer: dict[str, Any]) -> None:
    """Accepted with an order, or rejected with ``field: reason`` lines; JSON, UTF-8, and a state's size."""
    if answer["valid"]:
        assert answer["order"] is not None and answer["reasons"] == []
    else:
        assert answer["order"] is None and answer["reasons"]
        for reason in answer["reasons"]:
            field, _, why = reason.partition(": ")
            assert field and why, reason
        assert answer["reason"] == "; ".join(answer["reasons"])
    encoded = json.dumps({"validation": answer}, ensure_ascii=False).encode("utf-8")
    assert len(encoded) < STATE_LIMIT_BYTES


@PROPERTY_SETTINGS
@given(detail=json_values, event_id=st.text(max_size=80))
def test_any_detail_gets_a_verdict(detail: Any, event_id: str) -> None:
    _assert_verdict(validate_order(event_id, detail).to_output())


@PROPERTY_SETTINGS
@given(detail=mutated_details)
def test_any_near_valid_order_gets_a_verdict(detail: dict[str, Any]) -> None:
    _assert_verdict(validate_order("6a7e8feb-b491-4cf7-a9f1-bf3703467718", detail).to_output())


@PROPERTY_SETTINGS
@given(event=json_values | st.builds(lambda d: {"id": "e-1", "detail": d}, mutated_details))
def test_the_orders_function_answers_any_event(event: Any) -> None:
    _assert_verdict(orders_handler(event, FakeLambdaContext()))


@pytest.mark.parametrize("depth", [50, 900, 5000])
def test_a_deeply_nested_detail_gets_a_verdict(depth: int) -> None:
    # Given a field nested deeper than Python's own recursion limit can serialize
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    detail = valid_detail() | {"customerId": value}

    # When / Then it is rejected for that field, not an exception
    answer = validate_order("evt", detail).to_output()
    assert answer["reasons"][0].startswith("customerId: ")


# -- the services' messages ------------------------------------------------------------------------------

MESSAGE_MODELS: list[type[BaseModel]] = [PaymentRequest, InventoryRequest, ShippingRequest, StatusNotice]
bodies = (
    st.text(max_size=200)
    | st.builds(json.dumps, json_values)
    | st.builds(
        lambda v: json.dumps({"taskToken": "t", "orderId": "ord-1", "action": "charge", **v}),
        st.dictionaries(
            st.sampled_from(
                [
                    "amount",
                    "sku",
                    "quantity",
                    "items",
                    "payment",
                    "currency",
                    "shippingAddress",
                    "status",
                    "orderValue",
                    "action",
                ]
            ),
            json_values,
            max_size=4,
        ),
    )
)


@PROPERTY_SETTINGS
@given(body=bodies, model=st.sampled_from(MESSAGE_MODELS))
def test_any_queue_message_is_parsed_or_rejected_with_field_and_reason(
    body: str, model: type[BaseModel]
) -> None:
    # When a service parses a message body as its handler does
    try:
        model.model_validate_json(body)
    except ValidationError as exc:
        # Then a rejection names each field and its reason
        reasons = describe_errors(exc)
        assert reasons and all(": " in reason for reason in reasons)


@PROPERTY_SETTINGS
@given(data=st.binary(max_size=200) | st.builds(lambda v: json.dumps(v).encode(), json_values))
def test_any_kinesis_record_is_read_or_skipped_as_malformed(data: bytes) -> None:
    record = KinesisStreamRecord(
        {
            "kinesis": {
                "data": base64.b64encode(data).decode(),
                "sequenceNumber": "1",
                "partitionKey": "k",
                "kinesisSchemaVersion": "1.0",
                "approximateArrivalTimestamp": 1.0,
            },
            "eventSource": "aws:kinesis",
        }
    )
    # When the analytics function reads it as its handler does, only the errors it skips may come out
    with contextlib.suppress(*MALFORMED_RECORD_ERRORS):
        increments_for(LifecycleEvent.model_validate(record.kinesis.data_as_json()))


@PROPERTY_SETTINGS
@given(
    body=bodies, queue=st.sampled_from(["orderflow-payment-dlq", "orderflow-inventory-dlq.fifo", "other-dlq"])
)
def test_any_dead_letter_gets_a_diagnosis(body: str, queue: str) -> None:
    diagnosis = diagnose(queue, DeadLetter(messageId="m-1", body=body))
    assert diagnosis.verdict and diagnosis.detail


@PROPERTY_SETTINGS
@given(message=st.text(max_size=200) | st.builds(json.dumps, json_values))
def test_any_alarm_message_is_read_or_ignored(message: str) -> None:
    found = alarmed_queue(message)
    assert found is None or all(isinstance(part, str) and part for part in found)


DEEP_JSON = "[" * 100_000 + "]" * 100_000  # deeper than any recursive parser goes


@pytest.mark.parametrize("model", MESSAGE_MODELS)
def test_a_deeply_nested_message_is_rejected(model: type[BaseModel]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate_json(DEEP_JSON)
    with pytest.raises(ValidationError):
        model.model_validate_json('{"taskToken": "t", "orderId": "o", "items": ' + DEEP_JSON + "}")


def test_a_deeply_nested_record_dead_letter_or_alarm_is_handled() -> None:
    record = KinesisStreamRecord({"kinesis": {"data": base64.b64encode(DEEP_JSON.encode()).decode()}})
    with contextlib.suppress(*MALFORMED_RECORD_ERRORS):
        LifecycleEvent.model_validate(record.kinesis.data_as_json())
    assert (
        diagnose("orderflow-payment-dlq", DeadLetter(messageId="m", body=DEEP_JSON)).verdict
        == "malformed-json"
    )
    assert alarmed_queue(DEEP_JSON) is None


def test_the_strategies_reach_both_verdicts() -> None:
    # The near-valid strategy must produce accepted orders too, or it only tests rejections.
    assert validate_order("e", _apply([(("priority",), True)])).valid
    assert not validate_order("e", _apply([(("currency",), "XYZ")])).valid
