"""Amazon EventBridge: event buses, rules with their targets, and archives."""

from __future__ import annotations

import json

from localaws.deploy.model import DeployedResource, TemplateError
from localaws.deploy.resources.base import ResourceRequest, drop_none

_TARGET_FIELDS = (
    "Id",
    "Arn",
    "RoleArn",
    "Input",
    "InputPath",
    "InputTransformer",
    "RetryPolicy",
    "DeadLetterConfig",
    "SqsParameters",
    "KinesisParameters",
    "HttpParameters",
)


def event_bus(request: ResourceRequest) -> DeployedResource:
    """AWS::Events::EventBus; a redeploy leaves an existing bus as it is."""
    if request.previous is not None:
        return request.kept()
    name = request.properties["Name"]
    arn = request.client("events").create_event_bus(Name=name)["EventBusArn"]
    return request.created(name, arn=arn, attributes={"Arn": arn, "Name": name})


def rule(request: ResourceRequest) -> DeployedResource:
    """AWS::Events::Rule; on redeploy, targets no longer in the template are removed."""
    props = request.properties
    events = request.client("events")
    previous = request.previous
    name = previous.physical_id if previous else props.get("Name") or request.generated_name(64)
    bus = props.get("EventBusName", "default")
    bus = bus.split("/")[-1] if str(bus).startswith("arn:") else bus
    put = drop_none(
        {
            "Name": name,
            "EventBusName": bus,
            "EventPattern": json.dumps(props["EventPattern"]) if "EventPattern" in props else None,
            "ScheduleExpression": props.get("ScheduleExpression"),
            "State": props.get("State", "ENABLED"),
            "Description": props.get("Description"),
            "RoleArn": props.get("RoleArn"),
        }
    )
    arn = events.put_rule(**put)["RuleArn"]
    targets = [{k: t[k] for k in _TARGET_FIELDS if k in t} for t in props.get("Targets", [])]
    if previous is not None:
        current = events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
        stale = [t["Id"] for t in current if t["Id"] not in {n["Id"] for n in targets}]
        if stale:
            events.remove_targets(Rule=name, EventBusName=bus, Ids=stale)
    if targets:
        response = events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        if response.get("FailedEntryCount"):
            raise TemplateError(f"{request.logical_id}: targets rejected: {response['FailedEntries']}")
    return request.kept() if previous else request.created(name, arn=arn, attributes={"Arn": arn})


def archive(request: ResourceRequest) -> DeployedResource:
    """AWS::Events::Archive; a redeploy leaves an existing archive as it is."""
    if request.previous is not None:
        return request.kept()
    props = request.properties
    name = props.get("ArchiveName") or request.generated_name(48)
    kwargs = drop_none(
        {
            "ArchiveName": name,
            "EventSourceArn": props["SourceArn"],
            "Description": props.get("Description"),
            "EventPattern": json.dumps(props["EventPattern"]) if "EventPattern" in props else None,
            "RetentionDays": int(props.get("RetentionDays", 0)),
        }
    )
    arn = request.client("events").create_archive(**kwargs)["ArchiveArn"]
    return request.created(name, arn=arn, attributes={"Arn": arn, "ArchiveName": name})
