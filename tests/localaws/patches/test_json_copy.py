"""localaws.patches.speedups.json_copy: the interpreter's deep copies give what copy.deepcopy gives."""

from __future__ import annotations

import copy
import datetime
from collections import OrderedDict
from typing import Any

import pytest
from moto.stepfunctions.parser.asl.eval import states

from localaws.patches import registry, speedups
from localaws.patches.speedups.json_copy import json_deepcopy

pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test


class Tracked:
    """A non-JSON value: records the memo deepcopy hands it."""

    def __init__(self, payload: list[int]) -> None:
        self.payload = payload
        self.memos: list[int] = []

    def __deepcopy__(self, memo: dict[int, Any]) -> Tracked:
        self.memos.append(id(memo))
        return Tracked(copy.deepcopy(self.payload, memo))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tracked) and other.payload == self.payload

    __hash__ = None  # type: ignore[assignment]


def _shape(value: Any, seen: dict[int, int] | None = None) -> Any:
    """The value's structure with its sharing: a container met again is ("ref", n) of its first meeting."""
    seen = {} if seen is None else seen
    if isinstance(value, dict | list | Tracked):
        if id(value) in seen:
            return ("ref", seen[id(value)])
        seen[id(value)] = len(seen)
    if isinstance(value, dict):
        return (type(value).__name__, [(_shape(k, seen), _shape(v, seen)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_shape(item, seen) for item in value])
    if isinstance(value, Tracked):
        return ("Tracked", _shape(value.payload, seen))
    return (type(value).__name__, value)


def _containers(value: Any) -> list[int]:
    found: list[int] = []
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            found.append(id(node))
            pending.extend(node.values())
        elif isinstance(node, list):
            found.append(id(node))
            pending.extend(node)
    return found


def _values() -> list[Any]:
    shared = {"sku": "A-1", "qty": 2}
    shared_list = [1, 2.5, None]
    return [
        None,
        "text",
        7,
        True,
        {},
        [],
        {"orderId": "o-1", "amount": 12.5, "paid": False, "note": None, "items": [{"sku": "A", "q": 1}]},
        [[1, [2, [3, {"deep": ["x"]}]]]],
        {"a": shared, "b": shared, "c": [shared, shared_list, shared_list]},
        {"tuple": (1, [2]), "set": {3, 4}, "when": datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)},
        {"ordered": OrderedDict(x=[1]), 5: "int key", (1, 2): "tuple key"},
        {"tracked": Tracked([9]), "again": [shared_list]},
    ]


@pytest.mark.parametrize("value", _values(), ids=range(len(_values())))
def test_json_deepcopy_gives_what_deepcopy_gives(value: Any) -> None:
    # Given a value, JSON or with non-JSON parts and shared containers
    # When it is copied by moto's deepcopy and by ours
    theirs, ours = copy.deepcopy(value), json_deepcopy(value)

    # Then the copies are equal, with the same types and the same sharing, and share no container with it
    assert ours == theirs
    assert _shape(ours) == _shape(theirs) == _shape(value)
    assert not set(_containers(ours)) & set(_containers(value))
    if isinstance(value, dict | list) and value:
        assert ours is not value


def test_non_json_values_get_deepcopy_with_the_same_memo() -> None:
    # Given a non-JSON value twice in JSON data, and a memo passed in as deepcopy's callers do
    tracked = Tracked([1, 2])
    data = {"first": tracked, "second": [tracked]}
    memo: dict[int, Any] = {}

    # When it is copied
    copied = json_deepcopy(data, memo)

    # Then deepcopy copied it once, with our memo, and the copy is shared as the original was
    assert tracked.memos == [id(memo)]
    assert copied["first"] is copied["second"][0] and copied["first"] is not tracked
    assert memo[id(data)] is copied


def test_the_interpreter_modules_copy_with_it_while_installed() -> None:
    # Given the speed-up installed
    speedups.install(["json_copies"])

    # When the interpreter's States copies its input
    data = {"a": [1, {"b": 2}]}
    held = states.States(
        {
            "Execution": {"Id": "x", "Input": data, "Name": "n", "RoleArn": "r", "StartTime": "t"},
            "State": None,
            "StateMachine": {"Id": "s", "Name": "sm"},
            "Task": None,
            "Map": None,
        }
    )
    got = held.get_input()

    # Then it is ours, the rest of `copy` is the module's, and uninstall puts the module back
    assert states.copy.deepcopy is json_deepcopy
    assert states.copy.copy is copy.copy
    assert got == data and got is not data and got["a"] is not data["a"]
    speedups.uninstall()
    assert states.copy is copy
    assert registry.resolve("moto.stepfunctions.parser.asl.component.state.exec.execute_state.copy") is copy
