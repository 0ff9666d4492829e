"""Execution status-change events: every status of a Standard execution reaches the default bus, as on AWS."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest
from moto import mock_aws
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from localaws.endpoint.defaults import MOTO_CONFIG
from localaws.patches import corrections, speedups
from localaws.stepfunctions import wait_scale
from localaws.stepfunctions.status_events import DETAIL_TYPE, SOURCE, STATUS_EVENTS, execution_detail

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/states"
DETAIL_FIELDS = {
    "executionArn",
    "stateMachineArn",
    "name",
    "status",
    "startDate",
    "stopDate",
    "input",
    "inputDetails",
    "output",
    "outputDetails",
    "error",
    "cause",
}


def client(service: str) -> Any:
    return cast(Any, boto3).client(service, region_name=REGION)


@pytest.fixture
def engine() -> Iterator[None]:
    with mock_aws(config=MOTO_CONFIG):
        speedups.install()
        corrections.CORRECTIONS.install()
        STATUS_EVENTS.install()
        try:
            yield
        finally:
            wait_scale.uninstall()
            STATUS_EVENTS.uninstall()
            corrections.CORRECTIONS.uninstall()
            speedups.uninstall()


def listening_queue(name: str, pattern: dict[str, Any]) -> str:
    """An SQS queue behind a rule on the default bus: what a user's own rule would receive."""
    sqs = client("sqs")
    url = str(sqs.create_queue(QueueName=name)["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = client("events")
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def received(url: str, count: int, timeout: float = 15) -> list[dict[str, Any]]:
    sqs = client("sqs")
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        time.sleep(0.05)
    return found


def machine(name: str, states: dict[str, Any], *, kind: str = "STANDARD", **top: Any) -> str:
    definition = json.dumps({"StartAt": next(iter(states)), "States": states, **top})
    created = client("stepfunctions").create_state_machine(
        name=name, definition=definition, roleArn=ROLE, type=kind
    )
    return str(created["stateMachineArn"])


def finish(arn: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described: dict[str, Any] = client("stepfunctions").describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError(f"{arn} still running after {timeout} s")


ALL_STATUS_CHANGES = {"source": [SOURCE], "detail-type": [DETAIL_TYPE]}


def test_a_succeeded_execution_sends_running_then_succeeded_with_the_documented_detail(engine: None) -> None:
    # Given a rule on the default bus for every status change, with an SQS target
    queue = listening_queue("all-status", ALL_STATUS_CHANGES)
    arn = machine(
        "adds", {"Add": {"Type": "Pass", "Result": {"sum": 3}, "ResultPath": "$.result", "End": True}}
    )

    # When an execution runs to its end
    execution = client("stepfunctions").start_execution(
        stateMachineArn=arn, name="order-1", input=json.dumps({"orderId": "ord-1"})
    )["executionArn"]
    described = finish(execution)

    # Then the rule received RUNNING and SUCCEEDED, sent in that order (a standard queue, like EventBridge,
    # may deliver either first), each shaped as AWS sends it
    running, succeeded = sorted(received(queue, 2), key=lambda event: event["detail"]["status"] != "RUNNING")
    assert running["time"] <= succeeded["time"]
    for event in (running, succeeded):
        assert (event["source"], event["detail-type"]) == (SOURCE, DETAIL_TYPE)
        assert event["resources"] == [execution]
        assert set(event["detail"]) == DETAIL_FIELDS
        assert event["detail"]["executionArn"] == execution
        assert event["detail"]["stateMachineArn"] == arn
        assert event["detail"]["name"] == "order-1"
        assert event["detail"]["input"] == '{"orderId":"ord-1"}'  # a JSON string, as on AWS
        assert event["detail"]["inputDetails"] == {"included": True}
        assert event["detail"]["startDate"] == int(described["startDate"].timestamp() * 1000)
    assert running["detail"]["status"] == "RUNNING"
    assert running["detail"]["stopDate"] is None
    assert running["detail"]["output"] is None and running["detail"]["outputDetails"] is None
    assert succeeded["detail"]["status"] == "SUCCEEDED"
    assert succeeded["detail"]["stopDate"] == int(described["stopDate"].timestamp() * 1000)
    assert json.loads(succeeded["detail"]["output"]) == {"orderId": "ord-1", "result": {"sum": 3}}
    assert succeeded["detail"]["outputDetails"] == {"included": True}
    assert (succeeded["detail"]["error"], succeeded["detail"]["cause"]) == (None, None)


def test_the_running_detail_of_an_execution_that_already_ended_still_says_running(engine: None) -> None:
    # Given an execution that ended before its RUNNING event was built (a Pass machine can end before
    # StartExecution returns; the CI run at 4684e7d received SUCCEEDED twice that way)
    arn = machine("quick", {"Done": {"Type": "Pass", "Result": "done", "End": True}})
    execution_arn = client("stepfunctions").start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    finish(execution_arn)
    backend = stepfunctions_parser_backends["123456789012"][REGION]
    (execution,) = [found for found in backend._get_executions() if found.exec_arn == execution_arn]

    # When the RUNNING event's detail is built now
    detail = execution_detail(execution, "RUNNING")

    # Then it is the execution as it stood at its start, and the end detail is unchanged
    assert detail["status"] == "RUNNING"
    assert (detail["stopDate"], detail["output"], detail["outputDetails"]) == (None, None, None)
    assert execution_detail(execution)["status"] == "SUCCEEDED"
    assert execution_detail(execution)["output"] == '"done"'


def test_a_failed_execution_sends_its_error_and_cause_to_a_rule_matching_failures_only(engine: None) -> None:
    # Given a rule for FAILED executions only
    queue = listening_queue(
        "failures", {**ALL_STATUS_CHANGES, "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"]}}
    )
    arn = machine("fails", {"Reject": {"Type": "Fail", "Error": "OrderRejected", "Cause": "items[0]: empty"}})

    # When an execution fails
    execution = client("stepfunctions").start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    finish(execution)

    # Then the rule got one event, FAILED, with the error and the cause; RUNNING did not match
    (event,) = received(queue, 1)
    assert received(queue, 1, timeout=1) == []  # RUNNING, sent first, would be here already
    assert event["detail"]["status"] == "FAILED"
    assert (event["detail"]["error"], event["detail"]["cause"]) == ("OrderRejected", "items[0]: empty")
    assert event["detail"]["output"] is None
    assert event["detail"]["executionArn"] == execution


def test_a_stopped_execution_sends_aborted(engine: None) -> None:
    # Given an execution waiting in a Wait state
    queue = listening_queue("aborted", ALL_STATUS_CHANGES)
    arn = machine("waits", {"Hold": {"Type": "Wait", "Seconds": 30, "End": True}})
    execution = client("stepfunctions").start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    (running,) = received(queue, 1)

    # When it is stopped
    client("stepfunctions").stop_execution(executionArn=execution, error="Ops", cause="stopped by hand")
    finish(execution)

    # Then ABORTED follows RUNNING
    (aborted,) = received(queue, 1)
    assert [running["detail"]["status"], aborted["detail"]["status"]] == ["RUNNING", "ABORTED"]
    assert aborted["detail"]["stopDate"] is not None


def test_a_timed_out_execution_sends_timed_out(engine: None) -> None:
    # Given a state machine whose TimeoutSeconds runs out while it waits (the engine's waits scaled by 0.01)
    wait_scale.install(0.01)
    queue = listening_queue("timed-out", {**ALL_STATUS_CHANGES, "detail": {"status": ["TIMED_OUT"]}})
    arn = machine("too-slow", {"Hold": {"Type": "Wait", "Seconds": 600, "End": True}}, TimeoutSeconds=100)

    # When it runs
    execution = client("stepfunctions").start_execution(stateMachineArn=arn, input="{}")["executionArn"]

    # Then the rule receives TIMED_OUT
    assert finish(execution)["status"] == "TIMED_OUT"
    (event,) = received(queue, 1)
    assert event["detail"]["status"] == "TIMED_OUT"


def test_express_executions_send_none(engine: None) -> None:
    # Given an Express state machine (AWS sends status events for Standard workflows only)
    queue = listening_queue("express", ALL_STATUS_CHANGES)
    arn = machine("quick", {"Done": {"Type": "Pass", "End": True}}, kind="EXPRESS")

    # When it runs to its end
    execution = client("stepfunctions").start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    assert finish(execution)["status"] == "SUCCEEDED"

    # Then nothing reaches the rule
    assert received(queue, 1, timeout=1) == []
