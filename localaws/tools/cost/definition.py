"""The deployed stack as the cost model reads it: the state machine definition and the resources it calls.

Both come from the synthesized cloud assembly (``cdk.out``), never from a second hand-written list. A token
in the definition (``Ref``, ``Fn::GetAtt``) is kept as ``${LogicalId}`` or ``${LogicalId.Attribute}`` so that
a state's resource can be traced back to the template resource it calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localaws.deploy.assembly import read_assembly

if TYPE_CHECKING:
    from pathlib import Path

STATE_MACHINE = "AWS::StepFunctions::StateMachine"


class StackShapeError(ValueError):
    """The assembly does not hold what the cost model reads (one state machine, with a definition)."""


@dataclass(frozen=True)
class DeployedStack:
    definition: dict[str, Any]  # the state machine's ASL
    resources: dict[str, dict[str, Any]]  # logical id → template resource, across the assembly's stacks

    def resource(self, token: str) -> tuple[str, dict[str, Any]] | None:
        """The template resource a ``${LogicalId...}`` token in the definition names, if any."""
        if not (token.startswith("${") and token.endswith("}")):
            return None
        logical_id = token[2:-1].split(".", 1)[0]
        found = self.resources.get(logical_id)
        return (logical_id, found) if found is not None else None

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r.get("Type") == kind}


def _token(part: dict[str, Any]) -> str:
    if "Ref" in part:
        return "${" + str(part["Ref"]) + "}"
    if "Fn::GetAtt" in part:
        target = part["Fn::GetAtt"]
        return "${" + (".".join(target) if isinstance(target, list) else str(target)) + "}"
    return "${?}"


def _definition_text(props: dict[str, Any]) -> str:
    if "Definition" in props:
        return json.dumps(props["Definition"])
    text = props.get("DefinitionString")
    if isinstance(text, str):
        return text
    if isinstance(text, dict) and "Fn::Join" in text:
        separator, parts = text["Fn::Join"]
        return str(separator).join(p if isinstance(p, str) else _token(p) for p in parts)
    raise StackShapeError("the state machine has no Definition or DefinitionString the cost model can read")


def load_stack(cdk_out: Path) -> DeployedStack:
    """The one order state machine of the assembly, with every resource of its stacks."""
    resources: dict[str, dict[str, Any]] = {}
    for stack in read_assembly(cdk_out):
        resources.update(stack.template.get("Resources", {}))
    machines = [r for r in resources.values() if r.get("Type") == STATE_MACHINE]
    if len(machines) != 1:
        raise StackShapeError(f"expected one {STATE_MACHINE} in {cdk_out}, found {len(machines)}")
    definition = json.loads(_definition_text(machines[0].get("Properties", {})))
    return DeployedStack(definition=definition, resources=resources)
