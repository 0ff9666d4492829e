"""The mock's field validation against botocore's models, with the messages AWS gave for the same results.

The results and messages are those AWS answered in November 2025 (recorded by LocalStack's AWS-validated
snapshot tests of ``fieldValidationMode``). One bound moved since: AWS refused MemorySize 10241 when
Lambda's maximum was 10,240 MB; botocore's model now says 32,768, so 32769 is the value over it.
"""

from __future__ import annotations

from typing import Any

import pytest

from localaws.stepfunctions import mock_validation
from localaws.stepfunctions.mock_validation import MockValidationError, operation_of, output_shape, validate


@pytest.mark.parametrize(
    ("resource", "operation"),
    [
        ("arn:aws:states:::sqs:sendMessage", ("sqs", "SendMessage")),
        ("arn:aws:states:::dynamodb:putItem", ("dynamodb", "PutItem")),
        ("arn:aws:states:::lambda:invoke", ("lambda", "Invoke")),
        ("arn:aws:states:::sns:publish", ("sns", "Publish")),
        ("arn:aws:states:::events:putEvents", ("events", "PutEvents")),
        ("arn:aws:states:::states:startExecution", ("stepfunctions", "StartExecution")),
        ("arn:aws:states:::aws-sdk:kinesis:putRecord", ("kinesis", "PutRecord")),
        ("arn:aws:states:::aws-sdk:sfn:describeExecution", ("stepfunctions", "DescribeExecution")),
        # The result of a callback or .sync is the callback's output, of a function ARN the function's.
        ("arn:aws:states:::sqs:sendMessage.waitForTaskToken", None),
        ("arn:aws:states:::states:startExecution.sync:2", None),
        ("arn:aws:lambda:us-east-1:123456789012:function:orders", None),
    ],
)
def test_a_resource_arn_names_the_operation_whose_output_is_checked(
    resource: str, operation: tuple[str, str] | None
) -> None:
    assert operation_of(resource) == operation


def test_an_operation_botocore_does_not_know_has_nothing_to_check() -> None:
    assert output_shape("arn:aws:states:::aws-sdk:nosuchservice:doThing") is None
    assert output_shape("arn:aws:states:::sqs:noSuchAction") is None


@pytest.mark.parametrize(
    ("resource", "result", "message"),
    [
        (
            "arn:aws:states:::dynamodb:putItem",
            {"ConsumedCapacity": {"CapacityUnits": "123.45"}},
            "Field 'CapacityUnits' must be a number",
        ),
        (
            "arn:aws:states:::aws-sdk:s3:getObject",
            {"ContentLength": "9000"},
            "Field 'ContentLength' must be a number",
        ),
        (
            "arn:aws:states:::aws-sdk:s3:getObject",
            {"StorageClass": "Papyrus"},
            "Field 'StorageClass' is not an expected value",
        ),
        (
            "arn:aws:states:::aws-sdk:kms:encrypt",
            {"CiphertextBlob": 123},
            "Field 'CiphertextBlob' must be a string",
        ),
        (
            "arn:aws:states:::aws-sdk:kms:encrypt",
            {"CiphertextBlob": ""},
            "Field 'CiphertextBlob' is smaller than the minimum length",
        ),
        (
            "arn:aws:states:::aws-sdk:lambda:getFunction",
            {"Configuration": {"MemorySize": 127}},
            "Field 'MemorySize' is less than the minimum value",
        ),
        (
            "arn:aws:states:::aws-sdk:lambda:getFunction",
            {"Configuration": {"MemorySize": 32769}},
            "Field 'MemorySize' exceeds the maximum value",
        ),
        (
            "arn:aws:states:::aws-sdk:kinesis:putRecord",
            {"ShardId": "shardId-000000000000"},
            "Required field 'SequenceNumber' is missing",
        ),
        (
            "arn:aws:states:::sns:publish",
            {"MessageId": ["not", "a", "string"]},
            "Field 'MessageId' must be a string",
        ),
    ],
)
def test_a_result_that_does_not_fit_is_refused_with_awss_message(
    resource: str, result: Any, message: str
) -> None:
    shape = output_shape(resource)
    assert shape is not None
    with pytest.raises(MockValidationError) as refused:
        validate(result, shape, mock_validation.STRICT)
    assert str(refused.value) == f"Mock result schema validation error: {message}"


def test_present_checks_the_fields_present_and_none_checks_nothing() -> None:
    shape = output_shape("arn:aws:states:::aws-sdk:kinesis:putRecord")
    assert shape is not None
    validate({"ShardId": "shardId-000000000000"}, shape, mock_validation.PRESENT)  # the missing one is fine
    with pytest.raises(MockValidationError, match="Field 'ShardId' must be a string"):
        validate({"ShardId": 7}, shape, mock_validation.PRESENT)
    validate({"ShardId": 7}, shape, mock_validation.NONE)


def test_a_result_that_is_not_an_object_is_refused_under_strict_and_present() -> None:
    shape = output_shape("arn:aws:states:::sqs:sendMessage")
    assert shape is not None
    for mode in (mock_validation.STRICT, mock_validation.PRESENT):
        with pytest.raises(MockValidationError, match="must be a JSON object"):
            validate(["a"], shape, mode)


def test_a_result_of_the_right_shape_passes() -> None:
    shape = output_shape("arn:aws:states:::dynamodb:updateItem")
    assert shape is not None
    validate(
        {
            "Attributes": {"status": {"S": "PAID"}},
            "ConsumedCapacity": {"TableName": "orders", "CapacityUnits": 1.0},
        },
        shape,
        mock_validation.STRICT,
    )
