"""MockConfigFile on the embedded engine: the documented example, call numbering, errors, validation."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws.stepfunctions.mock_config import ENVIRONMENT_VARIABLE, MockConfigError, parse
from tests.workflows.conftest import Started, embedded
from tests.workflows.polling import ExecutionRecord, explained_by, wait_for_execution

DOCUMENTED_OUTPUT = {
    "MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
    "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51",
}
HELLO = {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}
PUBLISH = "arn:aws:states:::sns:publish"


def _task(next_state: str | None = None, **fields: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": PUBLISH,
        "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:nowhere", "Message": "hi"},
        **fields,
    }
    state.update({"Next": next_state} if next_state else {"End": True})
    return state


class MockedMachine:
    """A small state machine on the session's LocalAws, and a mock configuration file for it."""

    def __init__(self, started: Started, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        embedded(started)  # skips where the embedded engine is not a target
        self.sfn = started.client("stepfunctions")  # the session's client, on the endpoint's Unix socket
        self.name = f"mock-config-{uuid.uuid4().hex[:8]}"
        self.file = tmp_path / "MockConfigFile.json"
        monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(self.file))
        self.arn = ""

    def deploy(self, states: dict[str, Any], start_at: str, config: dict[str, Any]) -> None:
        definition = {"StartAt": start_at, "States": states}
        self.arn = self.sfn.create_state_machine(
            name=self.name, definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        self.file.write_text(json.dumps({**config, "StateMachines": {self.name: config["StateMachines"]}}))

    def run(self, test_case: str, execution_input: Any = None) -> ExecutionRecord:
        arn = self.sfn.start_execution(
            stateMachineArn=f"{self.arn}#{test_case}", input=json.dumps(execution_input or {})
        )["executionArn"]
        return wait_for_execution(self.sfn, arn, timeout=30)


@pytest.fixture
def machine(started: Started, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MockedMachine:
    return MockedMachine(started, tmp_path, monkeypatch)


# -- the example of the Step Functions Local guide, run as documented ----------------------------------------


def _documented(started: Started, test_case: str) -> ExecutionRecord:
    embedded(started)
    return started.documented_runs[test_case].result()


def test_documented_happy_path_returns_the_mocked_responses(started: Started) -> None:
    # Given the documented LambdaSQSIntegration machine / When its HappyPath test case runs
    record = _documented(started, "HappyPath")

    # Then both states answer with their mocks; the Lambda's answer is the SQS state's input
    with explained_by(record):
        assert record.status == "SUCCEEDED"
        assert record.path == ["LambdaState", "SQSState"]
        assert record.input_of("SQSState") == HELLO
        assert record.output == DOCUMENTED_OUTPUT
        # And the execution is an ordinary one of the machine: its ARN has the machine's name, List sees it
        workflow = started.documented
        assert workflow is not None
        machine_name = workflow.state_machine_arn.rsplit(":", 1)[1]
        assert f":execution:{machine_name}:HappyPath-" in record.arn
        listed = workflow.sfn.list_executions(stateMachineArn=workflow.state_machine_arn)["executions"]
        assert record.arn in {e["executionArn"] for e in listed}


def test_documented_retry_path_consumes_one_call_number_per_attempt(started: Started) -> None:
    # Given / When the RetryPath test case: "0" throws, "1-2" throw, "3" returns
    record = _documented(started, "RetryPath")

    # Then the state's Retry (States.ALL, 3 attempts) retried each thrown error, and call 3 succeeded
    with explained_by(record):
        assert record.status == "SUCCEEDED"
        assert len(record.calls("LambdaState")) == 4
        errors = [
            e["taskFailedEventDetails"]["error"] for e in record.events if "taskFailedEventDetails" in e
        ]
        assert errors == [
            "Lambda.ResourceNotReadyException",
            "Lambda.TimeoutException",
            "Lambda.TimeoutException",
        ]
        assert record.output == DOCUMENTED_OUTPUT


def test_documented_hybrid_path_calls_the_unmocked_state_for_real(started: Started) -> None:
    # Given / When the HybridPath test case, which mocks only LambdaState
    record = _documented(started, "HybridPath")

    # Then SQSState really sent the message: the answer is the queue's, not a mock's
    with explained_by(record):
        assert record.status == "SUCCEEDED"
        assert record.output["MessageId"] != DOCUMENTED_OUTPUT["MessageId"]
        embedded(started)
        sqs = started.client("sqs")
        url = sqs.get_queue_url(QueueName="myQueue")["QueueUrl"]
        bodies = [
            m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        ]
        assert json.dumps(HELLO) in bodies or json.dumps(HELLO, separators=(",", ":")) in bodies


# -- semantics beyond the example ----------------------------------------------------------------------------


def test_map_iterations_share_the_call_numbers_of_their_state(machine: MockedMachine) -> None:
    # Given a Map over three items, one at a time, whose Task answers call 0 and then calls 1-2 differently
    machine.deploy(
        {
            "Each": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "Charge", "States": {"Charge": _task()}},
                "End": True,
            }
        },
        "Each",
        {
            "StateMachines": {"TestCases": {"Counting": {"Charge": "Counted"}}},
            "MockedResponses": {
                "Counted": {"0": {"Return": {"call": "first"}}, "1-2": {"Return": {"call": "later"}}}
            },
        },
    )

    # When it runs
    record = machine.run("Counting", {"items": [1, 2, 3]})

    # Then each iteration took the next call number (not call 0 three times)
    with explained_by(record):
        assert record.output == [{"call": "first"}, {"call": "later"}, {"call": "later"}]


