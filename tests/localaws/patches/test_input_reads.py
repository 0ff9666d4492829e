"""localaws.patches.speedups.input_reads: the held input only for moto's callers that merely read it."""

from __future__ import annotations

import ast
import inspect
import textwrap
from types import SimpleNamespace
from typing import Any, cast

import pytest
from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
from moto.stepfunctions.parser.asl.eval.states import States

from localaws.patches import registry, speedups
from localaws.patches.speedups.input_reads import READ_ONLY_CALLERS
from tests.localaws.patches.test_speedups import CHOICE_PASS_TASK, make_table, run

pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test

# Where a read-only caller may put get_input()'s value: each only reads it (reset copies what it is given).
_READING_CALLS = {"to_json_str", "_verify_size_quota", "reset"}


def _get_input_uses(function: Any) -> list[str]:
    """For each ``get_input()`` call in ``function``'s source, the name of the call it is an argument of
    (``""`` when it is anything else: assigned, returned)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "get_input":
            parent = parents[node]
            if isinstance(parent, ast.keyword):
                parent = parents[parent]
            called = getattr(parent, "func", None) if isinstance(parent, ast.Call) else None
            uses.append(getattr(called, "attr", getattr(called, "id", "")) if called is not None else "")
    return uses


@pytest.mark.parametrize("path", [path for path, _ in READ_ONLY_CALLERS])
def test_each_listed_caller_only_reads_the_input(path: str) -> None:
    # Given a moto function the speed-up lets read the held input
    function = registry.original(path)

    # When its source is read
    uses = _get_input_uses(function)

    # Then it calls get_input() with no query, and only as an argument of a call that reads (or copies) it
    assert uses, f"{path} no longer calls get_input(): drop it from READ_ONLY_CALLERS"
    assert set(uses) <= _READING_CALLS, f"{path} uses get_input() as {uses}"


def test_a_caller_that_keeps_the_value_is_seen_as_such() -> None:
    # Given moto's _eval_state_input, which pushes the input on the stack for the state to use
    # When its uses are read
    uses = _get_input_uses(CommonStateField._eval_state_input)

    # Then the check above would refuse it
    assert uses == ["append"]


def _states(data: dict[str, Any]) -> States:
    return States(
        {
            "Execution": {"Id": "x", "Input": data, "Name": "n", "RoleArn": "r", "StartTime": "t"},
            "State": None,
            "StateMachine": {"Id": "s", "Name": "sm"},
            "Task": None,
            "Map": None,
        }
    )


def _entered_details(states: States) -> Any:
    """moto's StateEntered details of a state named S whose input is held by ``states``."""
    state: Any = SimpleNamespace(name="S")
    env: Any = SimpleNamespace(states=states)
    return CommonStateField._get_state_entered_event_details(state, env)


def _copies_made(monkeypatch: pytest.MonkeyPatch, call: Any) -> int:
    """How many times ``call`` made moto extract (and so deep-copy) state data."""
    copies = []
    extract = States._extract

    def counting(query: str | None, data: Any) -> Any:
        copies.append(query)
        return extract(query, data)

    monkeypatch.setattr(States, "_extract", staticmethod(counting))
    call()
    monkeypatch.undo()
    return len(copies)


def test_a_listed_caller_reads_the_held_input_others_get_a_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the speed-up installed and a state's input
    speedups.install(["read_only_inputs"])
    data = {"orderId": "o-1", "items": [{"sku": "A", "qty": 1}]}
    states = _states(data)

    # When moto's StateEntered details are built, and this test (not a listed caller) reads the input
    entered = _copies_made(monkeypatch, lambda: _entered_details(states))
    got = states.get_input()

    # Then the details were built without a copy, the same text as from a copy, and the test got a copy
    assert entered == 0
    assert _entered_details(states)["input"] == '{"orderId":"o-1","items":[{"sku":"A","qty":1}]}'
    assert got == data and got is not data and got["items"] is not data["items"]
    assert states.get_input("$.items") == data["items"]


def test_without_it_moto_copies_for_every_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given moto's own get_input
    states = _states({"orderId": "o-1"})

    # When the StateEntered details are built
    entered = _copies_made(monkeypatch, lambda: _entered_details(states))

    # Then moto copied the input once: what the speed-up saves
    assert entered == 1


# Every kind of state data handling: a task, InputPath, Parameters, ResultPath into the input, OutputPath, a
# Map whose iterations write into their items (their frames' inputs), and a Pass that overwrites a field.
_RECORD: dict[str, Any] = cast(dict[str, Any], CHOICE_PASS_TASK["States"])["Record"]
MUTATING_PATHS = {
    "StartAt": "Record",
    "States": {
        "Record": {**_RECORD, "ResultPath": "$.order.recorded", "Next": "Each"},
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.order.items",
            "MaxConcurrency": 1,
            "Iterator": {
                "StartAt": "Mark",
                "States": {
                    "Mark": {"Type": "Pass", "Result": True, "ResultPath": "$.marked", "Next": "Narrow"},
                    "Narrow": {"Type": "Pass", "InputPath": "$", "OutputPath": "$.sku", "End": True},
                },
            },
            "ResultPath": "$.skus",
            "Next": "Overwrite",
        },
        "Overwrite": {
            "Type": "Pass",
            "InputPath": "$.order",
            "Parameters": {"items.$": "$.items", "first.$": "$.items[0]"},
            "ResultPath": "$.order",
            "OutputPath": "$",
            "End": True,
        },
    },
}


def test_executions_and_histories_match_moto_s_own_copies() -> None:
    # Given a definition that writes into its state data at every step
    inputs = [{"orderId": f"o-{n}", "order": {"items": [{"sku": f"A{n}"}, {"sku": "B"}]}} for n in range(3)]

    # When it runs on all speed-ups but this one, and with it
    speedups.install([name for name in speedups.PATCH_NAMES if name != "read_only_inputs"])
    without = run(MUTATING_PATHS, inputs, setup=make_table)
    speedups.uninstall()
    speedups.install()
    assert "read_only_inputs" in speedups.installed()
    ours = run(MUTATING_PATHS, inputs, setup=make_table)

    # Then the same status, output and whole history, and no state saw another's writes
    assert ours == without
    status, output, history = ours[0]
    assert status == "SUCCEEDED"
    assert output["order"]["items"] == [{"sku": "A0"}, {"sku": "B"}]
    assert output["skus"] == ["A0", "B"]
    assert output["order"]["first"] == {"sku": "A0"}
    entered = [event for event in history if event["type"] == "MapStateEntered"]
    assert "marked" not in entered[0]["stateEnteredEventDetails"]["input"]
