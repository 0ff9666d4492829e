"""``EndedExecutions`` answers as reading every execution would, while executions start and end."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.stepfunctions.responses import get_backend

from localaws.delivery.ended_executions import EndedExecutions, as_utc
from tests.localaws.support import MOTO_CONFIG, wait_until

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sfn"
pytestmark = pytest.mark.timeout(60)

FAILING = json.dumps({"StartAt": "No", "States": {"No": {"Type": "Fail", "Error": "Declined"}}})
WAITING = json.dumps(
    {
        "StartAt": "Wait",
        "States": {"Wait": {"Type": "Wait", "Seconds": 1, "Next": "Done"}, "Done": {"Type": "Succeed"}},
    }
)
STATUSES = ("SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT")
LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def sfn() -> Iterator[Any]:
    with mock_aws(config=MOTO_CONFIG):
        yield boto3.client("stepfunctions", region_name=REGION)


def machines() -> list[Any]:
    return list(get_backend(ACCOUNT, REGION).state_machines)


def every_execution(arn: str | None, status: str, since: dt.datetime) -> list[dt.datetime]:
    """The answer by reading every execution, as the alarm evaluator did before."""
    found = []
    for machine in machines():
        if arn is not None and machine.arn != arn:
            continue
        for execution in list(machine.executions):
            stopped = as_utc(getattr(execution, "stop_date", None))
            if stopped is not None and str(execution.status) == status and stopped > since:
                found.append(stopped)
    return found


def assert_same(index: EndedExecutions, arns: list[str | None], since: dt.datetime = LONG_AGO) -> None:
    for arn in arns:
        for status in STATUSES:
            expected = sorted(every_execution(arn, status, since))
            assert sorted(index.stops(machines(), arn, status, since)) == expected, (arn, status)


def start(sfn: Any, machine: str) -> str:
    return str(
        sfn.start_execution(stateMachineArn=machine, name=str(uuid.uuid4()), input="{}")["executionArn"]
    )


def test_the_same_stops_as_reading_every_execution_while_they_run_and_end(sfn: Any) -> None:
    # Given two machines, one whose executions fail at once and one whose executions wait a second
    failing = sfn.create_state_machine(name="failing", definition=FAILING, roleArn=ROLE)["stateMachineArn"]
    waiting = sfn.create_state_machine(name="waiting", definition=WAITING, roleArn=ROLE)["stateMachineArn"]
    arns: list[str | None] = [None, failing, waiting]
    index = EndedExecutions()
    assert_same(index, arns)

    # When executions start on both, one is stopped, and the index is asked while some still run
    for _ in range(3):
        start(sfn, failing)
    running = [start(sfn, waiting) for _ in range(3)]
    sfn.stop_execution(executionArn=running[0], error="Stopped", cause="by the test")
    wait_until(lambda: len(every_execution(failing, "FAILED", LONG_AGO)) == 3)

    # Then it answers as a read of every execution does, before and after the waiting ones end
    assert_same(index, arns)
    wait_until(lambda: len(every_execution(waiting, "ABORTED", LONG_AGO)) == 1)
    assert_same(index, arns)
    assert len(index.stops(machines(), waiting, "ABORTED", LONG_AGO)) == 1
    wait_until(lambda: len(every_execution(waiting, "SUCCEEDED", LONG_AGO)) == 2, timeout=20)
    assert_same(index, arns)
    assert len(index.stops(machines(), waiting, "SUCCEEDED", LONG_AGO)) == 2
    # And executions started after the first reads are counted too
    for _ in range(2):
        start(sfn, failing)
    wait_until(lambda: len(every_execution(failing, "FAILED", LONG_AGO)) == 5)
    assert_same(index, arns)


def test_only_stops_after_since_count_and_forgotten_ones_are_gone(sfn: Any) -> None:
    # Given a failed execution, then a moment, then a second one
    failing = sfn.create_state_machine(name="failing", definition=FAILING, roleArn=ROLE)["stateMachineArn"]
    index = EndedExecutions()
    start(sfn, failing)
    wait_until(lambda: len(every_execution(failing, "FAILED", LONG_AGO)) == 1)
    time.sleep(0.05)
    between = dt.datetime.now(tz=dt.UTC)
    start(sfn, failing)
    wait_until(lambda: len(every_execution(failing, "FAILED", LONG_AGO)) == 2)

    # Then a later ``since`` leaves the first out, as a read of every execution would
    assert_same(index, [failing], since=between)
    assert len(index.stops(machines(), failing, "FAILED", between)) == 1
    # And once what ended before that moment is forgotten, only the second is left
    index.forget_before(between)
    assert len(index.stops(machines(), failing, "FAILED", LONG_AGO)) == 1


def test_a_machine_made_again_is_read_from_its_start(sfn: Any) -> None:
    # Given a machine with a failed execution, read by the index
    failing = sfn.create_state_machine(name="failing", definition=FAILING, roleArn=ROLE)["stateMachineArn"]
    index = EndedExecutions()
    start(sfn, failing)
    wait_until(lambda: len(every_execution(failing, "FAILED", LONG_AGO)) == 1)
    assert len(index.stops(machines(), failing, "FAILED", LONG_AGO)) == 1

    # When the machine is deleted and made again under the same name
    sfn.delete_state_machine(stateMachineArn=failing)
    again = sfn.create_state_machine(name="failing", definition=FAILING, roleArn=ROLE)["stateMachineArn"]

    # Then the new machine's executions are counted from its own start
    assert again == failing
    assert_same(index, [failing])
    start(sfn, failing)
    wait_until(lambda: len(every_execution(failing, "FAILED", LONG_AGO)) == 1)
    assert_same(index, [failing])
