"""MockConfigFile has a hook of its own: a test case runs its mocks whichever speed-ups are installed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localaws.endpoint.defaults import DEFAULT_REGION, MOTO_CONFIG
from localaws.patches import speedups
from localaws.stepfunctions.history import TERMINAL_STATUSES
from localaws.stepfunctions.mock_config import ENVIRONMENT_VARIABLE, MOCK_CONFIG

MACHINE = "mock-config-hook"
# A table that does not exist: the real call would fail, so only the mock can make the execution succeed.
DEFINITION = {
    "StartAt": "Put",
    "States": {
        "Put": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "no-such-table", "Item": {"pk": {"S": "1"}}},
            "End": True,
        }
    },
}
CONFIG = {
    "StateMachines": {MACHINE: {"TestCases": {"Mocked": {"Put": "PutAnswered"}}}},
    "MockedResponses": {"PutAnswered": {"0": {"Return": {"mocked": True}}}},
}
WITHOUT_START_SNAPSHOT = [name for name in speedups.PATCH_NAMES if name != "start_snapshot"]


@pytest.fixture
def sfn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    config = tmp_path / "MockConfigFile.json"
    config.write_text(json.dumps(CONFIG))
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(config))
    with mock_aws(config=MOTO_CONFIG):
        MOCK_CONFIG.install()
        try:
            yield boto3.client("stepfunctions", region_name=DEFAULT_REGION)
        finally:
            speedups.uninstall()
            MOCK_CONFIG.uninstall()


def _run(sfn: Any, state_machine_arn: str, name: str) -> dict[str, Any]:
    execution_arn = sfn.start_execution(stateMachineArn=state_machine_arn, name=name)["executionArn"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] in TERMINAL_STATUSES:
            return described
        time.sleep(0.05)
    pytest.fail(f"{execution_arn} still running")


@pytest.mark.parametrize(
    "installed",
    [
        pytest.param(speedups.PATCH_NAMES, id="every-speedup"),
        pytest.param(WITHOUT_START_SNAPSHOT, id="no-start"),
    ],
)
def test_a_test_case_runs_its_mocks_whichever_speedups_are_in(sfn: Any, installed: list[str]) -> None:
    # Given a state machine whose only task calls a missing table, with or without the start_snapshot speed-up
    speedups.install(only=installed)
    arn = sfn.create_state_machine(
        name=MACHINE, definition=json.dumps(DEFINITION), roleArn="arn:aws:iam::123456789012:role/r"
    )["stateMachineArn"]

    # When its test case runs, and then the state machine runs without one
    mocked = _run(sfn, f"{arn}#Mocked", "with-test-case")
    real = _run(sfn, arn, "without-test-case")

    # Then the test case answers with its mock, and without it the real call fails
    assert mocked["status"] == "SUCCEEDED", mocked
    assert json.loads(mocked["output"]) == {"mocked": True}
    assert real["status"] == "FAILED"


def test_an_unknown_test_case_is_refused_by_start_execution(sfn: Any) -> None:
    # Given the state machine and a test case name the file does not define
    arn = sfn.create_state_machine(
        name=MACHINE, definition=json.dumps(DEFINITION), roleArn="arn:aws:iam::123456789012:role/r"
    )["stateMachineArn"]

    # When / Then: StartExecution answers with a client error naming the test case
    with pytest.raises(sfn.exceptions.InvalidName, match="NoSuchCase"):
        sfn.start_execution(stateMachineArn=f"{arn}#NoSuchCase")
