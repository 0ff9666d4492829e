"""speedups.dynamodb_update_checks: every UpdateItem answers, fails and writes as stock moto, call for call.

The tree-only checks (one clause of each kind, no overlapping paths, no key attribute updated) are skipped
where they passed before on the same tree, #names and key schema: so each case below that should fail comes
after the same text passed with other names, on another table, or on the same inputs.
"""

from __future__ import annotations

from typing import Any, cast

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.parsing.validators import Validator

from localaws.patches import speedups
from tests.localaws.patches.test_dynamodb_traversal import KEY, create_keyed_table

REGION = "us-east-1"
NEW_KEY = {"pk": {"S": "o-2"}, "sk": {"N": "2"}}
OTHER_KEY = {"id": {"S": "u-1"}}
ONE = {":one": {"N": "1"}}
V = {":v": {"S": "v"}}
BIG = {":big": {"S": "x" * 300_000}}
PATCHES = ["dynamodb_update_expressions", "dynamodb_validator_traversal", "dynamodb_update_checks"]

# (table, key, UpdateExpression, names, values, other parameters), in order, on one item that grows.
UPDATES: list[tuple[str, dict[str, Any], str, dict[str, str], dict[str, Any], dict[str, Any]]] = [
    (
        "t",
        KEY,
        "SET st = :s, n = :zero, m = :m, l = :l, tags = :tags",
        {},
        {
            ":s": {"S": "NEW"},
            ":zero": {"N": "0"},
            ":m": {"M": {"inner": {"M": {"x": {"N": "1"}}}}},
            ":l": {"L": [{"S": "a"}]},
            ":tags": {"SS": ["a", "b", "c"]},
        },
        {},
    ),
    # the same text with other #names: passes, overlaps, passes again
    ("t", KEY, "SET #a = :v, #b = :v", {"#a": "x", "#b": "y"}, V, {}),
    ("t", KEY, "SET #a = :v, #b = :v", {"#a": "x", "#b": "x"}, V, {}),
    ("t", KEY, "SET #a = :v, #b = :v", {"#a": "x", "#b": "y"}, V, {}),
    ("t", KEY, "SET #a = :v, #b = :v", {"#a": "x", "#b": "x"}, V, {}),
    # the same text naming an ordinary attribute, then each key attribute, then a key of another table
    ("t", KEY, "SET #k = :v", {"#k": "st"}, V, {}),
    ("t", KEY, "SET #k = :v", {"#k": "pk"}, V, {}),
    ("t", KEY, "SET #k = :v", {"#k": "sk"}, V, {}),
    ("t", KEY, "SET #k = :v", {"#k": "id"}, V, {}),
    ("u", OTHER_KEY, "SET #k = :v", {"#k": "st"}, V, {}),
    ("u", OTHER_KEY, "SET #k = :v", {"#k": "id"}, V, {}),
    ("u", OTHER_KEY, "SET #k = :v", {"#k": "id"}, V, {}),
    # an item that does not exist yet: a failed check must not create it
    ("t", NEW_KEY, "SET #a = :v, #b = :v", {"#a": "x", "#b": "x"}, V, {}),
    ("t", NEW_KEY, "SET #a = :v, #b = :v", {"#a": "x", "#b": "y"}, V, {}),
    # nested paths, functions, every clause
    (
        "t",
        KEY,
        "SET m.#i.x = m.#i.x + :one, m.#y = :y",
        {"#i": "inner", "#y": "y"},
        {**ONE, ":y": {"S": "yy"}},
        {},
    ),
    ("t", KEY, "SET m.inner.x = :v", {}, V, {}),  # a reserved word
    (
        "t",
        KEY,
        "SET l = list_append(if_not_exists(l, :empty), :w)",
        {},
        {":empty": {"L": []}, ":w": {"L": []}},
        {},
    ),
    ("t", KEY, "SET n = if_not_exists(n, :zero) + :one", {}, {**ONE, ":zero": {"N": "0"}}, {}),
    ("t", KEY, "ADD tags :t, cnt :one", {}, {**ONE, ":t": {"SS": ["d"]}}, {}),
    ("t", KEY, "DELETE tags :t", {}, {":t": {"SS": ["a"]}}, {}),
    ("t", KEY, "SET l[0] = :v REMOVE l[1], #x", {"#x": "x"}, V, {}),
    # the tree-only checks failing, each twice
    *[("t", KEY, "SET a = :v SET b = :v", {}, V, {})] * 2,
    *[("t", KEY, "SET a = :v, a = :v", {}, V, {})] * 2,
    *[("t", KEY, "SET m.#i = :v, m.#i.x = :v", {"#i": "inner"}, V, {})] * 2,
    *[("t", KEY, "SET a = :v REMOVE a", {}, V, {})] * 2,
    *[("t", KEY, "SET pk = :v", {}, V, {})] * 2,
    # the other checks: syntax, placeholders, paths, types, size, conditions
    ("t", KEY, "SET a = = :v", {}, V, {}),
    ("t", KEY, "SET a = :v", {}, {**V, ":unused": {"S": "u"}}, {}),
    ("t", KEY, "SET a = :v", {"#unused": "u"}, V, {}),
    ("t", KEY, "SET a = :missing", {}, V, {}),
    ("t", KEY, "SET a = :v, b = :missing", {}, V, {}),
    ("t", KEY, "SET a = :v, b = #missing", {}, V, {}),
    ("t", KEY, "SET #missing = :v", {}, V, {}),
    ("t", KEY, "SET a = nothere + :one", {}, ONE, {}),
    ("t", KEY, "SET a = m + :one", {}, ONE, {}),
    ("t", KEY, "ADD m :one", {}, ONE, {}),
    ("t", KEY, "SET big = :big", {}, BIG, {}),
    ("t", KEY, "SET big2 = :big", {}, BIG, {}),
    ("t", KEY, "SET st = :v", {}, V, {"ConditionExpression": "attribute_not_exists(pk)"}),
    (
        "t",
        KEY,
        "SET st = :v",
        {},
        V,
        {"ConditionExpression": "attribute_not_exists(pk)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
    ),
    ("t", KEY, "SET st = :v", {}, V, {"ConditionExpression": "attribute_exists(pk)"}),
]


pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test


def _small(item: Any) -> Any:
    """An item without its 300 KB attribute's text (its length instead), to keep failures readable."""
    if not item:
        return item
    return {k: (len(v["S"]) if k.startswith("big") else v) for k, v in item.items()}


def _outcomes(*, installed: bool) -> tuple[list[Any], dict[str, int]]:
    outcomes: list[Any] = []
    with mock_aws():
        if installed:
            speedups.install(PATCHES)
            assert Validator.validate.__module__ == "localaws.patches.speedups.dynamodb"
        dynamodb = cast(Any, boto3).client("dynamodb", region_name=REGION)
        create_keyed_table(dynamodb)
        dynamodb.create_table(
            TableName="u",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for table, key, expression, names, values, extra in UPDATES:
            params: dict[str, Any] = {
                "TableName": table,
                "Key": key,
                "UpdateExpression": expression,
                "ReturnValues": "ALL_NEW",
                **extra,
            }
            if names:
                params["ExpressionAttributeNames"] = names
            if values:
                params["ExpressionAttributeValues"] = values
            try:
                outcomes.append(("ok", _small(dynamodb.update_item(**params).get("Attributes"))))
            except dynamodb.exceptions.ClientError as exc:
                error = exc.response["Error"]
                outcomes.append(("error", error["Code"], error["Message"], _small(exc.response.get("Item"))))
            except Exception as exc:  # moto fails some (an unknown #name as a path) unanswered: a 500
                outcomes.append(("raised", type(exc).__name__, str(exc)))
            outcomes.append(_small(dynamodb.get_item(TableName=table, Key=key).get("Item")))
        # a transaction's Update goes through the same validation
        for names in ({"#a": "x", "#b": "y"}, {"#a": "x", "#b": "x"}):
            update = {"TableName": "t", "Key": KEY, "UpdateExpression": "SET #a = :v, #b = :v"}
            update |= {"ExpressionAttributeNames": names, "ExpressionAttributeValues": V}
            try:
                dynamodb.transact_write_items(TransactItems=[{"Update": update}])
                outcomes.append("ok")
            except dynamodb.exceptions.ClientError as exc:
                outcomes.append(("error", exc.response["Error"]["Code"], exc.response["Error"]["Message"]))
            outcomes.append(_small(dynamodb.get_item(TableName="t", Key=KEY).get("Item")))
        counts = speedups.stats()["dynamodb_update_checks"]
        speedups.uninstall()
    return outcomes, counts


def test_updates_with_the_kept_checks_match_stock_moto_call_for_call() -> None:
    # Given the same updates on stock moto and with the tree-only checks kept once passed
    stock, stock_counts = _outcomes(installed=False)
    ours, counts = _outcomes(installed=True)

    # Then every answer, error and stored item is the same, call for call
    for n, (theirs, mine) in enumerate(zip(stock, ours, strict=True)):
        assert mine == theirs, (
            f"outcome {n} ({UPDATES[n // 2][2] if n < 2 * len(UPDATES) else 'transaction'})"
        )
    # and the cases exercised both: successes, and the errors of each check after the same text passed
    answers = stock[0 : 2 * len(UPDATES) : 2]
    assert sum(a[0] == "ok" for a in answers) >= 15 and sum(a[0] == "error" for a in answers) >= 25
    assert answers[1][0] == "ok" and answers[2][:2] == ("error", "ValidationException")
    assert "Two document paths overlap" in answers[2][2] and answers[3][0] == "ok"
    assert answers[6][0] == answers[7][0] == "error" and answers[8][0] == "ok" and answers[10][0] == "error"
    assert stock[2 * 12 + 1] is None  # the failed update of a new item did not create it
    assert stock[-4] == "ok" and stock[-2][:2] == ("error", "ValidationException")
    # and checks were both skipped and run (stock moto counts nothing)
    assert counts["hits"] >= 20 and counts["misses"] >= 10 and stock_counts == {"hits": 0, "misses": 0}
    assert Validator.validate.__module__ == "moto.dynamodb.parsing.validators"
