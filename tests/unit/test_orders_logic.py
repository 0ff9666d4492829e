from __future__ import annotations

import copy
from typing import Any

import pytest

from services.orders.logic import MISSING, validate_order
from tests.helpers.events import load_event

EVENT_ID = "6a7e8feb-b491-4cf7-a9f1-bf3703467718"


@pytest.fixture
def detail() -> dict[str, Any]:
    return copy.deepcopy(load_event("eventbridge_order_placed")["detail"])


def test_valid_order_is_normalized_with_money_as_strings(detail: dict[str, Any]) -> None:
    # Given a well-formed OrderPlaced detail with float and string prices
    # When it is validated
    result = validate_order(EVENT_ID, detail)
    # Then it is valid, keyed by its orderId, and money is carried as two-decimal strings
    assert result.valid is True
    assert result.reasons == []
    assert result.orderKey == "ord-1001"
    assert result.order is not None
    assert result.order.totalAmount == "24.98"
    assert [(line.sku, line.quantity, line.unitPrice) for line in result.order.items] == [
        ("SKU-1", 2, "9.99"),
        ("SKU-2", 1, "5.00"),
    ]
    assert result.order.contact == {"email": "ada@example.com", "phone": "+44 20 7946 0000"}
    assert result.eventId == EVENT_ID


def test_quantity_below_one_names_the_item_field(detail: dict[str, Any]) -> None:
    # Given an item with quantity 0
    detail["items"][0]["quantity"] = 0
    # When it is validated
    result = validate_order(EVENT_ID, detail)
    # Then the reason names the field path and pydantic's reason
    assert result.valid is False
    assert "items[0].quantity: Input should be greater than or equal to 1" in result.reasons
    assert result.order is None


def test_total_that_does_not_match_the_items_is_reported_on_total_amount() -> None:
    # Given a single item of 2 x 9.99 with a total of 10
    detail = copy.deepcopy(load_event("eventbridge_order_placed")["detail"])
    detail["items"] = [{"sku": "SKU-1", "quantity": 2, "unitPrice": "9.99"}]
    detail["totalAmount"] = 10
    # When it is validated
    result = validate_order(EVENT_ID, detail)
    # Then the model rule's message is attributed to totalAmount
    assert result.reasons == ["totalAmount: totalAmount 10 does not equal the sum of the items (19.98)"]
    assert result.reason == result.reasons[0]
    # And the order is still keyed by its (valid) orderId
    assert result.orderKey == "ord-1001"


def test_missing_detail_is_a_reason_not_an_exception() -> None:
    # Given an event without detail
    # When it is validated
    result = validate_order(EVENT_ID, MISSING)
    # Then the order is rejected under a key derived from the event id
    assert result.valid is False
    assert result.reasons == ["detail: missing"]
    assert result.orderKey == f"rejected-{EVENT_ID}"
    assert result.rawDetail == "null"


def test_several_errors_are_all_listed_and_joined(detail: dict[str, Any]) -> None:
    # Given an order with a bad currency, an unknown field and a duplicated sku
    detail["currency"] = "euro"
    detail["coupon"] = "FREE"
    # When it is validated
    result = validate_order(EVENT_ID, detail)
    # Then each problem has its own field-named reason, and reason joins them
    assert "currency: String should match pattern '^[A-Z]{3}$'" in result.reasons
    assert "coupon: Extra inputs are not permitted" in result.reasons
    assert result.reason == "; ".join(result.reasons)


def test_duplicate_sku_rule_is_attributed_to_items(detail: dict[str, Any]) -> None:
    # Given the same sku on two lines (with a matching total)
    detail["items"] = [
        {"sku": "SKU-1", "quantity": 1, "unitPrice": "1.00"},
        {"sku": "SKU-1", "quantity": 1, "unitPrice": "1.00"},
    ]
    detail["totalAmount"] = "2.00"
    # When it is validated
    result = validate_order(EVENT_ID, detail)
    # Then
    assert result.reasons == ["items: items must list each sku once"]


def test_invalid_order_id_gets_a_rejected_key(detail: dict[str, Any]) -> None:
    # Given an orderId with characters an identifier may not have
    detail["orderId"] = "ord 1/2"
    # When it is validated
    result = validate_order(EVENT_ID, detail)
    # Then the key is derived from the event id, and the reason names orderId
    assert result.orderKey == f"rejected-{EVENT_ID}"
    assert any(reason.startswith("orderId: ") for reason in result.reasons)


def test_order_without_contact_is_normalized_without_one(detail: dict[str, Any]) -> None:
    # Given a well-formed order whose customer left no contact details (the field is optional)
    del detail["contact"]
    # When it is validated
    result = validate_order(EVENT_ID, detail)
    # Then it is valid, and the normalized order has no contact rather than an empty one
    assert result.valid is True
    assert result.order is not None
    assert result.order.contact is None


@pytest.mark.parametrize(
    ("event_id", "key"),
    [
        ("evt:2025/11 #7.a_b-c", "rejected-evt2025117a_b-c"),
        ("e" * 30 + "f" * 30, "rejected-" + "e" * 30 + "f" * 18),
    ],
    ids=["characters-outside-the-key-alphabet", "longer-than-48"],
)
def test_rejected_order_key_keeps_the_event_ids_key_characters_up_to_48(event_id: str, key: str) -> None:
    # Given an event without a usable orderId, whose id has characters a key may not have, or is long
    # When it is validated
    result = validate_order(event_id, {"orderId": "not/an id"})
    # Then the key is the event id's key characters, in order, at most 48 of them
    assert result.orderKey == key


@pytest.mark.parametrize(
    "weird_detail",
    [
        None,
        "a string",
        42,
        [],
        [1, 2],
        {},
        {"items": "none"},
        {"orderId": None},
        {"totalAmount": "NaN"},
        True,
    ],
)
def test_any_json_value_yields_a_result(weird_detail: Any) -> None:
    # Given a detail that is not an order at all
    # When it is validated
    result = validate_order("", weird_detail)
    # Then a rejected result comes back with at least one reason and a usable key
    assert result.valid is False
    assert result.reasons
    assert result.orderKey.startswith("rejected-")
    assert len(result.orderKey) <= 64


def test_non_object_detail_is_reported_on_detail() -> None:
    # Given a detail that is a list
    # When it is validated
    result = validate_order(EVENT_ID, [1])
    # Then the reason is about the detail itself
    assert result.reasons[0].startswith("detail: Input should be a valid dictionary")
