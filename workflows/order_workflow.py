"""The order workflow, built with the CDK's Step Functions constructs.

JSONPath only (no JSONata, no Variables) so that moto's engine and Step Functions Local both run it.
The execution input is the whole EventBridge ``OrderPlaced`` event; validation replaces it with its verdict,
so no state carries the event as well. Data the states add:

- ``$.validation``: the orders service's verdict (``valid``, ``orderKey``, normalized ``order``, ``reason``)
- ``$.payment``, ``$.reservations``, ``$.shipment``, ``$.shipmentCancellation``: the services' answers
- ``$.announcement``: the lifecycle message of the current milestone (SNS and Kinesis)
- ``$.failure``: ``{Error, Cause}`` of the step that sent the order into compensation
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from services.shared.contract import (
    EVENT_SOURCE,
    ORDER_CANCELLED,
    ORDER_COMPLETED,
    Milestone,
    OrderStatus,
)
from services.shared.messages import PAYMENT_DECLINED, SHIPMENT_REJECTED
from workflows import states

ORDER = "$.validation.order"
ORDER_KEY = "$.validation.orderKey"
ENTERED_AT = "$$.State.EnteredTime"
DYNAMO_CONDITION_FAILED = "DynamoDB.ConditionalCheckFailedException"
TERMINAL_STATUSES = (OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.REJECTED)
EXECUTION_EVENT = "$$.Execution.Input"
# What Step Functions reports when a Lambda function's runtime dies or times out mid-invoke: the runtime's
# error type (Lambda's Invoke answers FunctionError "Unhandled" with that errorType), or Lambda.Unknown.
VALIDATION_CRASHES = ("Lambda.Unknown", "Runtime.ExitError", "Sandbox.Timedout")


@dataclass(frozen=True, kw_only=True)
class CallbackWait:
    """How long the workflow waits on one task-token callback: between signs of life, and in all."""

    heartbeat: Duration
    timeout: Duration


@dataclass(frozen=True, kw_only=True)
class CallbackTimeouts:
    """How long the workflow waits on each callback; ``infra.timing`` derives them from the queues."""

    payment: CallbackWait
    inventory: CallbackWait
    shipping: CallbackWait
    refund: CallbackWait
    release: CallbackWait


@dataclass(frozen=True, kw_only=True)
class WorkflowResources:
    """What the order workflow talks to. The stack wires these in; the workflow owns no resources."""

    validate_function: lambda_.IFunction
    orders_table: dynamodb.ITable
    payment_queue: sqs.IQueue
    priority_payment_queue: sqs.IQueue
    inventory_queue: sqs.IQueue
    shipping_queue: sqs.IQueue
    compensation_dlq: sqs.IQueue
    order_status_topic: sns.ITopic
    system_alerts_topic: sns.ITopic
    analytics_stream: kinesis.IStream
    bus: events.IEventBus
    timeouts: CallbackTimeouts


def _text(path: str) -> tasks.DynamoAttributeValue:
    return tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at(path))


def _history_entry(status: OrderStatus) -> tasks.DynamoAttributeValue:
    return tasks.DynamoAttributeValue.from_list(
        [
            tasks.DynamoAttributeValue.from_map(
                {
                    "status": tasks.DynamoAttributeValue.from_string(status.value),
                    "at": _text(ENTERED_AT),
                }
            )
        ]
    )


def _order_record(
    status: OrderStatus, outcome: dict[str, tasks.DynamoAttributeValue]
) -> dict[str, tasks.DynamoAttributeValue]:
    """The item an order is first recorded as, accepted or rejected; ``outcome`` holds what only one has."""
    # ``outcome`` goes after the status so that the item's attributes keep their order in the definition.
    return {
        "orderId": _text(ORDER_KEY),
        "status": tasks.DynamoAttributeValue.from_string(status.value),
        **outcome,
        "detail": _text("$.validation.rawDetail"),
        "eventId": _text("$.validation.eventId"),
        "receivedAt": _text(ENTERED_AT),
        "updatedAt": _text(ENTERED_AT),
        "executionArn": _text("$$.Execution.Id"),
        "history": _history_entry(status),
    }


@dataclass(frozen=True, kw_only=True)
class _CompensationEntries:
    """Where a failure enters the saga: each entry undoes what may have been done by then, and no more."""

    cancel_shipment: sfn.IChainable  # the shipment may be booked, the stock reserved, the payment taken
    release_stock: sfn.IChainable  # stock may be reserved, and the payment taken
    refund: sfn.IChainable  # the payment may have been taken
    cancel_order: sfn.IChainable  # nothing was taken (payment declined)


class OrderWorkflow(Construct):
    """Builds the definition. ``definition`` is the chain to hand to a StateMachine."""

    def __init__(self, scope: Construct, construct_id: str, *, resources: WorkflowResources) -> None:
        super().__init__(scope, construct_id)
        self._r = resources
        self.definition: sfn.IChainable = self._build()

    # -- building blocks -------------------------------------------------------------------------------

    def _announce(
        self, milestone: Milestone, *, then: sfn.IChainable, reason_path: str | None = None
    ) -> sfn.Pass:
        """Pass → SNS publish → Kinesis putRecord. Neither failure may fail the order."""
        announcement: dict[str, object] = {
            "orderId": sfn.JsonPath.string_at(ORDER_KEY),
            "status": milestone.value,
            "at": sfn.JsonPath.string_at(ENTERED_AT),
        }
        if milestone is Milestone.REJECTED:
            announcement |= {"orderValue": "0", "amount": "0"}
        else:
            announcement |= {
                "customerId": sfn.JsonPath.string_at(f"{ORDER}.customerId"),
                "orderValue": sfn.JsonPath.string_at(f"{ORDER}.totalAmount"),
                "amount": sfn.JsonPath.string_at(f"{ORDER}.totalAmount"),
                "currency": sfn.JsonPath.string_at(f"{ORDER}.currency"),
                "contact": sfn.JsonPath.object_at(f"{ORDER}.contact"),
            }
        if reason_path:
            announcement["reason"] = sfn.JsonPath.string_at(reason_path)
        describe = sfn.Pass(
            self,
            states.describe(milestone),
            parameters=announcement,
            result_path="$.announcement",
        )
        message = sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$.announcement"))
        notify = tasks.SnsPublish(
            self,
            states.notify(milestone),
            topic=self._r.order_status_topic,
            message=sfn.TaskInput.from_text(message),
            message_attributes={
                "status": tasks.MessageAttribute(
                    value=milestone.value, data_type=tasks.MessageAttributeDataType.STRING
                ),
                "orderValue": tasks.MessageAttribute(
                    value=sfn.JsonPath.string_at("$.announcement.orderValue"),
                    data_type=tasks.MessageAttributeDataType.NUMBER,
                ),
            },
            result_path=sfn.JsonPath.DISCARD,
        )
        track = tasks.CallAwsService(
            self,
            states.track(milestone),
            service="kinesis",
            action="putRecord",
            iam_resources=[self._r.analytics_stream.stream_arn],
            parameters={
                "StreamName": self._r.analytics_stream.stream_name,
                "PartitionKey": sfn.JsonPath.string_at(ORDER_KEY),
                "Data": message,
            },
            result_path=sfn.JsonPath.DISCARD,
        )
        for step, following in ((notify, track), (track, then)):
            step.add_retry(errors=["States.TaskFailed"], max_attempts=2, interval=Duration.seconds(1))
            step.add_catch(following, errors=["States.ALL"], result_path="$.announcementError")
        describe.next(notify)
        notify.next(track)
        track.next(then)
        return describe

    def _update_order(
        self, name: str, status: OrderStatus, extra: dict[str, tasks.DynamoAttributeValue] | None = None
    ) -> tasks.DynamoUpdateItem:
        values = {
            ":status": tasks.DynamoAttributeValue.from_string(status.value),
            ":entry": _history_entry(status),
        }
        condition = None
        if status in TERMINAL_STATUSES:
            # An order ends once: a retried write whose first attempt was applied (a 500 or a timeout after
            # the write) must not append a second terminal status to the history.
            condition = (
                "NOT #status IN (" + ", ".join(f":ended{n}" for n in range(len(TERMINAL_STATUSES))) + ")"
            )
            for n, ended in enumerate(TERMINAL_STATUSES):
                values[f":ended{n}"] = tasks.DynamoAttributeValue.from_string(ended.value)
        sets = ["#status = :status", "updatedAt = :at", "history = list_append(history, :entry)"]
        values[":at"] = _text(ENTERED_AT)
        for attribute, value in (extra or {}).items():
            sets.append(f"{attribute} = :{attribute}")
            values[f":{attribute}"] = value
        update = tasks.DynamoUpdateItem(
            self,
            name,
            table=self._r.orders_table,
            key={"orderId": _text(ORDER_KEY)},
            update_expression="SET " + ", ".join(sets),
            condition_expression=condition,
            expression_attribute_names={"#status": "status"},
            expression_attribute_values=values,
            result_path=sfn.JsonPath.DISCARD,
        )
        update.add_retry(
            errors=[
                "DynamoDB.ProvisionedThroughputExceededException",
                "DynamoDB.InternalServerErrorException",
            ],
            max_attempts=3,
            backoff_rate=2,
        )
        return update

    def _callback(
        self,
        name: str,
        *,
        queue: sqs.IQueue,
        body: dict[str, object],
        wait: CallbackWait,
        result_path: str,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> tasks.SqsSendMessage:
        """A request to a service that answers with SendTaskSuccess or SendTaskFailure."""
        return tasks.SqsSendMessage(
            self,
            name,
            queue=queue,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            message_body=sfn.TaskInput.from_object({**body, "taskToken": sfn.JsonPath.task_token}),
            message_group_id=group_id,
            message_deduplication_id=dedup_id,
            heartbeat_timeout=sfn.Timeout.duration(wait.heartbeat),
            task_timeout=sfn.Timeout.duration(wait.timeout),
            result_path=result_path,
        )

    def _emit(self, name: str, detail_type: str, detail: dict[str, object]) -> tasks.EventBridgePutEvents:
        """Put an order event back on the bus, for the systems downstream of orderflow."""
        emit = tasks.EventBridgePutEvents(
            self,
            name,
            entries=[
                tasks.EventBridgePutEventsEntry(
                    event_bus=self._r.bus,
                    source=EVENT_SOURCE,
                    detail_type=detail_type,
                    detail=sfn.TaskInput.from_object(
                        {"orderId": sfn.JsonPath.string_at(ORDER_KEY), **detail}
                    ),
                )
            ],
            result_path=sfn.JsonPath.DISCARD,
        )
        emit.add_retry(errors=["States.ALL"], max_attempts=3, backoff_rate=2)
        return emit

    def _per_item(
        self,
        name: str,
        item_state: str,
        *,
        action: str,
        wait: CallbackWait,
        item_result_path: str,
        result_path: str,
        result_selector: dict[str, str] | None = None,
    ) -> tuple[sfn.Map, tasks.SqsSendMessage]:
        """A Map over the order's items, each a callback to the inventory queue in its SKU's message group."""
        item = self._callback(
            item_state,
            queue=self._r.inventory_queue,
            body={
                "action": action,
                "orderId": sfn.JsonPath.string_at("$.orderId"),
                "sku": sfn.JsonPath.string_at("$.sku"),
                "quantity": sfn.JsonPath.number_at("$.quantity"),
            },
            wait=wait,
            result_path=item_result_path,
            group_id=sfn.JsonPath.string_at("$.sku"),
            dedup_id=sfn.JsonPath.format(
                f"{{}}-{{}}-{action}", sfn.JsonPath.string_at("$.orderId"), sfn.JsonPath.string_at("$.sku")
            ),
        )
        each = sfn.Map(
            self,
            name,
            items_path=f"{ORDER}.items",
            item_selector={
                "orderId": sfn.JsonPath.string_at(ORDER_KEY),
                "sku": sfn.JsonPath.string_at("$$.Map.Item.Value.sku"),
                "quantity": sfn.JsonPath.number_at("$$.Map.Item.Value.quantity"),
            },
            result_selector=result_selector,
            result_path=result_path,
        )
        each.item_processor(item)
        return each, item

    def _guard_compensation(
        self,
        step: sfn.TaskStateBase | sfn.Map,
        *,
        park: str,
        alert: str,
        then: sfn.IChainable,
        retried: sfn.TaskStateBase | None = None,
    ) -> None:
        """A compensation step (or its per-item task, ``retried``) is retried; if it still fails, the failure
        is parked and alerted; either way the saga goes on to ``then``."""
        (retried or step).add_retry(
            errors=["States.ALL"], max_attempts=3, interval=Duration.seconds(2), backoff_rate=2
        )
        step.add_catch(
            self._park_failed_compensation(park, alert, then=then),
            errors=["States.ALL"],
            result_path="$.compensationFailure",
        )
        step.next(then)

    def _park_failed_compensation(
        self, park_name: str, alert_name: str, *, then: sfn.IChainable
    ) -> sfn.IChainable:
        """A compensation that still fails is parked in the compensation DLQ and raises an alert."""
        park = tasks.SqsSendMessage(
            self,
            park_name,
            queue=self._r.compensation_dlq,
            message_body=sfn.TaskInput.from_object(
                {
                    "orderId": sfn.JsonPath.string_at(ORDER_KEY),
                    "compensation": park_name,
                    "failure": sfn.JsonPath.object_at("$.compensationFailure"),
                    "order": sfn.JsonPath.object_at(ORDER),
                    "executionArn": sfn.JsonPath.string_at("$$.Execution.Id"),
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        park.add_retry(errors=["States.ALL"], max_attempts=5, backoff_rate=2)
        alert = tasks.SnsPublish(
            self,
            alert_name,
            topic=self._r.system_alerts_topic,
            subject=sfn.JsonPath.format(
                "Compensation failed for order {}", sfn.JsonPath.string_at(ORDER_KEY)
            ),
            message=sfn.TaskInput.from_object(
                {
                    "kind": "compensation-failed",
                    "orderId": sfn.JsonPath.string_at(ORDER_KEY),
                    "compensation": park_name,
                    "error": sfn.JsonPath.string_at("$.compensationFailure.Error"),
                    "executionArn": sfn.JsonPath.string_at("$$.Execution.Id"),
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        alert.add_retry(errors=["States.ALL"], max_attempts=3, backoff_rate=2)
        # The alert is best effort: the parked message already holds everything needed to act.
        alert.add_catch(then, errors=["States.ALL"], result_path="$.announcementError")
        return park.next(alert.next(then))

    # -- the definition ------------------------------------------------------------------------------

    def _build(self) -> sfn.IChainable:
        # Built from the end backwards: each part needs the states it hands over to.
        compensation = self._compensation()
        fulfilment = self._fulfilment(compensation)
        return self._intake(then=fulfilment)

    def _compensation(self) -> _CompensationEntries:
        """The saga: cancel the shipment, release the stock, refund, cancel the order and announce it."""
        r = self._r
        t = r.timeouts

        order_cancelled = sfn.Fail(
            self,
            states.ORDER_CANCELLED,
            error=states.ORDER_CANCELLED_ERROR,
            cause="The order was cancelled and compensated; its record holds the reason",
        )
        emit_cancelled = self._emit(
            states.EMIT_ORDER_CANCELLED,
            ORDER_CANCELLED,
            {"reason": sfn.JsonPath.string_at("$.failure.Error")},
        )
        emit_cancelled.next(order_cancelled)
        cancel_order = self._update_order(
            states.CANCEL_ORDER,
            OrderStatus.CANCELLED,
            {
                "cancelReason": _text("$.failure.Error"),
                # Cause is optional in a Catch result (SendTaskFailure may omit it); the whole object is not.
                "failure": tasks.DynamoAttributeValue.from_string(
                    sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$.failure"))
                ),
            },
        )
        announce_cancelled = self._announce(
            Milestone.CANCELLED, then=emit_cancelled, reason_path="$.failure.Error"
        )
        cancel_order.next(announce_cancelled)
        # Already ended (this write's own earlier attempt applied): the record is left as it is.
        cancel_order.add_catch(
            announce_cancelled, errors=[DYNAMO_CONDITION_FAILED], result_path="$.alreadyEnded"
        )

        refund = self._callback(
            states.REFUND_PAYMENT,
            queue=r.payment_queue,
            body={
                "action": "refund",
                "orderId": sfn.JsonPath.string_at(ORDER_KEY),
                "customerId": sfn.JsonPath.string_at(f"{ORDER}.customerId"),
                "amount": sfn.JsonPath.string_at(f"{ORDER}.totalAmount"),
                "currency": sfn.JsonPath.string_at(f"{ORDER}.currency"),
                "payment": sfn.JsonPath.object_at(f"{ORDER}.payment"),
            },
            wait=t.refund,
            result_path="$.refund",
        )
        self._guard_compensation(
            refund, park=states.PARK_FAILED_REFUND, alert=states.ALERT_FAILED_REFUND, then=cancel_order
        )

        release_stock, release_item = self._per_item(
            states.RELEASE_STOCK,
            states.RELEASE_ITEM,
            action="release",
            wait=t.release,
            item_result_path="$.release",
            result_path="$.releases",
        )
        self._guard_compensation(
            release_stock,
            retried=release_item,
            park=states.PARK_FAILED_RELEASE,
            alert=states.ALERT_FAILED_RELEASE,
            then=refund,
        )

        # The ship request timed out (its answer lost, say): the carrier may have booked the parcel.
        cancel_shipment = self._callback(
            states.CANCEL_SHIPMENT,
            queue=r.shipping_queue,
            body={"action": "cancel", "orderId": sfn.JsonPath.string_at(ORDER_KEY)},
            wait=t.shipping,
            result_path="$.shipmentCancellation",
        )
        self._guard_compensation(
            cancel_shipment,
            park=states.PARK_FAILED_SHIPMENT_CANCEL,
            alert=states.ALERT_FAILED_SHIPMENT_CANCEL,
            then=release_stock,
        )

        return _CompensationEntries(
            cancel_shipment=cancel_shipment,
            release_stock=release_stock,
            refund=refund,
            cancel_order=cancel_order,
        )

    def _fulfilment(self, compensation: _CompensationEntries) -> sfn.IChainable:
        """Charge, reserve the stock, ship, complete. Returns the payment lane choice, where it starts."""
        r = self._r
        t = r.timeouts

        # From the end backwards.
        order_completed = sfn.Succeed(self, states.ORDER_COMPLETED)
        emit_completed = self._emit(
            states.EMIT_ORDER_COMPLETED,
            ORDER_COMPLETED,
            {
                "paymentId": sfn.JsonPath.string_at("$.payment.paymentId"),
                "trackingNumber": sfn.JsonPath.string_at("$.shipment.trackingNumber"),
            },
        )
        emit_completed.next(order_completed)
        complete = self._update_order(
            states.COMPLETE_ORDER,
            OrderStatus.COMPLETED,
            {
                "shipmentId": _text("$.shipment.shipmentId"),
                "trackingNumber": _text("$.shipment.trackingNumber"),
            },
        )
        announce_shipped = self._announce(Milestone.SHIPPED, then=emit_completed)
        complete.next(announce_shipped)
        # Already ended (this write's own earlier attempt applied): the record is left as it is.
        complete.add_catch(announce_shipped, errors=[DYNAMO_CONDITION_FAILED], result_path="$.alreadyEnded")

        ship = self._callback(
            states.REQUEST_SHIPMENT,
            queue=r.shipping_queue,
            body={
                "action": "ship",
                "orderId": sfn.JsonPath.string_at(ORDER_KEY),
                "items": sfn.JsonPath.list_at(f"{ORDER}.items"),
                "shippingAddress": sfn.JsonPath.object_at(f"{ORDER}.shippingAddress"),
            },
            wait=t.shipping,
            result_path="$.shipment",
        )
        # Refused by the carrier: nothing was booked. Anything else (a timeout) may have booked it.
        ship.add_catch(compensation.release_stock, errors=[SHIPMENT_REJECTED], result_path="$.failure")
        ship.add_catch(compensation.cancel_shipment, errors=["States.ALL"], result_path="$.failure")
        ship.next(complete)

        reserve_stock, _ = self._per_item(
            states.RESERVE_STOCK,
            states.RESERVE_ITEM,
            action="reserve",
            wait=t.inventory,
            item_result_path="$.reservation",
            result_path="$.reservations",
            result_selector={"items.$": "$[*].reservation"},
        )
        # A failed item may leave others reserved: release every item of the order (release is idempotent).
        reserve_stock.add_catch(compensation.release_stock, errors=["States.ALL"], result_path="$.failure")
        reserve_stock.next(ship)

        mark_paid = self._update_order(
            states.MARK_ORDER_PAID, OrderStatus.PAID, {"paymentId": _text("$.payment.paymentId")}
        )
        mark_paid.next(self._announce(Milestone.PAID, then=reserve_stock))

        payment_body: dict[str, object] = {
            "action": "charge",
            "orderId": sfn.JsonPath.string_at(ORDER_KEY),
            "customerId": sfn.JsonPath.string_at(f"{ORDER}.customerId"),
            "amount": sfn.JsonPath.string_at(f"{ORDER}.totalAmount"),
            "currency": sfn.JsonPath.string_at(f"{ORDER}.currency"),
            "payment": sfn.JsonPath.object_at(f"{ORDER}.payment"),
        }
        request_payment = self._callback(
            states.REQUEST_PAYMENT,
            queue=r.payment_queue,
            body=payment_body,
            wait=t.payment,
            result_path="$.payment",
        )
        request_priority_payment = self._callback(
            states.REQUEST_PRIORITY_PAYMENT,
            queue=r.priority_payment_queue,
            body=payment_body,
            wait=t.payment,
            result_path="$.payment",
            group_id=sfn.JsonPath.string_at(ORDER_KEY),
            dedup_id=sfn.JsonPath.format("{}-charge", sfn.JsonPath.string_at(ORDER_KEY)),
        )
        for request in (request_payment, request_priority_payment):
            # Only a failed send is retried; the service's own answers (PaymentDeclined) never are.
            request.add_retry(
                errors=["SQS.SdkClientException", "SQS.AmazonSQSException"],
                max_attempts=3,
                interval=Duration.seconds(1),
                backoff_rate=2,
            )
            # Declined: nothing was charged or reserved. Anything else (a timeout, say) may have charged.
            request.add_catch(compensation.cancel_order, errors=[PAYMENT_DECLINED], result_path="$.failure")
            request.add_catch(compensation.refund, errors=["States.ALL"], result_path="$.failure")
            request.next(mark_paid)
        return (
            sfn.Choice(self, states.CHOOSE_PAYMENT_LANE)
            .when(sfn.Condition.boolean_equals(f"{ORDER}.priority", True), request_priority_payment)
            .otherwise(request_payment)
        )

    def _intake(self, *, then: sfn.IChainable) -> sfn.IChainable:
        """Validate the order event and record it once, accepted (on to ``then``) or rejected.

        Returns the validation, where the workflow starts.
        """
        r = self._r

        duplicate = sfn.Succeed(
            self, states.DUPLICATE_ORDER, comment="Already recorded: nothing is done twice"
        )
        record_order = tasks.DynamoPutItem(
            self,
            states.RECORD_ORDER,
            table=r.orders_table,
            item=_order_record(
                OrderStatus.RECEIVED,
                {
                    "customerId": _text(f"{ORDER}.customerId"),
                    "currency": _text(f"{ORDER}.currency"),
                    "totalAmount": tasks.DynamoAttributeValue.number_from_string(
                        sfn.JsonPath.string_at(f"{ORDER}.totalAmount")
                    ),
                    "priority": tasks.DynamoAttributeValue.boolean_from_json_path(
                        sfn.JsonPath.string_at(f"{ORDER}.priority")
                    ),
                },
            ),
            condition_expression="attribute_not_exists(orderId)",
            result_path=sfn.JsonPath.DISCARD,
        )
        record_order.add_catch(duplicate, errors=[DYNAMO_CONDITION_FAILED], result_path="$.duplicate")
        record_order.next(self._announce(Milestone.PLACED, then=then))

        order_rejected = sfn.Fail(
            self,
            states.ORDER_REJECTED,
            error=states.ORDER_REJECTED_ERROR,
            cause="The order failed validation; its record holds the reasons",
        )
        record_rejection = tasks.DynamoPutItem(
            self,
            states.RECORD_REJECTION,
            table=r.orders_table,
            item=_order_record(OrderStatus.REJECTED, {"reason": _text("$.validation.reason")}),
            condition_expression="attribute_not_exists(orderId)",
            result_path=sfn.JsonPath.DISCARD,
        )
        record_rejection.add_catch(duplicate, errors=[DYNAMO_CONDITION_FAILED], result_path="$.duplicate")
        record_rejection.next(
            self._announce(Milestone.REJECTED, then=order_rejected, reason_path="$.validation.reason")
        )

        validate = tasks.LambdaInvoke(
            self,
            states.VALIDATE_ORDER,
            lambda_function=r.validate_function,
            payload_response_only=True,
            # From here on the state holds the verdict, not the event: an event can be almost as large as
            # a state may be, and its detail is in the verdict already (bounded, for a rejected one).
            result_selector={"validation.$": "$"},
            result_path="$",
        )
        # A crash of the function's runtime (SIGKILL, out of memory) or its timeout reaches Step Functions
        # as the function's unhandled error: Runtime.ExitError / Sandbox.Timedout, or Lambda.Unknown when
        # the payload names no type. Validation reads nothing and writes nothing, so trying again is safe.
        validate.add_retry(
            errors=list(VALIDATION_CRASHES), interval=Duration.seconds(2), max_attempts=3, backoff_rate=2
        )
        # Retries used up (or any other failure): the order is still recorded, rejected with the reason.
        validate.add_catch(self._unvalidated(then=record_rejection), errors=["States.ALL"], result_path="$")
        is_valid = (
            sfn.Choice(self, states.IS_ORDER_VALID)
            .when(sfn.Condition.boolean_equals("$.validation.valid", True), record_order)
            .otherwise(record_rejection)
        )
        return validate.next(is_valid)

    def _unvalidated(self, *, then: sfn.IChainable) -> sfn.IChainable:
        """The verdict for an order the orders function could not validate: rejected, naming the error.

        The state holds only the error (the Catch replaced the event); the event is read from the context
        object. Its detail is not kept (it may be as large as a state may be); the bus archive has it.
        """
        reason = sfn.JsonPath.format(
            "detail: not validated: the orders function failed ({}) on every attempt",
            sfn.JsonPath.string_at("$.Error"),
        )
        common = {
            "valid": False,
            "reason": reason,
            "rawDetail": "not kept: the order was never validated; the whole event is in the bus archive",
        }
        named = sfn.Pass(
            self,
            states.DESCRIBE_UNVALIDATED_ORDER,
            parameters={
                "validation": {
                    **common,
                    "orderKey": sfn.JsonPath.string_at(f"{EXECUTION_EVENT}.detail.orderId"),
                    "eventId": sfn.JsonPath.string_at(f"{EXECUTION_EVENT}.id"),
                }
            },
        )
        unnamed = sfn.Pass(
            self,
            states.DESCRIBE_UNNAMED_ORDER,
            parameters={
                "validation": {
                    **common,
                    "orderKey": sfn.JsonPath.format(
                        "rejected-{}", sfn.JsonPath.string_at("$$.Execution.Name")
                    ),
                    "eventId": "",
                }
            },
        )
        named.next(then)
        unnamed.next(then)
        return (
            sfn.Choice(self, states.IS_UNVALIDATED_ORDER_NAMED)
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_string(f"{EXECUTION_EVENT}.detail.orderId"),
                    sfn.Condition.is_string(f"{EXECUTION_EVENT}.id"),
                ),
                named,
            )
            .otherwise(unnamed)
        )
