"""Deploys a synthesized CDK cloud assembly (``cdk.out/``) into the in-process moto backends.

moto's own CloudFormation cannot deploy our CDK template (FIFO queues without a name lose their ``.fifo``
suffix; a Rule on a custom bus crashes), so this small deployer resolves the intrinsics itself and creates
each resource through the ordinary boto3 APIs, which the active ``mock_aws`` intercepts in-process.

Nothing here knows orderflow's resources: everything comes from the template. A resource type with no local
meaning is listed by name in the ``DeployReport``, never skipped silently.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import random
import re
import string
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from localaws.lambda_.runtime import FunctionSpec

if TYPE_CHECKING:
    from botocore.client import BaseClient

logger = logging.getLogger(__name__)

NO_VALUE = object()  # AWS::NoValue: the property is removed


class AssemblyNotFoundError(FileNotFoundError):
    """There is no synthesized cloud assembly where we looked."""


class TemplateError(ValueError):
    """The template uses something this deployer cannot resolve."""


@dataclass
class DeployedResource:
    stack: str
    logical_id: str
    type: str
    physical_id: str
    arn: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)  # resolved, to detect changes on redeploy


@dataclass(frozen=True)
class NotDeployed:
    stack: str
    logical_id: str
    type: str
    reason: str


@dataclass
class DeployReport:
    stacks: list[str] = field(default_factory=list)
    resources: dict[str, DeployedResource] = field(default_factory=dict)  # key: "<stack>/<logicalId>"
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # stack → output name → value
    not_deployed: list[NotDeployed] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    functions: list[FunctionSpec] = field(default_factory=list)

    def resource(self, logical_id: str, stack: str | None = None) -> DeployedResource:
        for key, resource in self.resources.items():
            if resource.logical_id == logical_id and (stack is None or key.startswith(f"{stack}/")):
                return resource
        raise KeyError(logical_id)

    def of_type(self, resource_type: str) -> list[DeployedResource]:
        return [r for r in self.resources.values() if r.type == resource_type]


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


def _random_suffix(length: int = 12) -> str:
    return "".join(random.choices(string.ascii_uppercase + string.digits, k=length))


def generated_name(stack: str, logical_id: str, max_length: int, suffix: str = "") -> str:
    """A CloudFormation-style physical name: ``<stack>-<logicalId>-<RANDOM>[suffix]``, within the limit."""
    tail = f"-{_random_suffix()}{suffix}"
    base = f"{stack}-{logical_id}"[: max(1, max_length - len(tail))]
    return base + tail


def _placeholder_zip() -> bytes:
    # moto needs some code; ours runs from the asset directory.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "code runs from the cdk.out asset directory (localaws)")
    return buffer.getvalue()


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _tags(props: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": t["Key"], "Value": str(t["Value"])} for t in props.get("Tags", [])]


def _lower_keys(value: Any) -> Any:
    """CloudFormation spells nested keys in PascalCase where some APIs want camelCase."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def _drop_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}


# -- the assembly -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackArtifact:
    name: str
    template: dict[str, Any]
    assembly_dir: Path
    asset_dirs: dict[str, Path]  # asset hash → directory holding the unzipped asset
    depends_on: tuple[str, ...]


def read_assembly(cdk_out: Path) -> list[StackArtifact]:
    """Every stack in the cloud assembly (nested assemblies included), in dependency order."""
    manifest_path = cdk_out / "manifest.json"
    if not manifest_path.is_file():
        raise AssemblyNotFoundError(
            f"no cloud assembly at {cdk_out} (missing manifest.json): run `make synth` first"
        )
    manifest = json.loads(manifest_path.read_text())
    artifacts: dict[str, Any] = manifest.get("artifacts", {})
    stacks: list[StackArtifact] = []
    assets: dict[str, Path] = {}
    for artifact in artifacts.values():
        if artifact.get("type") == "cdk:asset-manifest":
            asset_manifest = json.loads((cdk_out / artifact["properties"]["file"]).read_text())
            for asset_hash, entry in asset_manifest.get("files", {}).items():
                assets[asset_hash] = cdk_out / entry["source"]["path"]
    for artifact_id, artifact in artifacts.items():
        kind = artifact.get("type")
        if kind == "cdk:cloud-assembly":
            stacks.extend(read_assembly(cdk_out / artifact["properties"]["directoryName"]))
        elif kind == "aws:cloudformation:stack":
            props = artifact["properties"]
            template = json.loads((cdk_out / props["templateFile"]).read_text())
            name = props.get("stackName") or artifact.get("displayName") or artifact_id
            depends = tuple(
                d for d in artifact.get("dependencies", []) if artifacts.get(d, {}).get("type") == kind
            )
            stacks.append(StackArtifact(name, template, cdk_out, assets, depends))
    return _order_stacks(stacks)


