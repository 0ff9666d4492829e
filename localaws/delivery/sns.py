"""SNS deliveries moto does not get right, fixed where moto's ``Subscription.publish`` makes them.

What moto already does (see ``tests/localaws/delivery/test_sns.py``): fan-out to SQS subscriptions with the
SNS envelope or raw delivery, filter policies on message attributes and on the message body, and
``MessageStructure=json``. What this module adds while it runs:

- SNS → Lambda with the event Lambda really receives (moto sends a canned event: ``TopicArn``
  ``arn:aws:sns:EXAMPLE``, fixed attributes, ``Subject`` ``TestInvoke``), invoked asynchronously through the
  ``Invoker`` (``Publish`` returns at once, as on AWS) and retried twice on a function error like Lambda's
  asynchronous invocation;
- ``RawMessageDelivery`` given as the string ``"false"`` (how ``Subscribe`` attributes and templates pass it)
  is no longer taken as raw delivery;
- ``FilterPolicyScope`` set after ``FilterPolicy`` now takes effect (moto keeps the matcher of the old scope).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.sns.utils import FilterPolicyMatcher

from localaws.delivery.retry_queue import RetryingDelivery
from localaws.patches import registry

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

_PUBLISH = "moto.sns.models.Subscription.publish"
registry.register_attributes(
    "moto.sns.models.Subscription",
    ["protocol", "endpoint", "arn", "topic", "attributes"],
    "where a notification goes; RawMessageDelivery normalised to a bool",
)
registry.register_attributes(
    "moto.sns.models.Subscription",
    ["_filter_policy", "_filter_policy_matcher"],
    "the filter policy, its matcher rebuilt when the scope changed",
)
registry.register_attributes(
    "moto.sns.models.Subscription", ["_parse_message_structure"], "MessageStructure=json: the Lambda message"
)
registry.register("moto.sns.utils.FilterPolicyMatcher", "filter policies for Lambda subscriptions")

# Lambda's asynchronous invocation: two retries, one and two minutes after the failure.
ASYNC_RETRY_DELAYS_SECONDS = (60.0, 120.0)


def _normalise(subscription: Any) -> None:
    raw = subscription.attributes.get("RawMessageDelivery")
    if isinstance(raw, str):
        subscription.attributes["RawMessageDelivery"] = raw.strip().lower() == "true"
    policy = subscription._filter_policy
    if policy:
        scope = subscription.attributes.get("FilterPolicyScope") or "MessageAttributes"
        matcher = subscription._filter_policy_matcher
        if matcher is None or matcher.filter_policy_scope != scope:
            subscription._filter_policy_matcher = FilterPolicyMatcher(policy, scope)


def _publish(  # noqa: PLR0917 -- moto's Subscription.publish signature
    subscription: Any,
    message: str,
    message_id: str,
    subject: str | None = None,
    message_attributes: dict[str, Any] | None = None,
    group_id: str | None = None,
    deduplication_id: str | None = None,
    message_structure: str | None = None,
) -> None:
    delivery = _running.running(subscription.account_id, subscription.topic.sns_backend.region_name)
    if delivery is not None:
        _normalise(subscription)
        if subscription.protocol == "lambda":
            matcher = subscription._filter_policy_matcher
            if matcher is not None and not matcher.matches(message_attributes, message):
                return
            if message_structure == "json":
                message = subscription._parse_message_structure(message, "lambda")
            delivery.enqueue(
                subscription.endpoint,
                lambda_event(subscription, message, message_id, subject, message_attributes),
            )
            return
    registry.original(_PUBLISH)(
        subscription,
        message,
        message_id,
        subject=subject,
        message_attributes=message_attributes,
        group_id=group_id,
        deduplication_id=deduplication_id,
        message_structure=message_structure,
    )


_running: registry.PatchesInUse[SnsDelivery] = registry.PatchesInUse(
    registry.PatchSet(
        "sns delivery",
        [registry.Patch(_PUBLISH, _publish, "AWS-shaped async SNS → Lambda; subscription attribute fixes")],
    )
)


def lambda_event(
    subscription: Any,
    message: str,
    message_id: str,
    subject: str | None,
    message_attributes: dict[str, Any] | None,
) -> dict[str, Any]:
    """The event Lambda receives for one SNS notification."""
    topic_arn = subscription.topic.arn
    region = topic_arn.split(":")[3]
    now = dt.datetime.now(tz=dt.UTC)
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription.arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
                    "SignatureVersion": "1",
                    "Signature": "",
                    "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-local.pem",
                    "UnsubscribeUrl": (
                        f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription.arn}"
                    ),
                    "MessageAttributes": {
                        name: {"Type": value.get("Type"), "Value": value.get("Value")}
                        for name, value in (message_attributes or {}).items()
                    },
                },
            }
        ]
    }


@dataclass
class _Invocation:
    function_arn: str
    event: dict[str, Any]
    attempts: int = 0


class SnsDelivery(RetryingDelivery["_Invocation"]):
    """SNS deliveries of one account and region that moto does not make like AWS (see module docstring)."""

    queue_name = "sns-lambda"
    patches = _running

    def enqueue(self, function_arn: str, event: dict[str, Any]) -> None:
        self._queue.put(_Invocation(function_arn, event))

    def _attempt(self, invocation: _Invocation) -> float | None:
        """Invoke once; the seconds until the retry, or None when done (or given up, as Lambda does)."""
        invocation.attempts += 1
        try:
            result = self.invoker.invoke(invocation.function_arn, invocation.event)
            error = result.function_error and f"{result.error_type}: {result.payload}"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        if not error:
            return None
        if invocation.attempts > len(ASYNC_RETRY_DELAYS_SECONDS):
            logger.warning(
                "SNS → %s failed %d times, dropped: %s", invocation.function_arn, invocation.attempts, error
            )
            return None
        return ASYNC_RETRY_DELAYS_SECONDS[invocation.attempts - 1] * self.time_scale
