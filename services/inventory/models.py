"""Inventory messages, reservations and settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.shared.messages import InventoryRequest
from services.shared.settings import ServiceSettings

__all__ = ["InventoryRequest", "InventorySettings", "LowStockAlert", "ReleaseResult", "Reservation"]


class InventorySettings(ServiceSettings):
    inventory_table: str = Field(alias="INVENTORY_TABLE")
    alerts_topic_arn: str = Field(alias="INVENTORY_ALERTS_TOPIC_ARN")
    low_stock_threshold: int = Field(default=10, ge=0, alias="LOW_STOCK_THRESHOLD")
    reservation_ttl_seconds: int = Field(default=3600, ge=60, alias="RESERVATION_TTL_SECONDS")


class Reservation(BaseModel):
    """Stock held for one order line; also the answer to a reserve request."""

    model_config = ConfigDict(frozen=True)

    sku: str
    quantity: int
    reservationId: str  # noqa: N815 - wire format
    expiresAt: int  # noqa: N815 - epoch seconds


class ReleaseResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    released: int


class LowStockAlert(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    available: int
    threshold: int
    orderId: str  # noqa: N815 - the reservation that crossed the threshold
