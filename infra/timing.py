"""How long a service may take, and how the workflow's waits on it follow: one place, so they agree.

A callback service takes its request from an SQS queue in a Lambda function, which answers the task token.
When an invocation crashes (its process killed, its host lost) nothing answers and nothing deletes the
message: it comes back once its visibility timeout ends, and is tried again, up to ``max_receives``
receives, before the queue parks it in its DLQ. The workflow must wait for that, and no longer:

- ``visibility`` >= 2 x the function timeout: no message is handed out again while an invocation that
  holds it may still run (AWS refuses an event-source mapping whose queue's visibility is below the
  function timeout);
- ``heartbeat`` > ``visibility`` + the function timeout: every attempt heartbeats before it does anything,
  so the redelivery of a crashed attempt renews the clock in time, even as the last record of a batch;
- ``timeout`` >= ``max_receives`` x (``visibility`` + the function timeout) + ``heartbeat``: every receive
  the queue allows fits inside the task, so an order is compensated only once its request has run out
  of retries (the message is then in the DLQ, whose alarm says so).

A request that really hangs is cut off by the heartbeat, not the timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration

from workflows.order_workflow import CallbackTimeouts, CallbackWait

# Every service function's timeout (the handlers answer in well under a second).
FUNCTION_TIMEOUT = Duration.seconds(30)
# What a redelivered record may wait behind in its batch, beyond the visibility timeout, before it heartbeats.
_HEARTBEAT_MARGIN = Duration.seconds(30)


@dataclass(frozen=True)
class CallbackQueueTiming:
    """A service queue's visibility and receive count, and the workflow's wait on a request sent to it."""

    visibility: Duration
    max_receives: int

    @property
    def heartbeat(self) -> Duration:
        after_crash = self.visibility.to_seconds() + FUNCTION_TIMEOUT.to_seconds()
        return Duration.seconds(after_crash + _HEARTBEAT_MARGIN.to_seconds())

    @property
    def timeout(self) -> Duration:
        attempt = self.visibility.to_seconds() + FUNCTION_TIMEOUT.to_seconds()
        return Duration.seconds(self.max_receives * attempt + self.heartbeat.to_seconds())

    def wait(self) -> CallbackWait:
        return CallbackWait(heartbeat=self.heartbeat, timeout=self.timeout)


# Two function timeouts of visibility; five tries for a charge (a transient provider failure is retried
# before the request is parked), three for stock and shipping.
PAYMENT = CallbackQueueTiming(visibility=Duration.seconds(60), max_receives=5)
PRIORITY_PAYMENT = CallbackQueueTiming(visibility=Duration.seconds(60), max_receives=5)
INVENTORY = CallbackQueueTiming(visibility=Duration.seconds(60), max_receives=3)
SHIPPING = CallbackQueueTiming(visibility=Duration.seconds(60), max_receives=3)


def callback_timeouts() -> CallbackTimeouts:
    """The workflow's waits, each derived from the queue its request goes through."""
    return CallbackTimeouts(
        payment=PAYMENT.wait(),
        inventory=INVENTORY.wait(),
        shipping=SHIPPING.wait(),
        refund=PAYMENT.wait(),
        release=INVENTORY.wait(),
    )
