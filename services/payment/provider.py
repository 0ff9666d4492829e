"""The payment provider the service ships with: deterministic, driven by the token like test card numbers.

See ``services.shared.contract`` for the tokens. Identifiers derive from the order, the way a real provider
deduplicates on an idempotency key: asking twice for the same order's charge yields the same payment id.

Like a real provider it keeps a record of every capture it made, which can be asked per order. A provider's
idempotency keys expire, so each capture asked for is recorded as money taken: keeping one charge per order
is the ledger's job (``services.payment.logic``), and a second capture here is the double charge a customer
would see on a statement.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from decimal import Decimal

from services.payment.logic import Approved, NoAnswer, PaymentProviderUnavailableError
from services.payment.models import Declined
from services.shared.contract import TOKEN_ALWAYS_TRANSIENT, TOKEN_DECLINE, TOKEN_HANG, TOKEN_TRANSIENT

TRANSIENT_FAILURES_BEFORE_SUCCESS = 2


def _reference(prefix: str, order_id: str) -> str:
    return f"{prefix}_{hashlib.sha256(order_id.encode()).hexdigest()[:24]}"


@dataclass(frozen=True)
class Capture:
    """Money the provider took: one line of the merchant's statement."""

    order_id: str
    payment_id: str
    amount: Decimal
    currency: str


class DeterministicPaymentProvider:
    def __init__(self) -> None:
        self._captures: dict[str, list[Capture]] = {}
        self._lock = threading.Lock()

    def captures(self, order_id: str) -> list[Capture]:
        """Every capture made for ``order_id``, oldest first (two means the customer paid twice)."""
        with self._lock:
            return list(self._captures.get(order_id, ()))

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
        capture = Capture(
            order_id=order_id, payment_id=_reference("pay", order_id), amount=amount, currency=currency
        )
        with self._lock:
            self._captures.setdefault(order_id, []).append(capture)
        return Approved(payment_id=capture.payment_id)

    def refund(self, *, order_id: str, payment_id: str, amount: Decimal, currency: str) -> str:
        return _reference("re", order_id)
