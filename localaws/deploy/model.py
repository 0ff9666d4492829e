"""What a deploy records, and what intrinsics and resource handlers see of the deployer.

Shared by ``deployer``, ``intrinsics`` and ``resources`` so that none of them imports another's internals:
the deployer imports the handlers, and the handlers only know the ``Deployment`` protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from localaws.lambda_.runtime import FunctionSpec


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


class Deployment(Protocol):
    """The deployer as intrinsics and resource handlers use it; ``TemplateDeployer`` is the one there is."""

    region: str
    account_id: str
    run_dir: Path
    exports: dict[str, Any]  # export name → value, across stacks (Fn::ImportValue)
    functions: dict[str, FunctionSpec]  # function name → how the local Lambda runtime runs it

    def client(self, service: str) -> Any: ...

    def stack_resources(self, stack: str) -> dict[str, DeployedResource]: ...

    def unresolved(self, stack: str, logical_id: str, what: str) -> str: ...

    def note_not_runnable(self, stack: str, logical_id: str, reason: str) -> None: ...