def test_a_call_without_a_mocked_response_fails_the_execution_despite_a_catch(
    machine: MockedMachine,
) -> None:
    # Given a Task that retries once and catches everything, mocked for its first call only
    machine.deploy(
        {
            "Publish": _task(
                Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1, "IntervalSeconds": 1}],
                Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Absorbed"}],
            ),
            "Absorbed": {"Type": "Succeed"},
        },
        "Publish",
        {
            "StateMachines": {"TestCases": {"Short": {"Publish": "OnlyOnce"}}},
            "MockedResponses": {
                "OnlyOnce": {"0": {"Throw": {"Error": "SNS.InternalErrorException", "Cause": "x"}}}
            },
        },
    )

    # When the retry asks for call number 1
    record = machine.run("Short")

    # Then the execution fails, naming the test case and the state (as Step Functions Local documents)
    with explained_by(record):
        assert record.status == "FAILED"
        assert "Absorbed" not in record.path
        assert "'Short'" in (record.cause or "")
        assert "'Publish'" in (record.cause or "")


def test_a_thrown_states_error_is_caught_by_its_own_name(machine: MockedMachine) -> None:
    # Given a Task catching States.TaskFailed and States.HeartbeatTimeout separately
    machine.deploy(
        {
            "Wait For Payment": _task(
                Catch=[
                    {"ErrorEquals": ["States.TaskFailed"], "Next": "Task Failed"},
                    {"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Heartbeat Lost"},
                ]
            ),
            "Task Failed": {"Type": "Succeed"},
            "Heartbeat Lost": {"Type": "Succeed"},
        },
        "Wait For Payment",
        {
            "StateMachines": {"TestCases": {"Silent": {"Wait For Payment": "NoHeartbeat"}}},
            "MockedResponses": {
                "NoHeartbeat": {"0": {"Throw": {"Error": "States.HeartbeatTimeout", "Cause": "silent"}}}
            },
        },
    )

    # When it runs / Then the heartbeat timeout is caught as itself, as a real one would be
    record = machine.run("Silent")
    with explained_by(record):
        assert record.path == ["Wait For Payment", "Heartbeat Lost"]
        assert record.input_of("Heartbeat Lost") == {"Error": "States.HeartbeatTimeout", "Cause": "silent"}


