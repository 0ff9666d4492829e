"""The import bucket (S3), the orders bus (EventBridge) and the orders table (DynamoDB)."""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Iterator
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from services.importer.logic import PublishCallError, Readable
from services.importer.models import (
    LIST_EXECUTIONS_MAX_RESULTS,
    PROGRESS_SUFFIX,
    SEGMENTS_SUFFIX,
    ImportCheckpoint,
    ImportContinuation,
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


def open_object(source: ImportSource, offset: int = 0) -> Readable:
    """The object version's body as a stream from ``offset``: read in chunks, never whole."""
    kwargs: dict[str, Any] = {"Bucket": source.bucket, "Key": source.key}
    if source.versionId:
        kwargs["VersionId"] = source.versionId
    if offset:
        kwargs["Range"] = f"bytes={offset}-"
    try:
        return aws.s3().get_object(**kwargs)["Body"]
    except ClientError as exc:
        # A segment that paused after the file's last line: nothing is left to read.
        if offset and exc.response.get("Error", {}).get("Code") == "InvalidRange":
            return io.BytesIO(b"")
        raise


def segment_key(source: ImportSource, segment: int) -> str:
    """``processed/<file>.segments/<version>/<n>.jsonl``: one paused segment's outcomes."""
    return report_key(source.key, f"{SEGMENTS_SUFFIX}/{source.versionId or 'null'}/{segment:05d}.jsonl")


def save_segment(source: ImportSource, segment: int, outcomes: IO[bytes]) -> None:
    outcomes.seek(0)
    aws.s3().upload_fileobj(
        outcomes,
        source.bucket,
        segment_key(source, segment),
        ExtraArgs={"ContentType": "application/x-ndjson"},
    )


def saved_segments(source: ImportSource, count: int) -> Iterator[Iterator[bytes]]:
    """The outcome lines of segments ``0 .. count - 1``, each streamed, in order."""
    for segment in range(count):
        body = aws.s3().get_object(Bucket=source.bucket, Key=segment_key(source, segment))["Body"]
        yield body.iter_lines(chunk_size=64 * 1024)


def send_continuation(queue_url: str, checkpoint: ImportCheckpoint) -> None:
    body = ImportContinuation(importContinuation=checkpoint).model_dump_json()
    aws.sqs().send_message(QueueUrl=queue_url, MessageBody=body)


class SqsBacklog:
    """How many messages wait in the workflow's callback queues: the largest visible count among them."""

    def __init__(self, queue_urls: list[str]) -> None:
        self._queue_urls = queue_urls

    def count(self) -> int:
        most = 0
        for url in self._queue_urls:
            attributes = aws.sqs().get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            most = max(most, int(attributes.get("ApproximateNumberOfMessages", "0")))
        return most


class RunningOrders:
    """How many executions of the order workflow are running, counted up to one past ``ceiling``.

    One ListExecutions page of ``ceiling + 1`` answers "more than the ceiling?" without listing them all.
    """

    def __init__(self, state_machine_arn: str, ceiling: int) -> None:
        self._state_machine_arn = state_machine_arn
        self._page = min(ceiling + 1, LIST_EXECUTIONS_MAX_RESULTS)

    def count(self) -> int:
        page = aws.stepfunctions().list_executions(
            stateMachineArn=self._state_machine_arn, statusFilter="RUNNING", maxResults=self._page
        )
        return len(page["executions"])


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
