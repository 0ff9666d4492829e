"""Validation rules for an incoming order: the contract's ``OrderPlaced`` model, explained field by field."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from services.orders.models import NormalizedOrder, OrderLine, ValidationResult
from services.shared.contract import Identifier, OrderPlaced
from services.shared.validation import describe_errors as shared_describe_errors

MISSING: Any = object()
"""Marks an event without a ``detail`` member (distinct from ``"detail": null``)."""

_CENTS = Decimal("0.01")
_IDENTIFIER = TypeAdapter(Identifier)
_NOT_KEY_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def validate_order(event_id: str, detail: Any) -> ValidationResult:
    """Check an ``OrderPlaced`` detail and say why it is unacceptable, or return it normalized."""
    raw_detail = "null" if detail is MISSING else json.dumps(detail, default=str, ensure_ascii=False)
    order_key = _order_key(event_id, detail, raw_detail)
    if detail is MISSING:
        return _rejected(event_id, order_key, raw_detail, ["detail: missing"])
    try:
        order = OrderPlaced.model_validate(detail)
    except ValidationError as exc:
        return _rejected(event_id, order_key, raw_detail, describe_errors(exc))
    return ValidationResult(
        valid=True,
        orderKey=order_key,
        order=normalize(order),
        reasons=[],
        reason="",
        rawDetail=raw_detail,
        eventId=event_id,
    )


def describe_errors(exc: ValidationError) -> list[str]:
    """``<field path>: <reason>`` for each error, e.g. ``items[0].quantity: Input should be ...``."""
    reasons = []
    for reason in shared_describe_errors(exc, root=""):
        path, message = reason.split(": ", 1)
        if not path:
            # Whole-model rules name the field they are about first ("totalAmount 10 does not equal ...").
            first_word = message.split(" ", 1)[0]
            path = first_word if first_word in OrderPlaced.model_fields else "detail"
        reasons.append(f"{path}: {message}")
    return reasons


def normalize(order: OrderPlaced) -> NormalizedOrder:
    return NormalizedOrder(
        orderId=order.orderId,
        customerId=order.customerId,
        currency=order.currency,
        items=[
            OrderLine(sku=item.sku, quantity=item.quantity, unitPrice=money(item.unitPrice))
            for item in order.items
        ],
        totalAmount=money(order.totalAmount),
        priority=order.priority,
        payment=order.payment.model_dump(),
        shippingAddress=order.shippingAddress.model_dump(exclude_none=True),
        contact=order.contact.model_dump(exclude_none=True) if order.contact else None,
    )


def money(amount: Decimal) -> str:
    # The contract allows at most two decimal places, so quantizing only adds missing zeros.
    return str(amount.quantize(_CENTS))


def _order_key(event_id: str, detail: Any, raw_detail: str) -> str:
    order_id = detail.get("orderId") if isinstance(detail, dict) else None
    try:
        return _IDENTIFIER.validate_python(order_id)
    except ValidationError:
        pass
    # The key names the rejected order's record, so it must be a valid identifier too.
    suffix = _NOT_KEY_CHARS.sub("", event_id)[:48] or hashlib.sha256(raw_detail.encode()).hexdigest()[:32]
    return f"rejected-{suffix}"


def _rejected(event_id: str, order_key: str, raw_detail: str, reasons: list[str]) -> ValidationResult:
    return ValidationResult(
        valid=False,
        orderKey=order_key,
        order=None,
        reasons=reasons,
        reason="; ".join(reasons),
        rawDetail=raw_detail,
        eventId=event_id,
    )
