"""EventBridge rule → Step Functions, Lambda and SNS targets, delivered like EventBridge delivers them.

moto's ``PutEvents`` matches rules and delivers to SQS, logs and buses itself, but raises
``NotImplementedError`` for ``states``, ``lambda`` and ``sns`` targets. We take those targets out of moto's
hands at ``Rule.send_to_targets``: the matched event is queued (``PutEvents`` returns at once, as on AWS) and
delivery threads start the execution with the target's input (``Input``, ``InputPath`` or
``InputTransformer``), retry with exponential backoff within the target's ``RetryPolicy`` and, when that is
exhausted or the error is not retryable, send the event to the target's ``DeadLetterConfig`` queue with the
attributes EventBridge sets.

Templates are rendered here, not by moto's ``EventTemplateParser``: EventBridge quotes a string value put in
a bare ``<placeholder>``, moto pastes it raw (invalid JSON).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jsonpath_ng.ext import parse
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends
from moto.stepfunctions.responses import get_backend

from localaws.delivery.retry_queue import RetryingDelivery
from localaws.patches import limits, registry

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

_SEND_TO_TARGETS = "moto.events.models.Rule.send_to_targets"
registry.register(
    "moto.events.models.Rule",
    "attributes targets, state, event_pattern (matches_event), arn, name, account_id, region_name",
)
registry.register(
    "moto.stepfunctions.responses.get_backend",
    "StartExecution in-process on the backend moto's API uses (the executing parser backend)",
)
registry.register("moto.sqs.models.sqs_backends", "send failed events to the target's DLQ in-process")
registry.register(
    "moto.sns.models.sns_backends", "publish to an SNS target in-process (moto has no SNS target)"
)

# EventBridge's defaults when a target has no RetryPolicy.
DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 185
DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 86_400
FIRST_RETRY_DELAY_SECONDS = 1.0
MAX_RETRY_DELAY_SECONDS = 60.0

# Errors EventBridge does not retry: the target is gone or the request can never succeed.
_NOT_RETRYABLE = {
    "StateMachineDoesNotExist": "RESOURCE_NOT_FOUND",
    "ResourceNotFound": "RESOURCE_NOT_FOUND",
    "ResourceNotFoundException": "RESOURCE_NOT_FOUND",
    "UnknownFunctionError": "RESOURCE_NOT_FOUND",
    "StateMachineDeleting": "RESOURCE_NOT_FOUND",
    "InvalidArn": "INVALID_PARAMETER",
    "InvalidName": "INVALID_PARAMETER",
    "InvalidExecutionInput": "INVALID_PARAMETER",
    "ValidationException": "INVALID_PARAMETER",
    "AccessDeniedException": "NO_PERMISSIONS",
}
_THROTTLED = {"ExecutionLimitExceeded", "ThrottlingException", "TooManyRequestsException"}

_NAME_CHARACTERS = re.compile(r"[^0-9A-Za-z_-]")


def _our_target(target: dict[str, Any]) -> bool:
    return target.get("Arn", "").split(":")[2:3] in (["states"], ["lambda"], ["sns"])


def _send_to_targets(rule: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
    ours = [t for t in rule.targets if _our_target(t)]
    if not ours:
        registry.original(_SEND_TO_TARGETS)(rule, original_event, transform_input)
        return
    others = [t for t in rule.targets if not _our_target(t)]
    if others:
        # moto delivers the rest; a shallow copy keeps the shared rule untouched for concurrent PutEvents.
        shallow = copy.copy(rule)
        shallow.targets = others
        registry.original(_SEND_TO_TARGETS)(shallow, original_event, transform_input)
    if rule.state == "DISABLED" or not rule.event_pattern.matches_event(original_event):
        return
    delivery = _running.running(rule.account_id, rule.region_name)
    if delivery is None:
        logger.warning("no delivery running for %s: event %s dropped", rule.arn, original_event.get("id"))
        return
    for target in ours:
        delivery.enqueue(rule.arn, rule.name, copy.deepcopy(target), copy.deepcopy(original_event))


_running: registry.PatchesInUse[EventBridgeDelivery] = registry.PatchesInUse(
    registry.PatchSet(
        "eventbridge delivery",
        [
            registry.Patch(
                _SEND_TO_TARGETS, _send_to_targets, "deliver to Step Functions/Lambda targets asynchronously"
            )
        ],
    )
)


# -- shaping the event -----------------------------------------------------------------------------------


def _iso_time(value: Any) -> str:
    if isinstance(value, int | float):
        moment = dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    elif isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    else:
        return str(value)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def aws_event(moto_event: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge hands it to a target (ISO time, no moto bookkeeping)."""
    return {
        "version": moto_event.get("version", "0"),
        "id": moto_event["id"],
        "detail-type": moto_event["detail-type"],
        "source": moto_event["source"],
        "account": moto_event["account"],
        "time": _iso_time(moto_event["time"]),
        "region": moto_event["region"],
        "resources": moto_event.get("resources", []),
        "detail": moto_event.get("detail", {}),
    }


