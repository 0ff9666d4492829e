from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from services.payment.logic import PaymentProviderUnavailableError, charge_order, refund_order
from services.payment.models import (
    Captured,
    ChargeAnswer,
    ChargePending,
    ChargeResult,
    Declined,
    PaymentNotification,
    PaymentRequest,
)
from services.payment.provider import Capture
from services.shared.contract import TOKEN_ALWAYS_TRANSIENT, TOKEN_DECLINE, TOKEN_HANG, TOKEN_TRANSIENT
from tests.unit.fakes import CountingProvider, InMemoryLedger, RecordingPaymentNotifier

NOW = "2025-11-23T10:15:31.000+00:00"


def request(token: str = "tok_visa", action: str = "charge", order_id: str = "ord-1") -> PaymentRequest:
    return PaymentRequest.model_validate(
        {
            "taskToken": "token",
            "orderId": order_id,
            "action": action,
            "customerId": "cust-1",
            "amount": "19.98",
            "currency": "EUR",
            "payment": {"method": "card", "token": token},
        }
    )


@pytest.fixture
def ledger() -> InMemoryLedger:
    return InMemoryLedger()


@pytest.fixture
def provider() -> CountingProvider:
    return CountingProvider()


@pytest.fixture
def notifier() -> RecordingPaymentNotifier:
    return RecordingPaymentNotifier()


def test_approved_charge_is_captured_recorded_and_announced(
    ledger: InMemoryLedger, provider: CountingProvider, notifier: RecordingPaymentNotifier
) -> None:
    # Given an approving card token
    # When the order is charged
    outcome = charge_order(request(), attempt=1, now=NOW, provider=provider, ledger=ledger, notifier=notifier)
    # Then the capture is in the ledger and announced once
    assert isinstance(outcome, Captured)
    assert outcome.first_time is True
    assert outcome.result.status == "CAPTURED"
    assert outcome.result.amount == "19.98"
    assert outcome.result.paymentId.startswith("pay_")
    assert ledger.find("ord-1", "CHARGE") is not None
    assert [n.event for n in notifier.published] == ["captured"]


def test_charging_again_returns_the_first_charge_without_moving_money(
    ledger: InMemoryLedger, provider: CountingProvider, notifier: RecordingPaymentNotifier
) -> None:
    # Given an order already charged
    first = charge_order(request(), attempt=1, now=NOW, provider=provider, ledger=ledger, notifier=notifier)
    # When the same charge request arrives again
    second = charge_order(
        request(), attempt=2, now="later", provider=provider, ledger=ledger, notifier=notifier
    )
    # Then the provider was asked once, and the answer is the original payment
    assert provider.charges == 1
    assert isinstance(first, Captured)
    assert isinstance(second, Captured)
    assert second.result == first.result
    assert second.first_time is False
    assert len(notifier.published) == 1


def test_declined_card_is_not_recorded(
    ledger: InMemoryLedger, provider: CountingProvider, notifier: RecordingPaymentNotifier
) -> None:
    # Given a declining token
    # When the order is charged
    outcome = charge_order(
        request(TOKEN_DECLINE), attempt=1, now=NOW, provider=provider, ledger=ledger, notifier=notifier
    )
    # Then it is declined with a reason, nothing is in the ledger, and the decline is announced
    assert isinstance(outcome, Declined)
    assert "declined" in outcome.reason.lower()
    assert ledger.entries == {}
    assert [n.event for n in notifier.published] == ["declined"]


@pytest.mark.parametrize(("attempt", "fails"), [(1, True), (2, True), (3, False)])
def test_transient_token_fails_twice_then_approves(
    ledger: InMemoryLedger,
    provider: CountingProvider,
    notifier: RecordingPaymentNotifier,
    attempt: int,
    fails: bool,
) -> None:
    # Given the token that simulates a flaky provider
    charge = request(TOKEN_TRANSIENT)
    # When the order is charged on a given attempt
    if fails:
        # Then early attempts fail transiently and record nothing
        with pytest.raises(PaymentProviderUnavailableError):
            charge_order(
                charge, attempt=attempt, now=NOW, provider=provider, ledger=ledger, notifier=notifier
            )
        assert ledger.entries == {}
    else:
        # Then the third attempt is captured
        outcome = charge_order(
            charge, attempt=attempt, now=NOW, provider=provider, ledger=ledger, notifier=notifier
        )
        assert isinstance(outcome, Captured)


