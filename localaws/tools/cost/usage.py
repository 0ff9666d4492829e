"""What one order uses of each billed service, along one path: derived from the walk and the template.

The workflow's own calls come from the states the walk entered and their ``Resource`` in the synthesized
definition (a Lambda invoke, an SQS send, an SNS publish, a Kinesis putRecord, a DynamoDB write, a PutEvents).
What happens downstream comes from the template (which function consumes which queue, stream or topic, the
topic's filter policy, each function's memory) and from the services' code, summarized in ``HANDLER_CALLS``.

Sizes are assumed small: DynamoDB items up to 1 KB written and 4 KB read, messages and events up to 64 KB,
Kinesis records up to 25 KB; so each call is one billing unit (``ASSUMPTIONS`` says so in the report).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from services.analytics.logic import REVENUE_STATUS
from services.shared.contract import Milestone
from workflows import states

if TYPE_CHECKING:
    from localaws.tools.cost.definition import DeployedStack
    from localaws.tools.cost.transitions import OrderPath, Walk

ASSUMPTIONS: tuple[str, ...] = (
    "every DynamoDB item written is at most 1 KB (1 WRU a write, 2 in a transaction) and read at most 4 KB "
    "(1 RRU a strongly consistent read); a conditional write that fails still costs its WRU. The orders "
    "record keeps the raw event and its status history, so a large order passes 1 KB and costs more",
    "every SQS message, SNS message and EventBridge event is at most 64 KB (one billed request), every "
    "Kinesis record at most 25 KB (one PUT payload unit)",
    "SNS deliveries to SQS and to Lambda are not billed (unverified: no AWS page found, see prices)",
    "a Lambda event-source mapping takes `batch_fill` messages per ReceiveMessage, DeleteMessageBatch and "
    "invocation (1 by default: the most it can cost); the long polls of an idle queue are not counted",
    "the Step Functions API calls of the services (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat) "
    "are not billed; they count against their own quotas",
    "not counted: CloudWatch (logs, metrics, alarms), KMS requests, the EventBridge archive, X-Ray, data "
    "transfer, storage, and the free tiers",
)


@dataclass(frozen=True)
class HandlerCalls:
    """What a service's handler does with one message, read from its code (``services/<name>/``)."""

    wru: float = 0
    rru: float = 0
    sns_publishes: float = 0
    sfn_calls: tuple[str, ...] = ()  # Step Functions API actions, one call each


_HEARTBEAT = "SendTaskHeartbeat"
_SUCCESS = "SendTaskSuccess"
_FAILURE = "SendTaskFailure"
# Powertools idempotency (services/shared/idempotency.py): a conditional put "in progress", then an update.
_IDEMPOTENCY_WRU = 2

# (service, action, outcome) → calls. Outcome "fail" is the service's own business failure (declined, out of
# stock, shipment rejected); "empty" a release that finds nothing reserved.
HANDLER_CALLS: dict[tuple[str, str, str], HandlerCalls] = {
    # services/payment/handler.py + logic.charge_order: the ledger's CHARGE and VOID rows read, the SNS
    # payment event, then the charge put in a two-item transaction that fails if the order was voided. The
    # bundled provider's statement table stands in for the external provider's dashboard and is not counted.
    ("payment", "charge", "ok"): HandlerCalls(
        wru=_IDEMPOTENCY_WRU + 4, rru=2, sns_publishes=1, sfn_calls=(_HEARTBEAT, _SUCCESS)
    ),
    ("payment", "charge", "fail"): HandlerCalls(
        wru=_IDEMPOTENCY_WRU, rru=2, sns_publishes=1, sfn_calls=(_HEARTBEAT, _FAILURE)
    ),
    # logic.refund_order: reads the charge and the refund row, puts the refund, SNS payment event.
    ("payment", "refund", "ok"): HandlerCalls(
        wru=_IDEMPOTENCY_WRU + 1, rru=2, sns_publishes=1, sfn_calls=(_HEARTBEAT, _SUCCESS)
    ),
    # services/inventory/dal.py: reserve is a two-item transaction, then a read of what is left.
    ("inventory", "reserve", "ok"): HandlerCalls(wru=4, rru=1, sfn_calls=(_HEARTBEAT, _SUCCESS)),
    # The cancelled transaction (counted as billed), then the reservation and the stock are read.
    ("inventory", "reserve", "fail"): HandlerCalls(wru=4, rru=2, sfn_calls=(_HEARTBEAT, _FAILURE)),
    # release reads the reservation, then deletes it and returns the units in one two-item transaction.
    ("inventory", "release", "ok"): HandlerCalls(wru=4, rru=1, sfn_calls=(_HEARTBEAT, _SUCCESS)),
    ("inventory", "release", "empty"): HandlerCalls(rru=1, sfn_calls=(_HEARTBEAT, _SUCCESS)),
    # services/shipping/handler.py: the booking is idempotent, and recorded in the shipments book (one put);
    # the carrier is not AWS. A refused destination books nothing.
    ("shipping", "ship", "ok"): HandlerCalls(wru=_IDEMPOTENCY_WRU + 1, sfn_calls=(_HEARTBEAT, _SUCCESS)),
    ("shipping", "ship", "fail"): HandlerCalls(wru=_IDEMPOTENCY_WRU, sfn_calls=(_HEARTBEAT, _FAILURE)),
    # services/notification: reads the audit row (already sent?), writes it.
    ("notification", "notice", "ok"): HandlerCalls(wru=1, rru=1),
}


