"""Conditional writes racing on one key: with the corrections in, exactly one of them wins, as on DynamoDB.

This is what the workflow's Record Order step relies on when the same OrderPlaced event starts two
executions at once: one records the order, the other ends as a duplicate. Without the correction moto
checks the condition, then writes, and two request threads could both pass the check.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localaws.endpoint.defaults import MOTO_CONFIG
from localaws.patches import corrections

REGION = "us-east-1"
TABLE = "orders"
KEYS = 60
CONTENDERS = 4


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws(config=MOTO_CONFIG):
        corrections.CORRECTIONS.install()
        # Switch threads as often as the interpreter can, so that a window between check and write shows.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            dynamodb = cast(Any, boto3).client("dynamodb", region_name=REGION)
            dynamodb.create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            yield dynamodb
        finally:
            sys.setswitchinterval(interval)
            corrections.CORRECTIONS.uninstall()


def _winners(attempts: list[Callable[[], None]]) -> int:
    """How many of ``attempts``, started together, passed their condition."""
    won: list[int] = []
    start = threading.Barrier(len(attempts))

    def contend(attempt: Callable[[], None]) -> None:
        start.wait()
        try:
            attempt()
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
        else:
            won.append(1)

    threads = [threading.Thread(target=contend, args=(attempt,)) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(won)


def test_one_of_several_puts_under_attribute_not_exists_records_the_key(table: Any) -> None:
    def record(key: str, execution: int) -> Callable[[], None]:
        return lambda: table.put_item(
            TableName=TABLE,
            Item={"orderId": {"S": key}, "executionArn": {"S": f"exec-{execution}"}},
            ConditionExpression="attribute_not_exists(orderId)",
        )

    winners = {
        key: _winners([record(key, n) for n in range(CONTENDERS)]) for key in (f"o-{k}" for k in range(KEYS))
    }
    assert {key: n for key, n in winners.items() if n != 1} == {}


def test_one_of_two_terminal_updates_ends_the_order_and_the_history_holds_one_end(table: Any) -> None:
    def end(key: str, status: str) -> Callable[[], None]:
        return lambda: table.update_item(
            TableName=TABLE,
            Key={"orderId": {"S": key}},
            UpdateExpression="SET #s = :s, history = list_append(history, :entry)",
            ConditionExpression="NOT #s IN (:completed, :cancelled)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":s": {"S": status},
                ":entry": {"L": [{"S": status}]},
                ":completed": {"S": "COMPLETED"},
                ":cancelled": {"S": "CANCELLED"},
            },
        )

    keys = [f"o-{k}" for k in range(KEYS)]
    for key in keys:
        table.put_item(
            TableName=TABLE,
            Item={"orderId": {"S": key}, "status": {"S": "PAID"}, "history": {"L": [{"S": "PAID"}]}},
        )
    winners = {key: _winners([end(key, "COMPLETED"), end(key, "CANCELLED")]) for key in keys}
    assert {key: n for key, n in winners.items() if n != 1} == {}
    items = {key: table.get_item(TableName=TABLE, Key={"orderId": {"S": key}})["Item"] for key in keys}
    assert {key: item["history"]["L"] for key, item in items.items() if len(item["history"]["L"]) != 2} == {}