def _json_path(event: dict[str, Any], path: str) -> Any:

    matches = parse(path).find(event)
    return matches[0].value if matches else None


_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


def _toggle_string_state(text: str, in_string: bool) -> bool:
    escaped = False
    for character in text:
        if escaped:
            escaped = False
        elif character == "\\" and in_string:
            escaped = True
        elif character == '"':
            in_string = not in_string
    return in_string


def render_input_template(template: str, values: dict[str, Any]) -> str:
    """Fill an InputTemplate as EventBridge does; returns the JSON text the target receives.

    In a JSON template a string value lands quoted when its placeholder is bare (``<id>``) and verbatim
    inside a quoted one (``"order <id>"``); a template that is not JSON becomes a JSON string.
    """
    is_json = template.lstrip()[:1] in ("{", "[")
    rendered: list[str] = []
    in_string = False
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        literal = template[position : match.start()]
        rendered.append(literal)
        in_string = _toggle_string_state(literal, in_string)
        position = match.end()
        name = match.group(1)
        if name not in values:
            rendered.append(match.group(0))
            continue
        value = values[name]
        if not is_json:
            rendered.append(value if isinstance(value, str) else json.dumps(value))
        elif in_string:
            text = value if isinstance(value, str) else json.dumps(value)
            rendered.append(json.dumps(text)[1:-1])
        else:
            rendered.append(json.dumps(value))
    rendered.append(template[position:])
    text = "".join(rendered)
    return text if is_json else json.dumps(text)


def _transformer_values(
    transformer: dict[str, Any], event: dict[str, Any], moto_event: dict[str, Any], rule: tuple[str, str]
) -> dict[str, Any]:
    values = {name: _json_path(event, path) for name, path in transformer.get("InputPathsMap", {}).items()}
    values.setdefault("aws.events.rule-arn", rule[0])
    values.setdefault("aws.events.rule-name", rule[1])
    values.setdefault(
        "aws.events.event.ingestion-time", _iso_time(moto_event.get("ingestion-time", time.time()))
    )
    values.setdefault("aws.events.event.json", event)
    values.setdefault("aws.events.event", event)
    return values


def target_input(target: dict[str, Any], moto_event: dict[str, Any], rule: tuple[str, str]) -> str:
    """The JSON text EventBridge sends to a target: Input, InputPath, InputTransformer or the event.

    ``rule`` is (ARN, name), for the ``<aws.events.rule-*>`` template variables.
    """
    event = aws_event(moto_event)
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        return json.dumps(_json_path(event, target["InputPath"]))
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        values = _transformer_values(transformer, event, moto_event, rule)
        return render_input_template(transformer.get("InputTemplate", ""), values)
    return json.dumps(event)


def execution_name(event_id: str, rule_name: str, target_id: str) -> str:
    """Unique per event and target, stable across retries (StartExecution is idempotent on the name)."""
    digest = hashlib.sha1(f"{rule_name}/{target_id}".encode()).hexdigest()[:8]
    return f"{event_id}_{_NAME_CHARACTERS.sub('-', rule_name)[:30]}_{digest}"[:80]


# -- delivery ----------------------------------------------------------------------------------------------


