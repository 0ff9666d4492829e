"""Amazon SQS: queues and their policies."""

from __future__ import annotations

import json
from typing import Any

from localaws.deploy.model import DeployedResource
from localaws.deploy.resources.base import ResourceRequest, json_text, tags

_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


def _queue_attributes(props: dict[str, Any]) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for name in _QUEUE_ATTRIBUTES:
        if name in props:
            value = props[name]
            if isinstance(value, dict | list):
                attributes[name] = json.dumps(value)
            elif isinstance(value, bool):
                attributes[name] = str(value).lower()
            else:
                attributes[name] = str(value)
    return attributes


def queue(request: ResourceRequest) -> DeployedResource:
    """AWS::SQS::Queue; an unnamed FIFO queue keeps its ``.fifo`` suffix (moto's CloudFormation drops it)."""
    props = request.properties
    sqs = request.client("sqs")
    attributes = _queue_attributes(props)
    fifo = str(props.get("FifoQueue", "false")).lower() == "true"
    if request.previous is not None:
        changed = {k: v for k, v in attributes.items() if k != "FifoQueue"}
        if changed:
            sqs.set_queue_attributes(QueueUrl=request.previous.physical_id, Attributes=changed)
        return request.kept()
    name = props.get("QueueName") or request.generated_name(80, ".fifo" if fifo else "")
    if fifo:
        attributes["FifoQueue"] = "true"
    url = sqs.create_queue(
        QueueName=name, Attributes=attributes, tags={t["Key"]: t["Value"] for t in tags(props)}
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return request.created(url, arn=arn, attributes={"Arn": arn, "QueueName": name, "QueueUrl": url})


def queue_policy(request: ResourceRequest) -> DeployedResource:
    """AWS::SQS::QueuePolicy: an upsert of each queue's ``Policy`` attribute."""
    props = request.properties
    for url in props.get("Queues", []):
        request.client("sqs").set_queue_attributes(
            QueueUrl=url, Attributes={"Policy": json_text(props["PolicyDocument"])}
        )
    return request.kept() if request.previous else request.created(request.generated_name(128))
