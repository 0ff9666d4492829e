"""Amazon Kinesis Data Streams."""

from __future__ import annotations

from typing import Any

from localaws.deploy.model import DeployedResource
from localaws.deploy.resources.base import ResourceRequest


def stream(request: ResourceRequest) -> DeployedResource:
    """AWS::Kinesis::Stream; a redeploy leaves an existing stream as it is."""
    if request.previous is not None:
        return request.kept()
    props = request.properties
    kinesis = request.client("kinesis")
    name = props.get("Name") or request.generated_name(128)
    mode = props.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")
    kwargs: dict[str, Any] = {"StreamName": name, "StreamModeDetails": {"StreamMode": mode}}
    if mode == "PROVISIONED":
        kwargs["ShardCount"] = int(props.get("ShardCount", 1))
    kinesis.create_stream(**kwargs)
    encryption = props.get("StreamEncryption")
    if encryption:
        kinesis.start_stream_encryption(
            StreamName=name, EncryptionType=encryption["EncryptionType"], KeyId=encryption["KeyId"]
        )
    if "RetentionPeriodHours" in props and int(props["RetentionPeriodHours"]) > 24:
        kinesis.increase_stream_retention_period(
            StreamName=name, RetentionPeriodHours=int(props["RetentionPeriodHours"])
        )
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    return request.created(name, arn=arn, attributes={"Arn": arn})
