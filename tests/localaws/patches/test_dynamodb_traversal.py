"""speedups.dynamodb_validator_traversal: every UpdateItem answers, fails and writes as on stock moto."""

from __future__ import annotations

from typing import Any, cast

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.parsing.ast_nodes import (  # type: ignore[attr-defined]
    DepthFirstTraverser,
    UpdateExpressionClause,
    UpdateExpressionSetAction,
)
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

from localaws.patches import speedups

REGION = "us-east-1"
KEY = {"pk": {"S": "o-1"}, "sk": {"N": "1"}}


def create_keyed_table(dynamodb: Any, name: str = "t") -> None:
    """A table keyed by ``pk`` (text) and ``sk`` (number), as ``KEY`` addresses it."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


# (UpdateExpression, names, values, ReturnValues): each of the validators' processors, passing and failing.
UPDATES: list[tuple[str, dict[str, str], dict[str, Any], str]] = [
    ("SET st = :s, n = :zero", {}, {":s": {"S": "NEW"}, ":zero": {"N": "0"}}, "ALL_NEW"),
    ("SET n = n + :one", {}, {":one": {"N": "1"}}, "UPDATED_NEW"),
    ("SET n = n - :one, #t = :t", {"#t": "total"}, {":one": {"N": "1"}, ":t": {"N": "12.5"}}, "UPDATED_OLD"),
    (
        "SET l = list_append(if_not_exists(l, :empty), :v)",
        {},
        {":empty": {"L": []}, ":v": {"L": [{"S": "a"}]}},
        "ALL_NEW",
    ),
    ("SET l = list_append(l, :v)", {}, {":v": {"L": [{"S": "b"}]}}, "ALL_OLD"),
    ("SET m = :m", {}, {":m": {"M": {"inner": {"M": {"x": {"N": "1"}}}}}}, "NONE"),
    (
        "SET m.inner.x = m.inner.x + :one, m.#y = :y",
        {"#y": "y"},
        {":one": {"N": "1"}, ":y": {"S": "yy"}},
        "ALL_NEW",
    ),
    ("SET l[0] = :z REMOVE l[1]", {}, {":z": {"S": "z"}}, "ALL_NEW"),
    ("ADD tags :t, cnt :one", {}, {":t": {"SS": ["a", "b"]}, ":one": {"N": "1"}}, "ALL_NEW"),
    ("DELETE tags :t", {}, {":t": {"SS": ["a"]}}, "UPDATED_NEW"),
    ("REMOVE st, #t", {"#t": "total"}, {}, "ALL_NEW"),
    # failures, one per validator
    ("SET pk = :s", {}, {":s": {"S": "x"}}, "NONE"),  # key attribute
    ("SET a = :s, a = :s", {}, {":s": {"S": "x"}}, "NONE"),  # overlapping paths
    ("SET a = :s SET b = :s", {}, {":s": {"S": "x"}}, "NONE"),  # two SET clauses
    ("SET a = :missing", {}, {":s": {"S": "x"}}, "NONE"),  # undefined value
    ("SET a = #missing", {}, {":s": {"S": "x"}}, "NONE"),  # undefined name
    ("SET a = nothere + :one", {}, {":one": {"N": "1"}}, "NONE"),  # path that does not exist
    ("SET a = st + :one", {}, {":one": {"N": "1"}}, "NONE"),  # st was removed above
    ("SET a = m + :one", {}, {":one": {"N": "1"}}, "NONE"),  # type mismatch
    ("SET a = list_append(:one, :one)", {}, {":one": {"N": "1"}}, "NONE"),  # function on wrong type
    ("SET a = size(m)", {}, {}, "NONE"),  # unknown function
    ("ADD m :one", {}, {":one": {"N": "1"}}, "NONE"),  # ADD to a map
    ("SET n = if_not_exists(n, :zero) + :one", {}, {":zero": {"N": "0"}, ":one": {"N": "5"}}, "ALL_NEW"),
]


pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test


def _outcomes(*, installed: bool) -> list[Any]:
    outcomes: list[Any] = []
    with mock_aws():
        if installed:
            speedups.install(["dynamodb_validator_traversal"])
            assert (
                DepthFirstTraverser.traverse_node_recursively.__module__
                == "localaws.patches.speedups.dynamodb"
            )
        dynamodb = cast(Any, boto3).client("dynamodb", region_name=REGION)
        create_keyed_table(dynamodb)
        for expression, names, values, return_values in UPDATES:
            params: dict[str, Any] = {
                "TableName": "t",
                "Key": KEY,
                "UpdateExpression": expression,
                "ReturnValues": return_values,
            }
            if names:
                params["ExpressionAttributeNames"] = names
            if values:
                params["ExpressionAttributeValues"] = values
            try:
                answer = dynamodb.update_item(**params)
                outcomes.append(("ok", answer.get("Attributes")))
            except dynamodb.exceptions.ClientError as exc:
                outcomes.append(("error", exc.response["Error"]))
            outcomes.append(dynamodb.get_item(TableName="t", Key=KEY).get("Item"))
        speedups.uninstall()
    return outcomes


def test_updates_through_the_kept_traversal_match_stock_moto() -> None:
    # Given the same updates, each validator passing and failing, on stock moto and with the speed-up
    stock = _outcomes(installed=False)
    ours = _outcomes(installed=True)

    # Then every answer, error and stored item is the same
    assert ours == stock
    # and the cases did exercise both paths: successes with items, and the validators' errors
    kinds = [outcome[0] for outcome in stock[::2]]
    assert kinds.count("ok") >= 11 and kinds.count("error") >= 10
    assert stock[-1]["n"] == {"N": "5"}
    assert DepthFirstTraverser.traverse_node_recursively.__module__ == "moto.dynamodb.parsing.ast_nodes"


class _Recorder(DepthFirstTraverser):
    """A processor whose map puts a subclass before its base, noting each node it processes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def _processing_map(self) -> dict[type, Any]:
        return {UpdateExpressionSetAction: self.on_set, UpdateExpressionClause: self.on_clause}

    def on_set(self, node: Any) -> Any:
        self.calls.append(("set", type(node).__name__))
        return node

    def on_clause(self, node: Any) -> Any:
        self.calls.append(("clause", type(node).__name__))
        return node


