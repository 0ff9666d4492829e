"""Shipping messages, shipments, settings and what the service answers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from services.shared.messages import ShippingCancelRequest, ShippingRequest
from services.shared.settings import ServiceSettings

__all__ = [
    "Rejected",
    "Shipment",
    "ShipmentCancellation",
    "Shipped",
    "ShippingAnswer",
    "ShippingCancelRequest",
    "ShippingOutcome",
    "ShippingRequest",
    "ShippingSettings",
]


class ShippingSettings(ServiceSettings):
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE")
    shipments_table: str = Field(alias="SHIPMENTS_TABLE")


class Shipment(BaseModel):
    """A booked shipment; also the answer to a ship request."""

    model_config = ConfigDict(frozen=True)

    shipmentId: str  # noqa: N815 - wire format
    trackingNumber: str  # noqa: N815
    carrier: str


class Shipped(BaseModel):
    """The parcel is booked; ``shipment`` is what the workflow gets."""

    model_config = ConfigDict(frozen=True)

    outcome: Literal["shipped"] = "shipped"
    shipment: Shipment


class Rejected(BaseModel):
    """The carrier does not deliver to the address, so the order cannot ship."""

    model_config = ConfigDict(frozen=True)

    outcome: Literal["rejected"] = "rejected"
    reason: str


ShippingOutcome = Shipped | Rejected


class ShipmentCancellation(BaseModel):
    """The answer to a cancel request: whether a booked shipment was cancelled, or none was booked."""

    model_config = ConfigDict(frozen=True)

    status: Literal["CANCELLED", "NOTHING_TO_CANCEL"]
    shipmentId: str | None = None  # noqa: N815 - wire format


class ShippingAnswer(RootModel[Annotated[ShippingOutcome, Field(discriminator="outcome")]]):
    """A ship request's outcome as the idempotency table keeps it, replayed to a redelivered request.

    Its JSON (``{"outcome": "shipped", "shipment": {...}}``, ``{"outcome": "rejected", "reason": ...}``) is
    the format already stored: answers kept before a deploy still read back.
    """

    model_config = ConfigDict(frozen=True)
