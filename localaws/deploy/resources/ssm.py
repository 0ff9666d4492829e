"""AWS Systems Manager: Parameter Store parameters."""

from __future__ import annotations

from localaws.deploy.model import DeployedResource
from localaws.deploy.resources.base import ResourceRequest, random_suffix


def parameter(request: ResourceRequest) -> DeployedResource:
    """AWS::SSM::Parameter; put again on every deploy (an upsert)."""
    props = request.properties
    previous = request.previous
    name = (
        previous.physical_id
        if previous
        else props.get("Name") or f"CFN-{request.logical_id}-{random_suffix()}"
    )
    request.client("ssm").put_parameter(
        Name=name, Value=str(props["Value"]), Type=props.get("Type", "String"), Overwrite=True
    )
    if previous is not None:
        return request.kept()
    return request.created(name, attributes={"Type": props.get("Type", "String"), "Value": props["Value"]})
