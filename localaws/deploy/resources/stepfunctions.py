"""AWS Step Functions: state machines."""

from __future__ import annotations

import json
from typing import Any

from localaws.deploy.model import DeployedResource, TemplateError
from localaws.deploy.resources.base import ResourceRequest, tags


def _lower_keys(value: Any) -> Any:
    """CloudFormation spells nested keys in PascalCase where some APIs want camelCase."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def definition(props: dict[str, Any]) -> str:
    """The state machine's definition as ASL text, its ``DefinitionSubstitutions`` applied."""
    if "DefinitionString" in props:
        text = str(props["DefinitionString"])
    elif "Definition" in props:
        text = json.dumps(props["Definition"])
    else:
        raise TemplateError("state machine without a definition (DefinitionS3Location is not supported)")
    for key, value in props.get("DefinitionSubstitutions", {}).items():
        text = text.replace("${" + key + "}", str(value))
    return text


def state_machine(request: ResourceRequest) -> DeployedResource:
    """AWS::StepFunctions::StateMachine; a redeploy updates its definition, role and settings in place."""
    props = request.properties
    sfn = request.client("stepfunctions")
    text = definition(props)
    extra: dict[str, Any] = {}
    if "LoggingConfiguration" in props:
        extra["loggingConfiguration"] = _lower_keys(props["LoggingConfiguration"])
    if "TracingConfiguration" in props:
        extra["tracingConfiguration"] = _lower_keys(props["TracingConfiguration"])
    if request.previous is not None:
        sfn.update_state_machine(
            stateMachineArn=request.previous.physical_id, definition=text, roleArn=props["RoleArn"], **extra
        )
        return request.kept()
    name = props.get("StateMachineName") or request.generated_name(80)
    machine_tags = [{"key": t["Key"], "value": t["Value"]} for t in tags(props)]
    arn = sfn.create_state_machine(
        name=name,
        definition=text,
        roleArn=props["RoleArn"],
        type=props.get("StateMachineType", "STANDARD"),
        **({"tags": machine_tags} if machine_tags else {}),
        **extra,
    )["stateMachineArn"]
    return request.created(arn, arn=arn, attributes={"Arn": arn, "Name": name})