class TargetDeliveryError(RuntimeError):
    """One attempt to deliver an event to a target failed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class _Pending:
    rule_arn: str
    rule_name: str
    target: dict[str, Any]
    event: dict[str, Any]
    received_at: float
    attempts: int = 0


def _error_code(exc: BaseException) -> str:
    for attribute in ("code", "error_type"):
        value = getattr(exc, attribute, None)
        if isinstance(value, str) and value:
            return value
    return type(exc).__name__


class EventBridgeDelivery(RetryingDelivery["_Pending"]):
    """Delivers matched events to Step Functions and Lambda targets of one account and region."""

    queue_name = "eventbridge-delivery"
    patches = _running

    def enqueue(self, rule_arn: str, rule_name: str, target: dict[str, Any], event: dict[str, Any]) -> None:
        self._queue.put(_Pending(rule_arn, rule_name, target, event, time.monotonic()))

    def _attempt(self, pending: _Pending) -> float | None:
        """Deliver once; the seconds until the next try, or None when delivered or dead-lettered."""
        pending.attempts += 1
        try:
            self._deliver(pending.target, pending.event, (pending.rule_arn, pending.rule_name))
            return None
        except TargetDeliveryError as exc:
            error = exc
        policy = pending.target.get("RetryPolicy", {})
        max_retries = int(policy.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS))
        max_age = float(policy.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE_SECONDS))
        delay = min(FIRST_RETRY_DELAY_SECONDS * 2 ** (pending.attempts - 1), MAX_RETRY_DELAY_SECONDS)
        delay *= self.time_scale
        retries_done = pending.attempts - 1
        if error.code in _NOT_RETRYABLE.values():
            exhausted = None
        elif retries_done >= max_retries:
            exhausted = "MaximumRetryAttemptsExhausted"
        elif time.monotonic() + delay - pending.received_at > max_age * self.time_scale:
            exhausted = "MaximumEventAgeExhausted"
        else:
            logger.info("event %s to %s: %s; retrying", pending.event.get("id"), pending.target["Arn"], error)
            return delay
        self._dead_letter(pending, error, exhausted)
        return None

    def _deliver(self, target: dict[str, Any], event: dict[str, Any], rule: tuple[str, str]) -> None:
        arn = target["Arn"]
        payload = target_input(target, event, rule)
        service = arn.split(":")[2]
        try:
            if service == "states":
                self._start_execution(arn, execution_name(event["id"], rule[1], target["Id"]), payload)
            elif service == "sns":
                self._publish(arn, payload)
            else:
                self.invoker.invoke(arn, json.loads(payload))
        except TargetDeliveryError:
            raise
        except Exception as exc:
            code = _error_code(exc)
            if code in _NOT_RETRYABLE:
                raise TargetDeliveryError(_NOT_RETRYABLE[code], str(exc)) from exc
            if code in _THROTTLED:
                raise TargetDeliveryError("THROTTLING", str(exc)) from exc
            raise TargetDeliveryError("SDK_CLIENT_ERROR", f"{code}: {exc}") from exc

    def _start_execution(self, state_machine_arn: str, name: str, payload: str) -> None:

        region, account = state_machine_arn.split(":")[3:5]
        too_large = limits.execution_input_error(payload)  # what StartExecution answers on AWS
        if too_large is not None:
            raise too_large
        try:
            get_backend(account, region).start_execution(
                state_machine_arn, name=name, execution_input=payload
            )
        except Exception as exc:
            if _error_code(exc) == "ExecutionAlreadyExists":
                return  # an earlier attempt got through: the event is delivered
            raise

    def _publish(self, topic_arn: str, payload: str) -> None:
        # EventBridge publishes the target's input as the message: an event or a transformed input, as text;
        # a template that renders a JSON string is published as that string.
        region, account = topic_arn.split(":")[3:5]
        message = json.loads(payload)
        sns_backends[account][region].publish(message if isinstance(message, str) else payload, arn=topic_arn)

    def _dead_letter(self, pending: _Pending, error: TargetDeliveryError, exhausted: str | None) -> None:
        dlq_arn = pending.target.get("DeadLetterConfig", {}).get("Arn")
        if not dlq_arn:
            logger.warning(
                "event %s to %s dropped after %d attempts: %s",
                pending.event.get("id"),
                pending.target["Arn"],
                pending.attempts,
                error,
            )
            return

        attributes = {
            "RULE_ARN": pending.rule_arn,
            "TARGET_ARN": pending.target["Arn"],
            "ERROR_CODE": error.code,
            "ERROR_MESSAGE": error.message,
            "RETRY_ATTEMPTS": str(pending.attempts - 1),
        }
        if exhausted:
            attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
        region, account, queue_name = dlq_arn.split(":")[3:6]
        try:
            sqs_backends[account][region].send_message(
                queue_name,
                json.dumps(aws_event(pending.event)),
                message_attributes={
                    name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
                },
            )
        except Exception as exc:
            # An event near PutEvents' 1 MB limit, with its envelope and the attributes, can be over the
            # queue's message size: AWS counts it in InvocationsFailedToBeSentToDlq and the event is gone.
            logger.warning(
                "event %s to %s could not be sent to its DLQ %s (%s): %s",
                pending.event.get("id"),
                pending.target["Arn"],
                dlq_arn,
                _error_code(exc),
                error,
            )