def _order_stacks(stacks: list[StackArtifact]) -> list[StackArtifact]:
    ordered: list[StackArtifact] = []
    by_name = {s.name: s for s in stacks}
    visiting: set[str] = set()

    def visit(stack: StackArtifact) -> None:
        if stack in ordered or stack.name in visiting:
            return
        visiting.add(stack.name)
        for dependency in stack.depends_on:
            if dependency in by_name:
                visit(by_name[dependency])
        ordered.append(stack)

    for stack in stacks:
        visit(stack)
    return ordered


def template_fingerprint(cdk_out: Path) -> tuple[tuple[str, float], ...]:
    """Modification times of the files a deploy reads; a change means a new synth happened."""
    files = [cdk_out / "manifest.json", *cdk_out.glob("*.template.json"), *cdk_out.glob("*.assets.json")]
    return tuple(sorted((f.name, f.stat().st_mtime) for f in files if f.exists()))


# -- intrinsic functions ------------------------------------------------------------------------------


def _references(value: Any) -> Iterator[str]:
    """Logical ids that ``value`` refers to (Ref, GetAtt, ${X} in Sub)."""
    if isinstance(value, dict):
        if len(value) == 1:
            key, arg = next(iter(value.items()))
            if key == "Ref" and isinstance(arg, str):
                yield arg
            elif key == "Fn::GetAtt":
                yield arg[0] if isinstance(arg, list) else arg.split(".")[0]
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                local = set(arg[1]) if isinstance(arg, list) else set()
                for match in re.finditer(r"\$\{([^!}][^}]*)\}", text):
                    name = match.group(1).split(".")[0]
                    if name not in local:
                        yield name
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


class _StackContext:
    """Resolves intrinsics of one stack against what is deployed so far."""

    def __init__(self, deployer: TemplateDeployer, stack: StackArtifact) -> None:
        self.deployer = deployer
        self.stack = stack
        template = stack.template
        self.parameters: dict[str, Any] = {}
        for name, definition in template.get("Parameters", {}).items():
            # SSM-typed parameters (CDK's BootstrapVersion) are not looked up: there is no bootstrap locally.
            self.parameters[name] = definition.get("Default", "")
        self.conditions_source: dict[str, Any] = template.get("Conditions", {})
        self._conditions: dict[str, bool] = {}
        self.mappings: dict[str, Any] = template.get("Mappings", {})

    @property
    def resources(self) -> dict[str, DeployedResource]:
        return self.deployer.stack_resources(self.stack.name)

    def pseudo(self, name: str) -> Any:
        region, account = self.deployer.region, self.deployer.account_id
        values = {
            "AWS::Region": region,
            "AWS::AccountId": self.deployer.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack.name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/{self.stack.name}/local",
            "AWS::NoValue": NO_VALUE,
            "AWS::NotificationARNs": [],
        }
        if name not in values:
            raise TemplateError(f"unknown pseudo parameter {name}")
        return values[name]

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.conditions_source[name]))
        return self._conditions[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        resource = self.resources.get(name)
        if resource is None:
            return self.deployer.unresolved(self.stack.name, name, "Ref")
        return resource.physical_id

    def get_att(self, logical_id: str, attribute: str) -> Any:
        resource = self.resources.get(logical_id)
        if resource is None or attribute not in resource.attributes:
            return self.deployer.unresolved(self.stack.name, logical_id, attribute)
        return resource.attributes[attribute]

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in variables:
                return str(variables[expression])
            if "." in expression and not expression.startswith("AWS::"):
                logical_id, attribute = expression.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(expression))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            key, arg = next(iter(value.items()))
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, self.resolve(attribute))
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(v) for v in self.resolve(items))
            if key == "Fn::Sub":
                if isinstance(arg, list):
                    text, variables = arg
                    return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
                return self._sub(arg, {})
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.resolve(text)).split(separator)
            if key == "Fn::GetAZs":
                return [f"{self.deployer.region}{zone}" for zone in "abc"]
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in arg)
                return str(left) == str(right)
            if key == "Fn::And":
                return all(self.resolve(v) for v in arg)
            if key == "Fn::Or":
                return any(self.resolve(v) for v in arg)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Contains":
                items, item = (self.resolve(v) for v in arg)
                return item in items
            if key == "Fn::FindInMap":
                mapping, top, second = (self.resolve(v) for v in arg[:3])
                return self.mappings[mapping][top][second]
            if key == "Fn::ImportValue":
                return self.deployer.exports.get(self.resolve(arg)) or self.deployer.unresolved(
                    self.stack.name, str(arg), "ImportValue"
                )
            if key == "Fn::Base64":
                return base64.b64encode(str(self.resolve(arg)).encode()).decode()
            if key == "Fn::ToJsonString":
                return json.dumps(self.resolve(arg))
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}


