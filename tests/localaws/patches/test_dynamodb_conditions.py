"""speedups.dynamodb_condition_expressions: conditional calls answer, fail and write as on stock moto."""

from __future__ import annotations

from typing import Any, cast

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.comparisons import ConditionExpressionParser

from localaws.patches import speedups

REGION = "us-east-1"
TABLE = "conditions"

# (ConditionExpression, names, values): each text twice or more with other values, so the kept tree is reused;
# then the errors: a missing value, a missing name, an unused name, a syntax error, a reserved word,
# redundant parentheses, an empty value.
PUTS: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("attribute_not_exists(pk)", {}, {}),
    ("attribute_not_exists(pk)", {}, {}),  # the item exists now: the check fails
    ("attribute_not_exists(#id) OR #exp < :now", {"#id": "pk", "#exp": "exp"}, {":now": {"N": "5"}}),
    ("attribute_not_exists(#id) OR #exp < :now", {"#id": "pk", "#exp": "exp"}, {":now": {"N": "500"}}),
    ("attribute_not_exists(#id) OR #exp < :now", {"#id": "pk", "#exp": "other"}, {":now": {"N": "500"}}),
    (
        "attribute_not_exists(#id) OR #exp < :now OR (#st = :busy AND attribute_exists(#ip) AND #ip < :ms)",
        {"#id": "pk", "#exp": "exp", "#st": "status", "#ip": "ip"},
        {":now": {"N": "1"}, ":busy": {"S": "BUSY"}, ":ms": {"N": "9"}},
    ),
    (
        "attribute_not_exists(#id) OR #exp < :now OR (#st = :busy AND attribute_exists(#ip) AND #ip < :ms)",
        {"#id": "pk", "#exp": "exp", "#st": "status", "#ip": "ip"},
        {":now": {"N": "1"}, ":busy": {"S": "NEW"}, ":ms": {"N": "9"}},
    ),
    ("NOT #st IN (:a, :b, :c)", {"#st": "status"}, {":a": {"S": "X"}, ":b": {"S": "Y"}, ":c": {"S": "Z"}}),
    ("NOT #st IN (:a, :b, :c)", {"#st": "status"}, {":a": {"S": "NEW"}, ":b": {"S": "Y"}, ":c": {"S": "Z"}}),
    ("n BETWEEN :lo AND :hi", {}, {":lo": {"N": "1"}, ":hi": {"N": "100"}}),
    ("n BETWEEN :lo AND :hi", {}, {":lo": {"N": "101"}, ":hi": {"N": "200"}}),
    ("size(l) > :n AND begins_with(#st, :p)", {"#st": "status"}, {":n": {"N": "0"}, ":p": {"S": "NE"}}),
    ("size(l) > :n AND begins_with(#st, :p)", {"#st": "status"}, {":n": {"N": "5"}, ":p": {"S": "NE"}}),
    ("m.#inner.x = :x AND l[0] = :first", {"#inner": "inner"}, {":x": {"N": "1"}, ":first": {"S": "a"}}),
    ("m.#inner.x = :x AND l[0] = :first", {"#inner": "inner"}, {":x": {"N": "2"}, ":first": {"S": "a"}}),
    ("contains(l, :v) OR #st <> :v", {"#st": "status"}, {":v": {"S": "a"}}),
    ("contains(l, :v) OR #st <> :v", {"#st": "status"}, {":v": {"S": "NEW"}}),
    ("attribute_not_exists(#id) OR #exp < :now", {"#id": "pk", "#exp": "exp"}, {":then": {"N": "5"}}),
    ("attribute_not_exists(#id) OR #exp < :now", {"#id": "pk"}, {":now": {"N": "5"}}),
    ("attribute_not_exists(#id) OR #exp < :now", {"#id": "pk", "#exp": "e", "#x": "x"}, {":now": {"N": "5"}}),
    ("attribute_not_exists(#id) OR #exp < :now", {"#id": "pk", "#exp": "exp"}, {":now": {}}),
    ("attribute_not_exists(pk) AND (", {}, {}),
    ("attribute_not_exists(pk) AND size = :n", {}, {":n": {"N": "1"}}),
    ("((attribute_not_exists(pk)))", {}, {}),
    ("n = :v", {}, {":v": {"N": "1"}, ":unused": {"N": "2"}}),
]


pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test


def _client() -> Any:
    return cast(Any, boto3).client("dynamodb", region_name=REGION)


def _item() -> dict[str, Any]:
    return {
        "pk": {"S": "k"},
        "exp": {"N": "10"},
        "status": {"S": "NEW"},
        "n": {"N": "50"},
        "l": {"L": [{"S": "a"}, {"S": "b"}]},
        "m": {"M": {"inner": {"M": {"x": {"N": "1"}}}}},
    }


def _outcome(call: Any) -> Any:
    try:
        call()
    except Exception as exc:  # every error, modeled or not, is part of what must match
        response = getattr(exc, "response", None)
        return ("error", response["Error"] if response else repr(exc))
    return "ok"


