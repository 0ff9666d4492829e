"""Amazon CloudWatch Logs: log groups."""

from __future__ import annotations

from localaws.deploy.model import DeployedResource
from localaws.deploy.resources.base import ResourceRequest


def log_group(request: ResourceRequest) -> DeployedResource:
    """AWS::Logs::LogGroup; its retention is put again on every deploy."""
    props = request.properties
    logs = request.client("logs")
    if request.previous is None:
        name = props.get("LogGroupName") or request.generated_name(512)
        logs.create_log_group(logGroupName=name)
    else:
        name = request.previous.physical_id
    if "RetentionInDays" in props:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
    if request.previous is not None:
        return request.kept()
    arn = f"arn:aws:logs:{request.region}:{request.account_id}:log-group:{name}:*"
    return request.created(name, arn=arn, attributes={"Arn": arn})
