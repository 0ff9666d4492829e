"""speedups.execution_threads: an execution and its program run on kept workers, as on moto's threads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.backend import execution_worker

from localaws.endpoint.defaults import MOTO_CONFIG
from localaws.patches import speedups
from localaws.patches.speedups import execution_threads, task_threads
from tests.localaws.patches.test_speedups import (
    CHOICE_PASS_TASK,
    ROLE,
    make_table,
    stock_and_ours,
    wait_terminal,
)
from tests.localaws.support import moto_client as client

REGION = "us-east-1"


pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test


# The program's own TimeoutSeconds cuts a Wait short: the execution times out, as Program.eval decides.
PROGRAM_TIMEOUT = {
    "StartAt": "Mark",
    "TimeoutSeconds": 1,
    "States": {
        "Mark": {"Type": "Pass", "Result": "marked", "ResultPath": "$.mark", "Next": "Long wait"},
        "Long wait": {"Type": "Wait", "Seconds": 3, "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
}


def test_executions_match_stock_moto_with_their_threads_kept() -> None:
    # Given a DynamoDB put, a Choice and Passes, run concurrently on stock moto and with the speed-ups
    inputs = [{"orderId": f"o-{n}", "amount": 50 + 40 * n} for n in range(4)]
    stock, ours = stock_and_ours(CHOICE_PASS_TASK, inputs, setup=make_table)

    # Then the same statuses, outputs and whole histories
    assert ours == stock
    assert [status for status, _, _ in ours] == ["SUCCEEDED"] * 4


def test_a_program_past_its_timeout_times_out_as_on_stock_moto() -> None:
    # Given a definition whose TimeoutSeconds ends before its Wait does, on stock moto and with the speed-ups
    stock, ours = stock_and_ours(PROGRAM_TIMEOUT, [{"orderId": "o-1"}])

    # Then the same status and history: timed out after the Wait was entered
    assert ours == stock
    status, _, history = ours[0]
    assert status == "TIMED_OUT"
    assert history[-1]["type"] == "ExecutionTimedOut"


def test_executions_reuse_workers_and_a_waiting_one_holds_only_its_own() -> None:
    speedups.install(["task_threads", "execution_threads"])
    assert execution_worker.Thread is task_threads._pooled_thread
    assert Program.eval is execution_threads._program_eval
    with mock_aws(config=MOTO_CONFIG):
        sfn = client("stepfunctions")
        quick = sfn.create_state_machine(
            name="quick",
            roleArn=ROLE,
            definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        )["stateMachineArn"]
        waiting = sfn.create_state_machine(
            name="waiting",
            roleArn=ROLE,
            definition=json.dumps(
                {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "End": True}}}
            ),
        )["stateMachineArn"]

        # Given quick executions one after the other: on kept workers (the program on the execution's own)
        for n in range(3):
            arn = sfn.start_execution(stateMachineArn=quick, name=f"warm-{n}", input="{}")["executionArn"]
            assert wait_terminal(arn)["status"] == "SUCCEEDED"
        started_before = task_threads.workers.started
        for n in range(6):
            arn = sfn.start_execution(stateMachineArn=quick, name=f"q-{n}", input="{}")["executionArn"]
            assert wait_terminal(arn)["status"] == "SUCCEEDED"
        assert task_threads.workers.started - started_before <= 1

        # When executions wait, and a quick one starts meanwhile
        blocked = [
            sfn.start_execution(stateMachineArn=waiting, name=f"w-{n}", input="{}")["executionArn"]
            for n in range(4)
        ]
        quick_arn = sfn.start_execution(stateMachineArn=quick, name="q-after", input="{}")["executionArn"]

        # Then the quick one ends while they wait, and they all end as their Wait does
        assert wait_terminal(quick_arn, timeout_s=20)["status"] == "SUCCEEDED"
        assert sfn.describe_execution(executionArn=blocked[0])["status"] == "RUNNING"
        assert [wait_terminal(arn, timeout_s=20)["status"] for arn in blocked] == ["SUCCEEDED"] * 4


PARALLEL_OF_TASKS = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Put",
                    "States": {
                        "Put": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::dynamodb:putItem",
                            "Parameters": {"TableName": "orders", "Item": {"orderId": {"S.$": "$.orderId"}}},
                            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}],
                            "End": True,
                        }
                    },
                },
                {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}},
            ],
            "End": True,
        }
    },
}


def test_lean_frames_hold_what_moto_s_frames_hold() -> None:
    # Given a parent environment, as an execution has it while a Task state runs
    speedups.install(["task_threads", "execution_threads"])
    captured: list[Any] = []
    original_open_frame = Environment.open_frame

    def capture(self: Any, *args: Any, **kwargs: Any) -> Any:
        captured.append(self)
        return original_open_frame(self, *args, **kwargs)

    Environment.open_frame = capture  # type: ignore[method-assign]
    try:
        stock_and_ours(CHOICE_PASS_TASK, [{"orderId": "o-1", "amount": 1}], setup=make_table)
    finally:
        Environment.open_frame = original_open_frame  # type: ignore[method-assign]
    parent = captured[0]

    # When moto's as_inner_frame_of and ours each build a frame of it
    speedups.uninstall()
    stock = Environment.as_inner_frame_of(parent, parent.variable_store)
    speedups.install(["lean_frames"])
    ours = Environment.as_inner_frame_of(parent, parent.variable_store)

    # Then the same fields in the same order, sharing the parent's managers, equal context and program state
    assert list(vars(ours)) == list(vars(stock))
    for shared in ("event_manager", "callback_pool_manager", "map_run_record_pool_manager", "variable_store"):
        assert getattr(ours, shared) is getattr(stock, shared) is getattr(parent, shared)
    assert ours.states.context_object.context_object_data == stock.states.context_object.context_object_data
    assert type(ours._program_state) is type(stock._program_state)
    assert vars(ours._program_state) == vars(stock._program_state)
    assert (
        ours._is_frame
        and ours.event_history_context.source_event_id == stock.event_history_context.source_event_id
    )


def test_parallel_branches_and_retries_match_stock_moto_with_lean_frames() -> None:
    # Given a Parallel whose branches run a Task (a frame each) and a Pass, stock and with the speed-ups
    stock, ours = stock_and_ours(
        PARALLEL_OF_TASKS, [{"orderId": f"o-{n}"} for n in range(3)], setup=make_table
    )

    # Then the same statuses and outputs, and the same events (Parallel branches interleave in any order)
    assert [(status, output) for status, output, _ in ours] == [
        (status, output) for status, output, _ in stock
    ]
    for (_, _, ours_history), (_, _, stock_history) in zip(ours, stock, strict=True):
        assert sorted(e["type"] for e in ours_history) == sorted(e["type"] for e in stock_history)