def _conditional_outcomes(installed: bool) -> list[Any]:
    """Each condition via PutItem, UpdateItem, a transaction, DeleteItem, a Query filter; the item after."""
    outcomes: list[Any] = []
    with mock_aws():
        if installed:
            speedups.install(["dynamodb_condition_expressions"])
        dynamodb = _client()
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        key = {"pk": {"S": "k"}}
        for expression, names, values in PUTS:
            extra: dict[str, Any] = {"ConditionExpression": expression}
            if names:
                extra["ExpressionAttributeNames"] = names
            if values:
                extra["ExpressionAttributeValues"] = values
            outcomes.append(_outcome(lambda e=extra: dynamodb.put_item(TableName=TABLE, Item=_item(), **e)))
            update = dict(extra, ExpressionAttributeValues={**values, ":one": {"N": "1"}})
            outcomes.append(
                _outcome(
                    lambda u=update: dynamodb.update_item(
                        TableName=TABLE, Key=key, UpdateExpression="ADD hits :one", **u
                    )
                )
            )
            outcomes.append(
                _outcome(
                    lambda e=extra: dynamodb.transact_write_items(
                        TransactItems=[{"Put": {"TableName": TABLE, "Item": _item(), **e}}]
                    )
                )
            )
            outcomes.append(_outcome(lambda e=extra: dynamodb.delete_item(TableName=TABLE, Key=key, **e)))
            outcomes.append(dynamodb.get_item(TableName=TABLE, Key=key).get("Item"))
            dynamodb.put_item(TableName=TABLE, Item=_item())
            query = {
                "FilterExpression": expression,
                **{k: v for k, v in extra.items() if k != "ConditionExpression"},
            }
            query["ExpressionAttributeValues"] = {
                **query.get("ExpressionAttributeValues", {}),
                ":k": {"S": "k"},
            }
            outcomes.append(
                _outcome(
                    lambda q=query: outcomes.append(
                        dynamodb.query(TableName=TABLE, KeyConditionExpression="pk = :k", **q)["Items"]
                    )
                )
            )
        outcomes.append(speedups.stats()["dynamodb_condition_expressions"])
        speedups.uninstall()
    return outcomes


def test_conditions_parsed_once_give_moto_s_answers_errors_and_items() -> None:
    # Given the same conditional calls against stock moto and with each condition text parsed once
    stock = _conditional_outcomes(installed=False)
    ours = _conditional_outcomes(installed=True)
    # Then every answer, error and item is the same
    assert ours[:-1] == stock[:-1]
    # And the calls succeeded and failed for their values, with the same text (moto raises some errors raw)
    errors = [str(outcome[1]) for outcome in stock if isinstance(outcome, tuple)]
    assert "ok" in stock
    for expected in (
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
        "KeyError(':now')",
        "KeyError('#exp')",
        "IndexError",
        "ExpressionAttributeNames unused",
        "ExpressionAttributeValues unused",
        "redundant parentheses",
        "Unmatched (",
        "Bad function expression",
    ):
        assert any(expected in error for error in errors), expected
    # And the kept trees were used, with stock moto keeping none
    assert ours[-1]["hits"] > ours[-1]["misses"] > 0
    assert stock[-1] == {"hits": 0, "misses": 0}


def _parsed(expression: str, names: dict[str, str] | None, values: dict[str, Any] | None) -> Any:
    parser = ConditionExpressionParser(expression, names, values)
    try:
        condition = parser.parse()
    except Exception as exc:  # the error itself is compared
        return ("error", type(exc).__name__, str(exc))
    return (repr(condition), parser.expr_attr_names_found, parser.expr_attr_values_found)


def test_a_kept_tree_is_bound_to_each_call_s_names_and_values() -> None:
    text = "#a.#b = :v AND (:v IN (:x, :y) OR size(#a) BETWEEN :x AND :y) AND NOT attribute_type(c, :t)"
    calls: list[tuple[dict[str, str] | None, dict[str, Any] | None]] = [
        ({"#a": "A", "#b": "B"}, {":v": {"S": "1"}, ":x": {"N": "1"}, ":y": {"N": "2"}, ":t": {"S": "S"}}),
        ({"#a": "P", "#b": "Q"}, {":v": {"N": "7"}, ":x": {"S": "x"}, ":y": {"S": "y"}, ":t": {"S": "N"}}),
        ({"#a": "P"}, {":v": {"N": "7"}, ":x": {"S": "x"}, ":y": {"S": "y"}, ":t": {"S": "N"}}),
        ({"#a": "P", "#b": "Q"}, {":v": {"N": "7"}, ":y": {"S": "y"}, ":t": {"S": "N"}}),
        (None, {":v": {"N": "7"}}),
        ({"#a": "P", "#b": "Q"}, None),
        ({"#a": "P", "#b": "Q"}, {":v": {"N": "7"}, ":x": {}, ":y": {"S": "y"}, ":t": {"S": "N"}}),
    ]
    # Given what stock moto builds for one text with several sets of names and values
    stock = [_parsed(text, names, values) for names, values in calls]
    # When the text's tree is kept and bound again for each call
    speedups.install(["dynamodb_condition_expressions"])
    ours = [_parsed(text, names, values) for names, values in calls]
    again = [_parsed(text, names, values) for names, values in reversed(calls)]
    # Then each call builds moto's condition, finds moto's placeholders and raises moto's errors
    assert ours == stock and list(reversed(again)) == stock
    assert "A.B = '1'" in stock[0][0] and "P.Q = '7'" in stock[1][0] and stock[2][0] == "error"
    assert speedups.stats()["dynamodb_condition_expressions"]["misses"] == 1
