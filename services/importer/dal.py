"""The import bucket (S3), the orders bus (EventBridge) and the orders table (DynamoDB)."""

from __future__ import annotations

import tempfile
import time
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from services.importer.logic import PublishCallError, Readable
from services.importer.models import (
    PROGRESS_SUFFIX,
    ImportProgress,
    ImportSource,
    ImportSummary,
    ImportTotals,
    report_key,
)
from services.shared import aws

# Reports up to this size stay in memory while they are written; larger ones spill to /tmp.
REPORT_SPOOL_BYTES = 8 * 1024 * 1024
PROGRESS_EVERY_SECONDS = 1.0


def open_object(source: ImportSource) -> Readable:
    """The object version's body as a stream: read in chunks, never whole."""
    kwargs: dict[str, Any] = {"Bucket": source.bucket, "Key": source.key}
    if source.versionId:
        kwargs["VersionId"] = source.versionId
    return aws.s3().get_object(**kwargs)["Body"]


def report_file() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=REPORT_SPOOL_BYTES)


def save_report(source: ImportSource, report: IO[bytes], summary: ImportSummary) -> str:
    """Upload the report; its totals are in the object's metadata too, so lists need not read it."""
    key = report_key(source.key)
    report.seek(0)
    aws.s3().upload_fileobj(
        report,
        source.bucket,
        key,
        ExtraArgs={
            "ContentType": "application/json",
            "Metadata": {
                "status": summary.status.value,
                "source-version": source.versionId or "",
                **{name: str(value) for name, value in summary.totals.model_dump().items()},
            },
        },
    )
    return key


class ProgressWriter:
    """Writes ``processed/<key>.progress.json`` at most once a second while a file is imported."""

    def __init__(self, source: ImportSource) -> None:
        self._source = source
        self._last = 0.0

    def __call__(self, bytes_read: int, totals: ImportTotals) -> None:
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY_SECONDS:
            return
        self._last = now
        progress = ImportProgress(source=self._source, bytesRead=bytes_read, totals=totals)
        aws.s3().put_object(
            Bucket=self._source.bucket,
            Key=report_key(self._source.key, PROGRESS_SUFFIX),
            Body=progress.model_dump_json().encode(),
            ContentType="application/json",
        )


class EventBridgeOrderBus:
    def put(self, entries: list[dict[str, Any]]) -> list[str | None]:
        try:
            response = aws.events().put_events(Entries=entries)  # type: ignore[arg-type]
        except (BotoCoreError, ClientError) as exc:
            # Retried with the entries' backoff, like a partial failure, instead of failing the whole file.
            raise PublishCallError(f"PutEvents failed: {exc}") from exc
        results: list[str | None] = []
        for result in response["Entries"]:
            code = result.get("ErrorCode")
            results.append(None if not code else f"{code}: {result.get('ErrorMessage', '')}".rstrip(": "))
        return results


class DynamoDBKnownOrders:
    """Order ids already recorded in the orders table (by the workflow's Record Order step)."""

    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def known(self, order_ids: list[str]) -> set[str]:
        found: set[str] = set()
        request: dict[str, Any] = {
            self._table: {
                "Keys": [{"orderId": {"S": order_id}} for order_id in dict.fromkeys(order_ids)],
                "ProjectionExpression": "orderId",
            }
        }
        pause = 0.05
        while request.get(self._table, {}).get("Keys"):  # UnprocessedKeys: what is left to read
            response = aws.dynamodb().batch_get_item(RequestItems=request)
            found.update(item["orderId"]["S"] for item in response["Responses"].get(self._table, []))
            request = dict(response.get("UnprocessedKeys") or {})
            if request:
                time.sleep(pause)
                pause = min(pause * 2, 2.0)
        return found
