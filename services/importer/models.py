"""What the importer reads (an S3 object), what it decides per order, and the report it writes."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from services.shared.settings import ServiceSettings

REPORT_PREFIX = "processed/"
INCOMING_PREFIX = "incoming/"
REPORT_SUFFIX = ".report.json"
PROGRESS_SUFFIX = ".progress.json"
SEGMENTS_SUFFIX = ".segments"
LIST_EXECUTIONS_MAX_RESULTS = 1000  # ListExecutions' largest page: the running-orders ceiling stays below it


def report_key(key: str, suffix: str = REPORT_SUFFIX) -> str:
    """``incoming/a/b.jsonl`` -> ``processed/a/b.jsonl.report.json``."""
    return f"{REPORT_PREFIX}{key.removeprefix(INCOMING_PREFIX)}{suffix}"


class ImporterSettings(ServiceSettings):
    event_bus_name: str = Field(alias="EVENT_BUS_NAME")
    orders_table: str = Field(alias="ORDERS_TABLE")
    import_queue_url: str = Field(alias="IMPORT_QUEUE_URL")
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE")
    orders_per_second: float = Field(alias="IMPORT_ORDERS_PER_SECOND", gt=0)
    max_queue_backlog: int = Field(alias="IMPORT_MAX_QUEUE_BACKLOG", ge=0)
    # Comma-separated URLs of the workflow's callback queues whose backlog holds the import back.
    backlog_queue_urls: str = Field(default="", alias="BACKLOG_QUEUE_URLS")
    # The order workflow whose running executions hold the import back (none: no such limit).
    order_state_machine_arn: str = Field(default="", alias="ORDER_STATE_MACHINE_ARN")
    max_running_orders: int = Field(alias="IMPORT_MAX_RUNNING_ORDERS", ge=0, lt=LIST_EXECUTIONS_MAX_RESULTS)

    @property
    def backlog_queues(self) -> list[str]:
        return [url for url in self.backlog_queue_urls.split(",") if url]


class ImportSource(BaseModel):
    """One uploaded object version: what a report is about."""

    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str
    versionId: str | None = None  # noqa: N815 - wire format
    size: int | None = None


class FileFormat(StrEnum):
    JSON_ARRAY = "json-array"
    JSON_LINES = "json-lines"


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # valid, and now on the orders bus
    KNOWN = "known"  # valid, but the workflow already recorded this orderId: not sent again
    REJECTED = "rejected"  # invalid, too large, or could not be published: see ``reasons``


class FileStatus(StrEnum):
    COMPLETED = "completed"  # every order read, each one accepted, known or rejected
    INCOMPLETE = "incomplete"  # a JSON array broke off: the orders before the break are reported
    REJECTED = "rejected"  # nothing in the file could be read as an order


class OrderOutcome(BaseModel):
    """One order of the file. ``line`` is where it starts (1-based); ``item`` its index in a JSON array."""

    model_config = ConfigDict(frozen=True)

    line: int
    item: int | None = None
    orderId: str | None = None  # noqa: N815 - wire format
    outcome: Outcome
    reasons: list[str] = Field(default_factory=list)


class ImportTotals(BaseModel):
    orders: int = 0
    accepted: int = 0
    known: int = 0
    rejected: int = 0

    def count(self, outcome: Outcome) -> None:
        self.orders += 1
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)


class ImportSummary(BaseModel):
    """The report without its per-order entries: what the report ends with, and its object metadata."""

    source: ImportSource
    format: FileFormat | None
    status: FileStatus
    totals: ImportTotals
    error: str | None = None
    bytesRead: int = 0  # noqa: N815 - wire format


class ImportProgress(BaseModel):
    """Written while a file is imported, so an uploader can show how far it got."""

    source: ImportSource
    bytesRead: int  # noqa: N815 - wire format
    totals: ImportTotals


class ImportCheckpoint(BaseModel):
    """Where a file's import stands when one invocation hands it on to the next (segment 0: the start).

    JSON Lines resume at a line boundary (``offset``, ``line``); a JSON array is read again from its start
    and its first ``skip`` items, decided before, are passed over. ``totals`` count every order before it.
    """

    source: ImportSource
    segment: int = Field(default=0, ge=0)
    offset: int = Field(default=0, ge=0)
    line: int = Field(default=1, ge=1)
    skip: int = Field(default=0, ge=0)
    format: FileFormat | None = None
    readable: bool = False
    totals: ImportTotals = Field(default_factory=ImportTotals)


class ImportContinuation(BaseModel):
    """The import queue message with which a paused import asks for its next segment."""

    importContinuation: ImportCheckpoint  # noqa: N815 - wire format


class SegmentDone(BaseModel):
    """What the idempotency table keeps for a finished segment: a redelivered message replays it."""

    segment: int
    paused: bool
    totals: ImportTotals
