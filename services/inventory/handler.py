"""Lambda entry point for the inventory FIFO queue: reserve or release stock, then answer the task token."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from services.inventory.dal import DynamoDBStockStore, SnsStockAlerts
from services.inventory.logic import InsufficientStockError, release_stock, reserve_stock
from services.inventory.models import InventoryRequest, InventorySettings
from services.shared.batch import process_sqs_batch
from services.shared.callbacks import StepFunctionsCallbacks, TaskCallbacks
from services.shared.messages import OUT_OF_STOCK
from services.shared.observability import logger, metrics, tracer
from services.shared.settings import read_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

callbacks: TaskCallbacks = StepFunctionsCallbacks()


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # Message groups are SKUs: a failure holds back the rest of its SKU only, keeping each SKU in order.
    return process_sqs_batch(event, context, handle_inventory_message, fifo=True)


@tracer.capture_method
def handle_inventory_message(record: SQSRecord) -> None:
    request = InventoryRequest.model_validate_json(record.body)
    with logger.append_context_keys(orderId=request.orderId, sku=request.sku, action=request.action):
        waiting = callbacks.heartbeat(request.taskToken)
        settings = read_settings(InventorySettings)
        store = DynamoDBStockStore(settings.inventory_table)
        if request.action == "reserve":
            if not waiting:
                # Holding stock for a workflow that gave up would only strand it.
                metrics.add_metric(name="StaleTasksSkipped", unit="Count", value=1)
                return
            _reserve(request, settings, store)
        else:
            # Compensation returns the units even if the workflow stopped waiting for the answer.
            result = release_stock(request, store=store)
            metrics.add_metric(name="StockReleased", unit="Count", value=result.released)
            callbacks.succeed(request.taskToken, result.model_dump(mode="json"))


def _reserve(request: InventoryRequest, settings: InventorySettings, store: DynamoDBStockStore) -> None:
    try:
        reserved = reserve_stock(
            request,
            now=int(time.time()),
            ttl_seconds=settings.reservation_ttl_seconds,
            low_stock_threshold=settings.low_stock_threshold,
            store=store,
            alerts=SnsStockAlerts(settings.alerts_topic_arn),
        )
    except InsufficientStockError as exc:
        metrics.add_metric(name="OrdersOutOfStock", unit="Count", value=1)
        logger.info("Out of stock", extra={"requested": exc.requested, "available": exc.available})
        callbacks.fail(request.taskToken, OUT_OF_STOCK, str(exc))
        return
    if reserved.first_time:
        metrics.add_metric(name="StockReserved", unit="Count", value=request.quantity)
    if reserved.low_stock:
        metrics.add_metric(name="LowStockAlerts", unit="Count", value=1)
    callbacks.succeed(request.taskToken, reserved.reservation.model_dump(mode="json"))
