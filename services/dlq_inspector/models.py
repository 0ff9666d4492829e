"""Alarm notifications, dead letters and the report the inspector publishes."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.shared.settings import ServiceSettings

REPORT_KIND: Final = "dlq-report"

Verdict = Literal[
    "malformed-json", "contract-violation", "exhausted-retries", "undeliverable-event", "unknown"
]


class InspectorSettings(ServiceSettings):
    system_alerts_topic_arn: str = Field(alias="SYSTEM_ALERTS_TOPIC_ARN")
    # Where an order event that could never reach the workflow is recorded as rejected.
    orders_table: str | None = Field(default=None, alias="ORDERS_TABLE")
    order_events_dlq: str | None = Field(default=None, alias="ORDER_EVENTS_DLQ")


class DeadLetter(BaseModel):
    """A message peeked from a dead-letter queue (left in place)."""

    model_config = ConfigDict(frozen=True)

    messageId: str  # noqa: N815 - SQS name
    body: str
    receiveCount: int | None = None  # noqa: N815
    sentAt: str | None = None  # noqa: N815
    attributes: dict[str, str] = Field(default_factory=dict)
    receiptHandle: str | None = None  # noqa: N815 - SQS name; to delete a letter that was acted on


class Diagnosis(BaseModel):
    model_config = ConfigDict(frozen=True)

    messageId: str  # noqa: N815 - wire format
    verdict: Verdict
    detail: str
    retryable: bool
    orderId: str | None = None  # noqa: N815
    action: str | None = None
    receiveCount: int | None = None  # noqa: N815
    attributes: dict[str, str] = Field(default_factory=dict)
    # "REJECTED": the inspector recorded the order the letter stands for, and took the letter off the queue
    recordedAs: str | None = None  # noqa: N815


class DlqReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["dlq-report"] = "dlq-report"
    queue: str
    alarm: str
    inspectedAt: str  # noqa: N815
    sampled: int
    counts: dict[str, int]
    messages: list[Diagnosis]
