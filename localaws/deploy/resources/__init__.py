"""One module per AWS service: how each CloudFormation resource type of that service is deployed locally.

``HANDLERS`` maps each resource type to its handler; a new type is one function in its service's module
and one entry here. ``NO_LOCAL_MEANING`` lists the types knowingly left out, with the reason the
deploy report gives.
"""

from __future__ import annotations

from localaws.deploy.resources import (
    cloudwatch,
    dynamodb,
    events,
    iam,
    kinesis,
    kms,
    lambda_,
    logs,
    s3,
    s3_notifications,
    sns,
    sqs,
    ssm,
    stepfunctions,
)
from localaws.deploy.resources.base import Handler, ResourceRequest

__all__ = ["HANDLERS", "NO_LOCAL_MEANING", "Handler", "ResourceRequest", "not_deployed_reason"]

HANDLERS: dict[str, Handler] = {
    "AWS::CloudWatch::Alarm": cloudwatch.alarm,
    "AWS::CloudWatch::Dashboard": cloudwatch.dashboard,
    "AWS::DynamoDB::GlobalTable": dynamodb.table,
    "AWS::DynamoDB::Table": dynamodb.table,
    "AWS::Events::Archive": events.archive,
    "AWS::Events::EventBus": events.event_bus,
    "AWS::Events::Rule": events.rule,
    "AWS::IAM::ManagedPolicy": iam.managed_policy,
    "AWS::IAM::Policy": iam.policy,
    "AWS::IAM::Role": iam.role,
    "AWS::KMS::Alias": kms.alias,
    "AWS::KMS::Key": kms.key,
    "AWS::Kinesis::Stream": kinesis.stream,
    "AWS::Lambda::EventSourceMapping": lambda_.event_source_mapping,
    "AWS::Lambda::Function": lambda_.function,
    "AWS::Lambda::Permission": lambda_.permission,
    "AWS::Logs::LogGroup": logs.log_group,
    "AWS::S3::Bucket": s3.bucket,
    "AWS::S3::BucketPolicy": s3.bucket_policy,
    "Custom::S3BucketNotifications": s3_notifications.bucket_notifications,
    "AWS::SNS::Subscription": sns.subscription,
    "AWS::SNS::Topic": sns.topic,
    "AWS::SNS::TopicPolicy": sns.topic_policy,
    "AWS::SQS::Queue": sqs.queue,
    "AWS::SQS::QueuePolicy": sqs.queue_policy,
    "AWS::SSM::Parameter": ssm.parameter,
    "AWS::StepFunctions::StateMachine": stepfunctions.state_machine,
}

# Types that exist only for CloudFormation or tooling; deploying them locally would mean nothing.
NO_LOCAL_MEANING = {
    "AWS::CDK::Metadata": "CDK bookkeeping",
    "AWS::EventSchemas::Registry": "moto has no EventBridge Schema Registry",
    "AWS::EventSchemas::Schema": "moto has no EventBridge Schema Registry",
    "AWS::EventSchemas::Discoverer": "moto has no EventBridge Schema Registry",
    "AWS::CloudFormation::CustomResource": "custom resource providers do not run locally",
    "AWS::Lambda::EventInvokeConfig": "asynchronous invoke settings are not emulated",
    "AWS::CloudWatch::CompositeAlarm": "moto has no composite alarms",
    "AWS::Lambda::LayerVersion": "code runs from the asset directory; layers are not needed",
    "AWS::XRay::Group": "no X-Ray locally",
    "AWS::XRay::SamplingRule": "no X-Ray locally",
}


def not_deployed_reason(resource_type: str) -> str:
    """Why a resource type with no handler is not deployed, as the deploy report lists it."""
    reason = NO_LOCAL_MEANING.get(resource_type)
    if reason is not None:
        return reason
    if resource_type.startswith("Custom::"):
        return "custom resource providers do not run locally"
    return "unsupported locally"