def test_unavailable_token_always_fails_transiently(
    ledger: InMemoryLedger, provider: CountingProvider, notifier: RecordingPaymentNotifier
) -> None:
    # Given the always-unavailable token
    # When charged on a late attempt
    # Then it still fails transiently
    with pytest.raises(PaymentProviderUnavailableError):
        charge_order(
            request(TOKEN_ALWAYS_TRANSIENT),
            attempt=5,
            now=NOW,
            provider=provider,
            ledger=ledger,
            notifier=notifier,
        )


def test_hanging_provider_leaves_the_charge_pending(
    ledger: InMemoryLedger, provider: CountingProvider, notifier: RecordingPaymentNotifier
) -> None:
    # Given the token the provider never answers
    # When the order is charged
    outcome = charge_order(
        request(TOKEN_HANG), attempt=1, now=NOW, provider=provider, ledger=ledger, notifier=notifier
    )
    # Then there is nothing to answer and nothing recorded
    assert isinstance(outcome, ChargePending)
    assert ledger.entries == {}
    assert notifier.published == []


def test_refund_returns_the_captured_amount_once(
    ledger: InMemoryLedger, provider: CountingProvider, notifier: RecordingPaymentNotifier
) -> None:
    # Given a captured order
    charge_order(request(), attempt=1, now=NOW, provider=provider, ledger=ledger, notifier=notifier)
    # When it is refunded twice
    refund_request = request(action="refund").model_copy(update={"amount": Decimal("1.00")})
    first = refund_order(refund_request, now=NOW, provider=provider, ledger=ledger, notifier=notifier)
    second = refund_order(refund_request, now="later", provider=provider, ledger=ledger, notifier=notifier)
    # Then the ledger's captured amount is refunded, once, with a stable refund id
    assert first.status == "REFUNDED"
    assert first.amount == "19.98"
    assert first.refundId is not None
    assert second == first
    assert provider.refunds == 1
    assert [n.event for n in notifier.published] == ["captured", "refunded"]


def test_the_provider_captures_the_orders_amount_in_its_currency(
    ledger: InMemoryLedger, provider: CountingProvider, notifier: RecordingPaymentNotifier
) -> None:
    # Given an order of 19.98 EUR and an approving card
    # When the order is charged
    outcome = charge_order(request(), attempt=1, now=NOW, provider=provider, ledger=ledger, notifier=notifier)
    # Then the provider took exactly that amount, in that currency, once
    assert isinstance(outcome, Captured)
    taken = Capture(
        order_id="ord-1", payment_id=outcome.result.paymentId, amount=Decimal("19.98"), currency="EUR"
    )
    assert provider.captures("ord-1") == [taken]


def test_capture_announcement_names_the_payment_taken(
    ledger: InMemoryLedger, provider: CountingProvider, notifier: RecordingPaymentNotifier
) -> None:
    # Given an approving card
    # When the order is charged
    outcome = charge_order(request(), attempt=1, now=NOW, provider=provider, ledger=ledger, notifier=notifier)
    # Then the announcement carries the payment id, so finance can match it to the statement
    assert isinstance(outcome, Captured)
    assert notifier.published == [
        PaymentNotification(
            orderId="ord-1",
            customerId="cust-1",
            event="captured",
            amount="19.98",
            currency="EUR",
            reference=outcome.result.paymentId,
        )
    ]


def test_decline_announcement_gives_the_issuers_reason(
    ledger: InMemoryLedger, provider: CountingProvider, notifier: RecordingPaymentNotifier
) -> None:
    # Given a card the issuer declines
    # When the order is charged
    outcome = charge_order(
        request(TOKEN_DECLINE), attempt=1, now=NOW, provider=provider, ledger=ledger, notifier=notifier
    )
    # Then the announcement says why, and names no payment (none was taken)
    assert isinstance(outcome, Declined)
    assert notifier.published == [
        PaymentNotification(
            orderId="ord-1",
            customerId="cust-1",
            event="declined",
            amount="19.98",
            currency="EUR",
            reason="Card declined by the issuer (insufficient funds)",
        )
    ]


