"""Lambda entry point for the payment queue: charge or refund, then answer the workflow's task token."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from services.payment.dal import DynamoDBLedger, SnsPaymentNotifier, provider_statement
from services.payment.logic import PaymentProviderUnavailableError, charge_order, refund_order
from services.payment.models import (
    PROVIDER_TABLE_VARIABLE,
    Captured,
    ChargeAnswer,
    ChargePending,
    Declined,
    PaymentRequest,
    PaymentSettings,
    RefundResult,
)
from services.payment.provider import DeterministicPaymentProvider
from services.shared.batch import process_sqs_batch
from services.shared.callbacks import StepFunctionsCallbacks, TaskCallbacks
from services.shared.idempotency import run_once
from services.shared.messages import PAYMENT_DECLINED
from services.shared.observability import logger, metrics, tracer
from services.shared.settings import read_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

# A payment answer must stay replayable for as long as the workflow may redeliver the request.
IDEMPOTENCY_SECONDS = 24 * 60 * 60

AnswerT = TypeVar("AnswerT", bound=BaseModel)

callbacks: TaskCallbacks = StepFunctionsCallbacks()
# The bundled provider keeps its statement in its own table when the stack gives it one.
provider = DeterministicPaymentProvider(provider_statement(os.environ.get(PROVIDER_TABLE_VARIABLE)))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_sqs_batch(event, context, handle_payment_message)


@tracer.capture_method
def handle_payment_message(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    request = PaymentRequest.model_validate_json(record.body)
    with logger.append_context_keys(orderId=request.orderId, action=request.action):
        # Every attempt restarts the workflow's heartbeat clock, so a slow retry is not taken for a hang.
        waiting = callbacks.heartbeat(request.taskToken)
        if not waiting and request.action == "charge":
            # Taking money for a workflow that gave up would only strand it.
            metrics.add_metric(name="StaleTasksSkipped", unit="Count", value=1)
            return
        # A refund is made even when the workflow stopped waiting for it (it waited in a backed-up queue past
        # its heartbeat, and the saga parked it): the order is cancelled either way, so the money goes back.
        attempt = int(record.attributes.approximate_receive_count or "1")
        settings = read_settings(PaymentSettings)
        if request.action == "charge":
            _charge(request, attempt, settings, lambda_context)
        else:
            _refund(request, settings, lambda_context)


def _charge(
    request: PaymentRequest, attempt: int, settings: PaymentSettings, lambda_context: LambdaContext | None
) -> None:
    def charge_once() -> ChargeAnswer:
        try:
            outcome = charge_order(
                request,
                attempt=attempt,
                now=_now(),
                provider=provider,
                ledger=DynamoDBLedger(settings.ledger_table),
                notifier=SnsPaymentNotifier(settings.payment_topic_arn),
            )
        except PaymentProviderUnavailableError:
            metrics.add_metric(name="PaymentProviderUnavailable", unit="Count", value=1)
            raise
        match outcome:
            case Captured(first_time=True):
                metrics.add_metric(name="PaymentsCaptured", unit="Count", value=1)
            case Declined():
                metrics.add_metric(name="PaymentsDeclined", unit="Count", value=1)
            case ChargePending():
                metrics.add_metric(name="PaymentsAwaitingProvider", unit="Count", value=1)
        return ChargeAnswer(outcome)

    answer = _once_per_order(charge_once, ChargeAnswer, request, settings, lambda_context).root
    match answer:
        case Captured():
            callbacks.succeed(request.taskToken, answer.result.model_dump(mode="json"))
        case Declined():
            logger.info("Payment declined", extra={"reason": answer.reason})
            callbacks.fail(request.taskToken, PAYMENT_DECLINED, answer.reason)
        case ChargePending():
            logger.warning("Payment provider accepted the charge without answering; leaving the task open")


def _refund(request: PaymentRequest, settings: PaymentSettings, lambda_context: LambdaContext | None) -> None:
    def refund_once() -> RefundResult:
        result = refund_order(
            request,
            now=_now(),
            provider=provider,
            ledger=DynamoDBLedger(settings.ledger_table),
            notifier=SnsPaymentNotifier(settings.payment_topic_arn),
        )
        if result.status == "REFUNDED":
            metrics.add_metric(name="PaymentsRefunded", unit="Count", value=1)
        return result

    result = _once_per_order(refund_once, RefundResult, request, settings, lambda_context)
    callbacks.succeed(request.taskToken, result.model_dump(mode="json"))


def _once_per_order(
    work: Callable[[], AnswerT],
    answer_type: type[AnswerT],
    request: PaymentRequest,
    settings: PaymentSettings,
    lambda_context: LambdaContext | None,
) -> AnswerT:
    """``work``'s answer for this order and action: computed once, then replayed to every redelivery."""
    return run_once(
        work,
        answer_type=answer_type,
        table_name=settings.idempotency_table,
        key_prefix="payment",
        key={"orderId": request.orderId, "action": request.action},
        expires_after_seconds=IDEMPOTENCY_SECONDS,
        lambda_context=lambda_context,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
