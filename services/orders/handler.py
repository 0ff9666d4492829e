"""Lambda entry point: validate the EventBridge ``OrderPlaced`` event the workflow passes in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.orders.logic import MISSING, validate_order
from services.shared.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    envelope = event if isinstance(event, dict) else {}
    event_id = envelope.get("id")
    result = validate_order(
        event_id=event_id if isinstance(event_id, str) else "",
        detail=envelope.get("detail", MISSING),
    )
    if result.valid:
        metrics.add_metric(name="OrdersAccepted", unit="Count", value=1)
    else:
        metrics.add_metric(name="OrdersRejected", unit="Count", value=1)
        logger.info("Order rejected", extra={"orderKey": result.orderKey, "reasons": result.reasons})
    return result.to_output()
