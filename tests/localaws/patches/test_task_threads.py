"""speedups.task_threads: states run on kept workers, with moto's timeouts, histories and no starvation."""

from __future__ import annotations

import contextvars
import json
import re
import threading
from typing import Any

import pytest
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds, TimeoutSecondsPath
from moto.stepfunctions.parser.asl.component.state.exec import execute_state

from localaws.endpoint.defaults import MOTO_CONFIG
from localaws.patches import speedups
from localaws.patches.speedups import task_threads
from tests.localaws.patches.test_speedups import (
    CHOICE_PASS_TASK,
    ROLE,
    make_table,
    normalized_history,
    stock_and_ours,
    wait_terminal,
)
from tests.localaws.support import moto_client as client

REGION = "us-east-1"


pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test


def _queue() -> None:
    client("sqs").create_queue(QueueName="q")


# A task that sends a task token to queue "q" and waits for it; nobody sends it back.
WAIT_FOR_TOKEN: dict[str, Any] = {
    "Type": "Task",
    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    "Parameters": {
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        "MessageBody": {"token.$": "$$.Task.Token"},
    },
}

# A task that finishes, then one that waits for a token nobody sends and times out into a Catch.
TIMEOUT_CAUGHT = {
    "StartAt": "Send",
    "States": {
        "Send": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {
                "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                "MessageBody.$": "$",
            },
            "ResultPath": "$.sent",
            "ResultSelector": {"ok": True},
            "Next": "Wait for token",
        },
        "Wait for token": {
            **WAIT_FOR_TOKEN,
            "TimeoutSeconds": 1,
            "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "Timed out"}],
            "End": True,
        },
        "Timed out": {"Type": "Pass", "End": True},
    },
}


def _without_body_md5(results: list[Any]) -> list[Any]:
    return json.loads(re.sub(r'MD5OfMessageBody\\+": \\+"[0-9a-f]{32}', "MD5", json.dumps(results)))


def test_a_state_past_its_timeout_fails_and_is_caught_as_on_stock_moto() -> None:
    # Given a task that completes and a task that times out, on stock moto and with the speed-ups
    stock, ours = stock_and_ours(TIMEOUT_CAUGHT, [{"orderId": "o-1"}, {"orderId": "o-2"}], setup=_queue)

    # Then the same statuses, outputs and histories (but the MD5 of a body that holds a random task token),
    # the timeout caught as States.Timeout
    assert _without_body_md5(ours) == _without_body_md5(stock)
    for status, output, _ in ours:
        assert status == "SUCCEEDED"
        assert output["sent"] == {"ok": True} and output["error"]["Error"] == "States.Timeout"


def test_states_reuse_workers_and_a_blocked_state_never_starves_another() -> None:
    speedups.install(["task_threads"])
    assert execute_state.Thread is task_threads._state_thread
    with mock_aws(config=MOTO_CONFIG):
        sqs_url = client("sqs").create_queue(QueueName="q")["QueueUrl"]
        sfn = client("stepfunctions")
        waiting = sfn.create_state_machine(
            name="waiting",
            roleArn=ROLE,
            definition=json.dumps(
                {
                    "StartAt": "Wait for token",
                    "States": {
                        "Wait for token": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                            "Parameters": {"QueueUrl": sqs_url, "MessageBody": {"token.$": "$$.Task.Token"}},
                            "End": True,
                        }
                    },
                }
            ),
        )["stateMachineArn"]
        quick = sfn.create_state_machine(
            name="quick",
            roleArn=ROLE,
            definition=json.dumps(
                {
                    "StartAt": "Send",
                    "States": {
                        "Send": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::sqs:sendMessage",
                            "Parameters": {"QueueUrl": sqs_url, "MessageBody.$": "$"},
                            "ResultSelector": {"id.$": "$.MessageId"},
                            "End": True,
                        }
                    },
                }
            ),
        )["stateMachineArn"]

        # Given a few quick executions, one after the other: their states share kept workers
        started_before = task_threads.workers.started
        for n in range(4):
            arn = sfn.start_execution(stateMachineArn=quick, name=f"q-{n}", input="{}")["executionArn"]
            assert wait_terminal(arn)["status"] == "SUCCEEDED"
        assert task_threads.workers.started - started_before <= 2

        # When eight executions hold their workers waiting for tokens, and a quick one starts
        blocked = [
            sfn.start_execution(stateMachineArn=waiting, name=f"w-{n}", input="{}")["executionArn"]
            for n in range(8)
        ]
        quick_arn = sfn.start_execution(stateMachineArn=quick, name="q-after", input="{}")["executionArn"]

        # Then the quick one finishes while they wait, and each waiting one resumes with its token's output
        assert wait_terminal(quick_arn, timeout_s=20)["status"] == "SUCCEEDED"
        tokens: list[str] = []
        while len(tokens) < 8:
            for message in (
                client("sqs").receive_message(QueueUrl=sqs_url, MaxNumberOfMessages=10).get("Messages", [])
            ):
                body = json.loads(message["Body"])
                if "token" in body:
                    tokens.append(body["token"])
        for n, token in enumerate(tokens):
            sfn.send_task_success(taskToken=token, output=json.dumps({"answer": n}))
        answers = sorted(json.loads(wait_terminal(arn, timeout_s=20)["output"])["answer"] for arn in blocked)
        assert answers == list(range(8))
        assert normalized_history(blocked[0])[-1]["type"] == "ExecutionSucceeded"


