"""What the orders function answers to the workflow."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class OrderLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    quantity: int
    unitPrice: str  # noqa: N815 - wire format


class NormalizedOrder(BaseModel):
    """A valid order with money as decimal strings (``"19.98"``), which JSON and ASL carry without loss."""

    model_config = ConfigDict(frozen=True)

    orderId: str  # noqa: N815 - wire format
    customerId: str  # noqa: N815
    currency: str
    items: list[OrderLine]
    totalAmount: str  # noqa: N815
    priority: bool
    payment: dict[str, str]
    shippingAddress: dict[str, str]  # noqa: N815
    contact: dict[str, str] | None


class ValidationResult(BaseModel):
    """The answer for one event: never an exception, bad input is a ``valid: false`` result with reasons."""

    model_config = ConfigDict(frozen=True)

    valid: bool
    orderKey: str  # noqa: N815 - wire format
    order: NormalizedOrder | None
    reasons: list[str]
    reason: str
    rawDetail: str  # noqa: N815
    eventId: str  # noqa: N815

    def to_output(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
