"""Recent order-file imports and their reports, read from the imports bucket as any S3 client would."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ijson
from botocore.exceptions import ClientError

from localaws.console.readers import iso
from services.importer.models import REPORT_PREFIX, REPORT_SUFFIX

if TYPE_CHECKING:
    from infra.naming import Names

RECENT_IMPORTS = 20
# A report can hold a whole file's orders: the page shows the first ones not simply accepted.
SHOWN_OUTCOMES = 200


def imports_bucket(sts: Any, s3: Any, names: Names) -> str:
    return names.import_bucket(sts.get_caller_identity()["Account"], s3.meta.region_name)


def recent_imports(s3: Any, bucket: str, *, limit: int = RECENT_IMPORTS) -> list[dict[str, Any]]:
    """The latest reports, newest first, with the totals their metadata carries (no report is read)."""
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=REPORT_PREFIX)
        reports = [o for page in pages for o in page.get("Contents", []) if o["Key"].endswith(REPORT_SUFFIX)]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            return []
        raise
    reports.sort(key=lambda o: o["LastModified"], reverse=True)
    rows = []
    for listed in reports[:limit]:
        metadata = s3.head_object(Bucket=bucket, Key=listed["Key"]).get("Metadata", {})
        rows.append(
            {
                "report": listed["Key"],
                "file": "incoming/" + listed["Key"].removeprefix(REPORT_PREFIX).removesuffix(REPORT_SUFFIX),
                "status": metadata.get("status", ""),
                "updated": iso(listed["LastModified"]),
                "totals": {k: int(metadata.get(k, 0)) for k in ("orders", "accepted", "known", "rejected")},
            }
        )
    return rows


def import_report(s3: Any, bucket: str, key: str, *, limit: int = SHOWN_OUTCOMES) -> dict[str, Any]:
    """A report's summary and its first ``limit`` orders not simply accepted, read as a stream."""
    if not (key.startswith(REPORT_PREFIX) and key.endswith(REPORT_SUFFIX)):
        raise ValueError(f"{key}: not an import report")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    summary: dict[str, Any] = {"report": key, "orders": []}
    builder: ijson.ObjectBuilder | None = None
    for prefix, event, value in ijson.parse(body, use_float=True):
        if prefix == "orders.item":
            if event == "start_map":
                builder = ijson.ObjectBuilder()
            if builder is not None:
                builder.event(event, value)
            if event == "end_map" and builder is not None:
                outcome = builder.value
                if outcome.get("outcome") != "accepted" and len(summary["orders"]) < limit:
                    summary["orders"].append(outcome)
                builder = None
        elif prefix.startswith("orders.item.") and builder is not None:
            builder.event(event, value)
        elif prefix in ("status", "error", "format") and event in ("string", "null"):
            summary[prefix] = value
        elif prefix.startswith("totals.") and event == "number":
            summary.setdefault("totals", {})[prefix.removeprefix("totals.")] = int(value)
        elif prefix.startswith("source.") and event in ("string", "number"):
            summary.setdefault("source", {})[prefix.removeprefix("source.")] = value
    return summary
