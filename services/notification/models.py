"""Notification settings, deliveries and audit records."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.shared.messages import StatusNotice
from services.shared.settings import ServiceSettings

__all__ = ["Delivery", "NotificationRecord", "NotificationSettings", "StatusNotice"]


class NotificationSettings(ServiceSettings):
    notifications_table: str = Field(alias="NOTIFICATIONS_TABLE")
    channel: Literal["recording", "sns-sms"] = Field(default="recording", alias="NOTIFICATION_CHANNEL")


class Delivery(BaseModel):
    """What a channel did with one message."""

    model_config = ConfigDict(frozen=True)

    outcome: Literal["sent", "skipped"]
    recipient: str | None = None
    reason: str | None = None


class NotificationRecord(BaseModel):
    """One row of the notifications audit log."""

    model_config = ConfigDict(frozen=True)

    orderId: str  # noqa: N815 - stored attribute name
    notificationId: str  # noqa: N815
    status: str
    channel: str
    recipient: str | None
    sentAt: str  # noqa: N815
    outcome: Literal["sent", "skipped"]
    reason: str | None = None
