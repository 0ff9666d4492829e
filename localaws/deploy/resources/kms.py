"""AWS KMS: keys and aliases."""

from __future__ import annotations

from typing import Any

from localaws.deploy.model import DeployedResource
from localaws.deploy.resources.base import ResourceRequest, json_text


def key(request: ResourceRequest) -> DeployedResource:
    """AWS::KMS::Key; a redeploy leaves an existing key as it is."""
    if request.previous is not None:
        return request.kept()
    props = request.properties
    kms = request.client("kms")
    kwargs: dict[str, Any] = {"KeyUsage": props.get("KeyUsage", "ENCRYPT_DECRYPT")}
    if "KeyPolicy" in props:
        kwargs["Policy"] = json_text(props["KeyPolicy"])
    if "Description" in props:
        kwargs["Description"] = props["Description"]
    if "KeySpec" in props:
        kwargs["KeySpec"] = props["KeySpec"]
    metadata = kms.create_key(**kwargs)["KeyMetadata"]
    if props.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
    return request.created(
        metadata["KeyId"],
        arn=metadata["Arn"],
        attributes={"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]},
    )


def alias(request: ResourceRequest) -> DeployedResource:
    """AWS::KMS::Alias; a redeploy leaves an existing alias as it is."""
    if request.previous is not None:
        return request.kept()
    props = request.properties
    request.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
    return request.created(props["AliasName"])
