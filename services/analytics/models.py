"""Analytics settings and the aggregate updates one lifecycle event causes."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from services.shared.messages import LifecycleEvent
from services.shared.settings import ServiceSettings

__all__ = ["AggregateIncrement", "AnalyticsSettings", "LifecycleEvent"]


class AnalyticsSettings(ServiceSettings):
    analytics_table: str = Field(alias="ANALYTICS_TABLE")
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE")


class AggregateIncrement(BaseModel):
    """Add ``count`` (and ``amount``) to the aggregate row ``pk``/``sk``."""

    model_config = ConfigDict(frozen=True)

    pk: str
    sk: str
    count: int = 1
    amount: Decimal | None = None
