"""Where the workflow suite runs, chosen by the environment.

* default: the embedded engine of ``localaws`` (the whole stack deployed from ``cdk.out``);
* ``AWS_ENDPOINT_URL_SFN`` or ``SFN_ENDPOINT``: a Step Functions Local container. The order workflow is
  created there from the synthesized template, its ARNs resolved by the local deployer's intrinsics;
* ``ORDERFLOW_E2E=1`` with AWS credentials: the integration scenarios run against the deployed stack.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localaws.deploy.assembly import read_assembly
from localaws.deploy.deployer import TemplateDeployer
from localaws.deploy.intrinsics import StackContext
from localaws.deploy.model import DeployedResource
from localaws.deploy.resources import stepfunctions as state_machines
from localaws.endpoint.defaults import local_client

SFN_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_SFN", "SFN_ENDPOINT")
STEP_FUNCTIONS_LOCAL_ACCOUNT = "123456789012"  # Step Functions Local's default account


def external_sfn_endpoint() -> str | None:
    for variable in SFN_ENDPOINT_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable]
    return None


def e2e_requested() -> bool:
    return os.environ.get("ORDERFLOW_E2E") == "1"


@dataclass(frozen=True)
class MockedWorkflow:
    """A state machine that runs MockConfigFile test cases (``<arn>#<TestCase>``)."""

    engine: str
    sfn: Any
    state_machine_arn: str

    def start(self, test_case: str, execution_input: dict[str, Any], run_id: str) -> str:
        response = self.sfn.start_execution(
            stateMachineArn=f"{self.state_machine_arn}#{test_case}",
            name=f"{test_case}-{run_id}",
            input=json.dumps(execution_input),
        )
        return str(response["executionArn"])


# -- the definition from the synthesized template ---------------------------------------------------------


def _named(
    region: str, account: str, *, stack: str, logical_id: str, kind: str, name: str
) -> DeployedResource:
    """What a deployed resource's Ref and GetAtt give, from its name alone (nothing is created)."""

    def arn(service: str, resource: str, *, regional: bool = True) -> str:
        return f"arn:aws:{service}:{region if regional else ''}:{account}:{resource}"

    ref, attributes = name, {}
    if kind == "AWS::SQS::Queue":
        ref = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
        attributes = {"Arn": arn("sqs", name), "QueueName": name, "QueueUrl": ref}
    elif kind == "AWS::SNS::Topic":
        ref = arn("sns", name)
        attributes = {"TopicArn": ref, "TopicName": name}
    elif kind == "AWS::DynamoDB::Table":
        attributes = {"Arn": arn("dynamodb", f"table/{name}")}
    elif kind == "AWS::Lambda::Function":
        attributes = {"Arn": arn("lambda", f"function:{name}")}
    elif kind == "AWS::Kinesis::Stream":
        attributes = {"Arn": arn("kinesis", f"stream/{name}")}
    elif kind == "AWS::Events::EventBus":
        attributes = {"Arn": arn("events", f"event-bus/{name}"), "Name": name}
    elif kind == "AWS::IAM::Role":
        attributes = {"Arn": arn("iam", f"role/{name}", regional=False), "RoleId": name}
    return DeployedResource(stack, logical_id, kind, ref, attributes.get("Arn"), attributes)


_NAME_PROPERTIES = ("QueueName", "TopicName", "TableName", "FunctionName", "Name", "RoleName")


def order_workflow_from_assembly(cdk_out: Path, *, region: str, account: str) -> tuple[str, str, str]:
    """(name, definition, role ARN) of the template's state machine, every reference resolved to an ARN."""
    deployer = TemplateDeployer(region=region, account_id=account, run_dir=Path(tempfile.gettempdir()))
    for stack in read_assembly(cdk_out):
        resources: dict[str, Any] = stack.template.get("Resources", {})
        machines = [lid for lid, r in resources.items() if r["Type"] == "AWS::StepFunctions::StateMachine"]
        if not machines:
            continue
        context = StackContext(deployer, stack)
        named = deployer.stack_resources(stack.name)
        for logical_id, resource in resources.items():
            properties = resource.get("Properties", {})
            name = next((properties[p] for p in _NAME_PROPERTIES if isinstance(properties.get(p), str)), None)
            named[logical_id] = _named(
                region,
                account,
                stack=stack.name,
                logical_id=logical_id,
                kind=resource["Type"],
                name=name or logical_id,
            )
        properties = context.resolve(resources[machines[0]]["Properties"])
        return (
            str(properties["StateMachineName"]),
            state_machines.definition(properties),
            str(properties["RoleArn"]),
        )
    raise LookupError(f"no state machine in the cloud assembly {cdk_out}")


def workflow_on_step_functions_local(endpoint: str, cdk_out: Path) -> MockedWorkflow:
    """Create (or update) the order workflow on a Step Functions Local endpoint."""
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    account = os.environ.get("AWS_ACCOUNT_ID", STEP_FUNCTIONS_LOCAL_ACCOUNT)
    sfn = local_client("stepfunctions", endpoint_url=endpoint, region=region)
    name, definition, role_arn = order_workflow_from_assembly(cdk_out, region=region, account=account)
    existing = [
        machine["stateMachineArn"]
        for page in sfn.get_paginator("list_state_machines").paginate()
        for machine in page["stateMachines"]
        if machine["name"] == name
    ]
    if existing:
        sfn.update_state_machine(stateMachineArn=existing[0], definition=definition, roleArn=role_arn)
        arn = existing[0]
    else:
        arn = sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn)["stateMachineArn"]
    return MockedWorkflow(engine=f"Step Functions Local at {endpoint}", sfn=sfn, state_machine_arn=arn)