def test_refund_asks_the_provider_to_return_the_captured_payment_in_full(
    ledger: InMemoryLedger, provider: CountingProvider, notifier: RecordingPaymentNotifier
) -> None:
    # Given an order captured for 19.98 EUR
    charged = charge_order(request(), attempt=1, now=NOW, provider=provider, ledger=ledger, notifier=notifier)
    assert isinstance(charged, Captured)
    # When a refund request carrying another amount arrives
    refund_request = request(action="refund").model_copy(update={"amount": Decimal("1.00")})
    refund_order(refund_request, now=NOW, provider=provider, ledger=ledger, notifier=notifier)
    # Then the provider is asked to refund that payment, for the captured amount, in the captured currency
    assert provider.refunds_asked == [("ord-1", charged.result.paymentId, Decimal("19.98"), "EUR")]


def test_refund_announcement_names_the_refund(
    ledger: InMemoryLedger, provider: CountingProvider, notifier: RecordingPaymentNotifier
) -> None:
    # Given a captured order
    charge_order(request(), attempt=1, now=NOW, provider=provider, ledger=ledger, notifier=notifier)
    # When it is refunded
    refunded = refund_order(
        request(action="refund"), now=NOW, provider=provider, ledger=ledger, notifier=notifier
    )
    # Then the refund announcement carries the provider's refund id and the amount given back
    assert notifier.published[-1] == PaymentNotification(
        orderId="ord-1",
        customerId="cust-1",
        event="refunded",
        amount="19.98",
        currency="EUR",
        reference=refunded.refundId,
    )
    assert refunded.refundId is not None


def test_refund_without_a_charge_has_nothing_to_refund(
    ledger: InMemoryLedger, provider: CountingProvider, notifier: RecordingPaymentNotifier
) -> None:
    # Given an order never charged
    # When it is refunded
    result = refund_order(
        request(action="refund"), now=NOW, provider=provider, ledger=ledger, notifier=notifier
    )
    # Then nothing moves
    assert result.status == "NOTHING_TO_REFUND"
    assert result.refundId is None
    assert result.amount == "0.00"
    assert provider.refunds == 0


@pytest.mark.parametrize(
    "stored",
    [
        {
            "outcome": "captured",
            "result": {"paymentId": "pay_1", "status": "CAPTURED", "amount": "19.98", "currency": "EUR"},
        },
        {"outcome": "declined", "reason": "Card declined by the issuer (insufficient funds)"},
        {"outcome": "pending"},
    ],
)
def test_stored_charge_answers_read_back_unchanged(stored: dict[str, Any]) -> None:
    # Given a charge answer as the idempotency table holds it (the format written before the typed answer)
    # When it is read back and stored again
    answer = ChargeAnswer.model_validate(stored)
    # Then it is the typed outcome, and its JSON has not changed
    assert answer.root.outcome == stored["outcome"]
    assert answer.model_dump(mode="json") == stored


def test_first_time_flag_is_not_stored_with_a_captured_answer() -> None:
    # Given the answer of the call that recorded the charge
    result = ChargeResult(paymentId="pay_1", amount="19.98", currency="EUR")
    answer = ChargeAnswer(Captured(result=result, first_time=True))
    # When it is stored and replayed
    replayed = ChargeAnswer.model_validate(answer.model_dump(mode="json")).root
    # Then the replay carries the result but did not record anything itself
    assert isinstance(replayed, Captured)
    assert (replayed.result, replayed.first_time) == (result, False)


def test_a_capture_whose_ledger_write_was_lost_is_recorded_not_taken_again(
    ledger: InMemoryLedger, provider: CountingProvider, notifier: RecordingPaymentNotifier
) -> None:
    # Given an attempt that captured the money and crashed before writing the ledger
    provider.authorize_and_capture(
        order_id="ord-1", amount=Decimal("19.98"), currency="EUR", token="tok_visa", attempt=1
    )
    assert ledger.find("ord-1", "CHARGE") is None
    # When the redelivered request charges the order
    outcome = charge_order(request(), attempt=2, now=NOW, provider=provider, ledger=ledger, notifier=notifier)
    # Then the provider's earlier capture is recorded and announced, and no second one is made
    assert isinstance(outcome, Captured)
    assert len(provider.captures("ord-1")) == 1
    assert provider.charges == 1
    assert ledger.find("ord-1", "CHARGE") is not None
    assert [n.event for n in notifier.published] == ["captured"]


