"""The payment provider the service ships with: deterministic, driven by the token like test card numbers.

See ``services.shared.contract`` for the tokens. Identifiers derive from the order, the way a real provider
deduplicates on an idempotency key: asking twice for the same order's charge yields the same payment.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from services.payment.logic import Approved, NoAnswer, PaymentProviderUnavailableError
from services.payment.models import Declined
from services.shared.contract import TOKEN_ALWAYS_TRANSIENT, TOKEN_DECLINE, TOKEN_HANG, TOKEN_TRANSIENT

TRANSIENT_FAILURES_BEFORE_SUCCESS = 2


def _reference(prefix: str, order_id: str) -> str:
    return f"{prefix}_{hashlib.sha256(order_id.encode()).hexdigest()[:24]}"


class DeterministicPaymentProvider:
    def authorize_and_capture(
        self, *, order_id: str, amount: Decimal, currency: str, token: str, attempt: int
    ) -> Approved | Declined | NoAnswer:
        if token == TOKEN_DECLINE:
            return Declined(reason="Card declined by the issuer (insufficient funds)")
        if token == TOKEN_ALWAYS_TRANSIENT:
            raise PaymentProviderUnavailableError("Payment provider unavailable")
        if token == TOKEN_TRANSIENT and attempt <= TRANSIENT_FAILURES_BEFORE_SUCCESS:
            raise PaymentProviderUnavailableError(f"Payment provider timed out (attempt {attempt})")
        if token == TOKEN_HANG:
            return NoAnswer()
        return Approved(payment_id=_reference("pay", order_id))

    def refund(self, *, order_id: str, payment_id: str, amount: Decimal, currency: str) -> str:
        return _reference("re", order_id)
