"""Payment messages, ledger entries and what the service answers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from services.shared.messages import PaymentRequest
from services.shared.settings import ServiceSettings

__all__ = [
    "PROVIDER_TABLE_VARIABLE",
    "Captured",
    "ChargeAnswer",
    "ChargeOutcome",
    "ChargePending",
    "ChargeResult",
    "Declined",
    "LedgerEntry",
    "PaymentNotification",
    "PaymentRequest",
    "PaymentSettings",
    "RefundResult",
]


# The bundled payment provider's own statement table (its dashboard); optional, in memory without it.
PROVIDER_TABLE_VARIABLE = "PAYMENT_PROVIDER_TABLE"


class PaymentSettings(ServiceSettings):
    ledger_table: str = Field(alias="LEDGER_TABLE")
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE")
    payment_topic_arn: str = Field(alias="PAYMENT_TOPIC_ARN")


class LedgerEntry(BaseModel):
    """One row of the payments ledger: the order's charge (``CHARGE``), its refund (``REFUND``), or ``VOID``:
    the workflow compensated the order before any charge was recorded, so none may be taken any more."""

    model_config = ConfigDict(frozen=True)

    orderId: str  # noqa: N815 - stored attribute name
    entryId: Literal["CHARGE", "REFUND", "VOID"]  # noqa: N815
    reference: str  # provider's payment or refund id
    amount: str
    currency: str
    createdAt: str  # noqa: N815
    # The delivery of the payment request that wrote the entry (SQS ApproximateReceiveCount): a charge that
    # needed redeliveries after transient provider failures says so. None where no delivery count applies.
    attempt: int | None = None


class ChargeResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    paymentId: str  # noqa: N815 - wire format
    status: Literal["CAPTURED"] = "CAPTURED"
    amount: str
    currency: str


class Captured(BaseModel):
    """The order is charged; ``result`` is what the workflow gets."""

    model_config = ConfigDict(frozen=True)

    outcome: Literal["captured"] = "captured"
    result: ChargeResult
    # Whether this call recorded the charge, for its metrics. Not stored: a replayed answer recorded nothing.
    first_time: bool = Field(default=False, exclude=True)


class Declined(BaseModel):
    """The issuer refused the card (the provider's answer, and then the charge's)."""

    model_config = ConfigDict(frozen=True)

    outcome: Literal["declined"] = "declined"
    reason: str


class ChargePending(BaseModel):
    """No answer from the provider: nothing to tell the workflow."""

    model_config = ConfigDict(frozen=True)

    outcome: Literal["pending"] = "pending"


ChargeOutcome = Captured | Declined | ChargePending


class ChargeAnswer(RootModel[Annotated[ChargeOutcome, Field(discriminator="outcome")]]):
    """A charge's outcome as the idempotency table keeps it, replayed to a redelivered request.

    Its JSON (``{"outcome": "captured", "result": {...}}``, ``{"outcome": "declined", "reason": ...}``,
    ``{"outcome": "pending"}``) is the format already stored: answers kept before a deploy still read back.
    """

    model_config = ConfigDict(frozen=True)


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
