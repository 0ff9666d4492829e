"""moto's ERROR line per workflow failure stays out of the terminal; its history and other errors do not."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest

from localaws.stepfunctions.failure_logs import LOGGER_NAME, WORKFLOW_FAILURE_LINES, is_workflow_failure

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/states"
# A caught task error, then a Fail state: two failures the history records, as an order's rejection does.
DEFINITION = {
    "StartAt": "Charge",
    "States": {
        "Charge": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {
                "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/gone",
                "MessageBody": "x",
            },
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Rejected"}],
            "End": True,
        },
        "Rejected": {"Type": "Fail", "Error": "OrderRejected", "Cause": "the payment queue is gone"},
    },
}


def client(service: str) -> Any:
    return cast(Any, boto3).client(service, region_name=REGION)


@pytest.fixture
def filtered() -> Iterator[None]:
    WORKFLOW_FAILURE_LINES.install()
    try:
        yield
    finally:
        WORKFLOW_FAILURE_LINES.uninstall()


def failed_execution() -> list[dict[str, Any]]:
    """Run DEFINITION to its end; its history's events."""
    sfn = client("stepfunctions")
    machine = sfn.create_state_machine(name="reject", definition=json.dumps(DEFINITION), roleArn=ROLE)
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input="{}")["executionArn"]
    deadline = time.monotonic() + 15
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.02)
    return cast(list[dict[str, Any]], sfn.get_execution_history(executionArn=arn)["events"])


def failure_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if is_workflow_failure(record)]


def test_moto_logs_each_workflow_failure_at_error(
    engine_with_fixes: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Without the filter: what it is there for, in the shape it recognises (fails if moto changes it)."""
    with caplog.at_level(logging.WARNING):
        failed_execution()
    lines = failure_lines(caplog)
    assert lines, "moto no longer logs a workflow failure the way failure_logs recognises"
    assert {record.name for record in lines} == {LOGGER_NAME}
    assert {record.levelno for record in lines} == {logging.ERROR}
    assert any("Error=OrderRejected" in str(cast(tuple[Any, ...], r.args)[0]) for r in lines)


def test_the_filter_keeps_them_out_and_the_history_keeps_the_failures(
    engine_with_fixes: None, filtered: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        events = failed_execution()
    assert failure_lines(caplog) == []
    types = [event["type"] for event in events]
    assert "FailStateEntered" in types
    failed = next(event for event in events if event["type"] == "ExecutionFailed")
    assert failed["executionFailedEventDetails"]["error"] == "OrderRejected"


def test_an_unexpected_exception_still_prints(filtered: None, caplog: pytest.LogCaptureFixture) -> None:
    # What moto's EvalComponent._log_exception writes for an exception that is not a workflow failure.
    with caplog.at_level(logging.WARNING):
        logging.getLogger(LOGGER_NAME).error(
            "%s at '%s'", "Exception=KeyError, Details=['x']", "(StatePass|)"
        )
    assert [record.getMessage() for record in caplog.records] == [
        "Exception=KeyError, Details=['x'] at '(StatePass|)'"
    ]


def test_debug_shows_the_failure_lines_again(
    engine_with_fixes: None, filtered: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        failed_execution()
    assert failure_lines(caplog)
