"""Messages the workflow sends to the services, and what the services answer.

The workflow builds these bodies in ASL (``workflows/order_workflow.py``) and each service parses them with
these models, so a field renamed on one side fails the contract tests on the other.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.shared.contract import Identifier, Payment, ShippingAddress


class _TaskRequest(BaseModel):
    """A request that carries a Step Functions task token to answer with."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    taskToken: str = Field(min_length=1)  # noqa: N815 - wire format
    orderId: Identifier  # noqa: N815


class PaymentRequest(_TaskRequest):
    action: Literal["charge", "refund"]
    customerId: str  # noqa: N815
    amount: Decimal = Field(ge=0)
    currency: str
    payment: Payment


class InventoryRequest(_TaskRequest):
    action: Literal["reserve", "release"]
    sku: Identifier
    quantity: int = Field(ge=1)


class ShippingItem(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    sku: Identifier
    quantity: int = Field(ge=1)


class ShippingRequest(_TaskRequest):
    action: Literal["ship"]
    items: list[ShippingItem] = Field(min_length=1)
    shippingAddress: ShippingAddress  # noqa: N815


class ShippingCancelRequest(_TaskRequest):
    """The saga's undo of a ship request: the order was cancelled, so its shipment must not stand."""

    action: Literal["cancel"]


class StatusNotice(BaseModel):
    """What the workflow publishes to the ``order-status`` topic at each milestone.

    The publish also carries the message attributes ``status`` (String) and ``orderValue`` (Number), which
    the notification queue's subscription filters on.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    orderId: str  # noqa: N815
    status: str
    customerId: str | None = None  # noqa: N815
    orderValue: Decimal | None = None  # noqa: N815
    currency: str | None = None
    contact: dict[str, str] | None = None
    reason: str | None = None


class LifecycleEvent(BaseModel):
    """A record on the ``order-analytics`` stream (partition key: orderId)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    orderId: str  # noqa: N815
    status: str
    amount: Decimal = Decimal("0")
    currency: str | None = None
    at: str  # ISO 8601 time of the state entry, from $$.State.EnteredTime


# Error names a service answers with SendTaskFailure; the workflow's Catch clauses match on them.
PAYMENT_DECLINED = "PaymentDeclined"
OUT_OF_STOCK = "OutOfStock"
SHIPMENT_REJECTED = "ShipmentRejected"
