"""AWS Lambda: functions, event source mappings and permissions.

moto holds each function's configuration; the code runs from its asset directory in ``cdk.out``, through
the local Lambda runtime, which is told about it with a ``FunctionSpec``.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from localaws.deploy.model import DeployedResource, TemplateError
from localaws.deploy.resources.base import ResourceRequest, drop_none, json_text, tags
from localaws.lambda_.runtime import FunctionSpec

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


def _placeholder_zip() -> bytes:
    # moto needs some code; ours runs from the asset directory.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "code runs from the cdk.out asset directory (localaws)")
    return buffer.getvalue()


def _function_spec(request: ResourceRequest, name: str, arn: str) -> FunctionSpec | None:
    """How the local runtime runs the function; None when it cannot (not Python, or no code it can find)."""
    props = request.properties
    code = props.get("Code", {})
    runtime = str(props.get("Runtime", ""))
    if not runtime.startswith("python"):
        return None
    if "S3Key" in code:
        asset_hash = str(code["S3Key"]).split("/")[-1].removesuffix(".zip")
        code_dir = request.stack.asset_dirs.get(asset_hash)
        if code_dir is None:
            raise TemplateError(f"{name}: code asset {asset_hash} is not in the cloud assembly")
    elif "ZipFile" in code:
        code_dir = request.deployer.run_dir / "inline-code" / name
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


def function(request: ResourceRequest) -> DeployedResource:
    """AWS::Lambda::Function: configured in moto, and registered with the local runtime when it can run."""
    props = request.properties
    awslambda = request.client("lambda")
    environment = {
        "Variables": {k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()}
    }
    configuration = drop_none(
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
    created: DeployedResource | None = None
    if request.previous is not None:
        awslambda.update_function_configuration(FunctionName=request.previous.physical_id, **configuration)
        name, arn = request.previous.physical_id, str(request.previous.arn)
    else:
        name = props.get("FunctionName") or request.generated_name(64)
        arn = awslambda.create_function(
            FunctionName=name,
            Code={"ZipFile": _placeholder_zip()},
            Tags={t["Key"]: t["Value"] for t in tags(props)},
            **configuration,
        )["FunctionArn"]
        created = request.created(name, arn=arn, attributes={"Arn": arn})
    spec = _function_spec(request, name, arn)
    if spec is None:
        request.deployer.note_not_runnable(
            request.stack.name,
            request.logical_id,
            f"runtime {props.get('Runtime')} / code {list(props.get('Code', {}))}",
        )
    else:
        request.deployer.functions[spec.name] = spec
    return created or request.kept()


def event_source_mapping(request: ResourceRequest) -> DeployedResource:
    """AWS::Lambda::EventSourceMapping; its settings are updated in place on redeploy."""
    props = request.properties
    awslambda = request.client("lambda")
    settings = {k: props[k] for k in _MAPPING_SETTINGS if k in props}
    if "FilterCriteria" in settings:
        settings["FilterCriteria"] = {
            "Filters": [
                {"Pattern": json_text(f["Pattern"])} for f in settings["FilterCriteria"].get("Filters", [])
            ]
        }
    if request.previous is not None:
        awslambda.update_event_source_mapping(
            UUID=request.previous.physical_id, FunctionName=props["FunctionName"], **settings
        )
        return request.kept()
    extra = {k: props[k] for k in ("StartingPosition", "StartingPositionTimestamp") if k in props}
    created: dict[str, Any] = awslambda.create_event_source_mapping(
        EventSourceArn=props["EventSourceArn"], FunctionName=props["FunctionName"], **settings, **extra
    )
    uuid = created["UUID"]
    arn = (
        created.get("EventSourceMappingArn")
        or f"arn:aws:lambda:{request.region}:{request.account_id}:event-source-mapping:{uuid}"
    )
    return request.created(uuid, arn=arn, attributes={"Id": uuid, "EventSourceMappingArn": arn})


def permission(request: ResourceRequest) -> DeployedResource:
    """AWS::Lambda::Permission (its statement id is the logical id); a redeploy leaves it as it is."""
    if request.previous is not None:
        return request.kept()
    props = request.properties
    kwargs = drop_none(
        {
            "FunctionName": props["FunctionName"],
            "StatementId": request.logical_id,
            "Action": props["Action"],
            "Principal": props["Principal"],
            "SourceArn": props.get("SourceArn"),
            "SourceAccount": props.get("SourceAccount"),
        }
    )
    request.client("lambda").add_permission(**kwargs)
    return request.created(request.logical_id)