def test_a_pooled_thread_behaves_as_a_thread_for_its_callers() -> None:
    # Given the stand-in, as execute_state calls it, and a context variable set on this thread
    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="fresh")
    marker.set("caller's")
    seen: list[tuple[str, str]] = []
    release = threading.Event()

    def target() -> None:
        release.wait(5)
        seen.append((marker.get(), threading.current_thread().name))

    thread = task_threads._pooled_thread(target=target, daemon=True)

    # When it starts, runs and is joined
    thread.start()
    alive_while_running = thread.is_alive()
    release.set()
    thread.join(5)

    # Then it ran once, in a fresh context on a named worker, and reports its life as a Thread does
    assert alive_while_running and not thread.is_alive()
    assert seen == [("fresh", seen[0][1])] and seen[0][1].endswith("(_exec_and_notify)")
    with pytest.raises(RuntimeError, match="only be started once"):
        thread.start()
    # and any other use gets a real thread
    assert isinstance(task_threads._pooled_thread(target=target), threading.Thread)
    assert isinstance(task_threads._pooled_thread(target=target, daemon=True, name="x"), threading.Thread)


RECORD: dict[str, Any] = CHOICE_PASS_TASK["States"]["Record"]  # type: ignore[index]

# A Task with no timeout that writes, one that fails (retried, then caught), and a .waitForTaskToken Task
# with HeartbeatSeconds (so bound by moto's 60 s default) whose token never comes: its heartbeat runs out
# after 1 s, well before the 60 s.
UNBOUNDED_AND_HEARTBEAT = {
    "StartAt": "Record",
    "States": {
        "Record": {**RECORD, "Next": "Fail to write"},
        "Fail to write": {
            "Type": "Task",
            "Resource": RECORD["Resource"],
            "Parameters": {"TableName": "no-such-table", "Item": {"orderId": {"S.$": "$.orderId"}}},
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}],
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.writeError", "Next": "Wait for token"}
            ],
            "End": True,
        },
        "Wait for token": {
            **WAIT_FOR_TOKEN,
            "HeartbeatSeconds": 1,
            "Catch": [
                {
                    "ErrorEquals": ["States.HeartbeatTimeout", "States.Timeout"],
                    "ResultPath": "$.late",
                    "Next": "Done",
                }
            ],
            "End": True,
        },
        "Done": {"Type": "Pass", "End": True},
    },
}


def _table_and_queue() -> None:
    make_table()
    _queue()


