"""The public contract of orderflow: event names, order statuses and the ``OrderPlaced`` detail.

Everything here is defined once and imported by the services, the workflow, the infrastructure (which
publishes the JSON schema to the EventBridge Schema Registry) and the local runtime.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.shared.iso_codes import COUNTRY_CODES, CURRENCY_CODES

EVENT_SOURCE = "orderflow.orders"
ORDER_PLACED = "OrderPlaced"
ORDER_COMPLETED = "OrderCompleted"
ORDER_CANCELLED = "OrderCancelled"
SCHEMA_REGISTRY_NAME = "orderflow"


class OrderStatus(StrEnum):
    """The order record's status in the orders table."""

    RECEIVED = "RECEIVED"
    REJECTED = "REJECTED"
    PAID = "PAID"
    RESERVED = "RESERVED"
    SHIPPED = "SHIPPED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class Milestone(StrEnum):
    """Lifecycle milestones announced on the ``order-status`` topic and the analytics stream."""

    PLACED = "placed"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


# Payment tokens that the bundled deterministic provider treats specially, like card test numbers.
# Any other token approves.
TOKEN_APPROVE = "tok_visa"
TOKEN_DECLINE = "tok_decline"
TOKEN_TRANSIENT = "tok_transient"  # fails transiently twice, then approves
TOKEN_ALWAYS_TRANSIENT = "tok_unavailable"  # fails transiently on every attempt: ends in the payment DLQ
TOKEN_HANG = "tok_hang"  # never answers: the workflow's heartbeat timeout fires

# Destinations the bundled shipping carrier does not serve: a shipment there is rejected.
UNSERVED_COUNTRIES = frozenset({"AQ", "KP"})

# Characters that free text may not hold: they are invisible, or change how the text around them is shown
# (bidirectional embeddings, overrides and isolates, as in "Trojan Source" spoofing). Right-to-left letters
# are fine, and so are the marks that right-to-left text needs (LRM, RLM, ZWJ, ZWNJ).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _plain_text(value: str) -> str:
    for index, character in enumerate(value):
        code = ord(character)
        if code < 0x20 or 0x7F <= code < 0xA0:
            raise ValueError(f"control character U+{code:04X} at position {index}")
        if character in _BIDI_CONTROLS:
            raise ValueError(f"bidirectional control character U+{code:04X} at position {index}")
    return value


def _known(codes: frozenset[str], standard: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in codes:
            raise ValueError(f"{value} is not an {standard} code")
        return value

    return AfterValidator(check)


Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), _known(CURRENCY_CODES, "ISO 4217")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$"), _known(COUNTRY_CODES, "ISO 3166-1")]
NonBlank = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256, strip_whitespace=True),
    AfterValidator(_plain_text),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrderItem(_Strict):
    sku: Identifier
    quantity: int = Field(ge=1, le=10_000, strict=True)
    unitPrice: Decimal = Field(ge=0, max_digits=12, decimal_places=2)  # noqa: N815 - public field name


class Payment(_Strict):
    method: Literal["card", "paypal", "bank_transfer"]
    token: NonBlank


class ShippingAddress(_Strict):
    name: NonBlank
    line1: NonBlank
    line2: NonBlank | None = None
    city: NonBlank
    postalCode: NonBlank  # noqa: N815 - public field name
    country: CountryCode


class Contact(_Strict):
    # 254: the longest address SMTP can deliver to (RFC 5321).
    email: (
        Annotated[
            str,
            StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
            AfterValidator(_plain_text),
        ]
        | None
    ) = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{6,20}$")] | None = None


class OrderPlaced(_Strict):
    """The ``detail`` of an ``OrderPlaced`` event."""

    orderId: Identifier  # noqa: N815 - public field name
    customerId: NonBlank  # noqa: N815
    currency: CurrencyCode
    items: list[OrderItem] = Field(min_length=1, max_length=100)
    totalAmount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)  # noqa: N815
    priority: bool = False
    payment: Payment
    shippingAddress: ShippingAddress  # noqa: N815
    contact: Contact | None = None

    @model_validator(mode="after")
    def _total_matches_items(self) -> OrderPlaced:
        expected = sum((item.unitPrice * item.quantity for item in self.items), Decimal("0"))
        if self.totalAmount != expected:
            raise ValueError(
                f"totalAmount {self.totalAmount} does not equal the sum of the items ({expected})"
            )
        return self

    @model_validator(mode="after")
    def _one_line_per_sku(self) -> OrderPlaced:
        skus = [item.sku for item in self.items]
        if len(set(skus)) != len(skus):
            raise ValueError("items must list each sku once")
        return self


def order_placed_json_schema() -> dict[str, object]:
    """JSON Schema (draft 2020-12 compatible) of the ``OrderPlaced`` detail, for the Schema Registry."""
    return OrderPlaced.model_json_schema(mode="validation")
