"""What the callbacks send to Step Functions: task output as JSON, and a failure cause it accepts."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from services.shared import aws
from services.shared.callbacks import StepFunctionsCallbacks


class RecordingStepFunctions:
    """Records the answers sent for task tokens."""

    def __init__(self) -> None:
        self.successes: list[tuple[str, str]] = []  # token, output
        self.failures: list[tuple[str, str, str]] = []  # token, error, cause

    def send_task_success(self, *, taskToken: str, output: str) -> dict[str, Any]:  # noqa: N803
        self.successes.append((taskToken, output))
        return {}

    def send_task_failure(self, *, taskToken: str, error: str, cause: str) -> dict[str, Any]:  # noqa: N803
        self.failures.append((taskToken, error, cause))
        return {}


@pytest.fixture
def stepfunctions(monkeypatch: pytest.MonkeyPatch) -> RecordingStepFunctions:
    fake = RecordingStepFunctions()
    monkeypatch.setattr(aws, "stepfunctions", lambda: fake)
    return fake


def test_task_output_with_decimals_is_sent_as_json(stepfunctions: RecordingStepFunctions) -> None:
    # Given a task output holding Decimals, as read from DynamoDB
    output = {"orderId": "ord-1", "amount": Decimal("19.98"), "quantity": Decimal("2")}
    # When the task is answered
    answered = StepFunctionsCallbacks().succeed("token-1", output)
    # Then the answer landed, with each Decimal written as its exact text
    assert answered is True
    ((token, body),) = stepfunctions.successes
    assert token == "token-1"
    assert json.loads(body) == {"orderId": "ord-1", "amount": "19.98", "quantity": "2"}


def test_a_long_failure_cause_is_cut_to_what_step_functions_accepts(
    stepfunctions: RecordingStepFunctions,
) -> None:
    # Given a failure cause longer than Step Functions' 32768-character limit
    cause = "a" * 31_990 + "b" * 20 + "c" * 10_000
    # When the task is failed
    StepFunctionsCallbacks().fail("token-1", "OutOfStock", cause)
    # Then the first 32,000 characters are sent, and nothing after them
    ((token, error, sent),) = stepfunctions.failures
    assert (token, error) == ("token-1", "OutOfStock")
    assert sent == "a" * 31_990 + "b" * 10
