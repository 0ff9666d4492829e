"""cdk-nag findings we reviewed and accept. Each suppression names the exact finding and says why."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

BASIC_EXECUTION_ROLE = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
XRAY_REASON = "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions"


def accept_function_role(function: lambda_.Function, *, publishes_to_encrypted_topic: bool = False) -> None:
    suppressions = [
        NagPackSuppression(
            id="AwsSolutions-IAM4",
            reason="The basic execution role only lets the function write its own logs",
            applies_to=[BASIC_EXECUTION_ROLE],
        ),
        NagPackSuppression(id="AwsSolutions-IAM5", reason=XRAY_REASON, applies_to=["Resource::*"]),
    ]
    if publishes_to_encrypted_topic:
        suppressions.append(
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="SNS needs GenerateDataKey* (several key specs) on the one messaging key to publish",
                applies_to=["Action::kms:GenerateDataKey*"],
            )
        )
    if function.role is not None:
        NagSuppressions.add_resource_suppressions(function.role, suppressions, apply_to_children=True)


def accept_tested_runtime(function: lambda_.Function) -> None:
    NagSuppressions.add_resource_suppressions(
        function,
        [
            NagPackSuppression(
                id="AwsSolutions-L1",
                reason=(
                    "Python 3.13, not the newest runtime: the test suite runs on 3.13 (the Makefile builds "
                    "the venv on it), what deploys is what was tested; CPython 3.13 is maintained to 2029-10"
                ),
            )
        ],
    )


def accept_dead_letter_target(queue: sqs.IQueue) -> None:
    NagSuppressions.add_resource_suppressions(
        queue,
        [
            NagPackSuppression(
                id="AwsSolutions-SQS3",
                reason="This queue is itself a dead-letter target (of EventBridge, Lambda or the workflow)",
            )
        ],
    )


def accept_state_machine_role(state_machine: sfn.StateMachine, *, invoked: lambda_.IFunction) -> None:
    stack = Stack.of(state_machine)
    NagSuppressions.add_resource_suppressions(
        state_machine.role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason=f"{XRAY_REASON}; log delivery to CloudWatch Logs needs '*' as well",
                applies_to=["Resource::*"],
            ),
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="Invoking the validation function's versions and aliases (ARN:*) as the CDK grants it",
                applies_to=[f"Resource::<{stack.get_logical_id(invoked.node.default_child)}.Arn>:*"],  # type: ignore[arg-type]
            ),
        ],
        apply_to_children=True,
    )


def accept_access_log_bucket(bucket: s3.IBucket) -> None:
    NagSuppressions.add_resource_suppressions(
        bucket,
        [
            NagPackSuppression(
                id="AwsSolutions-S1",
                reason="This is the access-log bucket itself; logging it into itself would loop",
            )
        ],
    )


def accept_object_prefix_access(
    function: lambda_.Function, bucket: s3.IBucket, prefixes: Sequence[str]
) -> None:
    stack = Stack.of(function)
    bucket_id = stack.get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
    if function.role is None:
        return
    NagSuppressions.add_resource_suppressions(
        function.role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="Objects under one key prefix of the imports bucket, whose names partners choose",
                applies_to=[f"Resource::<{bucket_id}.Arn>/{prefix}*" for prefix in prefixes],
            )
        ],
        apply_to_children=True,
    )


def accept_bucket_notifications_handler(scope: Construct) -> None:
    """The CDK's own singleton that applies bucket notifications (Custom::S3BucketNotifications)."""
    stack = Stack.of(scope)
    NagSuppressions.add_resource_suppressions_by_path(
        stack,
        f"/{stack.node.path}/BucketNotificationsHandler050a0587b7544547bf325f094a3db834/Role/Resource",
        [
            NagPackSuppression(
                id="AwsSolutions-IAM4",
                reason="The CDK's notifications handler only writes its own logs (the basic execution role)",
                applies_to=[BASIC_EXECUTION_ROLE],
            ),
        ],
    )
