"""Lambda entry point for the shipping queue: book the shipment once per order and answer the task token."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.shared.batch import process_sqs_batch
from services.shared.callbacks import StepFunctionsCallbacks, TaskCallbacks
from services.shared.idempotency import run_once
from services.shared.messages import SHIPMENT_REJECTED
from services.shared.observability import logger, metrics, tracer
from services.shared.settings import read_settings
from services.shipping.carrier import DeterministicCarrier
from services.shipping.logic import DestinationNotServedError, ship_order
from services.shipping.models import ShippingRequest, ShippingSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

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
    request = ShippingRequest.model_validate_json(record.body)
    with logger.append_context_keys(orderId=request.orderId):
        if not callbacks.heartbeat(request.taskToken):
            metrics.add_metric(name="StaleTasksSkipped", unit="Count", value=1)
            return
        settings = read_settings(ShippingSettings)

        def ship_once() -> dict[str, Any]:
            try:
                shipment = ship_order(request, carrier=carrier)
            except DestinationNotServedError as exc:
                metrics.add_metric(name="ShipmentsRejected", unit="Count", value=1)
                return {"outcome": "rejected", "reason": str(exc)}
            metrics.add_metric(name="ShipmentsBooked", unit="Count", value=1)
            return {"outcome": "shipped", "shipment": shipment.model_dump(mode="json")}

        answer = run_once(
            ship_once,
            table_name=settings.idempotency_table,
            key_prefix="shipping",
            key={"orderId": request.orderId, "action": request.action},
            expires_after_seconds=IDEMPOTENCY_SECONDS,
            lambda_context=lambda_context,
        )
        if answer["outcome"] == "shipped":
            callbacks.succeed(request.taskToken, answer["shipment"])
        else:
            logger.info("Shipment rejected", extra={"reason": answer["reason"]})
            callbacks.fail(request.taskToken, SHIPMENT_REJECTED, answer["reason"])