@pytest.fixture
def thread_kinds(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The names of the states whose work ran on the caller's thread ("inline") and on a kept worker."""
    kinds: dict[str, list[str]] = {"inline": [], "worker": []}
    for kind, cls in (("inline", task_threads._InlineThread), ("worker", task_threads._PooledThread)):
        own_start = cls.start

        def start(self: Any, kind: str = kind, own_start: Any = own_start) -> None:
            state = task_threads._state_of(self._target)
            if state is not None:
                kinds[kind].append(state.name)
            own_start(self)

        monkeypatch.setattr(cls, "start", start)
    return kinds


def test_states_without_a_timeout_run_inline_and_match_stock_moto(thread_kinds: dict[str, list[str]]) -> None:
    # Given tasks without a timeout (one succeeds, one fails, is retried and caught) and a task token task
    # whose heartbeat runs out, on stock moto and with the speed-ups
    stock, ours = stock_and_ours(UNBOUNDED_AND_HEARTBEAT, [{"orderId": "o-1"}], setup=_table_and_queue)

    # Then the same status, output and history (but the MD5 of a body that holds a random task token, and
    # the request id in the output's error cause)
    def comparable(results: list[Any]) -> Any:
        return json.loads(re.sub(r"Request ID: \w+", "<id>", json.dumps(_without_body_md5(results))))

    assert comparable(ours) == comparable(stock)
    status, output, history = ours[0]
    assert status == "SUCCEEDED"
    assert output["writeError"]["Error"] == "DynamoDB.ResourceNotFoundException"
    assert output["late"]["Error"] == "States.Timeout"  # moto's name for a heartbeat that ran out
    assert [e["type"] for e in history].count("TaskScheduled") == 4
    # and the tasks without a timeout ran on the caller's thread (each attempt), the heartbeat one on a worker
    assert thread_kinds == {
        "inline": ["Record", "Fail to write", "Fail to write"],
        "worker": ["Wait for token"],
    }


def test_a_task_with_timeout_seconds_still_runs_on_a_worker_and_times_out(
    thread_kinds: dict[str, list[str]],
) -> None:
    # Given a task without a timeout, then a task token task with TimeoutSeconds whose token never comes
    stock, ours = stock_and_ours(TIMEOUT_CAUGHT, [{"orderId": "o-1"}], setup=_queue)

    # Then it times out into its Catch as on stock moto; only the bounded task went to a worker
    assert _without_body_md5(ours) == _without_body_md5(stock)
    assert ours[0][1]["error"]["Error"] == "States.Timeout"
    assert thread_kinds == {"inline": ["Send"], "worker": ["Wait for token"]}


def test_moto_s_state_work_closes_over_its_state_as_self() -> None:
    # What _state_of relies on: execute_state's Thread target is _exec_and_notify, a closure over `self`
    nested = [
        const
        for const in execute_state.ExecutionState._evaluate_with_timeout.__code__.co_consts
        if getattr(const, "co_name", None) == "_exec_and_notify"
    ]
    assert len(nested) == 1 and "self" in nested[0].co_freevars


def _work_of(state: Any, seen: list[Any], *, fail: BaseException | None = None) -> Any:
    """A target shaped as moto's: a closure over the state as ``self``."""
    self = state
    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="fresh")
    marker.set("caller's")

    def _exec_and_notify() -> None:
        seen.append((self, marker.get(), threading.get_ident()))
        if fail is not None:
            raise fail

    return _exec_and_notify


class _State:
    def __init__(self, timeout: Any) -> None:
        self.timeout = timeout


@pytest.mark.parametrize(
    ("timeout", "inline"),
    [
        (TimeoutSeconds(timeout_seconds=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS), True),
        (TimeoutSeconds(timeout_seconds=5), False),
        (TimeoutSeconds(timeout_seconds=60, is_default=True), False),  # HeartbeatSeconds without a timeout
        (TimeoutSecondsPath(string_sampler=None), False),  # type: ignore[arg-type]
        (None, False),
    ],
)
def test_only_a_state_whose_wait_has_no_bound_runs_on_the_caller_s_thread(timeout: Any, inline: bool) -> None:
    # Given the stand-in for execute_state's Thread, and a state's work
    seen: list[Any] = []
    state = _State(timeout)
    thread = task_threads._state_thread(target=_work_of(state, seen), daemon=True)

    # When it starts and is joined
    thread.start()
    thread.join(5)

    # Then it ran once, in a fresh context, on this thread only when the state's wait has no bound
    assert isinstance(thread, task_threads._InlineThread) is inline
    assert [(s, value) for s, value, _ in seen] == [(state, "fresh")]
    assert (seen[0][2] == threading.get_ident()) is inline
    assert not thread.is_alive()


def test_an_inline_state_s_uncaught_base_exception_goes_to_the_excepthook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a state without a timeout whose work raises what moto's Exception handler does not catch
    hooked: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", hooked.append)
    seen: list[Any] = []
    state = _State(TimeoutSeconds(timeout_seconds=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS))
    thread = task_threads._state_thread(target=_work_of(state, seen, fail=KeyboardInterrupt()), daemon=True)

    # When it starts
    thread.start()

    # Then, as on a thread of its own, the error went to threading.excepthook and the caller goes on
    assert len(seen) == 1 and [type(args.exc_value) for args in hooked] == [KeyboardInterrupt]
    with pytest.raises(RuntimeError, match="only be started once"):
        thread.start()