def analytics_wru(status: str) -> int:
    """services/analytics/dal.py: one transaction of the "counted" marker and one increment per aggregate
    (status and minute; revenue too for a shipped order), 2 WRU an item."""
    return 2 * (3 + (1 if status == REVENUE_STATUS else 0))


@dataclass
class OrderUsage:
    """Per order, along one path."""

    path: str
    items: int
    transitions: int
    executions: int = 1
    lambda_invocations: Counter[str] = field(default_factory=Counter)  # function logical id → invocations
    lambda_memory_mb: dict[str, int] = field(default_factory=dict)
    sqs_standard: float = 0  # requests
    sqs_fifo: float = 0
    sns_publishes: float = 0
    kinesis_records: float = 0
    eventbridge_events: float = 0
    wru: float = 0
    rru: float = 0
    sfn_calls: Counter[str] = field(default_factory=Counter)
    queue_sends: Counter[str] = field(default_factory=Counter)  # queue name → messages sent

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "items": self.items,
            "state_transitions": self.transitions,
            "executions": self.executions,
            "lambda_invocations": dict(self.lambda_invocations),
            "sqs_standard_requests": self.sqs_standard,
            "sqs_fifo_requests": self.sqs_fifo,
            "sns_publishes": self.sns_publishes,
            "kinesis_records": self.kinesis_records,
            "eventbridge_events": self.eventbridge_events,
            "dynamodb_wru": self.wru,
            "dynamodb_rru": self.rru,
            "stepfunctions_api_calls": dict(self.sfn_calls),
            "queue_messages": dict(self.queue_sends),
        }


_MILESTONE_OF_NOTIFY = {states.notify(m): m for m in Milestone}
_MILESTONE_OF_TRACK = {states.track(m): m for m in Milestone}


class _Stack:
    """The template, indexed the way the usage model asks it."""

    def __init__(self, stack: DeployedStack) -> None:
        self.stack = stack
        self.consumers: dict[str, str] = {}  # queue / stream logical id → consuming function logical id
        self.batch_sizes: dict[str, int] = {}
        for mapping in stack.of_type("AWS::Lambda::EventSourceMapping").values():
            props = mapping.get("Properties", {})
            source = props.get("EventSourceArn", {}).get("Fn::GetAtt", [None])[0]
            function = props.get("FunctionName", {}).get("Ref")
            if source and function:
                self.consumers[source] = function
                self.batch_sizes[source] = int(props.get("BatchSize", 10))
        self.topic_filters: dict[str, list[tuple[str, list[str] | None]]] = {}
        for subscription in stack.of_type("AWS::SNS::Subscription").values():
            props = subscription.get("Properties", {})
            topic = props.get("TopicArn", {}).get("Ref")
            endpoint = props.get("Endpoint", {})
            target = (endpoint.get("Fn::GetAtt") or [None])[0] if isinstance(endpoint, dict) else None
            statuses = (props.get("FilterPolicy") or {}).get("status")
            if topic and target:
                self.topic_filters.setdefault(topic, []).append((target, statuses))

    def props(self, logical_id: str) -> dict[str, Any]:
        return dict(self.stack.resources.get(logical_id, {}).get("Properties", {}))

    def kind(self, logical_id: str) -> str:
        return str(self.stack.resources.get(logical_id, {}).get("Type", ""))

    def service_of(self, function: str) -> str:
        handler = str(self.props(function).get("Handler", ""))
        return handler.split(".")[1] if handler.startswith("services.") else handler

    def memory(self, function: str) -> int:
        return int(self.props(function).get("MemorySize", 128))

    def is_fifo(self, queue: str) -> bool:
        return bool(self.props(queue).get("FifoQueue"))


def _logical(token: Any) -> str | None:
    if isinstance(token, str) and token.startswith("${") and token.endswith("}"):
        return token[2:-1].split(".", 1)[0]
    return None


