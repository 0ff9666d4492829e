"""Amazon SNS: topics, subscriptions and topic policies."""

from __future__ import annotations

import json

from localaws.deploy.model import DeployedResource
from localaws.deploy.resources.base import ResourceRequest, json_text, tags

_TOPIC_ATTRIBUTES = (
    "DisplayName",
    "KmsMasterKeyId",
    "FifoTopic",
    "ContentBasedDeduplication",
    "TracingConfig",
)
_SUBSCRIPTION_ATTRIBUTES = (
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "DeliveryPolicy",
)


def topic(request: ResourceRequest) -> DeployedResource:
    """AWS::SNS::Topic, with its inline subscriptions."""
    props = request.properties
    sns = request.client("sns")
    fifo = str(props.get("FifoTopic", "false")).lower() == "true"
    attributes = {
        k: str(props[k]).lower() if isinstance(props[k], bool) else str(props[k])
        for k in _TOPIC_ATTRIBUTES
        if k in props
    }
    if request.previous is not None:
        for key, value in attributes.items():
            if key != "FifoTopic":
                sns.set_topic_attributes(
                    TopicArn=request.previous.physical_id, AttributeName=key, AttributeValue=value
                )
        return request.kept()
    name = props.get("TopicName") or request.generated_name(256, ".fifo" if fifo else "")
    arn = sns.create_topic(
        Name=name, Attributes=attributes, **({"Tags": tags(props)} if props.get("Tags") else {})
    )["TopicArn"]
    for inline in props.get("Subscription", []):
        sns.subscribe(TopicArn=arn, Protocol=inline["Protocol"], Endpoint=inline["Endpoint"])
    return request.created(arn, arn=arn, attributes={"TopicArn": arn, "TopicName": name})


def subscription(request: ResourceRequest) -> DeployedResource:
    """AWS::SNS::Subscription; on redeploy its attributes (filter policy ...) are set again."""
    props = request.properties
    sns = request.client("sns")
    attributes: dict[str, str] = {}
    for key in _SUBSCRIPTION_ATTRIBUTES:
        if key in props:
            value = props[key]
            attributes[key] = (
                json.dumps(value)
                if isinstance(value, dict)
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
            )
    if request.previous is not None:
        for key, value in attributes.items():
            sns.set_subscription_attributes(
                SubscriptionArn=request.previous.physical_id, AttributeName=key, AttributeValue=value
            )
        return request.kept()
    arn = sns.subscribe(
        TopicArn=props["TopicArn"],
        Protocol=props["Protocol"],
        Endpoint=props["Endpoint"],
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return request.created(arn, arn=arn, attributes={"Arn": arn})


def topic_policy(request: ResourceRequest) -> DeployedResource:
    """AWS::SNS::TopicPolicy: an upsert of each topic's ``Policy`` attribute."""
    props = request.properties
    for topic_arn in props.get("Topics", []):
        request.client("sns").set_topic_attributes(
            TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json_text(props["PolicyDocument"])
        )
    return request.kept() if request.previous else request.created(request.generated_name(128))
