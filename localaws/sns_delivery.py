"""SNS deliveries moto does not get right, fixed where moto's ``Subscription.publish`` makes them.

What moto already does (see ``tests/localaws/test_sns_delivery.py``): fan-out to SQS subscriptions with the
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
import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localaws import moto_patches

if TYPE_CHECKING:
    from localaws.lambda_runtime import Invoker

logger = logging.getLogger(__name__)

_PUBLISH = "moto.sns.models.Subscription.publish"
moto_patches.register(
    "moto.sns.models.Subscription",
    "attributes protocol, endpoint, arn, topic, attributes (RawMessageDelivery normalised to bool), "
    "_filter_policy, _filter_policy_matcher (rebuilt when the scope changed), _parse_message_structure",
)
moto_patches.register("moto.sns.utils.FilterPolicyMatcher", "filter policies for Lambda subscriptions")

# Lambda's asynchronous invocation: two retries, one and two minutes after the failure.
ASYNC_RETRY_DELAYS_SECONDS = (60.0, 120.0)

_hook_lock = threading.Lock()
_deliveries: dict[tuple[str, str], SnsDelivery] = {}  # (account, region) → running delivery


def _normalise(subscription: Any) -> None:
    raw = subscription.attributes.get("RawMessageDelivery")
    if isinstance(raw, str):
        subscription.attributes["RawMessageDelivery"] = raw.strip().lower() == "true"
    policy = subscription._filter_policy
    if policy:
        from moto.sns.utils import FilterPolicyMatcher

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
    delivery = _deliveries.get((subscription.account_id, subscription.topic.sns_backend.region_name))
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
    moto_patches.original(_PUBLISH)(
        subscription,
        message,
        message_id,
        subject=subject,
        message_attributes=message_attributes,
        group_id=group_id,
        deduplication_id=deduplication_id,
        message_structure=message_structure,
    )


def _install(delivery: SnsDelivery) -> None:
    with _hook_lock:
        if not _deliveries:
            moto_patches.patch(
                _PUBLISH, _publish, "AWS-shaped async SNS → Lambda; subscription attribute fixes"
            )
        _deliveries[(delivery.account_id, delivery.region)] = delivery


def _uninstall(delivery: SnsDelivery) -> None:
    with _hook_lock:
        if _deliveries.get((delivery.account_id, delivery.region)) is delivery:
            del _deliveries[(delivery.account_id, delivery.region)]
        if not _deliveries:
            moto_patches.unpatch(_PUBLISH)


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


@dataclass(order=True)
class _Invocation:
    due: float
    sequence: int
    function_arn: str = field(compare=False)
    event: dict[str, Any] = field(compare=False)
    attempts: int = field(default=0, compare=False)


class SnsDelivery:
    """SNS deliveries of one account and region that moto does not make like AWS (see module docstring)."""

    def __init__(
        self,
        *,
        invoker: Invoker,
        region: str,
        account_id: str,
        time_scale: float = 1.0,
        workers: int = 2,
    ) -> None:
        self.invoker = invoker
        self.region = region
        self.account_id = account_id
        self.time_scale = time_scale
        self._workers = workers
        self._heap: list[_Invocation] = []
        self._cond = threading.Condition()
        self._sequence = itertools.count()
        self._stopped = False
        self._busy = 0
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        with self._cond:
            self._stopped = False
        _install(self)
        self._threads = [
            threading.Thread(target=self._run, name=f"sns-lambda-{i}", daemon=True)
            for i in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        _uninstall(self)
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(5.0)
        self._threads = []

    def idle(self) -> bool:
        with self._cond:
            return not self._heap and self._busy == 0

    def enqueue(self, function_arn: str, event: dict[str, Any]) -> None:
        with self._cond:
            heapq.heappush(
                self._heap, _Invocation(time.monotonic(), next(self._sequence), function_arn, event)
            )
            self._cond.notify()

    def _next(self) -> _Invocation | None:
        with self._cond:
            while not self._stopped:
                if self._heap:
                    wait = self._heap[0].due - time.monotonic()
                    if wait <= 0:
                        self._busy += 1
                        return heapq.heappop(self._heap)
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _run(self) -> None:
        while (invocation := self._next()) is not None:
            try:
                self._invoke(invocation)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _invoke(self, invocation: _Invocation) -> None:
        invocation.attempts += 1
        try:
            result = self.invoker.invoke(invocation.function_arn, invocation.event)
            error = result.function_error and f"{result.error_type}: {result.payload}"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        if not error:
            return
        if invocation.attempts > len(ASYNC_RETRY_DELAYS_SECONDS):
            logger.warning(
                "SNS → %s failed %d times, dropped: %s", invocation.function_arn, invocation.attempts, error
            )
            return
        invocation.due = (
            time.monotonic() + ASYNC_RETRY_DELAYS_SECONDS[invocation.attempts - 1] * self.time_scale
        )
        with self._cond:
            heapq.heappush(self._heap, invocation)
            self._cond.notify()
