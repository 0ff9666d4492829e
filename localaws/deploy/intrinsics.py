"""CloudFormation's intrinsic functions (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::If ...) for one stack.

Each function resolves against what the deployer has deployed so far; a reference to something not
deployed locally becomes a placeholder ARN (``Deployment.unresolved``), so it cannot break the rest.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from localaws.deploy.assembly import StackArtifact
from localaws.deploy.model import DeployedResource, Deployment, TemplateError

NO_VALUE = object()  # AWS::NoValue: the property is removed


def references(value: Any) -> Iterator[str]:
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
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


class StackContext:
    """Resolves intrinsics of one stack against what is deployed so far."""

    def __init__(self, deployer: Deployment, stack: StackArtifact) -> None:
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

    def sub(self, text: str, variables: dict[str, Any]) -> str:
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
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}


# -- the functions: each gets the stack context and the function's unresolved argument -------------------


def _get_att(ctx: StackContext, arg: Any) -> Any:
    logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
    return ctx.get_att(logical_id, ctx.resolve(attribute))


def _join(ctx: StackContext, arg: Any) -> str:
    separator, items = arg
    return str(separator.join(str(v) for v in ctx.resolve(items)))


def _sub(ctx: StackContext, arg: Any) -> str:
    if isinstance(arg, list):
        text, variables = arg
        return ctx.sub(text, {k: ctx.resolve(v) for k, v in variables.items()})
    return ctx.sub(arg, {})


def _select(ctx: StackContext, arg: Any) -> Any:
    index, items = arg
    return ctx.resolve(items)[int(ctx.resolve(index))]


def _split(ctx: StackContext, arg: Any) -> list[str]:
    separator, text = arg
    return str(ctx.resolve(text)).split(separator)


def _if(ctx: StackContext, arg: Any) -> Any:
    name, when_true, when_false = arg
    return ctx.resolve(when_true if ctx.condition(name) else when_false)


def _equals(ctx: StackContext, arg: Any) -> bool:
    left, right = (ctx.resolve(v) for v in arg)
    return str(left) == str(right)


def _contains(ctx: StackContext, arg: Any) -> bool:
    items, item = (ctx.resolve(v) for v in arg)
    return item in items


def _find_in_map(ctx: StackContext, arg: Any) -> Any:
    mapping, top, second = (ctx.resolve(v) for v in arg[:3])
    return ctx.mappings[mapping][top][second]


def _import_value(ctx: StackContext, arg: Any) -> Any:
    return ctx.deployer.exports.get(ctx.resolve(arg)) or ctx.deployer.unresolved(
        ctx.stack.name, str(arg), "ImportValue"
    )


_FUNCTIONS: dict[str, Callable[[StackContext, Any], Any]] = {
    "Ref": lambda ctx, arg: ctx.ref(arg),
    "Fn::GetAtt": _get_att,
    "Fn::Join": _join,
    "Fn::Sub": _sub,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::GetAZs": lambda ctx, _: [f"{ctx.deployer.region}{zone}" for zone in "abc"],
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::And": lambda ctx, arg: all(ctx.resolve(v) for v in arg),
    "Fn::Or": lambda ctx, arg: any(ctx.resolve(v) for v in arg),
    "Fn::Not": lambda ctx, arg: not ctx.resolve(arg[0]),
    "Condition": lambda ctx, arg: ctx.condition(arg),
    "Fn::Contains": _contains,
    "Fn::FindInMap": _find_in_map,
    "Fn::ImportValue": _import_value,
    "Fn::Base64": lambda ctx, arg: base64.b64encode(str(ctx.resolve(arg)).encode()).decode(),
    "Fn::ToJsonString": lambda ctx, arg: json.dumps(ctx.resolve(arg)),
}
