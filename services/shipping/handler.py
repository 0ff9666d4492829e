"""Lambda entry point for the shipping queue: book the shipment once per order and answer the task token.

The queue also carries the saga's cancel requests, which mark the order's shipment cancelled.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.shared.batch import process_sqs_batch
from services.shared.callbacks import StepFunctionsCallbacks, TaskCallbacks
from services.shared.idempotency import run_once
from services.shared.messages import SHIPMENT_REJECTED
from services.shared.observability import logger, metrics, tracer
from services.shared.settings import read_settings
from services.shipping.carrier import DeterministicCarrier
from services.shipping.dal import DynamoDBShipmentBook
from services.shipping.logic import (
    CANCELLED_REASON,
    DestinationNotServedError,
    ShipmentCancelledError,
    cancel_shipment,
    ship_order,
)
from services.shipping.models import (
    Rejected,
    Shipped,
    ShippingAnswer,
    ShippingCancelRequest,
    ShippingRequest,
    ShippingSettings,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

# A shipping answer must stay replayable for as long as the workflow may redeliver the request.
IDEMPOTENCY_SECONDS = 24 * 60 * 60

callbacks: TaskCallbacks = StepFunctionsCallbacks()
carrier = DeterministicCarrier()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_sqs_batch(event, context, handle_shipping_message)


@tracer.capture_method
def handle_shipping_message(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    request = _parse(record.body)
    with logger.append_context_keys(orderId=request.orderId):
        waiting = callbacks.heartbeat(request.taskToken)
        settings = read_settings(ShippingSettings)
        if isinstance(request, ShippingCancelRequest):
            # Made even when the workflow stopped waiting: the order is cancelled either way.
            _cancel(request, settings)
        elif waiting:
            _ship(request, settings, lambda_context)
        else:
            # Booking a parcel for a workflow that gave up would only strand it.
            metrics.add_metric(name="StaleTasksSkipped", unit="Count", value=1)


def _parse(body: str) -> ShippingRequest | ShippingCancelRequest:
    try:
        action = json.loads(body).get("action")
    except (ValueError, AttributeError):
        action = None  # the model below says what is wrong with it
    if action == "cancel":
        return ShippingCancelRequest.model_validate_json(body)
    return ShippingRequest.model_validate_json(body)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _cancel(request: ShippingCancelRequest, settings: ShippingSettings) -> None:
    # Idempotent by itself: cancelling twice leaves one cancelled shipment and the same answer.
    answer = cancel_shipment(request, book=DynamoDBShipmentBook(settings.shipments_table), now=_now())
    metrics.add_metric(name="ShipmentsCancelled", unit="Count", value=1)
    callbacks.succeed(request.taskToken, answer.model_dump(mode="json"))


def _ship(request: ShippingRequest, settings: ShippingSettings, lambda_context: LambdaContext | None) -> None:
    def ship_once() -> ShippingAnswer:
        try:
            shipment = ship_order(
                request, carrier=carrier, book=DynamoDBShipmentBook(settings.shipments_table), now=_now()
            )
        except DestinationNotServedError as exc:
            metrics.add_metric(name="ShipmentsRejected", unit="Count", value=1)
            return ShippingAnswer(Rejected(reason=str(exc)))
        except ShipmentCancelledError:
            metrics.add_metric(name="ShipmentsRefusedAfterCancel", unit="Count", value=1)
            return ShippingAnswer(Rejected(reason=CANCELLED_REASON))
        metrics.add_metric(name="ShipmentsBooked", unit="Count", value=1)
        return ShippingAnswer(Shipped(shipment=shipment))

    # One booking per order: a redelivered or retried request gets the first answer, even to a new address.
    answer = run_once(
        ship_once,
        answer_type=ShippingAnswer,
        table_name=settings.idempotency_table,
        key_prefix="shipping",
        key={"orderId": request.orderId, "action": request.action},
        expires_after_seconds=IDEMPOTENCY_SECONDS,
        lambda_context=lambda_context,
    ).root
    match answer:
        case Shipped():
            callbacks.succeed(request.taskToken, answer.shipment.model_dump(mode="json"))
        case Rejected():
            logger.info("Shipment rejected", extra={"reason": answer.reason})
            callbacks.fail(request.taskToken, SHIPMENT_REJECTED, answer.reason)
