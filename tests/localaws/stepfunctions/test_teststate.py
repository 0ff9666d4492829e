"""TestState on the embedded endpoint, through boto3 and the stock AWS CLI, checked against AWS's answers.

AWS's answers: the Step Functions API reference (TestState, MockInput, TestStateConfiguration,
InspectionErrorDetails) and the responses AWS gave to the same requests in November 2025, as recorded by
LocalStack's AWS-validated snapshot tests (``tests/aws/services/stepfunctions/v2/test_state/`` in
localstack/localstack: the messages of field validation, RETRIABLE with ``retryBackoffIntervalSeconds`` 16
after 4 retries of IntervalSeconds 1 / BackoffRate 2, FAILED after the 5th, a Map beyond its tolerated
failures). Their JSONata templates are written here in JSONPath, the language of our workflows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localaws.endpoint.server import LocalEndpoint
from tests.localaws.support import REGION

MOCK_EXCEPTION = {"error": "MockException", "cause": "Mock the cause of the error."}
VALUES = json.dumps({"Values": ["first", "second", "third"]})

# AWS's BASE_TASK_STATE_RETRY, in JSONPath.
TASK_WITH_RETRY = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "foo", "Payload": "bar"},
    "Retry": [{"ErrorEquals": ["MockException"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0}],
    "End": True,
}
# AWS's MAP_TASK_STATE, in JSONPath.
MAP_WITH_TOLERANCE = {
    "Type": "Map",
    "ItemsPath": "$.Values",
    "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "TestState",
        "States": {
            "TestState": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "foo", "Payload": "bar"},
                "End": True,
            }
        },
    },
    "ToleratedFailureCount": 1,
    "Retry": [
        {"ErrorEquals": ["MockException"], "MaxAttempts": 3},
        {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "MaxAttempts": 2},
    ],
    "Catch": [
        {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "HandleThresholdExceeded"},
        {"ErrorEquals": ["MockException"], "Next": "HandleMockException"},
    ],
    "End": True,
}
PUT_EVENTS = {
    "Type": "Task",
    "Resource": "arn:aws:states:::events:putEvents",
    "Parameters": {"Entries.$": "$"},
    "End": True,
}
START_EXECUTION = {
    "Type": "Task",
    "Resource": "arn:aws:states:::states:startExecution",
    "Parameters": {"StateMachineArn.$": "$.stateMachineArn", "Input.$": "$.targetInput", "Name.$": "$.name"},
    "ResultPath": "$.targetExecutionResult",
    "OutputPath": "$.targetExecutionResult",
    "End": True,
}
SEND_MESSAGE_CAUGHT = {
    "Type": "Task",
    "Resource": "arn:aws:states:::sqs:sendMessage",
    "Parameters": {
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/orders",
        "MessageBody.$": "$.order",
    },
    "ResultPath": "$.sent",
    "Catch": [
        {"ErrorEquals": ["SQS.QueueDoesNotExist"], "ResultPath": "$.problem", "Next": "Queue Missing"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.problem", "Next": "Give Up"},
    ],
    "Next": "Sent",
}
CHOICE = {
    "Type": "Choice",
    "Choices": [
        {"Variable": "$.total", "NumericGreaterThan": 100, "Next": "Large Order"},
        {
            "And": [
                {"Variable": "$.priority", "IsPresent": True},
                {"Variable": "$.priority", "BooleanEquals": True},
            ],
            "Next": "Priority",
        },
    ],
    "Default": "Standard",
}


@pytest.fixture(scope="module")
def sfn(endpoint: LocalEndpoint) -> Any:
    # botocore sends TestState to the host prefix "sync-": against 127.0.0.1 it must not.
    return boto3.client(
        "stepfunctions",
        endpoint_url=endpoint.url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(inject_host_prefix=False),
    )


def _answer(response: dict[str, Any]) -> dict[str, Any]:
    response = dict(response)
    response.pop("ResponseMetadata", None)
    return response


# -- boto3 ---------------------------------------------------------------------------------------------------


def test_a_mocked_error_caught_by_a_catch_goes_to_the_catchers_next_state(sfn: Any) -> None:
    # Given a Task whose mock fails with an error the first catcher takes
    response = sfn.test_state(
        definition=json.dumps(SEND_MESSAGE_CAUGHT),
        input=json.dumps({"order": "ord-1"}),
        inspectionLevel="DEBUG",
        mock={"errorOutput": {"error": "SQS.QueueDoesNotExist", "cause": "no such queue"}},
    )
    # Then the error is caught: the catcher's Next, its ResultPath, the catch index
    assert _answer(response) == {
        "status": "CAUGHT_ERROR",
        "nextState": "Queue Missing",
        "error": "SQS.QueueDoesNotExist",
        "cause": "no such queue",
        "output": json.dumps(
            {"order": "ord-1", "problem": {"Error": "SQS.QueueDoesNotExist", "Cause": "no such queue"}}
        ),
        "inspectionData": {
            "input": json.dumps({"order": "ord-1"}),
            "afterInputPath": json.dumps({"order": "ord-1"}),
            "afterParameters": json.dumps(
                {
                    "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/orders",
                    "MessageBody": "ord-1",
                }
            ),
            # The catcher's ResultPath places the error output.
            "afterResultPath": json.dumps(
                {"order": "ord-1", "problem": {"Error": "SQS.QueueDoesNotExist", "Cause": "no such queue"}}
            ),
            "errorDetails": {"catchIndex": 0},
        },
    }


def test_another_error_falls_to_the_catch_all(sfn: Any) -> None:
    response = sfn.test_state(
        definition=json.dumps(SEND_MESSAGE_CAUGHT),
        input=json.dumps({"order": "ord-1"}),
        inspectionLevel="DEBUG",
        mock={"errorOutput": {"error": "States.Timeout", "cause": "took too long"}},
    )
    assert response["status"] == "CAUGHT_ERROR"
    assert response["nextState"] == "Give Up"
    assert response["inspectionData"]["errorDetails"] == {"catchIndex": 1}


def test_a_mocked_result_runs_through_result_selector_and_result_path(sfn: Any) -> None:
    # Given a Task mocked with a result that fits SQS SendMessage's output
    state = {**SEND_MESSAGE_CAUGHT, "ResultSelector": {"id.$": "$.MessageId"}}
    response = sfn.test_state(
        definition=json.dumps(state),
        input=json.dumps({"order": "ord-1"}),
        inspectionLevel="DEBUG",
        mock={"result": json.dumps({"MessageId": "m-1", "MD5OfMessageBody": "abc"})},
    )
    # Then each step's data is reported, and the state goes on to its Next
    assert response["status"] == "SUCCEEDED"
    assert response["nextState"] == "Sent"
    assert json.loads(response["output"]) == {"order": "ord-1", "sent": {"id": "m-1"}}
    inspection = response["inspectionData"]
    assert json.loads(inspection["result"]) == {"MessageId": "m-1", "MD5OfMessageBody": "abc"}
    assert json.loads(inspection["afterResultSelector"]) == {"id": "m-1"}
    assert json.loads(inspection["afterResultPath"]) == {"order": "ord-1", "sent": {"id": "m-1"}}


@pytest.mark.parametrize(
    ("document", "next_state"),
    [
        ({"total": 250}, "Large Order"),
        ({"total": 20, "priority": True}, "Priority"),
        ({"total": 20, "priority": False}, "Standard"),
        ({"total": 20}, "Standard"),
    ],
)
def test_a_choice_names_the_next_state_of_the_first_rule_that_matches(
    sfn: Any, document: dict[str, Any], next_state: str
) -> None:
    response = sfn.test_state(definition=json.dumps(CHOICE), input=json.dumps(document))
    assert _answer(response) == {
        "status": "SUCCEEDED",
        "nextState": next_state,
        "output": json.dumps(document),
    }


def test_a_choice_with_no_match_and_no_default_fails(sfn: Any) -> None:
    state = {key: value for key, value in CHOICE.items() if key != "Default"}
    response = sfn.test_state(definition=json.dumps(state), input=json.dumps({"total": 1}))
    assert response["status"] == "FAILED"
    assert response["error"] == "States.NoChoiceMatched"


def test_a_retry_with_retries_left_is_retriable_with_its_backoff(sfn: Any) -> None:
    # Given 4 retries already made of IntervalSeconds 1, BackoffRate 2, MaxAttempts 5 (AWS answered 16)
    response = sfn.test_state(
        definition=json.dumps(TASK_WITH_RETRY),
        input=VALUES,
        inspectionLevel="DEBUG",
        stateConfiguration={"retrierRetryCount": 4},
        mock={"errorOutput": MOCK_EXCEPTION},
    )
    assert response["status"] == "RETRIABLE"
    assert (response["error"], response["cause"]) == ("MockException", "Mock the cause of the error.")
    assert "nextState" not in response and "output" not in response
    assert response["inspectionData"]["errorDetails"] == {"retryBackoffIntervalSeconds": 16, "retryIndex": 0}


def test_a_retry_with_its_attempts_used_fails(sfn: Any) -> None:
    response = sfn.test_state(
        definition=json.dumps(TASK_WITH_RETRY),
        input=VALUES,
        inspectionLevel="DEBUG",
        stateConfiguration={"retrierRetryCount": 5},
        mock={"errorOutput": MOCK_EXCEPTION},
    )
    assert response["status"] == "FAILED"
    assert response["error"] == "MockException"
    assert response["inspectionData"]["errorDetails"] == {"retryIndex": 0}


def test_max_delay_caps_the_backoff(sfn: Any) -> None:
    state = json.loads(json.dumps(TASK_WITH_RETRY))
    state["Retry"][0]["MaxDelaySeconds"] = 5
    response = sfn.test_state(
        definition=json.dumps(state),
        inspectionLevel="DEBUG",
        stateConfiguration={"retrierRetryCount": 4},
        mock={"errorOutput": MOCK_EXCEPTION},
    )
    assert response["inspectionData"]["errorDetails"]["retryBackoffIntervalSeconds"] == 5


def test_a_map_beyond_its_tolerated_failures_is_retriable_by_its_second_retrier(sfn: Any) -> None:
    below = sfn.test_state(
        definition=json.dumps(MAP_WITH_TOLERANCE),
        input=VALUES,
        inspectionLevel="DEBUG",
        stateConfiguration={"mapIterationFailureCount": 0},
        mock={"result": json.dumps([1, 1, 1])},
    )
    beyond = sfn.test_state(
        definition=json.dumps(MAP_WITH_TOLERANCE),
        input=VALUES,
        inspectionLevel="DEBUG",
        stateConfiguration={"mapIterationFailureCount": 2},
        mock={"result": json.dumps([0, 0, 1])},
    )
    assert below["status"] == "SUCCEEDED"
    assert json.loads(below["output"]) == [1, 1, 1]
    assert beyond["status"] == "RETRIABLE"
    assert beyond["error"] == "States.ExceedToleratedFailureThreshold"
    assert beyond["cause"] == "The specified tolerated failure threshold was exceeded"
    assert beyond["inspectionData"]["errorDetails"] == {"retryBackoffIntervalSeconds": 1, "retryIndex": 1}
    assert beyond["inspectionData"]["toleratedFailureCount"] == 1
    assert beyond["inspectionData"]["maxConcurrency"] == 0


def test_a_map_whose_retries_are_used_is_caught(sfn: Any) -> None:
    response = sfn.test_state(
        definition=json.dumps(MAP_WITH_TOLERANCE),
        input=VALUES,
        stateConfiguration={"mapIterationFailureCount": 2, "retrierRetryCount": 2},
        mock={"result": json.dumps([0, 0, 1])},
    )
    assert response["status"] == "CAUGHT_ERROR"
    assert response["nextState"] == "HandleThresholdExceeded"


def test_a_state_of_a_whole_state_machine_is_tested_by_name(sfn: Any) -> None:
    machine = {
        "StartAt": "State0",
        "States": {
            "State0": {"Type": "Pass", "Next": "State1"},
            "State1": {
                "Type": "Fail",
                "Error": "SomeFailure",
                "Cause": "This state machines raises a 'SomeFailure' failure.",
            },
        },
    }
    hello = json.dumps({"Value": "HelloWorld"})
    first = sfn.test_state(definition=json.dumps(machine), stateName="State0", input=hello)
    second = sfn.test_state(definition=json.dumps(machine), stateName="State1", input=hello)
    assert _answer(first) == {"status": "SUCCEEDED", "nextState": "State1", "output": hello}
    assert _answer(second) == {
        "status": "FAILED",
        "error": "SomeFailure",
        "cause": "This state machines raises a 'SomeFailure' failure.",
    }
    with pytest.raises(sfn.exceptions.ValidationException, match="State not found in definition"):
        sfn.test_state(definition=json.dumps(machine), stateName="dne", input=hello)


def test_the_context_reaches_the_state(sfn: Any) -> None:
    state = {
        "Type": "Pass",
        "Parameters": {"token.$": "$$.Task.Token", "execution.$": "$$.Execution.Name"},
        "End": True,
    }
    response = sfn.test_state(
        definition=json.dumps(state),
        context=json.dumps({"Task": {"Token": "tok-1"}, "Execution": {"Name": "run-7"}}),
    )
    assert json.loads(response["output"]) == {"token": "tok-1", "execution": "run-7"}


def test_a_variable_reference_says_the_engine_cannot_evaluate_it(sfn: Any) -> None:
    # moto reads $variables with JSONata, which it does not ship: the answer says so instead of guessing.
    state = {"Type": "Pass", "Parameters": {"limit.$": "$limit"}, "End": True}
    response = sfn.test_state(definition=json.dumps(state), variables=json.dumps({"limit": 3}))
    assert response["status"] == "FAILED"
    assert response["error"] == "States.Runtime"
    assert "does not evaluate JSONata" in response["cause"]


# -- the mock's field validation (AWS's messages) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "result", "mode", "message"),
    [
        (PUT_EVENTS, {"Entries": "not a list"}, "STRICT", "Field 'Entries' must be an array"),
        (
            PUT_EVENTS,
            {"Entries": [{"EventId": "ok"}, {"EventId": ["no"]}]},
            "PRESENT",
            "Field 'EventId' must be a string",
        ),
        (START_EXECUTION, {}, "STRICT", "Required field 'ExecutionArn' is missing"),
        (
            START_EXECUTION,
            {"executionArn": "a", "startDate": "b"},
            "STRICT",
            "Required field 'ExecutionArn' is missing",
        ),
        (START_EXECUTION, {"StartDate": True}, "PRESENT", "Field 'StartDate' must be a string"),
        (TASK_WITH_RETRY, {"StatusCode": "200"}, "STRICT", "Field 'StatusCode' must be a number"),
    ],
)
def test_a_mocked_result_that_does_not_fit_the_api_is_refused(
    sfn: Any, state: dict[str, Any], result: Any, mode: str, message: str
) -> None:
    with pytest.raises(sfn.exceptions.ValidationException) as refused:
        sfn.test_state(
            definition=json.dumps(state), mock={"result": json.dumps(result), "fieldValidationMode": mode}
        )
    assert refused.value.response["Error"]["Message"] == f"Mock result schema validation error: {message}"


@pytest.mark.parametrize(
    ("state", "result", "mode"),
    [
        (PUT_EVENTS, {"random": "json"}, "STRICT"),  # fields the API does not name are not checked
        (PUT_EVENTS, {}, "STRICT"),
        (START_EXECUTION, {}, "PRESENT"),  # required fields are only required under STRICT
        (START_EXECUTION, {"StartDate": True}, "NONE"),
    ],
)
def test_a_mocked_result_the_mode_allows_is_the_result(
    sfn: Any, state: dict[str, Any], result: Any, mode: str
) -> None:
    response = sfn.test_state(
        definition=json.dumps(state),
        input=json.dumps(
            {
                "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:T",
                "targetInput": None,
                "name": "n",
            }
        ),
        mock={"result": json.dumps(result), "fieldValidationMode": mode},
    )
    assert response["status"] == "SUCCEEDED"
    assert json.loads(response["output"]) == result


@pytest.mark.parametrize(
    ("request_fields", "error", "message"),
    [
        (
            {"definition": json.dumps({"Type": "Pass", "End": True}), "mock": {"result": "{}"}},
            "ValidationException",
            "State type 'Pass' is not supported when a mock is specified",
        ),
        (
            {
                "definition": json.dumps(TASK_WITH_RETRY),
                "mock": {"result": "{}", "errorOutput": MOCK_EXCEPTION},
            },
            "ValidationException",
            "A test mock should have only one of the following fields: [result, errorOutput].",
        ),
        (
            {"definition": json.dumps(MAP_WITH_TOLERANCE)},
            "InvalidDefinition",
            "TestState API does not support Map or Parallel states. "
            "Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]",
        ),
        (
            {"definition": json.dumps(MAP_WITH_TOLERANCE), "mock": {"result": json.dumps({"not": "a list"})}},
            "ValidationException",
            "Mocked result must be an array.",
        ),
        (
            {"definition": json.dumps(TASK_WITH_RETRY), "mock": {"result": "{}"}, "revealSecrets": True},
            "ValidationException",
            "TestState does not support RevealSecrets when a mock is specified.",
        ),
    ],
)
def test_requests_aws_refuses_are_refused_with_its_message(
    sfn: Any, request_fields: dict[str, Any], error: str, message: str
) -> None:
    with pytest.raises(sfn.exceptions.ClientError) as refused:
        sfn.test_state(**request_fields)
    assert refused.value.response["Error"] == {"Code": error, "Message": message}


# -- the stock AWS CLI ---------------------------------------------------------------------------------------


def _aws_cli() -> str:
    # The CLI of this virtualenv (awscli is a development dependency), else one on PATH.
    beside = Path(sys.executable).with_name("aws")
    found = str(beside) if beside.exists() else shutil.which("aws")
    if found is None:
        pytest.fail("the AWS CLI is not installed: run `make dev`")
    return found


def _cli(endpoint: LocalEndpoint, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    command = [_aws_cli(), "--endpoint-url", endpoint.url, "--output", "json", "stepfunctions", "test-state"]
    return subprocess.run(
        [*command, *arguments], capture_output=True, text=True, env=environment, timeout=120, check=False
    )


def test_the_aws_cli_tests_a_caught_error_a_choice_and_a_retry(endpoint: LocalEndpoint) -> None:
    caught = _cli(
        endpoint,
        "--definition", json.dumps(SEND_MESSAGE_CAUGHT),
        "--input", json.dumps({"order": "ord-1"}),
        "--mock", json.dumps({"errorOutput": {"error": "SQS.QueueDoesNotExist", "cause": "gone"}}),
    )  # fmt: skip
    choice = _cli(endpoint, "--definition", json.dumps(CHOICE), "--input", json.dumps({"total": 250}))
    retry = _cli(
        endpoint,
        "--definition", json.dumps(TASK_WITH_RETRY),
        "--inspection-level", "DEBUG",
        "--state-configuration", "retrierRetryCount=4",
        "--mock", json.dumps({"errorOutput": MOCK_EXCEPTION}),
    )  # fmt: skip
    for run in (caught, choice, retry):
        assert run.returncode == 0, run.stderr
    assert json.loads(caught.stdout)["status"] == "CAUGHT_ERROR"
    assert json.loads(caught.stdout)["nextState"] == "Queue Missing"
    assert json.loads(choice.stdout)["nextState"] == "Large Order"
    assert json.loads(retry.stdout)["status"] == "RETRIABLE"
    assert json.loads(retry.stdout)["inspectionData"]["errorDetails"]["retryBackoffIntervalSeconds"] == 16


def test_the_aws_cli_is_refused_a_wrong_field_under_strict(endpoint: LocalEndpoint) -> None:
    refused = _cli(
        endpoint,
        "--definition", json.dumps(SEND_MESSAGE_CAUGHT),
        "--mock", json.dumps({"result": json.dumps({"MessageId": 42})}),
    )  # fmt: skip
    assert refused.returncode != 0
    assert "ValidationException" in refused.stderr
    assert "Mock result schema validation error: Field 'MessageId' must be a string" in refused.stderr


# -- without a mock: the embedded services answer ------------------------------------------------------------

RECORD = {
    "Type": "Task",
    "Resource": "arn:aws:states:::dynamodb:putItem",
    "Parameters": {
        "TableName": "teststate-orders",
        "Item": {"orderId": {"S.$": "$.id"}},
        "ConditionExpression": "attribute_not_exists(orderId)",
    },
    "ResultPath": None,
    "Catch": [
        {
            "ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
            "ResultPath": "$.duplicate",
            "Next": "Duplicate",
        }
    ],
    "Next": "Recorded",
}


def test_an_unmocked_task_calls_the_embedded_service(endpoint: LocalEndpoint, sfn: Any) -> None:
    # Given a table on the endpoint
    dynamodb = boto3.client(
        "dynamodb", endpoint_url=endpoint.url, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    dynamodb.create_table(
        TableName="teststate-orders",
        KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    role = "arn:aws:iam::123456789012:role/teststate"
    # When the Task is tested twice without a mock
    first = sfn.test_state(definition=json.dumps(RECORD), input=json.dumps({"id": "o-1"}), roleArn=role)
    second = sfn.test_state(definition=json.dumps(RECORD), input=json.dumps({"id": "o-1"}), roleArn=role)
    # Then the first wrote the item, and the second's real ConditionalCheckFailed was caught
    assert (first["status"], first["nextState"]) == ("SUCCEEDED", "Recorded")
    assert dynamodb.get_item(TableName="teststate-orders", Key={"orderId": {"S": "o-1"}})["Item"]
    assert (second["status"], second["nextState"]) == ("CAUGHT_ERROR", "Duplicate")
    assert second["error"] == "DynamoDB.ConditionalCheckFailedException"


def test_an_unmocked_task_needs_a_role(sfn: Any) -> None:
    with pytest.raises(sfn.exceptions.ValidationException, match="'roleArn' is required"):
        sfn.test_state(definition=json.dumps(RECORD), input=json.dumps({"id": "o-2"}))


def test_a_callback_task_is_only_tested_with_a_mock(sfn: Any) -> None:
    callback = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
        "End": True,
    }
    with pytest.raises(sfn.exceptions.ValidationException, match="only tested with a mock"):
        sfn.test_state(definition=json.dumps(callback), roleArn="arn:aws:iam::123456789012:role/teststate")
    # With a mock its result is the callback's answer (no API model to check it against)
    answered = sfn.test_state(
        definition=json.dumps(callback), mock={"result": json.dumps({"paymentId": "p-1"})}
    )
    assert (answered["status"], json.loads(answered["output"])) == ("SUCCEEDED", {"paymentId": "p-1"})


def test_a_wait_state_does_not_wait(sfn: Any) -> None:
    answer = sfn.test_state(
        definition=json.dumps({"Type": "Wait", "Seconds": 3600, "Next": "Later"}), input="{}"
    )
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", "Later")
