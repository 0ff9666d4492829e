"""The path of an execution, read from recorded LocalAws histories and from small hand-made ones."""

from __future__ import annotations

import json
from typing import Any

from localaws.stepfunctions.history import CAUGHT, FAILED, RUNNING, SUCCEEDED, execution_path
from tests.localaws.support import recorded


def entered(events: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def test_a_declined_payment_is_caught_and_the_order_ends_in_its_fail_state() -> None:
    # Given the history of a declined order
    declined = recorded("declined")

    # When its path is read
    path = execution_path(declined["events"], declined["status"])

    # Then the runs follow the history, the payment is caught, and the Fail state carries the error
    assert [run.name for run in path.runs] == entered(declined["events"])
    assert path.states["Request Payment"] == CAUGHT
    payment = next(run for run in path.runs if run.name == "Request Payment")
    assert payment.error == "PaymentDeclined" and payment.cause
    assert path.states["Order Cancelled"] == FAILED
    assert path.runs[-1].error == "OrderCancelled"
    assert {"Validate Order", "Cancel Order"} <= {n for n, s in path.states.items() if s == SUCCEEDED}
    assert ("Request Payment", "Cancel Order", "catch") in {
        (t.source, t.target, t.kind) for t in path.transitions
    }
    assert ("Validate Order", "Is Order Valid?", "next") in {
        (t.source, t.target, t.kind) for t in path.transitions
    }


def test_an_item_out_of_stock_fails_inside_the_map_whose_catch_compensates() -> None:
    # Given the history of an order with one SKU out of stock (Map iterations interleave)
    out_of_stock = recorded("out-of-stock")

    # When its path is read
    path = execution_path(out_of_stock["events"], out_of_stock["status"])

    # Then the failing item is red, the Map caught (with the item's error), and compensation ran
    assert path.states["Reserve Item"] == FAILED
    assert path.states["Reserve Stock"] == CAUGHT
    reserve_stock = next(run for run in path.runs if run.name == "Reserve Stock")
    assert reserve_stock.error == "OutOfStock"
    assert [run.status for run in path.runs if run.name == "Reserve Item"].count(SUCCEEDED) == 1
    assert path.states["Release Stock"] == SUCCEEDED
    assert ("Reserve Stock", "Release Stock", "catch") in {
        (t.source, t.target, t.kind) for t in path.transitions
    }


def test_each_map_iteration_has_its_item_its_states_and_its_outcome() -> None:
    # Given the history of an order with two SKUs, the second out of stock
    out_of_stock = recorded("out-of-stock")

    # When its path is read
    path = execution_path(out_of_stock["events"], out_of_stock["status"])

    # Then each Map has one iteration per SKU, in index order, the failed one marked
    reserving = [i for i in path.iterations if i.map_state == "Reserve Stock"]
    releasing = [i for i in path.iterations if i.map_state == "Release Stock"]
    assert [(i.index, i.status) for i in reserving] == [(0, SUCCEEDED), (1, FAILED)]
    assert [(i.index, i.status) for i in releasing] == [(0, SUCCEEDED), (1, SUCCEEDED)]
    # And each iteration holds the runs of its own states, with that item's input and output
    for iteration, sku in zip(reserving, ("SKU-9", "SKU-10"), strict=True):
        (run,) = (path.runs[i] for i in iteration.runs)
        assert run.name == "Reserve Item"
        assert run.iteration == ("Reserve Stock", iteration.index)
        assert json.loads(run.input or "{}")["sku"] == sku
    failed = path.runs[reserving[1].runs[0]]
    assert (failed.status, failed.error) == (FAILED, "OutOfStock")
    assert json.loads(path.runs[reserving[0].runs[0]].output or "{}")
    # And the states outside the Maps belong to no iteration
    assert all(run.iteration is None for run in path.runs if run.name in ("Reserve Stock", "Refund Payment"))
    assert path.to_json()["iterations"][1] == {
        "map_state": "Reserve Stock",
        "index": 1,
        "status": FAILED,
        "runs": reserving[1].runs,
    }


def test_a_rejected_order_takes_the_default_branch_to_order_rejected() -> None:
    # Given the history of a malformed order
    malformed = recorded("malformed")

    # When its path is read
    path = execution_path(malformed["events"], malformed["status"])

    # Then only the rejection branch is coloured and nothing was caught
    assert path.states["Order Rejected"] == FAILED
    assert "Record Order" not in path.states
    assert CAUGHT not in path.states.values()
    assert ("Is Order Valid?", "Record Rejection", "next") in {
        (t.source, t.target, t.kind) for t in path.transitions
    }


def test_a_running_execution_shows_where_it_is_now() -> None:
    # Given the first events of a history, cut while the payment is awaited
    declined = recorded("declined")
    cut = [e for e in declined["events"] if int(e["id"]) <= 31]

    # When its path is read as RUNNING
    path = execution_path(cut, "RUNNING")

    # Then the payment is in progress and is the current state
    assert path.states["Request Payment"] == RUNNING
    assert path.current_state == "Request Payment"
    assert path.states["Choose Payment Lane"] == SUCCEEDED


def _event(event_id: int, previous: int, kind: str, **details: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"id": event_id, "previousEventId": previous, "type": kind}
    if kind.endswith("StateEntered"):
        event["stateEnteredEventDetails"] = details
    elif kind.endswith("StateExited"):
        event["stateExitedEventDetails"] = details
    elif details:
        event["taskFailedEventDetails"] = details
    return event


def test_a_failure_that_a_retry_overcomes_is_a_success_with_a_retry() -> None:
    # Given a task that fails once, is retried and succeeds
    events = [
        _event(1, 0, "ExecutionStarted"),
        _event(2, 1, "TaskStateEntered", name="Charge", input="{}"),
        _event(3, 2, "TaskScheduled"),
        _event(4, 3, "TaskFailed", error="Boom", cause="transient"),
        _event(5, 4, "TaskScheduled"),
        _event(6, 5, "TaskSucceeded"),
        _event(7, 6, "TaskStateExited", name="Charge", output='{"ok": true}'),
        _event(8, 7, "ExecutionSucceeded"),
    ]

    # When its path is read
    path = execution_path(events, "SUCCEEDED")

    # Then the state succeeded after one retry, and its output is kept
    (run,) = path.runs
    assert (run.status, run.retries, run.output) == (SUCCEEDED, 1, '{"ok": true}')


def test_a_catch_recorded_without_a_state_exit_is_still_caught() -> None:
    # Given a history as AWS writes a Catch: TaskFailed, then the Catch target entered, no TaskStateExited
    events = [
        _event(1, 0, "ExecutionStarted"),
        _event(2, 1, "TaskStateEntered", name="Charge"),
        _event(3, 2, "TaskScheduled"),
        _event(4, 3, "TaskFailed", error="PaymentDeclined", cause="no"),
        _event(5, 4, "TaskStateEntered", name="Cancel"),
        _event(6, 5, "TaskStateExited", name="Cancel"),
        _event(7, 6, "ExecutionSucceeded"),
    ]

    # When its path is read
    path = execution_path(events, "SUCCEEDED")

    # Then the failed task is caught and the transition is a catch
    assert path.states == {"Charge": CAUGHT, "Cancel": SUCCEEDED}
    assert [(t.source, t.target, t.kind) for t in path.transitions] == [("Charge", "Cancel", "catch")]


def test_an_uncaught_failure_fails_the_state() -> None:
    # Given a task that fails and ends the execution
    events = [
        _event(1, 0, "ExecutionStarted"),
        _event(2, 1, "TaskStateEntered", name="Charge"),
        _event(3, 2, "TaskFailed", error="Boom", cause="bad"),
        _event(4, 3, "ExecutionFailed"),
    ]

    # When its path is read
    path = execution_path(events, "FAILED")

    # Then the state failed, with the task's error
    assert path.states == {"Charge": FAILED}
    assert (path.runs[0].error, path.runs[0].cause) == ("Boom", "bad")


def test_a_map_whose_failure_follows_a_succeeded_item_still_fails_with_the_failed_items_error() -> None:
    # Given the out-of-stock history, its MapStateFailed following the item that succeeded (as a live run
    # can record it when that item's events come last)
    out_of_stock = recorded("out-of-stock")
    events = [dict(event) for event in out_of_stock["events"]]
    succeeded_item = next(
        e["id"]
        for e in events
        if e["type"] == "MapIterationSucceeded"
        and e["mapIterationSucceededEventDetails"]["name"] == "Reserve Stock"
    )
    for event in events:
        if event["type"] == "MapStateFailed":
            event["previousEventId"] = succeeded_item

    # When its path is read
    path = execution_path(events, out_of_stock["status"])

    # Then Reserve Stock is caught with the failed item's error, not the event's name
    reserve_stock = next(run for run in path.runs if run.name == "Reserve Stock")
    assert (reserve_stock.status, reserve_stock.error) == (CAUGHT, "OutOfStock")