def _states_by_name(machine: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, state in machine["States"].items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(_states_by_name(branch))
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            found.update(_states_by_name(processor))
    return found


class _Tally:
    def __init__(self, stack: _Stack, usage: OrderUsage, batch_fill: int) -> None:
        self.stack = stack
        self.usage = usage
        self.batch_fill = batch_fill

    def invoke(self, function: str, times: float = 1) -> None:
        self.usage.lambda_invocations[function] += times  # type: ignore[assignment]
        self.usage.lambda_memory_mb[function] = self.stack.memory(function)

    def handler(self, service: str, action: str, outcome: str) -> None:
        calls = HANDLER_CALLS.get((service, action, outcome))
        if calls is None:
            raise KeyError(f"no HANDLER_CALLS entry for {service} {action} ({outcome})")
        self.usage.wru += calls.wru
        self.usage.rru += calls.rru
        self.usage.sns_publishes += calls.sns_publishes
        self.usage.sfn_calls.update(calls.sfn_calls)

    def message(self, queue: str, action: str | None, outcome: str) -> None:
        """One message sent to ``queue``, received, handled and deleted by its consumer."""
        fill = min(self.batch_fill, self.stack.batch_sizes.get(queue, 1))
        consumer = self.stack.consumers.get(queue)
        requests = 1 + (2 / fill if consumer else 0)  # send, then receive and delete per batch
        if self.stack.is_fifo(queue):
            self.usage.sqs_fifo += requests
        else:
            self.usage.sqs_standard += requests
        self.usage.queue_sends[str(self.stack.props(queue).get("QueueName", queue))] += 1
        if consumer is None:
            return
        self.invoke(consumer, 1 / fill)
        service = self.stack.service_of(consumer)
        self.handler(service, action or "notice", outcome)


def order_usage(
    stack: DeployedStack, path: OrderPath, walk: Walk, *, items: int, batch_fill: int = 1
) -> OrderUsage:
    """The billed usage of one order along ``path`` (``walk`` is that path's walk of the definition)."""
    indexed = _Stack(stack)
    usage = OrderUsage(path=path.name, items=items, transitions=walk.transitions)
    tally = _Tally(indexed, usage, batch_fill)
    by_name = _states_by_name(stack.definition)
    usage.eventbridge_events += 1  # the OrderPlaced event that starts the execution
    failed_reserves = 0
    for name, entered in Counter(walk.entered).items():
        state = by_name[name]
        if state["Type"] != "Task":
            continue
        failure = path.failures.get(name)
        failing = 0 if failure is None else (1 if failure.item == "last" and entered > 1 else entered)
        if name == states.RESERVE_ITEM:
            failed_reserves = failing
        for index in range(entered):
            outcome = "fail" if index >= entered - failing else "ok"
            if name == states.RELEASE_ITEM and index >= entered - failed_reserves:
                outcome = "empty"  # the item that could not be reserved has nothing to release
            _task(tally, indexed, name, state, outcome)
    return usage


def _task(tally: _Tally, stack: _Stack, name: str, state: dict[str, Any], outcome: str) -> None:
    resource = str(state.get("Resource", ""))
    params = state.get("Parameters") or {}
    usage = tally.usage
    if resource.startswith("${"):  # a Lambda function by ARN
        function = _logical(resource)
        if function:
            tally.invoke(function)
    elif resource.endswith(":lambda:invoke"):
        function = _logical(params.get("FunctionName"))
        if function:
            tally.invoke(function)
    elif ":sqs:sendMessage" in resource:
        queue = _logical(params.get("QueueUrl"))
        body = params.get("MessageBody") or {}
        if queue:
            tally.message(queue, body.get("action") if isinstance(body, dict) else None, outcome)
    elif resource.endswith(":sns:publish"):
        usage.sns_publishes += 1
        _deliver(tally, stack, _logical(params.get("TopicArn")), _MILESTONE_OF_NOTIFY.get(name))
    elif resource.endswith(":kinesis:putRecord"):
        usage.kinesis_records += 1
        stream = _logical(params.get("StreamName"))
        consumer = stack.consumers.get(stream or "")
        milestone = _MILESTONE_OF_TRACK.get(name)
        if consumer:
            fill = min(tally.batch_fill, stack.batch_sizes.get(stream or "", 1))
            tally.invoke(consumer, 1 / fill)
            usage.wru += analytics_wru(milestone.value if milestone else "")
    elif ":dynamodb:" in resource:
        usage.wru += 1 if resource.rsplit(":", 1)[-1] in {"putItem", "updateItem", "deleteItem"} else 0
        usage.rru += 1 if resource.endswith(":getItem") else 0
    elif resource.endswith(":events:putEvents"):
        usage.eventbridge_events += len(params.get("Entries") or [])


def _deliver(tally: _Tally, stack: _Stack, topic: str | None, milestone: Milestone | None) -> None:
    """An SNS publish reaches each subscribed queue whose filter lets its status through."""
    for target, statuses in stack.topic_filters.get(topic or "", []):
        if statuses is not None and (milestone is None or milestone.value not in statuses):
            continue
        if stack.kind(target) == "AWS::SQS::Queue":
            tally.message(target, None, "ok")
        elif stack.kind(target) == "AWS::Lambda::Function":
            tally.invoke(target)
