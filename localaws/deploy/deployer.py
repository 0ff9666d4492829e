"""Deploys a synthesized CDK cloud assembly (``cdk.out/``) into the in-process moto backends.

moto's own CloudFormation cannot deploy our CDK template (FIFO queues without a name lose their ``.fifo``
suffix; a Rule on a custom bus crashes), so this small deployer resolves the intrinsics itself
(``intrinsics``) and creates each resource through the ordinary boto3 APIs (``resources``), which the
active ``mock_aws`` intercepts in-process.

Nothing here knows orderflow's resources: everything comes from the template. A resource type with no local
meaning is listed by name in the ``DeployReport``, never skipped silently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from localaws.deploy.assembly import AssemblyNotFoundError, StackArtifact, read_assembly, template_fingerprint
from localaws.deploy.intrinsics import StackContext, references
from localaws.deploy.model import DeployedResource, NotDeployed, TemplateError
from localaws.deploy.resources import HANDLERS, ResourceRequest, not_deployed_reason
from localaws.endpoint.defaults import TEST_CREDENTIALS
from localaws.lambda_.runtime import FunctionSpec

if TYPE_CHECKING:
    from botocore.client import BaseClient

# Re-exported: importers have long found these here.
__all__ = [
    "AssemblyNotFoundError",
    "DeployReport",
    "DeployedResource",
    "NotDeployed",
    "StackArtifact",
    "TemplateDeployer",
    "TemplateError",
    "read_assembly",
    "template_fingerprint",
]

logger = logging.getLogger(__name__)


# A custom resource's type is Custom::<anything> or this one.
CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"


@dataclass
class DeployReport:
    stacks: list[str] = field(default_factory=list)
    resources: dict[str, DeployedResource] = field(default_factory=dict)  # key: "<stack>/<logicalId>"
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # stack → output name → value
    not_deployed: list[NotDeployed] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    functions: list[FunctionSpec] = field(default_factory=list)
    # The ServiceTokens of the custom resources (their providers' ARNs). Only CloudFormation calls a
    # provider, and locally the deployer does a known custom resource's work itself: LocalAws starts no
    # worker for them before someone invokes one.
    custom_resource_providers: set[str] = field(default_factory=set)

    def resource(self, logical_id: str, stack: str | None = None) -> DeployedResource:
        for key, resource in self.resources.items():
            if resource.logical_id == logical_id and (stack is None or key.startswith(f"{stack}/")):
                return resource
        raise KeyError(logical_id)

    def of_type(self, resource_type: str) -> list[DeployedResource]:
        return [r for r in self.resources.values() if r.type == resource_type]


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
                **TEST_CREDENTIALS,
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
        ctx = StackContext(self, stack)
        resources: dict[str, Any] = stack.template.get("Resources", {})
        for logical_id in _deployment_order(resources):
            self._deploy_resource(ctx, logical_id, resources[logical_id], report)
        outputs: dict[str, Any] = {}
        for name, output in stack.template.get("Outputs", {}).items():
            if "Condition" in output and not ctx.condition(output["Condition"]):
                continue
            outputs[name] = ctx.resolve(output["Value"])
            if "Export" in output:
                self.exports[ctx.resolve(output["Export"]["Name"])] = outputs[name]
        report.outputs[stack.name] = outputs

    def _deploy_resource(
        self, ctx: StackContext, logical_id: str, definition: dict[str, Any], report: DeployReport
    ) -> None:
        stack = ctx.stack
        resource_type = definition["Type"]
        if "Condition" in definition and not ctx.condition(definition["Condition"]):
            reason = f"condition {definition['Condition']} is false"
            report.not_deployed.append(NotDeployed(stack.name, logical_id, resource_type, reason))
            return
        if resource_type.startswith("Custom::") or resource_type == CUSTOM_RESOURCE:
            token = definition.get("Properties", {}).get("ServiceToken")
            if token is not None:
                report.custom_resource_providers.add(str(ctx.resolve(token)))
        handler = HANDLERS.get(resource_type)
        if handler is None:
            reason = not_deployed_reason(resource_type)
            report.not_deployed.append(NotDeployed(stack.name, logical_id, resource_type, reason))
            return
        properties = ctx.resolve(definition.get("Properties", {}))
        deployed = self.stack_resources(stack.name)
        previous = deployed.get(logical_id)
        if previous is not None and previous.properties == properties:
            return  # unchanged since the last deploy
        request = ResourceRequest(self, stack, resource_type, logical_id, properties, previous)
        try:
            resource = handler(request)
        except Exception as exc:
            raise TemplateError(f"{stack.name}/{logical_id} ({resource_type}): {exc}") from exc
        deployed[logical_id] = resource
        (report.updated if previous else report.created).append(f"{stack.name}/{logical_id}")
        logger.debug("deployed %s %s → %s", resource_type, logical_id, resource.physical_id)


def _deployment_order(resources: dict[str, Any]) -> list[str]:
    """Resources after everything they Ref, GetAtt or DependsOn; otherwise in template order."""
    dependencies: dict[str, set[str]] = {}
    for logical_id, definition in resources.items():
        depends = definition.get("DependsOn", [])
        needed = set(references(definition.get("Properties", {})))
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
