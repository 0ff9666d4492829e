"""localaws.patches.speedups.json_copy: the interpreter's deep copies give what copy.deepcopy gives."""

from __future__ import annotations

import abc
import copy
import copyreg
import datetime
from collections import OrderedDict
from typing import Any

import pytest
from moto.stepfunctions.parser.asl.eval import states
from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded, ProgramRunning, ProgramTimedOut

from localaws.patches import registry, speedups
from localaws.patches.speedups import json_copy
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


def _program_states() -> list[Any]:
    running = ProgramRunning()
    running.next_state_name = "Record"
    running.next_field_name = "Parameters"
    return [ProgramRunning(), running, ProgramEnded(), ProgramTimedOut()]


@pytest.mark.parametrize("state", _program_states(), ids=["running-new", "running", "ended", "timed-out"])
def test_a_program_state_is_copied_as_deepcopy_copies_it(state: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a program state, alone and twice in a list (as a memo would meet it again)
    # When it is copied by moto's deepcopy and by ours (which does not hand it to deepcopy)
    theirs = copy.deepcopy(state)

    class NoDeepcopy:
        def deepcopy(self, *_: Any) -> Any:
            raise AssertionError("handed to copy.deepcopy")

    monkeypatch.setattr(json_copy, "copy", NoDeepcopy())
    ours = json_deepcopy(state)
    pair = json_deepcopy([state, state])

    # Then a new instance of its class with equal fields (their own dict), shared where it was shared
    assert type(ours) is type(theirs) is type(state) and ours is not state
    assert vars(ours) == vars(theirs) == vars(state) and vars(ours) is not vars(state)
    assert pair[0] is pair[1] and pair[0] is not state


@pytest.mark.parametrize("path", json_copy.PLAIN_INSTANCE_PATHS)
def test_the_program_states_copied_by_hand_reduce_by_default(path: str) -> None:
    # What _copy_plain_instance relies on: deepcopy would take the default reduction (new + __dict__)
    cls = registry.resolve(path)
    assert not hasattr(cls, "__deepcopy__") and not hasattr(cls, "__setstate__")
    assert cls.__reduce_ex__ is object.__reduce_ex__ and cls.__reduce__ is object.__reduce__
    assert cls.__getstate__ is object.__getstate__ and cls.__new__ is object.__new__
    assert copyreg.dispatch_table.get(cls) is None and cls not in copy._deepcopy_dispatch  # type: ignore[attr-defined]
    assert not any("__slots__" in vars(klass) for klass in cls.__mro__ if klass not in (abc.ABC, object))
