"""Waits, heartbeats and timeouts on the embedded engine (with moto's fixes installed), in real seconds."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint, CallbackOutcomeSuccess
from moto.stepfunctions.parser.backend.execution import Execution

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/states"


def client(service: str) -> Any:
    return cast(Any, boto3).client(service, region_name=REGION)


def callback_machine(queue_url: str, *, heartbeat: int | None, timeout: int, catch: str | None = None) -> str:
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
        "TimeoutSeconds": timeout,
        "End": True,
    }
    states: dict[str, Any] = {"Pause": {"Type": "Wait", "Seconds": 1, "Next": "Ask"}, "Ask": task}
    if heartbeat is not None:
        task["HeartbeatSeconds"] = heartbeat
    if catch is not None:
        task["Catch"] = [{"ErrorEquals": [catch], "ResultPath": "$.failure", "Next": "Hung"}]
        states["Hung"] = {"Type": "Pass", "End": True}
    name = f"waits-{heartbeat}-{timeout}-{catch is not None}"
    definition = json.dumps({"StartAt": "Pause", "States": states})
    machine = client("stepfunctions").create_state_machine(name=name, definition=definition, roleArn=ROLE)
    return str(machine["stateMachineArn"])


def run(machine: str) -> str:
    return str(client("stepfunctions").start_execution(stateMachineArn=machine, input="{}")["executionArn"])


def token_from(queue_url: str) -> str:
    sqs = client("sqs")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            return str(json.loads(messages[0]["Body"])["token"])
    raise AssertionError("the task never sent its token")


def finish(arn: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described: dict[str, Any] = client("stepfunctions").describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError(f"{arn} still running after {timeout} s")


def test_a_task_nobody_answers_fails_on_its_heartbeat(engine_with_fixes: None) -> None:
    # Given a callback task with a 1 s heartbeat and a 30 s timeout
    queue = client("sqs").create_queue(QueueName="asks")["QueueUrl"]
    started = time.monotonic()
    arn = run(callback_machine(queue, heartbeat=1, timeout=30))
    # When nobody answers
    described = finish(arn)
    # Then it fails after the 1 s wait and the 1 s heartbeat (finish gives up after 15 s, half the 30 s
    # timeout, so it was the heartbeat); as on AWS the execution reports States.Timeout
    # (States.HeartbeatTimeout exists only for Catch and Retry)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Timeout"
    assert time.monotonic() - started >= 2


def test_an_answer_that_came_before_the_heartbeat_clock_started_is_kept(engine_with_fixes: None) -> None:
    # Given a task whose service answered between the task's send and the start of its heartbeat clock
    endpoint = CallbackEndpoint(callback_id="token")
    endpoint.notify(CallbackOutcomeSuccess(callback_id="token", output='{"reserved": 1}'))
    clock = endpoint.setup_heartbeat_endpoint(heartbeat_seconds=2)
    # When the task waits on its clock, as moto's callback loop does
    signed = clock.clear_and_wait()
    # Then the sign of life is there already (moto would wait the 2 s and call it a missed heartbeat),
    # and the answer is the service's
    assert signed is True
    outcome = endpoint.get_outcome()
    assert isinstance(outcome, CallbackOutcomeSuccess)
    assert json.loads(outcome.output) == {"reserved": 1}


def test_a_catch_on_heartbeat_timeout_sees_the_missed_heartbeat(engine_with_fixes: None) -> None:
    # Given the same task with a Catch on States.HeartbeatTimeout
    queue = client("sqs").create_queue(QueueName="asks")["QueueUrl"]
    arn = run(callback_machine(queue, heartbeat=1, timeout=30, catch="States.HeartbeatTimeout"))
    # When nobody answers
    described = finish(arn)
    # Then the catch takes it (the caught error keeps the name the execution would fail with)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["failure"]["Error"] == "States.Timeout"


def test_heartbeats_keep_a_slow_task_alive_until_it_answers(engine_with_fixes: None) -> None:
    # Given the same task, and a worker that heartbeats every 0.4 s for 2.5 s before answering
    queue = client("sqs").create_queue(QueueName="asks")["QueueUrl"]
    arn = run(callback_machine(queue, heartbeat=1, timeout=30))
    token = token_from(queue)
    sfn = client("stepfunctions")

    def slow_worker() -> None:
        for _ in range(6):
            sfn.send_task_heartbeat(taskToken=token)
            time.sleep(0.4)
        sfn.send_task_success(taskToken=token, output=json.dumps({"answer": 42}))

    worker = threading.Thread(target=slow_worker)
    worker.start()
    # When the execution finishes
    described = finish(arn)
    worker.join()
    # Then it succeeded with the answer, though it took longer than its heartbeat
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"answer": 42}


def test_a_task_past_its_timeout_fails_even_with_heartbeats(engine_with_fixes: None) -> None:
    # Given a callback task with a 2 s timeout and no heartbeat
    queue = client("sqs").create_queue(QueueName="asks")["QueueUrl"]
    arn = run(callback_machine(queue, heartbeat=None, timeout=2))
    token = token_from(queue)
    # When the worker only ever sends heartbeats (accepted: AWS takes them without HeartbeatSeconds)
    client("stepfunctions").send_task_heartbeat(taskToken=token)
    described = finish(arn)
    # Then the execution times out
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Timeout"


@pytest.mark.parametrize("catch", [None, "States.ALL"])
def test_stopping_an_execution_ends_the_task_waiting_on_its_token(
    engine_with_fixes: None, catch: str | None
) -> None:
    # Given an execution waiting in a callback task with a 300 s timeout (caught on any error, or not)
    queue = client("sqs").create_queue(QueueName="asks")["QueueUrl"]
    arn = run(callback_machine(queue, heartbeat=None, timeout=300, catch=catch))
    token_from(queue)
    sfn = client("stepfunctions")

    # When it is stopped
    sfn.stop_execution(executionArn=arn, error="Cancelled", cause="the customer cancelled")

    # Then it ends ABORTED at once, as on AWS (moto left it RUNNING until the task timed out), and its
    # history ends with the abort, not with the caught error's next state
    described = finish(arn, timeout=10)
    assert described["status"] == "ABORTED"
    events = sfn.get_execution_history(executionArn=arn)["events"]
    assert events[-1]["type"] == "ExecutionAborted"
    assert not any(event["type"] == "PassStateEntered" for event in events)


@pytest.mark.parametrize(
    ("state", "status", "fields"),
    [
        ({"Type": "Pass", "Result": {"shipped": True}, "End": True}, "SUCCEEDED", ("output",)),
        ({"Type": "Fail", "Error": "OutOfStock", "Cause": "no SKU-1 left"}, "FAILED", ("error", "cause")),
    ],
)
def test_an_ended_execution_has_its_result_before_its_status(
    engine_with_fixes: None,
    monkeypatch: pytest.MonkeyPatch,
    state: dict[str, Any],
    status: str,
    fields: tuple[str, ...],
) -> None:
    # Given a spy on what an execution holds at the moment its status leaves RUNNING, which is when a
    # DescribeExecution on another thread (it reads the status first) can see it ended
    seen: dict[str, dict[str, Any]] = {}

    def spy(execution: Execution, name: str, value: Any) -> None:
        if name == "exec_status" and value is not None and value.value != "RUNNING":
            seen[value.value] = {field: getattr(execution, field, None) for field in fields}
        object.__setattr__(execution, name, value)

    monkeypatch.setattr(Execution, "__setattr__", spy, raising=False)
    definition = json.dumps({"StartAt": "End", "States": {"End": state}})
    sfn = client("stepfunctions")
    machine = sfn.create_state_machine(name=f"ends-{status}", definition=definition, roleArn=ROLE)

    # When an execution ends
    described = finish(run(machine["stateMachineArn"]))

    # Then its output (or error and cause) was already there when its status said it had ended
    assert described["status"] == status
    assert set(seen) == {status}
    for field in fields:
        assert seen[status][field] is not None, f"{status} was set before the execution's {field}"


def timed_out_and_caught_machine(queue_url: str) -> str:
    """A callback task with a 1 s timeout, caught into a 60 s Wait: the execution goes on after the task."""
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
        "TimeoutSeconds": 1,
        "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.failure", "Next": "Compensate"}],
        "Next": "Compensate",
    }
    states = {"Ask": task, "Compensate": {"Type": "Wait", "Seconds": 60, "End": True}}
    definition = json.dumps({"StartAt": "Ask", "States": states})
    machine = client("stepfunctions").create_state_machine(name="caught", definition=definition, roleArn=ROLE)
    return str(machine["stateMachineArn"])


def answers(token: str) -> dict[str, Any]:
    sfn = client("stepfunctions")
    return {
        "success": lambda: sfn.send_task_success(taskToken=token, output='{"paid": true}'),
        "failure": lambda: sfn.send_task_failure(taskToken=token, error="Declined", cause="card refused"),
        "heartbeat": lambda: sfn.send_task_heartbeat(taskToken=token),
    }


@pytest.mark.parametrize("answer", ["success", "failure", "heartbeat"])
def test_an_answer_to_a_task_that_timed_out_gets_task_timed_out(engine_with_fixes: None, answer: str) -> None:
    # Given a task that timed out and was caught, its execution still running in the state after it
    queue = client("sqs").create_queue(QueueName="asks")["QueueUrl"]
    sfn = client("stepfunctions")
    arn = run(timed_out_and_caught_machine(queue))
    token = token_from(queue)
    deadline = time.monotonic() + 10
    while not any(
        e["type"] == "WaitStateEntered" for e in sfn.get_execution_history(executionArn=arn)["events"]
    ):
        assert time.monotonic() < deadline, "the task never timed out"
        time.sleep(0.05)

    # When its worker answers late
    with pytest.raises(ClientError) as refused:
        answers(token)[answer]()

    # Then, as on Step Functions, the answer is refused with TaskTimedOut (moto took it: 200), and the
    # execution goes on as it was, without the answer in its history
    assert refused.value.response["Error"]["Code"] == "TaskTimedOut"
    assert "does not exist anymore" in refused.value.response["Error"]["Message"]
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    types = {event["type"] for event in sfn.get_execution_history(executionArn=arn)["events"]}
    assert types.isdisjoint({"TaskSucceeded", "TaskFailed"})
    sfn.stop_execution(executionArn=arn)


def test_a_second_answer_to_an_answered_task_gets_task_timed_out(engine_with_fixes: None) -> None:
    # Given a task its worker has answered
    queue = client("sqs").create_queue(QueueName="asks")["QueueUrl"]
    arn = run(timed_out_and_caught_machine(queue))
    token = token_from(queue)
    answers(token)["success"]()

    # When the answer comes again (a redelivered message, a retried call)
    deadline = time.monotonic() + 10
    while True:
        try:
            answers(token)["success"]()
        except ClientError as refused:
            code = refused.response["Error"]["Code"]
            break
        # until the task's thread has taken the first answer and ended the task, another is still taken
        assert time.monotonic() < deadline, "the second answer was accepted for 10 s"
        time.sleep(0.05)

    # Then it is refused with TaskTimedOut, and the execution went on with the first one
    assert code == "TaskTimedOut"
    sfn = client("stepfunctions")
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    events = sfn.get_execution_history(executionArn=arn)["events"]
    assert [event["type"] for event in events].count("TaskSucceeded") == 1
    sfn.stop_execution(executionArn=arn)


def waiting_executions(count: int) -> list[str]:
    """``count`` executions of a machine that waits 60 s, oldest first."""
    definition = json.dumps(
        {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 60, "End": True}}}
    )
    machine = client("stepfunctions").create_state_machine(name="holds", definition=definition, roleArn=ROLE)
    arns = []
    for _ in range(count):
        arns.append(run(machine["stateMachineArn"]))
        time.sleep(0.01)  # distinct start dates, so the newest-first order is known
    return arns


def test_paging_through_running_executions_survives_one_that_ends_between_pages(
    engine_with_fixes: None,
) -> None:
    # Given three running executions, and the first page (the newest) of those RUNNING
    oldest, middle, newest = waiting_executions(3)
    sfn = client("stepfunctions")
    machine = sfn.describe_execution(executionArn=oldest)["stateMachineArn"]
    first = sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING", maxResults=1)
    assert [e["executionArn"] for e in first["executions"]] == [newest]

    # When the execution the next page would start with ends before it is asked for
    sfn.stop_execution(executionArn=middle)
    assert finish(middle)["status"] == "ABORTED"
    second = sfn.list_executions(
        stateMachineArn=machine, statusFilter="RUNNING", maxResults=1, nextToken=first["nextToken"]
    )

    # Then the next page goes on with the next one still running (moto answered InvalidToken), and the
    # list ends where it should
    assert [e["executionArn"] for e in second["executions"]] == [oldest]
    assert "nextToken" not in second
    for arn in (oldest, newest):
        sfn.stop_execution(executionArn=arn)


def test_a_page_token_past_every_execution_still_listed_ends_the_list(engine_with_fixes: None) -> None:
    # Given two running executions and the first page of them
    oldest, newest = waiting_executions(2)
    sfn = client("stepfunctions")
    machine = sfn.describe_execution(executionArn=oldest)["stateMachineArn"]
    first = sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING", maxResults=1)

    # When the rest ends before the next page
    sfn.stop_execution(executionArn=oldest)
    finish(oldest)
    second = sfn.list_executions(
        stateMachineArn=machine, statusFilter="RUNNING", maxResults=1, nextToken=first["nextToken"]
    )

    # Then the next page is empty and the last; a token ListExecutions never gave is still refused
    assert second["executions"] == []
    assert "nextToken" not in second
    with pytest.raises(ClientError) as refused:
        sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING", nextToken="not-a-token")
    assert refused.value.response["Error"]["Code"] == "InvalidToken"
    sfn.stop_execution(executionArn=newest)


RETRIED_TASKS = {
    # (the task's bounds, the error its Retry takes)
    "heartbeat": ({"TimeoutSeconds": 30, "HeartbeatSeconds": 1}, "States.HeartbeatTimeout"),
    "timeout": ({"TimeoutSeconds": 1}, "States.Timeout"),
}


def retried_task_machine(queue_url: str, kind: str) -> str:
    """A callback task that gives up after 1 s (heartbeat or timeout) and is retried once, 1 s later."""
    bounds, error = RETRIED_TASKS[kind]
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
        **bounds,
        "Retry": [{"ErrorEquals": [error], "IntervalSeconds": 1, "MaxAttempts": 1}],
        "End": True,
    }
    definition = json.dumps({"StartAt": "Ask", "States": {"Ask": task}})
    machine = client("stepfunctions").create_state_machine(
        name=f"retried-{kind}", definition=definition, roleArn=ROLE
    )
    return str(machine["stateMachineArn"])


@pytest.mark.parametrize("kind", sorted(RETRIED_TASKS))
def test_a_retried_task_takes_the_answer_to_its_next_attempt(engine_with_fixes: None, kind: str) -> None:
    # Given a retried callback task whose first attempt nobody answers (moto gives both attempts one token)
    queue = client("sqs").create_queue(QueueName="asks")["QueueUrl"]
    arn = run(retried_task_machine(queue, kind))
    token_from(queue)

    # When the retry's message is answered
    client("stepfunctions").send_task_success(taskToken=token_from(queue), output='{"paid": true}')

    # Then the execution succeeds with that answer: the first attempt's end neither closed the retry's token
    # nor ended the retry's wait at once (moto: a retry with TimeoutSeconds timed out the moment it began)
    described = finish(arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"paid": True}


@pytest.mark.parametrize("kind", sorted(RETRIED_TASKS))
def test_an_unanswered_retry_waits_its_own_bound_before_it_fails(engine_with_fixes: None, kind: str) -> None:
    # Given a retried callback task nobody answers
    queue = client("sqs").create_queue(QueueName="asks")["QueueUrl"]
    started = time.monotonic()
    arn = run(retried_task_machine(queue, kind))

    # When both attempts go unanswered
    described = finish(arn)

    # Then it fails only after the first attempt's 1 s, the 1 s pause and the retry's own 1 s
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Timeout"
    assert time.monotonic() - started >= 3
