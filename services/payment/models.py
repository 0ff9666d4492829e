"""Payment messages, ledger entries and what the service answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.shared.messages import PaymentRequest
from services.shared.settings import ServiceSettings

__all__ = [
    "ChargeResult",
    "LedgerEntry",
    "PaymentNotification",
    "PaymentRequest",
    "PaymentSettings",
    "RefundResult",
]


class PaymentSettings(ServiceSettings):
    ledger_table: str = Field(alias="LEDGER_TABLE")
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE")
    payment_topic_arn: str = Field(alias="PAYMENT_TOPIC_ARN")


class LedgerEntry(BaseModel):
    """One row of the payments ledger: the order's charge (``CHARGE``) or its refund (``REFUND``)."""

    model_config = ConfigDict(frozen=True)

    orderId: str  # noqa: N815 - stored attribute name
    entryId: Literal["CHARGE", "REFUND"]  # noqa: N815
    reference: str  # provider's payment or refund id
    amount: str
    currency: str
    createdAt: str  # noqa: N815


class ChargeResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    paymentId: str  # noqa: N815 - wire format
    status: Literal["CAPTURED"] = "CAPTURED"
    amount: str
    currency: str


class RefundResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    refundId: str | None  # noqa: N815 - wire format
    status: Literal["REFUNDED", "NOTHING_TO_REFUND"]
    amount: str


class PaymentNotification(BaseModel):
    """Published to the payment-notifications topic for downstream consumers (finance, fraud, email)."""

    model_config = ConfigDict(frozen=True)

    orderId: str  # noqa: N815 - wire format
    customerId: str  # noqa: N815
    event: Literal["captured", "declined", "refunded"]
    amount: str
    currency: str
    reference: str | None = None
    reason: str | None = None
