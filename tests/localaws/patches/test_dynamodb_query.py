"""speedups.dynamodb_query_partition: Queries answer, page and fail as on stock moto, on one key's items."""

from __future__ import annotations

import inspect
from typing import Any, cast

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from localaws.patches import speedups
from localaws.patches.speedups.dynamodb_query import INDEX_NAME_POSITION

REGION = "us-east-1"
SPEEDUP = "dynamodb_query_partition"

pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test

# (table, query arguments): range conditions of each kind, both directions, pages, filters, projections,
# counts, an index of each kind (moto's path), keys that match nothing, and the errors.
QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "one order": (
        "movements",
        {"KeyConditionExpression": "orderId = :o", "ExpressionAttributeValues": {":o": {"S": "o-1"}}},
    ),
    "no such order": (
        "movements",
        {"KeyConditionExpression": "orderId = :o", "ExpressionAttributeValues": {":o": {"S": "o-9"}}},
    ),
    "an order deleted again": (
        "movements",
        {"KeyConditionExpression": "orderId = :o", "ExpressionAttributeValues": {":o": {"S": "o-4"}}},
    ),
    "begins_with": (
        "movements",
        {
            "KeyConditionExpression": "orderId = :o AND begins_with(movementId, :k)",
            "ExpressionAttributeValues": {":o": {"S": "o-1"}, ":k": {"S": "capture#"}},
            "ConsistentRead": True,
        },
    ),
    "between": (
        "movements",
        {
            "KeyConditionExpression": "orderId = :o AND movementId BETWEEN :a AND :b",
            "ExpressionAttributeValues": {
                ":o": {"S": "o-2"},
                ":a": {"S": "capture#1"},
                ":b": {"S": "refund#1"},
            },
        },
    ),
    **{
        f"{operator} forward={forward}": (
            "movements",
            {
                "KeyConditionExpression": f"orderId = :o AND movementId {operator} :m",
                "ExpressionAttributeValues": {":o": {"S": "o-2"}, ":m": {"S": "capture#2"}},
                "ScanIndexForward": forward,
            },
        )
        for operator in ("=", "<", "<=", ">", ">=")
        for forward in (True, False)
    },
    "filter and projection": (
        "movements",
        {
            "KeyConditionExpression": "orderId = :o",
            "FilterExpression": "amount > :n",
            "ProjectionExpression": "movementId, #k",
            "ExpressionAttributeNames": {"#k": "kind"},
            "ExpressionAttributeValues": {":o": {"S": "o-2"}, ":n": {"N": "15"}},
        },
    ),
    "count": (
        "movements",
        {
            "KeyConditionExpression": "orderId = :o",
            "Select": "COUNT",
            "ExpressionAttributeValues": {":o": {"S": "o-2"}},
        },
    ),
    "global index": (
        "movements",
        {
            "IndexName": "by-kind",
            "KeyConditionExpression": "kind = :k",
            "ExpressionAttributeValues": {":k": {"S": "capture"}},
        },
    ),
    "local index": (
        "movements",
        {
            "IndexName": "by-amount",
            "KeyConditionExpression": "orderId = :o AND amount > :n",
            "ExpressionAttributeValues": {":o": {"S": "o-2"}, ":n": {"N": "15"}},
        },
    ),
    "a number for a string key": (
        "movements",
        {"KeyConditionExpression": "orderId = :o", "ExpressionAttributeValues": {":o": {"N": "1"}}},
    ),
    "the range key alone": (
        "movements",
        {
            "KeyConditionExpression": "movementId = :m",
            "ExpressionAttributeValues": {":m": {"S": "capture#1"}},
        },
    ),
    "a missing value": (
        "movements",
        {"KeyConditionExpression": "orderId = :o", "ExpressionAttributeValues": {}},
    ),
    "a missing table": (
        "missing",
        {"KeyConditionExpression": "orderId = :o", "ExpressionAttributeValues": {":o": {"S": "o-1"}}},
    ),
    "2.0 for 2": (
        "counters",
        {"KeyConditionExpression": "n = :n", "ExpressionAttributeValues": {":n": {"N": "2.0"}}},
    ),
    "no such number": (
        "counters",
        {"KeyConditionExpression": "n = :n", "ExpressionAttributeValues": {":n": {"N": "3"}}},
    ),
    "a string for a number key": (
        "counters",
        {"KeyConditionExpression": "n = :n", "ExpressionAttributeValues": {":n": {"S": "2"}}},
    ),
    "hash key only": (
        "orders",
        {"KeyConditionExpression": "orderId = :o", "ExpressionAttributeValues": {":o": {"S": "o-1"}}},
    ),
    "hash key only, deleted": (
        "orders",
        {"KeyConditionExpression": "orderId = :o", "ExpressionAttributeValues": {":o": {"S": "o-gone"}}},
    ),
}


def _client() -> Any:
    return cast(Any, boto3).client("dynamodb", region_name=REGION)


