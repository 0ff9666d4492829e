"""Shipping messages, shipments and settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.shared.messages import ShippingRequest
from services.shared.settings import ServiceSettings

__all__ = ["Shipment", "ShippingRequest", "ShippingSettings"]


class ShippingSettings(ServiceSettings):
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE")


class Shipment(BaseModel):
    """A booked shipment; also the answer to a ship request."""

    model_config = ConfigDict(frozen=True)

    shipmentId: str  # noqa: N815 - wire format
    trackingNumber: str  # noqa: N815
    carrier: str
