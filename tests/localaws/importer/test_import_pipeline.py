"""Order files through the real stack: S3 → import queue → importer → orders bus → workflow.

Each test uploads through the public S3 API (as `aws s3 cp` and boto3 do) and reads what a user can read:
the report in ``processed/``, the orders table, the executions, the DLQ and its alarm.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

from localaws.local_aws import LocalAws
from localaws.tools import cli
from localaws.tools.imports import wait_for_report
from localaws.tools.orders import sample
from services.importer.models import report_key
from tests.localaws.support import wait_for

TERMINAL_ORDER_STATUSES = {"COMPLETED", "CANCELLED", "REJECTED"}


def order(order_id: str, index: int = 0) -> dict[str, Any]:
    """A valid order of one unit, spread over the 20 stocked SKUs."""
    detail = sample("normal", order_id=order_id)
    detail["items"] = [{"sku": f"SKU-{index % 20 + 1}", "quantity": 1, "unitPrice": "9.99"}]
    detail["totalAmount"] = "9.99"
    return detail


def jsonl(details: list[Any]) -> bytes:
    return "".join((d if isinstance(d, str) else json.dumps(d)) + "\n" for d in details).encode()


def upload(
    local: LocalAws, bucket: str, key: str, body: bytes, *, timeout: float = 300, every: float = 0.5
) -> tuple[str, dict[str, Any]]:
    """Put the file and wait for its report; returns the version and the report."""
    s3 = local.client("s3")
    version = s3.put_object(Bucket=bucket, Key=key, Body=body)["VersionId"]
    wait_for_report(s3, bucket, key, version, timeout=timeout, every=every)
    report = json.loads(s3.get_object(Bucket=bucket, Key=report_key(key))["Body"].read())
    return version, report


def order_records(local: LocalAws, prefix: str) -> dict[str, str]:
    """orderId → status in the orders table, for the ids starting with ``prefix``."""
    dynamodb = local.client("dynamodb")
    found: dict[str, str] = {}
    for page in dynamodb.get_paginator("scan").paginate(
        TableName="orderflow-orders",
        FilterExpression="begins_with(orderId, :p)",
        ExpressionAttributeValues={":p": {"S": prefix}},
        ProjectionExpression="orderId, #s",
        ExpressionAttributeNames={"#s": "status"},
    ):
        for item in page["Items"]:
            found[item["orderId"]["S"]] = item["status"]["S"]
    return found


def executions(local: LocalAws) -> Iterator[dict[str, Any]]:
    sfn = local.client("stepfunctions")
    arn = local.report.outputs["orderflow-stack"]["StateMachineArn"]
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
        yield from page["executions"]


def wait_until_terminal(
    local: LocalAws, prefix: str, expected: set[str], timeout: float, every: float = 2.0
) -> dict[str, str]:
    def all_terminal() -> dict[str, str] | None:
        try:
            records = order_records(local, prefix)
        except (ReadTimeoutError, ConnectionClosedError):
            return None  # the endpoint is busy with these very orders: look again
        done = {k: v for k, v in records.items() if v in TERMINAL_ORDER_STATUSES}
        return records if set(done) == expected else None

    return dict(wait_for(all_terminal, timeout=timeout, every=every))


def test_a_mixed_file_reports_each_line_and_runs_each_valid_order(
    import_stack: LocalAws, import_bucket: str
) -> None:
    # Given a JSON Lines file with valid orders, a line that is not JSON and two orders the contract refuses
    wrong_total = {**order("mix-5"), "totalAmount": "1.00"}
    details: list[Any] = [order(f"mix-{i}", i) for i in range(5)]
    details += ["{not json", wrong_total, {**order("mix-6"), "currency": "euro"}, order("mix-7", 7)]

    # When it is uploaded to incoming/
    _, report = upload(import_stack, import_bucket, "incoming/mixed.jsonl", jsonl(details))

    # Then the report judges every line, with its number and the reason for each rejection
    assert report["status"] == "completed"
    assert report["totals"] == {"orders": 9, "accepted": 6, "known": 0, "rejected": 3}
    rejected = {o["line"]: o["reasons"] for o in report["orders"] if o["outcome"] == "rejected"}
    assert rejected[6] == ["line: not JSON (Expecting property name enclosed in double quotes at column 2)"]
    assert rejected[7] == ["totalAmount: totalAmount 1.00 does not equal the sum of the items (9.99)"]
    assert rejected[8][0].startswith("currency: String should match pattern")
    # And every valid order, and only those, ran to a terminal state in the workflow
    accepted = {o["orderId"] for o in report["orders"] if o["outcome"] == "accepted"}
    assert accepted == {*(f"mix-{i}" for i in range(5)), "mix-7"}
    assert set(wait_until_terminal(import_stack, "mix-", accepted, timeout=240)) == accepted


def test_a_json_array_is_read_item_by_item(import_stack: LocalAws, import_bucket: str) -> None:
    # Given a pretty-printed JSON array with one refused order
    items = [order(f"arr-{i}", i) for i in range(4)]
    items[2]["payment"] = {"method": "cheque", "token": "x"}
    body = json.dumps(items, indent=2).encode()

    # When it is uploaded
    _, report = upload(import_stack, import_bucket, "incoming/array.json", body)

    # Then each item is reported with its index and the line it starts on
    assert report["format"] == "json-array"
    positions = [(o["item"], o["line"], o["outcome"]) for o in report["orders"]]
    assert [p[0] for p in positions] == [1, 2, 3, 4]
    lines = body.decode().splitlines()
    for item, line, _ in positions:
        assert lines[line - 1].strip() == "{", (item, line)
    assert [p[2] for p in positions] == ["accepted", "accepted", "rejected", "accepted"]


def test_the_same_file_twice_creates_no_duplicate_orders(import_stack: LocalAws, import_bucket: str) -> None:
    # Given a file imported once, its orders recorded by the workflow
    body = jsonl([order(f"twice-{i}", i) for i in range(10)])
    _, first = upload(import_stack, import_bucket, "incoming/twice.jsonl", body)
    assert first["totals"]["accepted"] == 10
    ids = {f"twice-{i}" for i in range(10)}
    wait_until_terminal(import_stack, "twice-", ids, timeout=240)
    started = sum(1 for _ in executions(import_stack))

    # When the same file is uploaded again
    _, second = upload(import_stack, import_bucket, "incoming/twice.jsonl", body)

    # Then its report says every order was already known, nothing is published, no execution starts
    assert second["totals"] == {"orders": 10, "accepted": 0, "known": 10, "rejected": 0}
    assert {o["outcome"] for o in second["orders"]} == {"known"}
    time.sleep(2)
    assert sum(1 for _ in executions(import_stack)) == started
    assert set(order_records(import_stack, "twice-")) == ids


def test_a_malformed_file_ends_in_the_dlq_and_raises_the_alarm(
    import_stack: LocalAws, import_bucket: str
) -> None:
    # Given a file with nothing in it that reads as JSON, and the console's tap listening to every topic
    # (it subscribes when first asked, as when a console opens)
    key = "incoming/garbage.json"
    tap = import_stack.console.notifications
    tap.start()

    # When it is uploaded
    version, report = upload(import_stack, import_bucket, key, b"Invalid JSON content\n")

    # Then its report rejects the file whole
    assert report["status"] == "rejected"
    assert report["error"] == "no line of the file is JSON"
    # And after its three receives the notification is in the import DLQ, naming the object
    sqs = import_stack.client("sqs")
    dlq = sqs.get_queue_url(QueueName="orderflow-imports-dlq")["QueueUrl"]

    def dead_lettered() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return [m for m in messages.get("Messages", []) if version in m["Body"]]

    (message,) = wait_for(dead_lettered, timeout=120)
    record = json.loads(message["Body"])["Records"][0]
    assert record["s3"]["object"]["key"] == key
    # And its alarm fires, and its notification reaches system-alerts
    cloudwatch = import_stack.client("cloudwatch")

    def alarm_state() -> bool:
        alarms = cloudwatch.describe_alarms(AlarmNames=["orderflow-imports-dlq-not-empty"])["MetricAlarms"]
        return bool(alarms) and alarms[0]["StateValue"] == "ALARM"

    wait_for(alarm_state, timeout=120)

    def alert_seen() -> bool:
        alerts = [
            n for topic, ns in tap.recent().items() if topic.endswith(":orderflow-system-alerts") for n in ns
        ]
        return any("orderflow-imports-dlq-not-empty" in json.dumps(n) for n in alerts)

    wait_for(alert_seen, timeout=120)


def test_import_orders_prints_totals_and_fails_for_a_rejected_file(
    import_stack: LocalAws, import_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a good file and an unreadable one
    good = tmp_path / "cli-good.jsonl"
    good.write_bytes(jsonl([order("cli-1"), "not json", order("cli-2", 2)]))
    bad = tmp_path / "cli-bad.json"
    bad.write_bytes(b"\x00\x01 binary")
    endpoint = ["--endpoint-url", import_stack.endpoint_url]

    # When each is imported with the CLI
    good_status = cli.main(["import-orders", str(good), *endpoint])
    good_output = capsys.readouterr().out
    bad_status = cli.main(["import-orders", str(bad), *endpoint])
    bad_output = capsys.readouterr().out

    # Then the good one succeeds with its totals and the line it rejected; the unreadable one fails
    assert good_status == 0
    assert "completed" in good_output and "line 2: line: not JSON" in good_output
    assert bad_status == 1
    assert "rejected" in bad_output


@pytest.mark.soak
@pytest.mark.timeout(4 * 3600)
def test_ten_thousand_orders_all_reach_a_terminal_state(import_stack: LocalAws, import_bucket: str) -> None:
    # Given a 10,000-line file of valid orders, each for one unit of a stocked SKU
    count = 10_000
    body = jsonl([order(f"bulk-{i}", i) for i in range(count)])
    started = time.monotonic()

    # When it is uploaded
    # (the importer shares the one local process with the executions its first orders start, and paces
    # itself to them: it takes several invocations, each handing on to the next)
    # Polled slowly: each look is a request the same process must answer.
    _, report = upload(
        import_stack, import_bucket, "incoming/ten-thousand.jsonl", body, timeout=3 * 3600, every=5.0
    )
    imported = time.monotonic() - started

    # Then every line is accepted, and every order completes: none timed out waiting for a service
    assert report["totals"] == {"orders": count, "accepted": count, "known": 0, "rejected": 0}
    assert [o["line"] for o in report["orders"]] == list(range(1, count + 1))
    ids = {f"bulk-{i}" for i in range(count)}
    records = wait_until_terminal(import_stack, "bulk-", ids, timeout=3.5 * 3600, every=15.0)
    finished = time.monotonic() - started
    print(f"\n10,000 orders: report after {imported:.1f} s, all terminal after {finished:.1f} s")
    assert set(records) == ids
    not_completed = {k: v for k, v in records.items() if v != "COMPLETED"}
    assert not not_completed, cancel_reasons(import_stack, sorted(not_completed)[:20])


def cancel_reasons(local: LocalAws, order_ids: list[str]) -> dict[str, Any]:
    """Why these orders did not complete, as their records say."""
    dynamodb = local.client("dynamodb")
    reasons: dict[str, Any] = {}
    for order_id in order_ids:
        item = dynamodb.get_item(TableName="orderflow-orders", Key={"orderId": {"S": order_id}}).get(
            "Item", {}
        )
        reasons[order_id] = {k: v for k, v in item.items() if k in ("status", "cancelReason", "reason")}
    return reasons
