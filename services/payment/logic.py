"""Charging and refunding orders: one charge per order, at most one refund, every movement in the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from services.payment.models import (
    Captured,
    ChargeOutcome,
    ChargePending,
    ChargeResult,
    Declined,
    LedgerEntry,
    PaymentNotification,
    PaymentRequest,
    RefundResult,
)

_CENTS = Decimal("0.01")


class PaymentProviderUnavailableError(RuntimeError):
    """The provider could not answer now; the request is retried."""


class EntryBlockedError(Exception):
    """The ledger refused an entry because the order has the entry that excludes it (a charge and a void)."""


# The answer to a charge that arrives after the workflow gave up on the order and compensated it.
VOIDED_REASON = "The order was cancelled before it was charged"


@dataclass(frozen=True)
class Approved:
    payment_id: str


@dataclass(frozen=True)
class NoAnswer:
    """The provider accepted the request and never answered; the workflow's heartbeat timeout decides."""


class PaymentProvider(Protocol):
    def authorize_and_capture(
        self, *, order_id: str, amount: Decimal, currency: str, token: str, attempt: int
    ) -> Approved | Declined | NoAnswer: ...

    def refund(self, *, order_id: str, payment_id: str, amount: Decimal, currency: str) -> str: ...

    # What the provider already did for the order: an attempt may have moved the money and crashed before
    # the ledger recorded it, and a provider's idempotency keys do not last for ever.
    def find_capture(self, *, order_id: str) -> Approved | None: ...

    def find_refund(self, *, order_id: str) -> str | None: ...


class Ledger(Protocol):
    def find(self, order_id: str, entry_id: str) -> LedgerEntry | None: ...

    def record(self, entry: LedgerEntry, *, unless: str | None = None) -> tuple[LedgerEntry, bool]:
        """Store ``entry`` unless the order has it already: (stored entry, whether this call stored it).

        With ``unless``, atomically refuse it (``EntryBlockedError``) if the order has that entry.
        """
        ...


class PaymentNotifier(Protocol):
    def publish(self, notification: PaymentNotification) -> None: ...


def money(amount: Decimal) -> str:
    return str(amount.quantize(_CENTS))


def charge_order(
    request: PaymentRequest,
    *,
    attempt: int,
    now: str,
    provider: PaymentProvider,
    ledger: Ledger,
    notifier: PaymentNotifier,
) -> ChargeOutcome:
    """Authorize and capture the order's amount, unless the ledger shows it was already charged."""
    existing = ledger.find(request.orderId, "CHARGE")
    if existing is not None:
        return Captured(result=_charge_result(existing), first_time=False)
    if ledger.find(request.orderId, "VOID") is not None:
        # The workflow stopped waiting (a timeout) and compensated the order: nothing may be taken now.
        return Declined(reason=VOIDED_REASON)

    # An attempt that captured and crashed before the ledger write left the money taken: record that capture.
    answer = provider.find_capture(order_id=request.orderId) or provider.authorize_and_capture(
        order_id=request.orderId,
        amount=request.amount,
        currency=request.currency,
        token=request.payment.token,
        attempt=attempt,
    )
    if isinstance(answer, NoAnswer):
        return ChargePending()
    if isinstance(answer, Declined):
        notifier.publish(_notification(request, "declined", reason=answer.reason))
        return answer

    # Announced before the ledger write: once the ledger holds the charge, a retry returns early, so a
    # publish that failed after it would never be made (a retry may announce twice; never not at all).
    notifier.publish(_notification(request, "captured", reference=answer.payment_id))
    charge = LedgerEntry(
        orderId=request.orderId,
        entryId="CHARGE",
        reference=answer.payment_id,
        amount=money(request.amount),
        currency=request.currency,
        createdAt=now,
        attempt=attempt,
    )
    try:
        stored, first_time = ledger.record(charge, unless="VOID")
    except EntryBlockedError:
        # Voided while the provider captured: give the money back at once, recorded as the order's refund.
        _give_back(request, charge, now=now, provider=provider, ledger=ledger, notifier=notifier)
        return Declined(reason=VOIDED_REASON)
    return Captured(result=_charge_result(stored), first_time=first_time)


def refund_order(
    request: PaymentRequest,
    *,
    now: str,
    provider: PaymentProvider,
    ledger: Ledger,
    notifier: PaymentNotifier,
) -> RefundResult:
    """Give back what the order was charged; an order never charged has nothing to refund."""
    charge = ledger.find(request.orderId, "CHARGE")
    if charge is None:
        # A charge may still be on its way (the workflow gave up waiting for it): void the order, so that it
        # is never taken, unless it was recorded in the meantime.
        void = LedgerEntry(
            orderId=request.orderId,
            entryId="VOID",
            reference="none",
            amount=money(Decimal("0")),
            currency=request.currency,
            createdAt=now,
        )
        try:
            ledger.record(void, unless="CHARGE")
        except EntryBlockedError:
            charge = ledger.find(request.orderId, "CHARGE")
        if charge is None:
            return RefundResult(refundId=None, status="NOTHING_TO_REFUND", amount=money(Decimal("0")))
    refund = _give_back(request, charge, now=now, provider=provider, ledger=ledger, notifier=notifier)
    return RefundResult(refundId=refund.reference, status="REFUNDED", amount=refund.amount)


def _give_back(
    request: PaymentRequest,
    charge: LedgerEntry,
    *,
    now: str,
    provider: PaymentProvider,
    ledger: Ledger,
    notifier: PaymentNotifier,
) -> LedgerEntry:
    """Refund ``charge`` once: the order's REFUND entry, made now unless the ledger has it already."""
    refund = ledger.find(request.orderId, "REFUND")
    if refund is not None:
        return refund
    # The ledger's captured amount is what the customer paid, whatever the request says.
    refund_id = provider.find_refund(order_id=request.orderId) or provider.refund(
        order_id=request.orderId,
        payment_id=charge.reference,
        amount=Decimal(charge.amount),
        currency=charge.currency,
    )
    # Announced before the ledger write, for the reason given in ``charge_order``.
    notifier.publish(
        PaymentNotification(
            orderId=request.orderId,
            customerId=request.customerId,
            event="refunded",
            amount=charge.amount,
            currency=charge.currency,
            reference=refund_id,
        )
    )
    refund, _ = ledger.record(
        LedgerEntry(
            orderId=request.orderId,
            entryId="REFUND",
            reference=refund_id,
            amount=charge.amount,
            currency=charge.currency,
            createdAt=now,
        )
    )
    return refund


def _charge_result(entry: LedgerEntry) -> ChargeResult:
    return ChargeResult(paymentId=entry.reference, amount=entry.amount, currency=entry.currency)


def _notification(
    request: PaymentRequest, event: str, *, reference: str | None = None, reason: str | None = None
) -> PaymentNotification:
    return PaymentNotification.model_validate(
        {
            "orderId": request.orderId,
            "customerId": request.customerId,
            "event": event,
            "amount": money(request.amount),
            "currency": request.currency,
            "reference": reference,
            "reason": reason,
        }
    )
