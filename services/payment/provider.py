"""The payment provider the service ships with: deterministic, driven by the token like test card numbers.

See ``services.shared.contract`` for the tokens. Identifiers derive from the order, the way a real provider
deduplicates on an idempotency key: asking twice for the same order's charge yields the same payment id.

Like a real provider it keeps its own statement of every capture and refund it made (its dashboard), which
can be asked per order: in memory, or in its own DynamoDB table (``PAYMENT_PROVIDER_TABLE``) so that every
Lambda process, and anyone auditing, sees one record. A provider's idempotency keys expire, so each capture
asked for is recorded as money taken: keeping one charge per order is the service's job
(``services.payment.logic``, which asks the provider what it already did before asking it to do it), and a
second capture here is the double charge a customer would see on a statement.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

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


@dataclass(frozen=True)
class Refund:
    """Money the provider gave back: one line of the merchant's statement."""

    order_id: str
    refund_id: str
    amount: Decimal
    currency: str


class Statement(Protocol):
    """The provider's own record of the money it moved, oldest first per order."""

    def record(self, movement: Capture | Refund) -> None: ...

    def captures(self, order_id: str) -> list[Capture]: ...

    def refunds(self, order_id: str) -> list[Refund]: ...


class InMemoryStatement:
    """The statement of a provider that lives as long as its process (tests, one-off runs)."""

    def __init__(self) -> None:
        self._movements: dict[str, list[Capture | Refund]] = {}
        self._lock = threading.Lock()

    def record(self, movement: Capture | Refund) -> None:
        with self._lock:
            self._movements.setdefault(movement.order_id, []).append(movement)

    def captures(self, order_id: str) -> list[Capture]:
        with self._lock:
            return [m for m in self._movements.get(order_id, ()) if isinstance(m, Capture)]

    def refunds(self, order_id: str) -> list[Refund]:
        with self._lock:
            return [m for m in self._movements.get(order_id, ()) if isinstance(m, Refund)]


class DeterministicPaymentProvider:
    def __init__(self, statement: Statement | None = None) -> None:
        self.statement: Statement = statement if statement is not None else InMemoryStatement()

    def captures(self, order_id: str) -> list[Capture]:
        """Every capture made for ``order_id``, oldest first (two means the customer paid twice)."""
        return self.statement.captures(order_id)

    def find_capture(self, *, order_id: str) -> Approved | None:
        """The capture already made for the order, if any (a real provider's search by reference)."""
        captures = self.statement.captures(order_id)
        return Approved(payment_id=captures[0].payment_id) if captures else None

    def find_refund(self, *, order_id: str) -> str | None:
        refunds = self.statement.refunds(order_id)
        return refunds[0].refund_id if refunds else None

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
        self.statement.record(capture)
        return Approved(payment_id=capture.payment_id)

    def refund(self, *, order_id: str, payment_id: str, amount: Decimal, currency: str) -> str:
        refund = Refund(
            order_id=order_id, refund_id=_reference("re", order_id), amount=amount, currency=currency
        )
        self.statement.record(refund)
        return refund.refund_id
