"""Time that tests choose: the engine's own waits scaled, its histories those of an unscaled run."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from localaws.endpoint.defaults import MOTO_CONFIG
from localaws.patches import corrections, speedups
from localaws.stepfunctions import wait_scale
from localaws.stepfunctions.mock_config import MOCK_CONFIG
from tests.localaws.patches.test_corrections import callback_machine, client, finish, run, token_from

ROLE = "arn:aws:iam::123456789012:role/states"
SCALE = 0.01
QUEUES = "https://sqs.us-east-1.amazonaws.com/123456789012"


@pytest.fixture
def engine(still_heap: None) -> Iterator[None]:
    with mock_aws(config=MOTO_CONFIG):
        speedups.install()
        corrections.CORRECTIONS.install()
        MOCK_CONFIG.install()
        try:
            yield
        finally:
            wait_scale.uninstall()
            MOCK_CONFIG.uninstall()
            corrections.CORRECTIONS.uninstall()
            speedups.uninstall()


def machine(name: str, states: dict[str, Any], **top: Any) -> str:
    definition = json.dumps({"StartAt": next(iter(states)), "States": states, **top})
    created = client("stepfunctions").create_state_machine(name=name, definition=definition, roleArn=ROLE)
    return str(created["stateMachineArn"])


def history(arn: str) -> list[dict[str, Any]]:
    return list(client("stepfunctions").get_execution_history(executionArn=arn)["events"])


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def queue() -> str:
    return str(client("sqs").create_queue(QueueName=f"asks-{threading.get_ident()}")["QueueUrl"])


def hang_and_other(*, asked: bool = True) -> tuple[Any, str, str]:
    """A callback machine with a 100 s heartbeat, and two executions nobody answers: one whose input holds
    "hang", one whose input does not. ``asked``: return once both have sent their task tokens."""
    asks = queue()
    arn = callback_machine(asks, heartbeat=100, timeout=300)
    sfn = client("stepfunctions")
    matched = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"token": "hang"}))["executionArn"]
    other = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"token": "visa"}))["executionArn"]
    if asked:
        token_from(asks)
        token_from(asks)
    return sfn, matched, other


def assert_only_it_missed_its_heartbeat(
    sfn: Any, matched: str, other: str, described: dict[str, Any]
) -> list[dict[str, Any]]:
    """``matched`` failed on a missed heartbeat, with the history of a real one, while ``other`` still
    waits (then stopped); its history is returned."""
    assert described["status"] == "FAILED"
    events = history(matched)
    assert [e["taskTimedOutEventDetails"]["error"] for e in events if e["type"] == "TaskTimedOut"] == [
        "States.Timeout"
    ]
    assert sfn.describe_execution(executionArn=other)["status"] == "RUNNING"
    sfn.stop_execution(executionArn=other)
    return events


@pytest.mark.parametrize(
    ("wait", "given"),
    [
        ({"Seconds": 100}, {}),
        ({"SecondsPath": "$.pause"}, {"pause": 100}),
        ({"Timestamp": "{soon}"}, {}),
        ({"TimestampPath": "$.until"}, {"until": "{soon}"}),
    ],
    ids=["Seconds", "SecondsPath", "Timestamp", "TimestampPath"],
)
def test_wait_states_wait_their_time_scaled(
    engine: None, wait: dict[str, Any], given: dict[str, Any]
) -> None:
    # Given a Wait of 100 s (or until a moment 100 s away), with the engine's waits scaled by 0.01
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=100)).strftime("%Y-%m-%dT%H:%M:%SZ")
    wait = json.loads(json.dumps(wait).replace("{soon}", soon))
    given = json.loads(json.dumps(given).replace("{soon}", soon))
    wait_scale.install(SCALE)
    arn = machine("pause", {"Pause": {"Type": "Wait", **wait, "Next": "Done"}, "Done": {"Type": "Succeed"}})

    # When it runs
    execution = client("stepfunctions").start_execution(stateMachineArn=arn, input=json.dumps(given))
    described = finish(execution["executionArn"], timeout=30)

    # Then it succeeds after the Wait, within seconds, with the history of an unscaled run
    assert described["status"] == "SUCCEEDED"
    assert types(history(execution["executionArn"])) == [
        "ExecutionStarted",
        "WaitStateEntered",
        "WaitStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]


def test_a_missed_heartbeat_fires_scaled_with_the_history_of_a_real_one(engine: None) -> None:
    # Given the same callback task twice: a 1 s heartbeat unscaled, a 100 s heartbeat scaled by 0.01
    asks = queue()
    real = run(callback_machine(asks, heartbeat=1, timeout=300))
    real_events = history(str(finish(real)["executionArn"]))
    wait_scale.install(SCALE)
    scaled = run(callback_machine(asks, heartbeat=100, timeout=300))

    # When nobody answers either
    described = finish(scaled, timeout=30)

    # Then both fail the same way, in the same order of events; the scaled history says 100 s, as written
    assert described["status"] == "FAILED"
    scaled_events = history(scaled)
    assert types(scaled_events) == types(real_events)
    timed_out = [e["taskTimedOutEventDetails"] for e in scaled_events if e["type"] == "TaskTimedOut"]
    assert [d["error"] for d in timed_out] == ["States.Timeout"]
    scheduled = next(e["taskScheduledEventDetails"] for e in scaled_events if e["type"] == "TaskScheduled")
    assert (scheduled["heartbeatInSeconds"], scheduled["timeoutInSeconds"]) == (100, 300)


def test_a_task_timeout_fires_scaled_and_a_catch_sees_its_error(engine: None) -> None:
    # Given a callback task with TimeoutSeconds 200 caught on States.Timeout, waits scaled by 0.01
    wait_scale.install(SCALE)
    arn = run(callback_machine(queue(), heartbeat=None, timeout=200, catch="States.Timeout"))

    # When nobody answers
    described = finish(arn, timeout=30)

    # Then the Catch took the timeout, by its name
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["failure"]["Error"] == "States.Timeout"


def test_a_heartbeat_resets_the_scaled_clock(engine: None) -> None:
    # Given a task with a 100 s heartbeat, scaled to 1 s, answered after two heartbeats 0.5 s apart
    wait_scale.install(SCALE)
    asks = queue()
    arn = run(callback_machine(asks, heartbeat=100, timeout=1000))
    token = token_from(asks)
    sfn = client("stepfunctions")
    for _ in range(3):
        threading.Event().wait(0.5)
        sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output="{}")

    # Then the task succeeded: 1.5 s went by, but never 1 s without a heartbeat
    assert finish(arn)["status"] == "SUCCEEDED"


def test_retry_intervals_are_scaled_and_every_attempt_stays(engine: None) -> None:
    # Given a task that always fails, retried twice 100 s then 200 s apart, waits scaled by 0.01
    wait_scale.install(SCALE)
    retry = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 100, "BackoffRate": 2, "MaxAttempts": 2}
    arn = machine(
        "retries",
        {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {
                    "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/none",
                    "MessageBody": "x",
                },
                "Retry": [retry],
                "End": True,
            }
        },
    )

    # When it runs
    execution = client("stepfunctions").start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    described = finish(execution, timeout=30)

    # Then all three attempts ran before it failed
    assert described["status"] == "FAILED"
    assert types(history(execution)).count("TaskFailed") == 3


def test_the_state_machine_timeout_is_scaled(engine: None) -> None:
    # Given a state machine with TimeoutSeconds 100 that waits 1000 s, waits scaled by 0.01
    wait_scale.install(SCALE)
    arn = machine("slow", {"Hold": {"Type": "Wait", "Seconds": 1000, "End": True}}, TimeoutSeconds=100)

    # When it runs
    execution = client("stepfunctions").start_execution(stateMachineArn=arn, input="{}")["executionArn"]

    # Then it times out as a real one would
    assert finish(execution, timeout=30)["status"] == "TIMED_OUT"
    assert types(history(execution))[-1] == "ExecutionTimedOut"


@pytest.mark.parametrize("text", ["0", "-1", "soon", "inf", "nan"])
def test_a_scale_that_is_not_a_positive_number_is_refused_naming_the_setting(text: str) -> None:
    with pytest.raises(wait_scale.WaitScaleError, match=rf"{wait_scale.ENVIRONMENT_VARIABLE}='{text}'"):
        wait_scale.parse(text)


def test_scale_one_leaves_moto_waiting_as_it_does(engine: None) -> None:
    # Given the scale at 1 (the default)
    wait_scale.install(1)
    # Then none of moto's waits is replaced
    assert not wait_scale.WAIT_SCALE.installed
    assert wait_scale.current() == 1


def test_the_environment_variable_sets_the_scale_and_a_bad_one_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given ORDERFLOW_WAIT_SCALE
    monkeypatch.setenv(wait_scale.ENVIRONMENT_VARIABLE, "0.05")
    # Then it is the scale; unset, the scale is 1; and a word is refused, naming the variable
    assert wait_scale.from_environment() == 0.05
    monkeypatch.delenv(wait_scale.ENVIRONMENT_VARIABLE)
    assert wait_scale.from_environment() == 1
    monkeypatch.setenv(wait_scale.ENVIRONMENT_VARIABLE, "fast")
    with pytest.raises(wait_scale.WaitScaleError, match="ORDERFLOW_WAIT_SCALE='fast'"):
        wait_scale.from_environment()


def test_an_execution_rule_scales_the_executions_it_matches_and_no_other(engine: None) -> None:
    # Given the engine at scale 1, and a rule: executions whose input holds "hang" wait 0.01 x their time
    wait_scale.install(1, [wait_scale.ExecutionScale("hang", SCALE)])

    # When two executions of the same machine ask, and nobody answers either
    sfn, matched, other = hang_and_other(asked=False)
    described = finish(matched, timeout=30)

    # Then the matched one missed its 100 s heartbeat within seconds, with the history of a real one,
    # while the other still waits on its own clock
    events = assert_only_it_missed_its_heartbeat(sfn, matched, other, described)
    scheduled = next(e["taskScheduledEventDetails"] for e in events if e["type"] == "TaskScheduled")
    assert scheduled["heartbeatInSeconds"] == 100


def test_an_execution_rule_with_an_empty_text_or_a_bad_scale_is_refused() -> None:
    with pytest.raises(wait_scale.WaitScaleError, match="input_contains"):
        wait_scale.ExecutionScale("", 0.1)
    with pytest.raises(wait_scale.WaitScaleError, match=r"ExecutionScale\('hang'\).scale='0'"):
        wait_scale.ExecutionScale("hang", 0)


def test_an_execution_clock_counts_engine_seconds_at_each_scale_it_had(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an execution's clock at scale 1, on a real clock the test moves
    real = [100.0]
    monkeypatch.setattr(wait_scale.time, "monotonic", lambda: real[0])
    clock = wait_scale.ExecutionClock("hang", 1.0)

    # When 10 real seconds pass at scale 1, then 2 at scale 0.5
    real[0] += 10
    clock.set_scale(0.5)
    real[0] += 2

    # Then 14 engine seconds have passed, and 6 more take 3 real seconds
    assert clock.now() == 14
    assert clock.real_seconds_until(20) == 3

    # And advanced 4 s, it is at 18, 1 real second from 20
    clock.advance(4)
    assert (clock.now(), clock.real_seconds_until(20)) == (18, 1)


def test_rescale_re_times_a_heartbeat_that_is_waiting_and_no_other_execution(engine: None) -> None:
    # Given executions whose input holds "hang" at scale 1, one of them waiting on its 100 s heartbeat
    wait_scale.install(1, [wait_scale.ExecutionScale("hang", 1)])
    sfn, matched, other = hang_and_other()
    assert sfn.describe_execution(executionArn=matched)["status"] == "RUNNING"

    # When the test advances that execution's clock: 1,000 times faster from now
    assert wait_scale.rescale("hang", 0.001) == 1

    # Then its heartbeat runs out within seconds, with the history of a real one; the other still waits
    assert_only_it_missed_its_heartbeat(sfn, matched, other, finish(matched, timeout=30))


def test_rescale_re_times_a_wait_state_that_is_waiting(engine: None) -> None:
    # Given an execution matched by a rule at scale 1, in a Wait of 1,000 s
    wait_scale.install(1, [wait_scale.ExecutionScale("hang", 1)])
    arn = machine(
        "long-pause",
        {"Pause": {"Type": "Wait", "Seconds": 1000, "Next": "Done"}, "Done": {"Type": "Succeed"}},
    )
    sfn = client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"token": "hang"}))["executionArn"]
    while "WaitStateEntered" not in types(history(execution)):
        threading.Event().wait(0.05)

    # When its rule's scale becomes 0.001
    assert wait_scale.rescale("hang", 0.001) == 1

    # Then the Wait ends within seconds and the execution succeeds
    assert finish(execution, timeout=30)["status"] == "SUCCEEDED"


def test_rescale_of_a_text_no_rule_has_is_refused_naming_it(engine: None) -> None:
    wait_scale.install(1, [wait_scale.ExecutionScale("hang", 1)])
    with pytest.raises(wait_scale.WaitScaleError, match=r"rescale\('slow'\): no ExecutionScale rule"):
        wait_scale.rescale("slow", 0.1)
    with pytest.raises(wait_scale.WaitScaleError, match=r"ExecutionScale\('hang'\).scale='0'"):
        wait_scale.rescale("hang", 0)


def test_advance_ends_a_waiting_heartbeat_at_once_and_leaves_other_executions(engine: None) -> None:
    # Given executions whose input holds "hang" at scale 1, one of them waiting on its 100 s heartbeat
    wait_scale.install(1, [wait_scale.ExecutionScale("hang", 1)])
    sfn, matched, other = hang_and_other()

    # When the test moves that execution's clock 100 s ahead
    assert wait_scale.advance("hang", 100) == 1

    # Then its heartbeat has run out, as a real one does; the other execution still waits
    assert_only_it_missed_its_heartbeat(sfn, matched, other, finish(matched, timeout=30))


def test_advance_of_a_text_no_rule_has_or_of_negative_seconds_is_refused(engine: None) -> None:
    wait_scale.install(1, [wait_scale.ExecutionScale("hang", 1)])
    with pytest.raises(wait_scale.WaitScaleError, match=r"advance\('slow'\): no ExecutionScale rule"):
        wait_scale.advance("slow", 10)
    with pytest.raises(wait_scale.WaitScaleError, match="expected seconds of 0 or more"):
        wait_scale.advance("hang", -1)