def test_a_refund_whose_ledger_write_was_lost_is_recorded_not_given_twice(
    ledger: InMemoryLedger, provider: CountingProvider, notifier: RecordingPaymentNotifier
) -> None:
    # Given a charged order whose refund was made by the provider, but never reached the ledger
    charge_order(request(), attempt=1, now=NOW, provider=provider, ledger=ledger, notifier=notifier)
    provider.refund(order_id="ord-1", payment_id="pay_x", amount=Decimal("19.98"), currency="EUR")
    # When the refund request is redelivered
    result = refund_order(
        request(action="refund"), now=NOW, provider=provider, ledger=ledger, notifier=notifier
    )
    # Then it records the provider's refund, and the provider refunded once
    assert result.status == "REFUNDED"
    assert len(provider.statement.refunds("ord-1")) == 1
    assert provider.refunds == 1
    assert ledger.find("ord-1", "REFUND") is not None


class _FailingOnce(RecordingPaymentNotifier):
    """A topic whose first publish fails (throttled, say), as SNS may."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def publish(self, notification: PaymentNotification) -> None:
        if not self.failed:
            self.failed = True
            raise RuntimeError("Rate exceeded")
        super().publish(notification)


@pytest.mark.parametrize("action", ["charge", "refund"])
def test_an_announcement_that_failed_is_made_by_the_retry(
    ledger: InMemoryLedger, provider: CountingProvider, action: str
) -> None:
    # Given an order whose charge (or refund) announcement fails the first time
    if action == "refund":
        charge_order(
            request(),
            attempt=1,
            now=NOW,
            provider=provider,
            ledger=ledger,
            notifier=RecordingPaymentNotifier(),
        )
    notifier = _FailingOnce()

    def attempt() -> None:
        if action == "charge":
            charge_order(request(), attempt=1, now=NOW, provider=provider, ledger=ledger, notifier=notifier)
        else:
            refund_order(
                request(action="refund"), now=NOW, provider=provider, ledger=ledger, notifier=notifier
            )

    # When the first attempt fails on the publish and the request is retried
    with pytest.raises(RuntimeError):
        attempt()
    attempt()
    # Then the announcement was made, and the money moved once
    assert [n.event for n in notifier.published] == ["captured" if action == "charge" else "refunded"]
    assert provider.charges == 1
    assert provider.refunds == (1 if action == "refund" else 0)


def test_a_charge_that_arrives_after_the_order_was_compensated_takes_nothing(
    ledger: InMemoryLedger, provider: CountingProvider, notifier: RecordingPaymentNotifier
) -> None:
    # Given the workflow stopped waiting for the charge and refunded the order before it was charged
    refunded = refund_order(
        request(action="refund"), now=NOW, provider=provider, ledger=ledger, notifier=notifier
    )
    assert refunded.status == "NOTHING_TO_REFUND"
    assert ledger.find("ord-1", "VOID") is not None
    # When the late charge request is processed
    outcome = charge_order(request(), attempt=1, now=NOW, provider=provider, ledger=ledger, notifier=notifier)
    # Then nothing is captured
    assert isinstance(outcome, Declined)
    assert provider.charges == 0
    assert ledger.find("ord-1", "CHARGE") is None


def test_a_charge_voided_while_the_provider_captured_is_given_back(
    ledger: InMemoryLedger, notifier: RecordingPaymentNotifier
) -> None:
    # Given a provider that captures while the order's compensation voids it
    class CompensatedMidCapture(CountingProvider):
        def authorize_and_capture(self, **kwargs: Any) -> Any:
            answer = super().authorize_and_capture(**kwargs)
            refund_order(request(action="refund"), now=NOW, provider=self, ledger=ledger, notifier=notifier)
            return answer

    provider = CompensatedMidCapture()
    # When the charge completes
    outcome = charge_order(request(), attempt=1, now=NOW, provider=provider, ledger=ledger, notifier=notifier)
    # Then the order is not charged: the capture is refunded at once and recorded as the order's refund
    assert isinstance(outcome, Declined)
    assert len(provider.captures("ord-1")) == 1
    assert len(provider.statement.refunds("ord-1")) == 1
    assert ledger.find("ord-1", "CHARGE") is None
    assert ledger.find("ord-1", "REFUND") is not None
