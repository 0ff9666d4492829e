"""Where the workflow suite runs, chosen by the environment.

* default: the embedded engine of ``localaws`` (the whole stack deployed from ``cdk.out``);
* ``AWS_ENDPOINT_URL_SFN`` or ``SFN_ENDPOINT``: another engine, Step Functions Local or LocalStack
  (``ORDERFLOW_SFN_ENGINE=localstack``, as ``make test-sfn-localstack`` sets it). The order workflow is
  created there from the synthesized template, its ARNs resolved by the local deployer's intrinsics;
* ``ORDERFLOW_E2E=1`` with AWS credentials: the integration scenarios run against the deployed stack, and
  nothing local starts: ``LocalAws`` runs moto's ``mock_aws`` in this process, which would hand every boto3
  client fake credentials and answer in AWS's place.

The choice is made once, before anything mocks boto3 (``choose_backends``), and the clients of the deployed
stack refuse to work while moto is active (``aws_client``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config

from localaws.deploy.assembly import read_assembly
from localaws.deploy.deployer import TemplateDeployer
from localaws.deploy.intrinsics import StackContext
from localaws.deploy.model import DeployedResource
from localaws.deploy.resources import stepfunctions as state_machines
from localaws.endpoint.defaults import local_client

SFN_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_SFN", "SFN_ENDPOINT")
STEP_FUNCTIONS_LOCAL_ACCOUNT = "123456789012"  # Step Functions Local's default account
# Which engine answers at that endpoint: its known deviations from AWS are in tests/workflows/deviations.py.
SFN_ENGINE_VARIABLE = "ORDERFLOW_SFN_ENGINE"
STEP_FUNCTIONS_LOCAL = "stepfunctions-local"


E2E_VARIABLE = "ORDERFLOW_E2E"
# AWS's public endpoints; anything else (AWS_ENDPOINT_URL, a local emulator) is not the deployed stack.
AWS_ENDPOINT_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")


class MotoInTheWayError(RuntimeError):
    """The run targets AWS, but moto (or another endpoint) would answer in its place."""


def external_sfn_endpoint(environ: Mapping[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    for variable in SFN_ENDPOINT_VARIABLES:
        if environ.get(variable):
            return environ[variable]
    return None


def external_engine(environ: Mapping[str, str] | None = None) -> str:
    """The engine behind the external endpoint: ``localstack`` or (by default) Step Functions Local."""
    return (os.environ if environ is None else environ).get(SFN_ENGINE_VARIABLE) or STEP_FUNCTIONS_LOCAL


def e2e_requested(environ: Mapping[str, str] | None = None) -> bool:
    return (os.environ if environ is None else environ).get(E2E_VARIABLE) == "1"


def moto_is_active() -> bool:
    """Whether moto's ``mock_aws`` intercepts boto3 in this process (it also sets fake credentials).

    A process that never imported moto cannot have it active: moto is not imported to ask (0.14 s of CPU
    in each backend-selection child that never uses it)."""
    models = sys.modules.get("moto.core.models")
    return models is not None and bool(models.botocore_stubber.enabled)


def aws_credentials_found() -> bool:
    """boto3's own credential chain: environment, ``~/.aws``, SSO, container or instance role."""
    if moto_is_active():
        raise MotoInTheWayError(
            "moto's mock_aws is active in this process: the credentials boto3 finds are moto's fake ones, "
            "so whether AWS credentials exist cannot be told"
        )
    return boto3.Session().get_credentials() is not None


@dataclass(frozen=True)
class Backends:
    """Where this session's workflow suite runs; each target not chosen says why."""

    sfn_endpoint: str | None  # Step Functions Local, for the MockConfigFile scenarios
    aws: bool  # the integration scenarios against the deployed stack
    aws_skip: str
    embedded: bool  # LocalAws: the embedded engine, its integration scenarios and the documented example
    embedded_skip: str


def choose_backends(
    environ: Mapping[str, str] | None = None, *, credentials: Callable[[], bool] = aws_credentials_found
) -> Backends:
    """Decide the targets from the environment. Call it before anything starts moto (``LocalAws.start``)."""
    endpoint = external_sfn_endpoint(environ)
    aws, aws_skip = False, ""
    if not e2e_requested(environ):
        aws_skip = f"against the deployed stack only with {E2E_VARIABLE}=1 and AWS credentials"
    elif not credentials():
        aws_skip = (
            f"{E2E_VARIABLE}=1 but no AWS credentials were found "
            "(environment, ~/.aws, SSO, container or instance role)"
        )
    else:
        aws = True
    embedded_skip = ""
    if endpoint:
        embedded_skip = (
            f"the Step Functions endpoint is {endpoint} (AWS_ENDPOINT_URL_SFN / SFN_ENDPOINT): "
            "tests of the embedded engine and its integration scenarios run without it"
        )
    elif aws:
        embedded_skip = (
            f"{E2E_VARIABLE}=1 with AWS credentials: this session talks to AWS, so the embedded AWS does not "
            "start (its moto would answer boto3 in AWS's place); run without it for the embedded tests"
        )
    return Backends(
        sfn_endpoint=endpoint,
        aws=aws,
        aws_skip=aws_skip,
        embedded=not embedded_skip,
        embedded_skip=embedded_skip,
    )


def _refuse_moto(**_: Any) -> None:
    if moto_is_active():
        raise MotoInTheWayError("a call meant for AWS while moto's mock_aws is active in this process")


def aws_client(service: str) -> Any:
    """A client of the deployed stack: AWS's own endpoint, and never one that moto answers."""
    if moto_is_active():
        raise MotoInTheWayError(f"a {service} client meant for AWS while moto's mock_aws is active")
    # Endpoints configured for the local runs (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SFN) are not AWS.
    config = Config(ignore_configured_endpoint_urls=True)  # type: ignore[call-arg]  # missing from the stubs
    client = boto3.client(service, config=config)  # type: ignore[call-overload]
    host = urlparse(client.meta.endpoint_url).hostname or ""
    if not host.endswith(AWS_ENDPOINT_SUFFIXES):
        raise MotoInTheWayError(f"the {service} client for AWS points at {client.meta.endpoint_url}")
    # Checked again on every call: a mock started later must not answer either.
    client.meta.events.register("before-call", _refuse_moto)
    return client


@dataclass(frozen=True)
class MockedWorkflow:
    """A state machine that runs MockConfigFile test cases (``<arn>#<TestCase>``)."""

    engine: str
    sfn: Any
    state_machine_arn: str
    kind: str = "embedded"  # "embedded", "stepfunctions-local" or "localstack"

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
    """Create (or update) the order workflow on an external engine (Step Functions Local, LocalStack)."""
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
    kind = external_engine()
    return MockedWorkflow(engine=f"{kind} at {endpoint}", sfn=sfn, state_machine_arn=arn, kind=kind)
