"""``orderflow import-orders FILE``: upload an order file to the imports bucket and wait for its report.

The file goes to ``incoming/<its name>``; S3 notifies the import queue and the importer writes
``processed/<its name>.report.json``. The report that belongs to this upload is the one whose
``source-version`` metadata is the uploaded object's version (the bucket is versioned, and the same name
may be imported again). While waiting, the importer's ``.progress.json`` drives the progress bar.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ijson
from botocore.exceptions import BotoCoreError, ClientError, ConnectionClosedError, ReadTimeoutError
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from infra.naming import Names, configured_prefix
from services.importer.models import INCOMING_PREFIX, PROGRESS_SUFFIX, FileStatus, report_key

IMPORT_SUFFIXES = (".json", ".jsonl")
DEFAULT_TIMEOUT_SECONDS = 900.0
POLL_SECONDS = 0.5
SHOWN_REJECTIONS = 20

console = Console(soft_wrap=True)


class ImportOrdersError(Exception):
    """The file could not be uploaded, or no report came in time: said in one line."""


@dataclass(frozen=True)
class ImportResult:
    key: str
    version_id: str
    report_key: str
    status: str
    totals: dict[str, int]
    error: str | None


def import_bucket(sts: Any, region: str, names: Names) -> str:
    account = sts.get_caller_identity()["Account"]
    return names.import_bucket(account, region)


def upload(
    s3: Any, bucket: str, path: Path, *, on_bytes: Callable[[int], None] | None = None
) -> tuple[str, str]:
    """Upload ``path`` to ``incoming/<name>`` (multipart when large); returns the key and its version."""
    if path.suffix not in IMPORT_SUFFIXES:
        raise ImportOrdersError(f"{path.name}: only {' and '.join(IMPORT_SUFFIXES)} files are imported")
    key = f"{INCOMING_PREFIX}{path.name}"
    s3.upload_file(str(path), bucket, key, Callback=on_bytes)
    version = s3.head_object(Bucket=bucket, Key=key).get("VersionId")
    if not version or version == "null":
        raise ImportOrdersError(f"s3://{bucket} is not versioned: its reports cannot be told apart")
    return key, str(version)


def wait_for_report(
    s3: Any,
    bucket: str,
    key: str,
    version_id: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    on_progress: Callable[[int], None] | None = None,
    every: float = POLL_SECONDS,
) -> ImportResult:
    """Poll until the report for ``version_id`` of ``key`` is written; reports progress in bytes read."""
    deadline = time.monotonic() + timeout
    target = report_key(key)
    while time.monotonic() < deadline:
        try:
            head = s3.head_object(Bucket=bucket, Key=target)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey"):
                raise
            head = None
        except (ReadTimeoutError, ConnectionClosedError):
            head = None  # an endpoint busy with the import's own orders: ask again, until the deadline
        metadata = head.get("Metadata", {}) if head else {}
        if metadata.get("source-version") == version_id:
            return ImportResult(
                key=key,
                version_id=version_id,
                report_key=target,
                status=metadata.get("status", ""),
                totals={k: int(metadata.get(k, 0)) for k in ("orders", "accepted", "known", "rejected")},
                error=_report_error(s3, bucket, target)
                if metadata.get("status") != FileStatus.COMPLETED
                else None,
            )
        if on_progress is not None:
            on_progress(_bytes_read(s3, bucket, key, version_id))
        time.sleep(every)
    raise ImportOrdersError(
        f"no report for s3://{bucket}/{key} within {timeout:.0f} s (is the importer running?)"
    )


def _bytes_read(s3: Any, bucket: str, key: str, version_id: str) -> int:
    try:
        progress = json.loads(
            s3.get_object(Bucket=bucket, Key=report_key(key, PROGRESS_SUFFIX))["Body"].read()
        )
    except ClientError:
        return 0
    if progress.get("source", {}).get("versionId") != version_id:
        return 0
    return int(progress.get("bytesRead", 0))


def _report_error(s3: Any, bucket: str, key: str) -> str | None:
    # The error is in the report's last members; a rejected or broken file's report is short.
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    for prefix, event, value in ijson.parse(body):
        if prefix == "error" and event == "string":
            return str(value)
    return None


def rejections(s3: Any, bucket: str, key: str, limit: int = SHOWN_REJECTIONS) -> Iterator[dict[str, Any]]:
    """The report's rejected orders, streamed (a report can be large)."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    shown = 0
    for outcome in ijson.items(body, "orders.item"):
        if outcome.get("outcome") == "rejected":
            yield outcome
            shown += 1
            if shown >= limit:
                return


def _print_result(s3: Any, bucket: str, result: ImportResult) -> None:
    table = Table(title=f"s3://{bucket}/{result.key}: {result.status}")
    for column in ("orders", "accepted", "known", "rejected"):
        table.add_column(column, justify="right")
    table.add_row(*(str(result.totals[c]) for c in ("orders", "accepted", "known", "rejected")))
    console.print(table)
    if result.error:
        console.print(f"[bold red]{result.error}[/]")
    if result.totals["rejected"]:
        console.print(f"rejected (first {SHOWN_REJECTIONS}):")
        for outcome in rejections(s3, bucket, result.report_key):
            where = f"line {outcome['line']}" + (f", item {outcome['item']}" if "item" in outcome else "")
            console.print(f"  {where}: {'; '.join(outcome.get('reasons', []))}")
    console.print(f"report: s3://{bucket}/{result.report_key}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a JSON array or JSON Lines file of OrderPlaced details (.json, .jsonl)")
    parser.add_argument("--bucket", help="imports bucket (default: <prefix>-imports-<account>-<region>)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds to wait")


def main(args: argparse.Namespace, client: Callable[[str], Any]) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise ImportOrdersError(f"{path}: no such file")
    s3 = client("s3")
    try:
        bucket = args.bucket or import_bucket(client("sts"), s3.meta.region_name, Names(configured_prefix()))
        size = path.stat().st_size
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            uploading = progress.add_task("upload", total=size)
            key, version = upload(s3, bucket, path, on_bytes=lambda n: progress.advance(uploading, n))
            importing = progress.add_task("import", total=size)
            result = wait_for_report(
                s3,
                bucket,
                key,
                version,
                timeout=args.timeout,
                on_progress=lambda n: progress.update(importing, completed=n),
            )
            progress.update(importing, completed=size)
        _print_result(s3, bucket, result)
    except (BotoCoreError, ClientError) as exc:
        raise ImportOrdersError(f"import failed: {exc}") from exc
    return 1 if result.status == FileStatus.REJECTED else 0
