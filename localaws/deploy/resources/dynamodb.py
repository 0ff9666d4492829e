"""Amazon DynamoDB: tables and global tables (the replica in our region)."""

from __future__ import annotations

from typing import Any

from localaws.deploy.model import DeployedResource
from localaws.deploy.resources.base import ResourceRequest, drop_none, tags

_INDEX_FIELDS = ("IndexName", "KeySchema", "Projection")


def _create_table(
    request: ResourceRequest, name: str, props: dict[str, Any], global_table: bool
) -> dict[str, Any]:
    billing = props.get("BillingMode", "PAY_PER_REQUEST" if global_table else "PROVISIONED")
    kwargs: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": billing,
    }
    throughput = props.get("ProvisionedThroughput") or {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    if billing == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = {
            "ReadCapacityUnits": int(throughput.get("ReadCapacityUnits", 5)),
            "WriteCapacityUnits": int(throughput.get("WriteCapacityUnits", 5)),
        }
    indexes = []
    for index in props.get("GlobalSecondaryIndexes", []):
        entry = {k: index[k] for k in _INDEX_FIELDS}
        if billing == "PROVISIONED":
            entry["ProvisionedThroughput"] = kwargs["ProvisionedThroughput"]
        indexes.append(entry)
    if indexes:
        kwargs["GlobalSecondaryIndexes"] = indexes
    if props.get("LocalSecondaryIndexes"):
        kwargs["LocalSecondaryIndexes"] = [
            {k: i[k] for k in _INDEX_FIELDS} for i in props["LocalSecondaryIndexes"]
        ]
    stream = props.get("StreamSpecification")
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = props.get("SSESpecification")
    if sse:
        kwargs["SSESpecification"] = drop_none(
            {
                "Enabled": bool(sse.get("SSEEnabled", False)),
                "SSEType": sse.get("SSEType"),
                "KMSMasterKeyId": sse.get("KMSMasterKeyId"),
            }
        )
    table_tags = tags(props)
    if table_tags:
        kwargs["Tags"] = table_tags
    description: dict[str, Any] = request.client("dynamodb").create_table(**kwargs)["TableDescription"]
    return description


def _table_settings(request: ResourceRequest, name: str, props: dict[str, Any]) -> None:
    """What CloudFormation sets after creating a table (TTL, point-in-time recovery); also on redeploy."""
    dynamodb = request.client("dynamodb")
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    recovery = props.get("PointInTimeRecoverySpecification")
    if recovery and recovery.get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )


def table(request: ResourceRequest) -> DeployedResource:
    """AWS::DynamoDB::Table and AWS::DynamoDB::GlobalTable."""
    props = request.properties
    global_table = "Replicas" in props
    # A global table's per-replica settings apply to the replica in our region.
    replica: dict[str, Any] = next(
        (r for r in props.get("Replicas", []) if r.get("Region") in (None, request.region)), {}
    )
    settings = {**props, **{k: v for k, v in replica.items() if k != "Region"}}
    if request.previous is not None:
        _table_settings(request, request.previous.physical_id, settings)
        return request.kept()
    name = props.get("TableName") or request.generated_name(255)
    description = _create_table(request, name, settings, global_table)
    _table_settings(request, name, settings)
    arn = description["TableArn"]
    attributes = {"Arn": arn, "TableId": description.get("TableId", name)}
    if description.get("LatestStreamArn"):
        attributes["StreamArn"] = description["LatestStreamArn"]
    return request.created(name, arn=arn, attributes=attributes)
