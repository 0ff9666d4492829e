"""The walk counts what Step Functions Standard bills: every state entered, Map items, branches, retries."""

from __future__ import annotations

from typing import Any

import pytest

from localaws.tools.cost.transitions import Failure, OrderPath, PathError, walk_path


def _task(next_state: str | None = None, **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", **extra}
    if next_state:
        state["Next"] = next_state
    else:
        state["End"] = True
    return state


# Choose → (Each: Map of one Task per item) → Both: Parallel of two one-state branches → Done;
# a failed Map is caught into Undo, which ends in Failed.
DEFINITION: dict[str, Any] = {
    "StartAt": "Choose",
    "States": {
        "Choose": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Each"}],
            "Default": "Failed",
        },
        "Each": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "Item", "States": {"Item": _task()}},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Undo"}],
            "Next": "Both",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
                {"StartAt": "Right", "States": {"Right": {"Type": "Pass", "End": True}}},
            ],
            "Next": "Send",
        },
        "Send": _task("Done", Retry=[{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 2}]),
        "Done": {"Type": "Succeed"},
        "Undo": _task("Failed"),
        "Failed": {"Type": "Fail", "Error": "Undone"},
    },
}
HAPPY = OrderPath("happy", "", choices={"Choose": "Each"})


def test_every_state_entered_counts_once_and_map_items_and_branches_add_theirs() -> None:
    # Given an order of 3 items along the happy path
    # When it is walked
    walk = walk_path(DEFINITION, HAPPY, items=3)

    # Then Choice, Map, 3 items, Parallel, 2 branches, Task and Succeed are each one transition
    assert walk.entered == ["Choose", "Each", "Item", "Item", "Item", "Both", "Left", "Right", "Send", "Done"]
    assert walk.transitions == 10
    assert walk.error is None


def test_a_retry_is_one_more_transition() -> None:
    # Given a path on which the Task spends both retries its Retry allows
    path = OrderPath("retried", "", choices={"Choose": "Each"}, retries={"Send": 2})

    # When it is walked
    walk = walk_path(DEFINITION, path, items=1)

    # Then the retries are billed on top of the states entered
    assert walk.transitions == len(walk.entered) + 2 == 10


def test_more_retries_than_the_definition_allows_is_refused() -> None:
    path = OrderPath("too many", "", choices={"Choose": "Each"}, retries={"Send": 3})
    with pytest.raises(PathError, match="Send: 3 retries"):
        walk_path(DEFINITION, path)


def test_a_failing_last_item_enters_every_item_then_the_catch_takes_over() -> None:
    # Given the last of 4 items failing
    path = OrderPath("last fails", "", choices={"Choose": "Each"}, failures={"Item": Failure("Nope", "last")})

    # When it is walked
    walk = walk_path(DEFINITION, path, items=4)

    # Then all 4 items were entered (iterations start together), and the Catch leads to Undo and Failed
    assert walk.entered == ["Choose", "Each", "Item", "Item", "Item", "Item", "Undo", "Failed"]
    assert walk.error == "Undone"


def test_the_default_branch_of_a_choice_and_an_uncaught_error() -> None:
    # Given the Choice's default, and a Task failing with no Catch
    assert walk_path(DEFINITION, OrderPath("default", "")).entered == ["Choose", "Failed"]
    uncaught = OrderPath("uncaught", "", choices={"Choose": "Each"}, failures={"Send": Failure("Boom")})

    # When the failing path is walked
    walk = walk_path(DEFINITION, uncaught)

    # Then the execution ends with the Task's error, at the Task
    assert (walk.entered[-1], walk.error) == ("Send", "Boom")


def test_a_path_the_definition_does_not_offer_is_refused() -> None:
    with pytest.raises(PathError, match="goes to one of"):
        walk_path(DEFINITION, OrderPath("bad", "", choices={"Choose": "Done"}))
    with pytest.raises(PathError, match="never reaches: Ghost"):
        walk_path(
            DEFINITION, OrderPath("ghost", "", choices={"Choose": "Each"}, failures={"Ghost": Failure("X")})
        )
    with pytest.raises(PathError, match="items"):
        walk_path(DEFINITION, HAPPY, items=0)