# -- errors, named -------------------------------------------------------------------------------------------


def _start_error(machine: MockedMachine, test_case: str) -> str:
    with pytest.raises(ClientError) as raised:
        machine.sfn.start_execution(stateMachineArn=f"{machine.arn}#{test_case}")
    return str(raised.value)


def test_an_unknown_test_case_is_refused_by_start_execution(machine: MockedMachine) -> None:
    # Given a file with one test case
    machine.deploy(
        {"Publish": _task()},
        "Publish",
        {"StateMachines": {"TestCases": {"Known": {}}}, "MockedResponses": {}},
    )

    # When another is asked for / Then StartExecution says which, for which state machine, and what exists
    message = _start_error(machine, "Unknown")
    assert "InvalidName" in message
    assert "'Unknown'" in message and machine.name in message and "Known" in message


def test_a_test_case_mocking_a_state_the_machine_lacks_is_refused(machine: MockedMachine) -> None:
    # Given a test case that mocks a misspelt state
    machine.deploy(
        {"Publish": _task()},
        "Publish",
        {
            "StateMachines": {"TestCases": {"Typo": {"Publsh": "Ok"}}},
            "MockedResponses": {"Ok": {"0": {"Return": {}}}},
        },
    )

    # When it is started / Then the state is named
    assert "'Publsh'" in _start_error(machine, "Typo")


def test_without_a_mock_config_file_a_test_case_cannot_start(
    machine: MockedMachine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no SFN_MOCK_CONFIG
    machine.deploy(
        {"Publish": _task()}, "Publish", {"StateMachines": {"TestCases": {}}, "MockedResponses": {}}
    )
    monkeypatch.delenv(ENVIRONMENT_VARIABLE)

    # When a test case is started / Then the variable to set is named
    assert ENVIRONMENT_VARIABLE in _start_error(machine, "Any")


@pytest.mark.parametrize(
    ("responses", "complaint"),
    [
        ({"0": {"Return": {}}, "2": {"Return": {}}}, "Expected the next response to begin at event 1"),
        ({"1-0": {"Return": {}}}, 'MockedResponses.R."1-0": a call number is'),
        ({"zero": {"Return": {}}}, 'MockedResponses.R."zero": a call number is'),
        ({"0": {"Return": {}, "Throw": {"Error": "E", "Cause": "c"}}}, "exactly one field, Return or Throw"),
        ({"0": {"Throw": {"Cause": "no error"}}}, "needs a string Error"),
        ({"0": {"Throw": {"Error": "States.Nonsense", "Cause": "c"}}}, "not an error name of Step Functions"),
    ],
)
def test_an_invalid_file_is_explained_where_it_is_wrong(responses: dict[str, Any], complaint: str) -> None:
    # Given a file whose only mocked response is wrong
    document = {
        "StateMachines": {"Orders": {"TestCases": {"Case": {"Pay": "R"}}}},
        "MockedResponses": {"R": responses},
    }

    # When it is read / Then the error names the place (and for numbering: machine, test case and state)
    with pytest.raises(MockConfigError) as raised:
        parse(document, Path("MockConfigFile.json"))
    assert complaint in str(raised.value)
    if "event" in complaint:
        assert "StateMachines.Orders.TestCases.Case.Pay" in str(raised.value)


def test_a_test_case_naming_an_undefined_response_is_explained() -> None:
    # Given / When a test case refers to a response the file does not define / Then both are named
    document = {
        "StateMachines": {"Orders": {"TestCases": {"Case": {"Pay": "Missing"}}}},
        "MockedResponses": {},
    }
    with pytest.raises(MockConfigError, match=r"StateMachines.Orders.TestCases.Case.Pay: 'Missing' is not"):
        parse(document, Path("MockConfigFile.json"))