# -- resource handlers --------------------------------------------------------------------------------

Handler = Callable[
    ["TemplateDeployer", "_StackContext", str, dict[str, Any], "DeployedResource | None"], DeployedResource
]
_HANDLERS: dict[str, Handler] = {}


def _handles(*resource_types: str) -> Callable[[Handler], Handler]:
    def decorate(function: Handler) -> Handler:
        for resource_type in resource_types:
            _HANDLERS[resource_type] = function
        return function

    return decorate


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


@_handles("AWS::SQS::Queue")
def _queue(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    sqs = d.client("sqs")
    attributes = _queue_attributes(props)
    fifo = str(props.get("FifoQueue", "false")).lower() == "true"
    if old is not None:
        changed = {k: v for k, v in attributes.items() if k != "FifoQueue"}
        if changed:
            sqs.set_queue_attributes(QueueUrl=old.physical_id, Attributes=changed)
        return old
    name = props.get("QueueName") or generated_name(ctx.stack.name, lid, 80, ".fifo" if fifo else "")
    if fifo:
        attributes["FifoQueue"] = "true"
    url = sqs.create_queue(
        QueueName=name, Attributes=attributes, tags={t["Key"]: t["Value"] for t in _tags(props)}
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return DeployedResource(
        ctx.stack.name, lid, "", url, arn, {"Arn": arn, "QueueName": name, "QueueUrl": url}
    )


@_handles("AWS::SQS::QueuePolicy")
def _queue_policy(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    for url in props.get("Queues", []):
        d.client("sqs").set_queue_attributes(
            QueueUrl=url, Attributes={"Policy": _json_text(props["PolicyDocument"])}
        )
    return old or DeployedResource(ctx.stack.name, lid, "", generated_name(ctx.stack.name, lid, 128))


@_handles("AWS::SNS::Topic")
def _topic(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    sns = d.client("sns")
    fifo = str(props.get("FifoTopic", "false")).lower() == "true"
    attributes = {
        k: str(props[k]).lower() if isinstance(props[k], bool) else str(props[k])
        for k in ("DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication", "TracingConfig")
        if k in props
    }
    if old is not None:
        for key, value in attributes.items():
            if key != "FifoTopic":
                sns.set_topic_attributes(TopicArn=old.physical_id, AttributeName=key, AttributeValue=value)
        return old
    name = props.get("TopicName") or generated_name(ctx.stack.name, lid, 256, ".fifo" if fifo else "")
    arn = sns.create_topic(
        Name=name, Attributes=attributes, **({"Tags": _tags(props)} if props.get("Tags") else {})
    )["TopicArn"]
    for inline in props.get("Subscription", []):
        sns.subscribe(TopicArn=arn, Protocol=inline["Protocol"], Endpoint=inline["Endpoint"])
    return DeployedResource(ctx.stack.name, lid, "", arn, arn, {"TopicArn": arn, "TopicName": name})


@_handles("AWS::SNS::Subscription")
def _subscription(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    sns = d.client("sns")
    attributes: dict[str, str] = {}
    for key in ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy", "DeliveryPolicy"):
        if key in props:
            value = props[key]
            attributes[key] = (
                json.dumps(value)
                if isinstance(value, dict)
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
            )
    if old is not None:
        for key, value in attributes.items():
            sns.set_subscription_attributes(
                SubscriptionArn=old.physical_id, AttributeName=key, AttributeValue=value
            )
        return old
    arn = sns.subscribe(
        TopicArn=props["TopicArn"],
        Protocol=props["Protocol"],
        Endpoint=props["Endpoint"],
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return DeployedResource(ctx.stack.name, lid, "", arn, arn, {"Arn": arn})


@_handles("AWS::SNS::TopicPolicy")
def _topic_policy(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    for topic_arn in props.get("Topics", []):
        d.client("sns").set_topic_attributes(
            TopicArn=topic_arn, AttributeName="Policy", AttributeValue=_json_text(props["PolicyDocument"])
        )
    return old or DeployedResource(ctx.stack.name, lid, "", generated_name(ctx.stack.name, lid, 128))


@_handles("AWS::Kinesis::Stream")
def _stream(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    if old is not None:
        return old
    kinesis = d.client("kinesis")
    name = props.get("Name") or generated_name(ctx.stack.name, lid, 128)
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
    return DeployedResource(ctx.stack.name, lid, "", name, arn, {"Arn": arn})


def _create_table(
    d: TemplateDeployer, name: str, props: dict[str, Any], global_table: bool
) -> dict[str, Any]:
    dynamodb = d.client("dynamodb")
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
        entry = {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
        if billing == "PROVISIONED":
            entry["ProvisionedThroughput"] = kwargs["ProvisionedThroughput"]
        indexes.append(entry)
    if indexes:
        kwargs["GlobalSecondaryIndexes"] = indexes
    if props.get("LocalSecondaryIndexes"):
        kwargs["LocalSecondaryIndexes"] = [
            {k: i[k] for k in ("IndexName", "KeySchema", "Projection")}
            for i in props["LocalSecondaryIndexes"]
        ]
    stream = props.get("StreamSpecification")
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = props.get("SSESpecification")
    if sse:
        kwargs["SSESpecification"] = _drop_none(
            {
                "Enabled": bool(sse.get("SSEEnabled", False)),
                "SSEType": sse.get("SSEType"),
                "KMSMasterKeyId": sse.get("KMSMasterKeyId"),
            }
        )
    tags = _tags(props)
    if tags:
        kwargs["Tags"] = tags
    description: dict[str, Any] = dynamodb.create_table(**kwargs)["TableDescription"]
    return description


def _table_settings(d: TemplateDeployer, name: str, props: dict[str, Any]) -> None:
    dynamodb = d.client("dynamodb")
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


@_handles("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")
def _table(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    global_table = "Replicas" in props
    # A global table's per-replica settings apply to the replica in our region.
    replica: dict[str, Any] = next(
        (r for r in props.get("Replicas", []) if r.get("Region") in (None, d.region)), {}
    )
    settings = {**props, **{k: v for k, v in replica.items() if k != "Region"}}
    if old is not None:
        _table_settings(d, old.physical_id, settings)
        return old
    name = props.get("TableName") or generated_name(ctx.stack.name, lid, 255)
    description = _create_table(d, name, settings, global_table)
    _table_settings(d, name, settings)
    arn = description["TableArn"]
    attributes = {"Arn": arn, "TableId": description.get("TableId", name)}
    if description.get("LatestStreamArn"):
        attributes["StreamArn"] = description["LatestStreamArn"]
    return DeployedResource(ctx.stack.name, lid, "", name, arn, attributes)


@_handles("AWS::IAM::Role")
def _role(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    iam = d.client("iam")
    name = old.physical_id if old else props.get("RoleName") or generated_name(ctx.stack.name, lid, 64)
    if old is None:
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=_json_text(props["AssumeRolePolicyDocument"]),
            Path=props.get("Path", "/"),
            **({"Description": props["Description"]} if "Description" in props else {}),
        )["Role"]
        old = DeployedResource(
            ctx.stack.name, lid, "", name, role["Arn"], {"Arn": role["Arn"], "RoleId": role["RoleId"]}
        )
    for policy in props.get("Policies", []):
        iam.put_role_policy(
            RoleName=name,
            PolicyName=policy["PolicyName"],
            PolicyDocument=_json_text(policy["PolicyDocument"]),
        )
    # ManagedPolicyArns (AWS managed policies) are not loaded in moto; permissions are not enforced locally.
    return old


@_handles("AWS::IAM::Policy")
def _policy(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    iam = d.client("iam")
    document = _json_text(props["PolicyDocument"])
    for role in props.get("Roles", []):
        iam.put_role_policy(RoleName=role, PolicyName=props["PolicyName"], PolicyDocument=document)
    return old or DeployedResource(ctx.stack.name, lid, "", props["PolicyName"])


@_handles("AWS::IAM::ManagedPolicy")
def _managed_policy(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    if old is not None:
        return old
    iam = d.client("iam")
    name = props.get("ManagedPolicyName") or generated_name(ctx.stack.name, lid, 128)
    arn = iam.create_policy(PolicyName=name, PolicyDocument=_json_text(props["PolicyDocument"]))["Policy"][
        "Arn"
    ]
    for role in props.get("Roles", []):
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    return DeployedResource(ctx.stack.name, lid, "", arn, arn, {"PolicyArn": arn})


@_handles("AWS::KMS::Key")
def _key(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    if old is not None:
        return old
    kms = d.client("kms")
    kwargs: dict[str, Any] = {"KeyUsage": props.get("KeyUsage", "ENCRYPT_DECRYPT")}
    if "KeyPolicy" in props:
        kwargs["Policy"] = _json_text(props["KeyPolicy"])
    if "Description" in props:
        kwargs["Description"] = props["Description"]
    if "KeySpec" in props:
        kwargs["KeySpec"] = props["KeySpec"]
    metadata = kms.create_key(**kwargs)["KeyMetadata"]
    if props.get("EnableKeyRotation"):
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
    return DeployedResource(
        ctx.stack.name,
        lid,
        "",
        metadata["KeyId"],
        metadata["Arn"],
        {"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]},
    )


@_handles("AWS::KMS::Alias")
def _alias(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    if old is None:
        d.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
    return old or DeployedResource(ctx.stack.name, lid, "", props["AliasName"])


@_handles("AWS::Logs::LogGroup")
def _log_group(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    logs = d.client("logs")
    name = old.physical_id if old else props.get("LogGroupName") or generated_name(ctx.stack.name, lid, 512)
    if old is None:
        logs.create_log_group(logGroupName=name)
    if "RetentionInDays" in props:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
    arn = f"arn:aws:logs:{d.region}:{d.account_id}:log-group:{name}:*"
    return old or DeployedResource(ctx.stack.name, lid, "", name, arn, {"Arn": arn})


def _function_spec(
    d: TemplateDeployer, ctx: _StackContext, name: str, arn: str, props: dict[str, Any]
) -> FunctionSpec | None:
    code = props.get("Code", {})
    runtime = str(props.get("Runtime", ""))
    if not runtime.startswith("python"):
        return None
    if "S3Key" in code:
        asset_hash = str(code["S3Key"]).split("/")[-1].removesuffix(".zip")
        code_dir = ctx.stack.asset_dirs.get(asset_hash)
        if code_dir is None:
            raise TemplateError(f"{name}: code asset {asset_hash} is not in the cloud assembly")
    elif "ZipFile" in code:
        code_dir = d.run_dir / "inline-code" / name
        code_dir.mkdir(parents=True, exist_ok=True)
        (code_dir / "index.py").write_text(code["ZipFile"])
    else:
        return None
    variables = props.get("Environment", {}).get("Variables", {})
    return FunctionSpec(
        name=name,
        arn=arn,
        handler=props["Handler"],
        code_dir=code_dir.resolve(),
        environment={k: str(v) for k, v in variables.items()},
        timeout_seconds=float(props.get("Timeout", 3)),
        memory_size=int(props.get("MemorySize", 128)),
        runtime=runtime,
    )


@_handles("AWS::Lambda::Function")
def _function(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    awslambda = d.client("lambda")
    environment = {
        "Variables": {k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()}
    }
    configuration = _drop_none(
        {
            "Role": props["Role"],
            "Handler": props.get("Handler"),
            "Runtime": props.get("Runtime"),
            "Timeout": int(props.get("Timeout", 3)),
            "MemorySize": int(props.get("MemorySize", 128)),
            "Environment": environment,
            "Description": props.get("Description"),
        }
    )
    if old is not None:
        awslambda.update_function_configuration(FunctionName=old.physical_id, **configuration)
        resource = old
    else:
        name = props.get("FunctionName") or generated_name(ctx.stack.name, lid, 64)
        created = awslambda.create_function(
            FunctionName=name,
            Code={"ZipFile": _placeholder_zip()},
            Tags={t["Key"]: t["Value"] for t in _tags(props)},
            **configuration,
        )
        arn = created["FunctionArn"]
        resource = DeployedResource(ctx.stack.name, lid, "", name, arn, {"Arn": arn})
    spec = _function_spec(d, ctx, resource.physical_id, str(resource.arn), props)
    if spec is None:
        d.note_not_runnable(
            ctx.stack.name, lid, f"runtime {props.get('Runtime')} / code {list(props.get('Code', {}))}"
        )
    else:
        d.functions[spec.name] = spec
    return resource


_MAPPING_SETTINGS = (
    "BatchSize",
    "BisectBatchOnFunctionError",
    "DestinationConfig",
    "Enabled",
    "FilterCriteria",
    "FunctionResponseTypes",
    "MaximumBatchingWindowInSeconds",
    "MaximumRecordAgeInSeconds",
    "MaximumRetryAttempts",
    "ParallelizationFactor",
    "ScalingConfig",
    "TumblingWindowInSeconds",
)


@_handles("AWS::Lambda::EventSourceMapping")
def _mapping(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    awslambda = d.client("lambda")
    settings = {k: props[k] for k in _MAPPING_SETTINGS if k in props}
    if "FilterCriteria" in settings:
        settings["FilterCriteria"] = {
            "Filters": [
                {"Pattern": _json_text(f["Pattern"])} for f in settings["FilterCriteria"].get("Filters", [])
            ]
        }
    if old is not None:
        awslambda.update_event_source_mapping(
            UUID=old.physical_id, FunctionName=props["FunctionName"], **settings
        )
        return old
    extra = {k: props[k] for k in ("StartingPosition", "StartingPositionTimestamp") if k in props}
    created = awslambda.create_event_source_mapping(
        EventSourceArn=props["EventSourceArn"], FunctionName=props["FunctionName"], **settings, **extra
    )
    uuid = created["UUID"]
    arn = (
        created.get("EventSourceMappingArn")
        or f"arn:aws:lambda:{d.region}:{d.account_id}:event-source-mapping:{uuid}"
    )
    return DeployedResource(ctx.stack.name, lid, "", uuid, arn, {"Id": uuid, "EventSourceMappingArn": arn})


@_handles("AWS::Lambda::Permission")
def _permission(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    if old is not None:
        return old
    kwargs = _drop_none(
        {
            "FunctionName": props["FunctionName"],
            "StatementId": lid,
            "Action": props["Action"],
            "Principal": props["Principal"],
            "SourceArn": props.get("SourceArn"),
            "SourceAccount": props.get("SourceAccount"),
        }
    )
    d.client("lambda").add_permission(**kwargs)
    return DeployedResource(ctx.stack.name, lid, "", lid)


@_handles("AWS::Events::EventBus")
def _bus(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    if old is not None:
        return old
    name = props["Name"]
    arn = d.client("events").create_event_bus(Name=name)["EventBusArn"]
    return DeployedResource(ctx.stack.name, lid, "", name, arn, {"Arn": arn, "Name": name})


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


@_handles("AWS::Events::Rule")
def _rule(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    events = d.client("events")
    name = old.physical_id if old else props.get("Name") or generated_name(ctx.stack.name, lid, 64)
    bus = props.get("EventBusName", "default")
    bus = bus.split("/")[-1] if str(bus).startswith("arn:") else bus
    rule = _drop_none(
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
    arn = events.put_rule(**rule)["RuleArn"]
    targets = [{k: t[k] for k in _TARGET_FIELDS if k in t} for t in props.get("Targets", [])]
    if old is not None:
        current = events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
        stale = [t["Id"] for t in current if t["Id"] not in {n["Id"] for n in targets}]
        if stale:
            events.remove_targets(Rule=name, EventBusName=bus, Ids=stale)
    if targets:
        response = events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        if response.get("FailedEntryCount"):
            raise TemplateError(f"{lid}: targets rejected: {response['FailedEntries']}")
    return old or DeployedResource(ctx.stack.name, lid, "", name, arn, {"Arn": arn})


@_handles("AWS::Events::Archive")
def _archive(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    if old is not None:
        return old
    name = props.get("ArchiveName") or generated_name(ctx.stack.name, lid, 48)
    kwargs = _drop_none(
        {
            "ArchiveName": name,
            "EventSourceArn": props["SourceArn"],
            "Description": props.get("Description"),
            "EventPattern": json.dumps(props["EventPattern"]) if "EventPattern" in props else None,
            "RetentionDays": int(props.get("RetentionDays", 0)),
        }
    )
    arn = d.client("events").create_archive(**kwargs)["ArchiveArn"]
    return DeployedResource(ctx.stack.name, lid, "", name, arn, {"Arn": arn, "ArchiveName": name})


def _definition(props: dict[str, Any]) -> str:
    if "DefinitionString" in props:
        text = str(props["DefinitionString"])
    elif "Definition" in props:
        text = json.dumps(props["Definition"])
    else:
        raise TemplateError("state machine without a definition (DefinitionS3Location is not supported)")
    for key, value in props.get("DefinitionSubstitutions", {}).items():
        text = text.replace("${" + key + "}", str(value))
    return text


@_handles("AWS::StepFunctions::StateMachine")
def _state_machine(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    sfn = d.client("stepfunctions")
    definition = _definition(props)
    extra: dict[str, Any] = {}
    if "LoggingConfiguration" in props:
        extra["loggingConfiguration"] = _lower_keys(props["LoggingConfiguration"])
    if "TracingConfiguration" in props:
        extra["tracingConfiguration"] = _lower_keys(props["TracingConfiguration"])
    if old is not None:
        sfn.update_state_machine(
            stateMachineArn=old.physical_id, definition=definition, roleArn=props["RoleArn"], **extra
        )
        return old
    name = props.get("StateMachineName") or generated_name(ctx.stack.name, lid, 80)
    tags = [{"key": t["Key"], "value": t["Value"]} for t in _tags(props)]
    arn = sfn.create_state_machine(
        name=name,
        definition=definition,
        roleArn=props["RoleArn"],
        type=props.get("StateMachineType", "STANDARD"),
        **({"tags": tags} if tags else {}),
        **extra,
    )["stateMachineArn"]
    return DeployedResource(ctx.stack.name, lid, "", arn, arn, {"Arn": arn, "Name": name})


_ALARM_FIELDS = (
    "AlarmDescription",
    "ActionsEnabled",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)


@_handles("AWS::CloudWatch::Alarm")
def _alarm(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    name = old.physical_id if old else props.get("AlarmName") or generated_name(ctx.stack.name, lid, 255)
    alarm = {k: props[k] for k in _ALARM_FIELDS if k in props}
    for number in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if number in alarm:
            alarm[number] = int(alarm[number])
    if "Threshold" in alarm:
        alarm["Threshold"] = float(alarm["Threshold"])
    d.client("cloudwatch").put_metric_alarm(AlarmName=name, **alarm)  # an upsert: redeploy just repeats it
    arn = f"arn:aws:cloudwatch:{d.region}:{d.account_id}:alarm:{name}"
    return old or DeployedResource(ctx.stack.name, lid, "", name, arn, {"Arn": arn})


@_handles("AWS::CloudWatch::Dashboard")
def _dashboard(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    name = old.physical_id if old else props.get("DashboardName") or generated_name(ctx.stack.name, lid, 255)
    d.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=_json_text(props["DashboardBody"]))
    return old or DeployedResource(ctx.stack.name, lid, "", name)


@_handles("AWS::SSM::Parameter")
def _parameter(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    name = old.physical_id if old else props.get("Name") or f"CFN-{lid}-{_random_suffix()}"
    d.client("ssm").put_parameter(
        Name=name, Value=str(props["Value"]), Type=props.get("Type", "String"), Overwrite=True
    )
    return old or DeployedResource(
        ctx.stack.name, lid, "", name, None, {"Type": props.get("Type", "String"), "Value": props["Value"]}
    )


@_handles("AWS::S3::Bucket")
def _bucket(
    d: TemplateDeployer, ctx: _StackContext, lid: str, props: dict[str, Any], old: DeployedResource | None
) -> DeployedResource:
    if old is not None:
        return old
    name = props.get("BucketName") or generated_name(ctx.stack.name.lower(), lid.lower(), 63)
    s3 = d.client("s3")
    if d.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": d.region})
    arn = f"arn:aws:s3:::{name}"
    return DeployedResource(
        ctx.stack.name, lid, "", name, arn, {"Arn": arn, "DomainName": f"{name}.s3.amazonaws.com"}
    )


# -- the deployer -------------------------------------------------------------------------------------


class TemplateDeployer:
    """Deploys cloud assemblies into moto; deploying again creates what is new and updates what changed."""

    def __init__(self, *, region: str, account_id: str, run_dir: Path) -> None:
        self.region = region
        self.account_id = account_id
        self.run_dir = run_dir
        self._clients: dict[str, BaseClient] = {}
        self._deployed: dict[str, dict[str, DeployedResource]] = {}
        self.exports: dict[str, Any] = {}
        self.functions: dict[str, FunctionSpec] = {}
        self._not_runnable: dict[str, NotDeployed] = {}
        self._unresolved: list[str] = []

    def client(self, service: str) -> Any:
        # In-process clients: mock_aws intercepts them, so no HTTP round trip during deploy.
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,  # type: ignore[call-overload]
                region_name=self.region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return self._clients[service]

    def stack_resources(self, stack: str) -> dict[str, DeployedResource]:
        return self._deployed.setdefault(stack, {})

    def unresolved(self, stack: str, logical_id: str, what: str) -> str:
        """A placeholder for something not deployed locally, so one such resource cannot break the rest."""
        self._unresolved.append(f"{stack}/{logical_id}.{what}")
        return f"arn:aws:localaws:{self.region}:{self.account_id}:not-deployed/{stack}/{logical_id}/{what}"

    def note_not_runnable(self, stack: str, logical_id: str, reason: str) -> None:
        self._not_runnable[f"{stack}/{logical_id}"] = NotDeployed(
            stack, logical_id, "AWS::Lambda::Function", f"created, but not runnable locally: {reason}"
        )

    def deploy(self, cdk_out: Path) -> DeployReport:
        report = DeployReport()
        for stack in read_assembly(cdk_out):
            report.stacks.append(stack.name)
            self._deploy_stack(stack, report)
        report.not_deployed.extend(self._not_runnable.values())
        for stack_resources in self._deployed.values():
            for resource in stack_resources.values():
                report.resources[f"{resource.stack}/{resource.logical_id}"] = resource
        report.functions = list(self.functions.values())
        return report

    def _deploy_stack(self, stack: StackArtifact, report: DeployReport) -> None:
        ctx = _StackContext(self, stack)
        resources: dict[str, Any] = stack.template.get("Resources", {})
        deployed = self.stack_resources(stack.name)
        for logical_id in _deployment_order(resources):
            definition = resources[logical_id]
            resource_type = definition["Type"]
            if "Condition" in definition and not ctx.condition(definition["Condition"]):
                report.not_deployed.append(
                    NotDeployed(
                        stack.name, logical_id, resource_type, f"condition {definition['Condition']} is false"
                    )
                )
                continue
            handler = _HANDLERS.get(resource_type)
            if handler is None:
                reason = NO_LOCAL_MEANING.get(resource_type)
                if reason is None:
                    custom = resource_type.startswith("Custom::")
                    reason = (
                        "custom resource providers do not run locally" if custom else "unsupported locally"
                    )
                report.not_deployed.append(NotDeployed(stack.name, logical_id, resource_type, reason))
                continue
            properties = ctx.resolve(definition.get("Properties", {}))
            previous = deployed.get(logical_id)
            if previous is not None and previous.properties == properties:
                continue  # unchanged since the last deploy
            try:
                resource = handler(self, ctx, logical_id, properties, previous)
            except Exception as exc:
                raise TemplateError(f"{stack.name}/{logical_id} ({resource_type}): {exc}") from exc
            resource.type = resource_type
            resource.properties = properties
            deployed[logical_id] = resource
            (report.updated if previous else report.created).append(f"{stack.name}/{logical_id}")
            logger.debug("deployed %s %s → %s", resource_type, logical_id, resource.physical_id)
        outputs: dict[str, Any] = {}
        for name, output in stack.template.get("Outputs", {}).items():
            if "Condition" in output and not ctx.condition(output["Condition"]):
                continue
            outputs[name] = ctx.resolve(output["Value"])
            if "Export" in output:
                self.exports[ctx.resolve(output["Export"]["Name"])] = outputs[name]
        report.outputs[stack.name] = outputs


def _deployment_order(resources: dict[str, Any]) -> list[str]:
    """Resources after everything they Ref, GetAtt or DependsOn; otherwise in template order."""
    dependencies: dict[str, set[str]] = {}
    for logical_id, definition in resources.items():
        depends = definition.get("DependsOn", [])
        needed = set(_references(definition.get("Properties", {})))
        needed.update([depends] if isinstance(depends, str) else depends)
        dependencies[logical_id] = {n for n in needed if n in resources and n != logical_id}
    ordered: list[str] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in done:
            return
        if logical_id in visiting:
            raise TemplateError(f"circular dependency involving {logical_id}")
        visiting.add(logical_id)
        for dependency in sorted(dependencies[logical_id], key=list(resources).index):
            visit(dependency)
        visiting.discard(logical_id)
        done.add(logical_id)
        ordered.append(logical_id)

    for logical_id in resources:
        visit(logical_id)
    return ordered
