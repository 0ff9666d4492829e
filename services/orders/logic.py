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

STATE_LIMIT_BYTES = 262_144
"""Step Functions' limit on a state's input or output (UTF-8 JSON): past it, ``States.DataLimitExceeded``."""
PER_ITEM_STATE_BYTES = 1_024
"""What each order line adds to the state at most: its reservation and its release, with their Map results."""
FIXED_STATE_BYTES = 65_536
"""What the rest of the workflow adds at most: the payment, shipment and refund answers, the announcement
(which repeats the contact), and a failure whose Cause may hold 32 KB."""
RAW_DETAIL_MAX_BYTES = 32_768
"""How much of a rejected event's detail its record keeps; the whole event stays in the bus's archive."""
MAX_REASONS = 20
REASON_MAX_CHARACTERS = 300

_CENTS = Decimal("0.01")
_IDENTIFIER = TypeAdapter(Identifier)
_NOT_KEY_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def validate_order(event_id: str, detail: Any) -> ValidationResult:
    """Check an ``OrderPlaced`` detail and say why it is unacceptable, or return it normalized.

    Never raises: any input, however large, deep or strange, gets a verdict small enough to travel through
    the workflow and be recorded.
    """
    raw_detail = "null" if detail is MISSING else _raw(detail)
    order_key = _order_key(event_id, detail, raw_detail)
    if detail is MISSING:
        return _rejected(event_id, order_key, raw_detail, ["detail: missing"])
    try:
        order = OrderPlaced.model_validate(detail)
    except ValidationError as exc:
        return _rejected(event_id, order_key, raw_detail, describe_errors(exc))
    except RecursionError:
        return _rejected(event_id, order_key, raw_detail, ["detail: nested too deeply to read"])
    accepted = ValidationResult(
        valid=True,
        orderKey=order_key,
        order=normalize(order),
        reasons=[],
        reason="",
        rawDetail=raw_detail,
        eventId=event_id,
    )
    projected = projected_state_bytes(accepted)
    if projected > STATE_LIMIT_BYTES:
        field, size = _largest_field(detail)
        return _rejected(
            event_id,
            order_key,
            raw_detail,
            [
                f"detail: the order would carry up to {projected} bytes of data through the workflow, over "
                f"the {STATE_LIMIT_BYTES} bytes Step Functions allows (largest field: {field}, {size} bytes)"
            ],
        )
    return accepted


def rejection(event_id: str, detail: Any, reasons: list[str]) -> ValidationResult:
    """The verdict for an event rejected before the workflow (it never reached it), keyed as in validation."""
    raw_detail = _raw(detail)
    return _rejected(event_id, _order_key(event_id, detail, raw_detail), raw_detail, reasons)


def projected_state_bytes(result: ValidationResult) -> int:
    """The most data an execution of this order holds in one state, as UTF-8 JSON (an upper bound).

    The state is the validation (the workflow keeps nothing else of the event), plus what the services
    answer along the way, the largest being the per-item reservations and releases.
    """
    lines = len(result.order.items) if result.order is not None else 0
    return _json_bytes({"validation": result.to_output()}) + lines * PER_ITEM_STATE_BYTES + FIXED_STATE_BYTES


def describe_errors(exc: ValidationError) -> list[str]:
    """``<field path>: <reason>`` for each error, e.g. ``items[0].quantity: Input should be ...``.

    At most ``MAX_REASONS`` of them, each at most ``REASON_MAX_CHARACTERS`` long (a field name is input too),
    then one that counts the rest.
    """
    reasons = []
    described = shared_describe_errors(exc, root="")
    for reason in described[:MAX_REASONS]:
        path, message = reason.split(": ", 1)
        if not path:
            # Whole-model rules name the field they are about first ("totalAmount 10 does not equal ...").
            first_word = message.split(" ", 1)[0]
            path = first_word if first_word in OrderPlaced.model_fields else "detail"
        reasons.append(_shorten(f"{path}: {message}", REASON_MAX_CHARACTERS))
    if len(described) > MAX_REASONS:
        reasons.append(f"detail: and {len(described) - MAX_REASONS} more problems")
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


def _raw(detail: Any) -> str:
    """The detail as JSON text that is valid Unicode (unpaired surrogates escaped), for the order's record."""
    try:
        raw = json.dumps(detail, default=str, ensure_ascii=False)
    except (RecursionError, ValueError):
        return "null"
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raw = json.dumps(detail, default=str)
    return raw


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _truncated(raw_detail: str) -> str:
    """A rejected detail cut to ``RAW_DETAIL_MAX_BYTES`` (on a character boundary), saying that it was."""
    encoded = raw_detail.encode("utf-8")
    if len(encoded) <= RAW_DETAIL_MAX_BYTES:
        return raw_detail
    kept = encoded[:RAW_DETAIL_MAX_BYTES].decode("utf-8", errors="ignore")
    return f"{kept}… [truncated: {len(encoded)} bytes in all; the whole event is in the bus archive]"


def _largest_field(detail: Any) -> tuple[str, int]:
    sizes = {name: _json_bytes(value) for name, value in detail.items()} if isinstance(detail, dict) else {}
    if not sizes:
        return "detail", _json_bytes(detail)
    name = max(sizes, key=lambda key: sizes[key])
    return name, sizes[name]


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
        rawDetail=_truncated(raw_detail),
        eventId=event_id,
    )
