"""What every resource handler gets (a ``ResourceRequest``) and gives back (a ``DeployedResource``).

A handler creates the resource when ``request.previous`` is None, else updates it in place; it returns
``request.created(...)`` or ``request.kept()``, never a record with fields left for someone else to fill.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localaws.deploy.assembly import StackArtifact
from localaws.deploy.model import DeployedResource, Deployment


@dataclass(frozen=True)
class ResourceRequest:
    """One resource of a template to deploy, its properties already resolved."""

    deployer: Deployment
    stack: StackArtifact
    resource_type: str
    logical_id: str
    properties: dict[str, Any]
    previous: DeployedResource | None  # what the last deploy made of it; None: create it

    @property
    def region(self) -> str:
        return self.deployer.region

    @property
    def account_id(self) -> str:
        return self.deployer.account_id

    def client(self, service: str) -> Any:
        return self.deployer.client(service)

    def generated_name(self, max_length: int, suffix: str = "") -> str:
        """The name CloudFormation would give this resource when the template names none."""
        return generated_name(self.stack.name, self.logical_id, max_length, suffix)

    def created(
        self, physical_id: str, *, arn: str | None = None, attributes: dict[str, Any] | None = None
    ) -> DeployedResource:
        """The record of a newly created resource: its Ref value, ARN and Fn::GetAtt attributes."""
        return DeployedResource(
            stack=self.stack.name,
            logical_id=self.logical_id,
            type=self.resource_type,
            physical_id=physical_id,
            arn=arn,
            attributes=attributes or {},
            properties=self.properties,
        )

    def kept(self) -> DeployedResource:
        """The previous record (same physical resource, same Ref), now recording these properties.

        Updated in place, as before the split: a report that holds the record sees the current properties.
        Call it last, once the update succeeded, so that a failed update is retried on the next deploy.
        """
        if self.previous is None:
            raise ValueError(f"{self.logical_id}: nothing to keep, it was never deployed")
        self.previous.type = self.resource_type
        self.previous.properties = self.properties
        return self.previous


Handler = Callable[[ResourceRequest], DeployedResource]


def random_suffix(length: int = 12) -> str:
    return "".join(random.choices(string.ascii_uppercase + string.digits, k=length))


def generated_name(stack: str, logical_id: str, max_length: int, suffix: str = "") -> str:
    """A CloudFormation-style physical name: ``<stack>-<logicalId>-<RANDOM>[suffix]``, within the limit."""
    tail = f"-{random_suffix()}{suffix}"
    base = f"{stack}-{logical_id}"[: max(1, max_length - len(tail))]
    return base + tail


def json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def tags(props: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": t["Key"], "Value": str(t["Value"])} for t in props.get("Tags", [])]


def drop_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}