class _HookedRecorder(_Recorder):
    """Also notes each child it is told about, and dispatches with its own ``process``."""

    def pre_processing_of_child(self, parent_node: Any, child_id: int) -> None:
        self.calls.append(("child", f"{type(parent_node).__name__}[{child_id}]"))

    def process(self, node: Any) -> Any:
        self.calls.append(("own process", type(node).__name__))
        return node


def _walk_calls(processor_class: type[_Recorder], *, installed: bool) -> list[tuple[str, str]]:
    if installed:
        speedups.install(["dynamodb_validator_traversal"])
    try:
        tree = UpdateExpressionParser.make("SET a = b + :one, c.d[0] = :two REMOVE e ADD f :one")
        processor = processor_class()
        processor.traverse(tree)
        return processor.calls
    finally:
        speedups.uninstall()


@pytest.mark.parametrize("processor_class", [_Recorder, _HookedRecorder])
def test_a_processor_s_hook_map_order_and_own_process_are_honoured_as_in_moto(
    processor_class: type[_Recorder],
) -> None:
    # Given a processor whose map lists a subclass before its base (and one with its own hook and process)
    stock = _walk_calls(processor_class, installed=False)

    # When the kept traversal walks the same tree
    ours = _walk_calls(processor_class, installed=True)

    # Then it makes the same calls in the same order: the first matching map entry, the class's own hook
    assert ours == stock
    assert ("set", "UpdateExpressionSetAction") in stock or processor_class is _HookedRecorder
    assert ("clause", "UpdateExpressionPath") in stock or processor_class is _HookedRecorder
    if processor_class is _HookedRecorder:
        assert ("child", "UpdateExpressionSetAction[1]") in stock
        assert ("own process", "UpdateExpressionSetAction") in stock
