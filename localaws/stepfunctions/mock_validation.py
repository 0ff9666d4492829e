"""TestState's check of a mocked result against the API model of the service the Task calls.

``fieldValidationMode`` (the Step Functions API reference, ``MockInput``):

* ``STRICT`` (the default): every required field is present, and every present field conforms;
* ``PRESENT``: every present field conforms;
* ``NONE``: nothing is checked (the result must still be JSON).

The model is botocore's: the output shape of the operation the resource ARN names
(``arn:aws:states:::sqs:sendMessage`` → SQS ``SendMessage``, ``arn:aws:states:::aws-sdk:kinesis:putRecord`` →
Kinesis ``PutRecord``). Step Functions hands results over with field names capitalised (``ExecutionArn`` for
``executionArn``), so the model's names are compared that way, and fields the model does not name are
ignored, as AWS does. The messages are AWS's (``Mock result schema validation error: Field 'StatusCode' must
be a number``). Resources with no API model to check against -- a Lambda function ARN, whose result is the
function's own output, and the ``.waitForTaskToken`` / ``.sync`` patterns, whose result is the callback's
output -- are not checked.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
from botocore.exceptions import UnknownServiceError
from botocore.model import OperationNotFoundError, Shape, StructureShape

STRICT = "STRICT"
PRESENT = "PRESENT"
NONE = "NONE"
MODES = (STRICT, PRESENT, NONE)

_PREFIX = "Mock result schema validation error: "

# Step Functions' service names that botocore spells differently.
_BOTOCORE_SERVICE = {
    "sfn": "stepfunctions",
    "states": "stepfunctions",
    "apigateway": "apigateway",
    "eventbridge": "events",
}
_OPTIMIZED = "arn:aws:states:::"
_SDK = "aws-sdk:"
_PATTERNS = (".waitForTaskToken", ".sync:2", ".sync")


class MockValidationError(ValueError):
    """A mocked result that does not fit the service's API model; the message is the one AWS gives."""


@functools.cache
def _session() -> Any:
    return botocore.session.get_session()


def operation_of(resource_arn: str) -> tuple[str, str] | None:
    """(botocore service, operation) a Task's resource calls, or None when there is no model to check."""
    if not resource_arn.startswith(_OPTIMIZED) or resource_arn.endswith(_PATTERNS):
        return None
    name = resource_arn[len(_OPTIMIZED) :]
    if name.startswith(_SDK):
        name = name[len(_SDK) :]
    service, _, action = name.partition(":")
    if not service or not action:
        return None
    return _BOTOCORE_SERVICE.get(service, service), action[:1].upper() + action[1:]


@functools.cache
def output_shape(resource_arn: str) -> StructureShape | None:
    """The output shape of the operation ``resource_arn`` calls, or None when botocore has no model for it."""
    operation = operation_of(resource_arn)
    if operation is None:
        return None
    service, action = operation
    try:
        model = _session().get_service_model(service)
        shape = model.operation_model(action).output_shape
    except (UnknownServiceError, OperationNotFoundError):
        return None
    return shape if isinstance(shape, StructureShape) else None


def validate(result: Any, shape: StructureShape, mode: str) -> None:
    """Raise ``MockValidationError`` when ``result`` does not fit ``shape`` under ``mode``."""
    if mode == NONE:
        return
    if not isinstance(result, dict):
        raise MockValidationError(f"{_PREFIX}The mocked result must be a JSON object")
    _structure(result, shape, strict=mode == STRICT)


def _sfn_name(member: str) -> str:
    return member[:1].upper() + member[1:]


def _structure(value: dict[str, Any], shape: StructureShape, *, strict: bool) -> None:
    members = {_sfn_name(name): member for name, member in shape.members.items()}
    if strict:
        for required in shape.required_members:
            if _sfn_name(required) not in value:
                raise MockValidationError(f"{_PREFIX}Required field '{_sfn_name(required)}' is missing")
    for key, field_value in value.items():
        member = members.get(key)
        if member is not None:
            _field(key, field_value, member, strict=strict)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _field(name: str, value: Any, shape: Shape, *, strict: bool) -> None:  # noqa: PLR0912 - one branch per type
    kind = shape.type_name
    if value is None:
        return
    if kind == "structure":
        if not isinstance(value, dict):
            raise MockValidationError(f"{_PREFIX}Field '{name}' must be an object")
        assert isinstance(shape, StructureShape)
        _structure(value, shape, strict=strict)
    elif kind == "list":
        if not isinstance(value, list):
            raise MockValidationError(f"{_PREFIX}Field '{name}' must be an array")
        for item in value:
            _field(name, item, shape.member, strict=strict)  # type: ignore[attr-defined]
    elif kind == "map":
        if not isinstance(value, dict):
            raise MockValidationError(f"{_PREFIX}Field '{name}' must be an object")
        for item in value.values():
            _field(name, item, shape.value, strict=strict)  # type: ignore[attr-defined]
    elif kind in ("string", "blob", "timestamp"):
        if not isinstance(value, str):
            raise MockValidationError(f"{_PREFIX}Field '{name}' must be a string")
        enum = getattr(shape, "enum", None)  # only a StringShape has one
        if kind == "string" and enum and value not in enum:
            raise MockValidationError(f"{_PREFIX}Field '{name}' is not an expected value")
        _length(name, value, shape)
    elif kind in ("integer", "long", "float", "double"):
        if not _is_number(value):
            raise MockValidationError(f"{_PREFIX}Field '{name}' must be a number")
        _range(name, value, shape)
    elif kind == "boolean" and not isinstance(value, bool):
        raise MockValidationError(f"{_PREFIX}Field '{name}' must be a boolean")


def _length(name: str, value: str, shape: Shape) -> None:
    minimum = shape.metadata.get("min")
    maximum = shape.metadata.get("max")
    if minimum is not None and len(value) < minimum:
        raise MockValidationError(f"{_PREFIX}Field '{name}' is smaller than the minimum length")
    if maximum is not None and len(value) > maximum:
        raise MockValidationError(f"{_PREFIX}Field '{name}' exceeds the maximum length")


def _range(name: str, value: float, shape: Shape) -> None:
    minimum = shape.metadata.get("min")
    maximum = shape.metadata.get("max")
    if minimum is not None and value < minimum:
        raise MockValidationError(f"{_PREFIX}Field '{name}' is less than the minimum value")
    if maximum is not None and value > maximum:
        raise MockValidationError(f"{_PREFIX}Field '{name}' exceeds the maximum value")
