"""The demo's order file: a few orders and a few bad lines through the imports bucket, then its report.

The file goes in as a partner's would (PutObject to ``incoming/``); the demo then reads the report in
``processed/`` and the orders table, and notes every way the import ended other than expected.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from infra.naming import Names
from localaws.tools import orders
from localaws.tools.imports import ImportOrdersError, wait_for_report
from services.importer.models import report_key

TERMINAL_ORDER_STATUSES = {"COMPLETED", "CANCELLED", "REJECTED"}


@dataclass
class ImportPlan:
    bucket: str
    key: str
    version: str
    valid: list[str]  # order ids that must be accepted and run
    invalid_lines: dict[int, str]  # line → the start of the reason the report must give


@dataclass
class ImportOutcome:
    file: str
    status: str | None = None
    totals: dict[str, int] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    order_statuses: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def post(local: Any, names: Names, run_id: str) -> ImportPlan:
    """Upload a JSON Lines file: three valid orders, a line that is not JSON, an order with a wrong total."""
    valid = [f"import-{run_id}-{n}" for n in (1, 2, 3)]
    wrong_total = {**orders.sample("normal", order_id=f"import-{run_id}-bad"), "totalAmount": "1.00"}
    lines = [
        json.dumps(orders.sample("normal", order_id=valid[0])),
        "{this line is not JSON",
        json.dumps(orders.sample("multi-sku", order_id=valid[1])),
        json.dumps(wrong_total),
        json.dumps(orders.sample("normal", order_id=valid[2])),
    ]
    bucket = names.import_bucket(local.account_id, local.region)
    key = f"incoming/demo-{run_id}.jsonl"
    version = local.client("s3").put_object(Bucket=bucket, Key=key, Body="\n".join(lines).encode())[
        "VersionId"
    ]
    return ImportPlan(bucket, key, version, valid, {2: "line: not JSON", 4: "totalAmount:"})


def finish(local: Any, plan: ImportPlan, *, timeout: float) -> ImportOutcome:
    """Wait for the report and for the accepted orders to end; check both against the plan."""
    outcome = ImportOutcome(file=f"s3://{plan.bucket}/{plan.key}")
    s3 = local.client("s3")
    deadline = time.monotonic() + timeout
    try:
        result = wait_for_report(s3, plan.bucket, plan.key, plan.version, timeout=timeout)
    except ImportOrdersError as exc:
        outcome.problems.append(str(exc))
        return outcome
    outcome.status, outcome.totals = result.status, result.totals
    report = json.loads(s3.get_object(Bucket=plan.bucket, Key=report_key(plan.key))["Body"].read())
    outcome.rejected = [o for o in report["orders"] if o["outcome"] == "rejected"]
    accepted = {o["orderId"] for o in report["orders"] if o["outcome"] == "accepted"}
    if accepted != set(plan.valid):
        outcome.problems.append(f"accepted {sorted(accepted)}, expected {plan.valid}")
    reasons = {o["line"]: "; ".join(o["reasons"]) for o in outcome.rejected}
    for line, reason in plan.invalid_lines.items():
        if not reasons.get(line, "").startswith(reason):
            outcome.problems.append(f"line {line}: reported {reasons.get(line)!r}, expected {reason!r}…")
    dynamodb = local.client("dynamodb")
    table = report_table(local)
    while time.monotonic() < deadline:
        outcome.order_statuses = {o: _status(dynamodb, table, o) for o in plan.valid}
        if all(s in TERMINAL_ORDER_STATUSES for s in outcome.order_statuses.values()):
            break
        time.sleep(0.5)
    else:
        outcome.problems.append(f"imported orders not finished: {outcome.order_statuses}")
    return outcome


def report_table(local: Any) -> str:
    return str(local.report.outputs[next(iter(local.report.outputs))]["OrdersTableName"])


def _status(dynamodb: Any, table: str, order_id: str) -> str:
    try:
        item = dynamodb.get_item(TableName=table, Key={"orderId": {"S": order_id}}).get("Item", {})
    except ClientError:
        return "UNKNOWN"
    return str(item.get("status", {}).get("S", "PENDING"))