def _create_tables(dynamodb: Any) -> None:
    dynamodb.create_table(
        TableName="movements",
        KeySchema=[
            {"AttributeName": "orderId", "KeyType": "HASH"},
            {"AttributeName": "movementId", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": kind}
            for name, kind in (("orderId", "S"), ("movementId", "S"), ("kind", "S"), ("amount", "N"))
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-kind",
                "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-amount",
                "KeySchema": [
                    {"AttributeName": "orderId", "KeyType": "HASH"},
                    {"AttributeName": "amount", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for table, key, kind in (("counters", "n", "N"), ("orders", "orderId", "S")):
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": kind}],
            BillingMode="PAY_PER_REQUEST",
        )


def _fill(dynamodb: Any) -> None:
    """Several orders' movements, written out of key order, one order's all deleted again; a few others."""
    for order in (3, 1, 2, 4):
        for n in (3, 1, 2):
            for kind in ("refund", "capture"):
                dynamodb.put_item(
                    TableName="movements",
                    Item={
                        "orderId": {"S": f"o-{order}"},
                        "movementId": {"S": f"{kind}#{n}"},
                        "kind": {"S": kind},
                        "amount": {"N": str(10 * n + order)},
                    },
                )
    for movement in ("refund#3", "capture#1", "refund#1", "capture#3", "refund#2", "capture#2"):
        dynamodb.delete_item(
            TableName="movements", Key={"orderId": {"S": "o-4"}, "movementId": {"S": movement}}
        )
    for number in ("2", "1", "3.5"):
        dynamodb.put_item(TableName="counters", Item={"n": {"N": number}, "v": {"S": number}})
    for order_id in ("o-2", "o-1", "o-gone"):
        dynamodb.put_item(TableName="orders", Item={"orderId": {"S": order_id}})
    dynamodb.delete_item(TableName="orders", Key={"orderId": {"S": "o-gone"}})


def _answer(dynamodb: Any, table: str, arguments: dict[str, Any]) -> Any:
    try:
        return dynamodb.query(TableName=table, **arguments)
    except Exception as exc:  # every error, modeled or not, is part of what must match
        response = getattr(exc, "response", None)
        return ("error", response["Error"] if response else repr(exc))


def _pages(dynamodb: Any, table: str, arguments: dict[str, Any], limit: int) -> list[Any]:
    """Every page of a Query of ``limit`` items a page, each started from the last one's key."""
    pages: list[Any] = []
    start: dict[str, Any] = {}
    while len(pages) < 20:
        page = _answer(dynamodb, table, {**arguments, "Limit": limit, **start})
        pages.append(page)
        if not isinstance(page, dict) or "LastEvaluatedKey" not in page:
            break
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    return pages


def _outcomes(installed: bool) -> dict[str, Any]:
    """Each Query's answer (or error), and every page of one order's movements at several page sizes."""
    with mock_aws():
        if installed:
            speedups.install([SPEEDUP])
        dynamodb = _client()
        _create_tables(dynamodb)
        _fill(dynamodb)
        outcomes: dict[str, Any] = {
            name: [_answer(dynamodb, table, arguments)] for name, (table, arguments) in QUERIES.items()
        }
        for forward in (True, False):
            for limit in (1, 2, 4):
                arguments = {
                    "KeyConditionExpression": "orderId = :o",
                    "ExpressionAttributeValues": {":o": {"S": "o-3"}},
                    "ScanIndexForward": forward,
                }
                outcomes[f"pages of {limit} forward={forward}"] = _pages(
                    dynamodb, "movements", arguments, limit
                )
        speedups.uninstall()
    for pages in outcomes.values():
        for page in pages:
            if isinstance(page, dict):
                page.pop("ResponseMetadata", None)
    return outcomes


def test_queries_on_one_key_s_items_answer_page_and_fail_as_moto() -> None:
    # Given the same Queries against stock moto and with the speed-up
    stock = _outcomes(installed=False)
    ours = _outcomes(installed=True)
    # Then every answer, page and error is the same
    assert ours == stock
    # And the Queries found items, in key order, page by page, and failed where moto fails
    assert [item["movementId"]["S"] for item in stock["one order"][0]["Items"]] == [
        "capture#1", "capture#2", "capture#3", "refund#1", "refund#2", "refund#3"
    ]  # fmt: skip
    assert [item["movementId"]["S"] for item in stock["< forward=False"][0]["Items"]] == ["capture#1"]
    assert stock["no such order"][0]["Items"] == stock["an order deleted again"][0]["Items"] == []
    assert [page["Count"] for page in stock["pages of 4 forward=False"]] == [4, 2]
    assert stock["2.0 for 2"][0]["Items"] == [{"n": {"N": "2"}, "v": {"S": "2"}}]
    assert stock["hash key only"][0]["Items"] == [{"orderId": {"S": "o-1"}}]
    assert stock["global index"][0]["Count"] == 9  # three orders, three captures each
    assert "ResourceNotFoundException" in str(stock["a missing table"][0])
    assert "ValidationException" in str(stock["a missing value"][0])


def test_the_index_name_is_where_moto_s_query_takes_it() -> None:
    # (self, hash_key, then the arguments the speed-up counts from)
    assert list(inspect.signature(Table.query).parameters)[2 + INDEX_NAME_POSITION] == "index_name"


def test_a_query_on_the_table_s_key_reads_no_other_item(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a table of many orders, and a count of the times a query reads every item of it
    reads_of_every_item: list[str] = []
    every_item = Table.all_items

    def counted(table: Any) -> list[Any]:
        reads_of_every_item.append(table.name)
        return every_item(table)

    monkeypatch.setattr(Table, "all_items", counted)
    with mock_aws():
        speedups.install([SPEEDUP])
        dynamodb = _client()
        _create_tables(dynamodb)
        _fill(dynamodb)
        # When one order's movements are queried, and then one kind of movement through an index
        mine = dynamodb.query(
            TableName="movements",
            KeyConditionExpression="orderId = :o",
            ExpressionAttributeValues={":o": {"S": "o-2"}},
        )
        assert reads_of_every_item == []
        dynamodb.query(
            TableName="movements",
            IndexName="by-kind",
            KeyConditionExpression="kind = :k",
            ExpressionAttributeValues={":k": {"S": "refund"}},
        )
        speedups.uninstall()
    # Then the order's own items answered it, and only the index's Query read the whole table
    assert mine["Count"] == 6
    assert reads_of_every_item == ["movements"]
