"""In-memory stand-ins for the services' AWS-facing interfaces."""

from __future__ import annotations

from decimal import Decimal

from services.analytics.models import AggregateIncrement
from services.dlq_inspector.models import DeadLetter, DlqReport
from services.inventory.logic import InsufficientStockError
from services.inventory.models import LowStockAlert, Reservation
from services.notification.models import NotificationRecord
from services.payment.logic import Approved, EntryBlockedError, NoAnswer
from services.payment.models import Declined, LedgerEntry, PaymentNotification
from services.payment.provider import DeterministicPaymentProvider


class InMemoryLedger:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], LedgerEntry] = {}

    def find(self, order_id: str, entry_id: str) -> LedgerEntry | None:
        return self.entries.get((order_id, entry_id))

    def record(self, entry: LedgerEntry, *, unless: str | None = None) -> tuple[LedgerEntry, bool]:
        if unless is not None and (entry.orderId, unless) in self.entries:
            raise EntryBlockedError(f"{entry.orderId} has {unless}")
        key = (entry.orderId, entry.entryId)
        if key in self.entries:
            return self.entries[key], False
        self.entries[key] = entry
        return entry, True


class RecordingPaymentNotifier:
    def __init__(self) -> None:
        self.published: list[PaymentNotification] = []

    def publish(self, notification: PaymentNotification) -> None:
        self.published.append(notification)


class CountingProvider(DeterministicPaymentProvider):
    """The shipped provider, counting how often money would move and recording each refund asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.charges = 0
        self.refunds = 0
        self.refunds_asked: list[tuple[str, str, Decimal, str]] = []  # order id, payment id, amount, currency

    def authorize_and_capture(
        self, *, order_id: str, amount: Decimal, currency: str, token: str, attempt: int
    ) -> Approved | Declined | NoAnswer:
        self.charges += 1
        return super().authorize_and_capture(
            order_id=order_id, amount=amount, currency=currency, token=token, attempt=attempt
        )

    def refund(self, *, order_id: str, payment_id: str, amount: Decimal, currency: str) -> str:
        self.refunds += 1
        self.refunds_asked.append((order_id, payment_id, amount, currency))
        return super().refund(order_id=order_id, payment_id=payment_id, amount=amount, currency=currency)


class ScriptedStockStore:
    """A ``StockStore`` that answers as the test says and records what it was asked.

    The stock rules themselves (units taken once, never below zero, given back once) live in the DynamoDB
    store and are tested through the handler; the logic is tested for what it does with the store's answers.
    """

    def __init__(
        self, *, available: int, first_time: bool = True, short: bool = False, released: int = 0
    ) -> None:
        self.units_left = available
        self.first_time = first_time
        self.short = short
        self.released = released
        self.reserved: list[tuple[str, str, int, int]] = []  # sku, order id, quantity, expires at
        self.releases: list[tuple[str, str]] = []

    def reserve(self, *, sku: str, order_id: str, quantity: int, expires_at: int) -> tuple[Reservation, bool]:
        self.reserved.append((sku, order_id, quantity, expires_at))
        if self.short:
            raise InsufficientStockError(sku, quantity, self.units_left)
        reservation = Reservation(
            sku=sku, quantity=quantity, reservationId=f"RES#{order_id}", expiresAt=expires_at
        )
        return reservation, self.first_time

    def release(self, *, sku: str, order_id: str) -> int:
        self.releases.append((sku, order_id))
        return self.released

    def available(self, sku: str) -> int:
        return self.units_left


class RecordingStockAlerts:
    def __init__(self) -> None:
        self.alerts: list[LowStockAlert] = []

    def low_stock(self, alert: LowStockAlert) -> None:
        self.alerts.append(alert)


class InMemoryNotificationAudit:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], NotificationRecord] = {}

    def find(self, order_id: str, notification_id: str) -> NotificationRecord | None:
        return self.rows.get((order_id, notification_id))

    def record(self, entry: NotificationRecord) -> None:
        self.rows.setdefault((entry.orderId, entry.notificationId), entry)


class InMemoryAggregates:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}
        self.amounts: dict[tuple[str, str], Decimal] = {}

    def apply(self, increments: list[AggregateIncrement]) -> None:
        for increment in increments:
            key = (increment.pk, increment.sk)
            self.counts[key] = self.counts.get(key, 0) + increment.count
            if increment.amount is not None:
                self.amounts[key] = self.amounts.get(key, Decimal("0")) + increment.amount


class FakeDeadLetterSource:
    def __init__(self, letters: list[DeadLetter]) -> None:
        self.letters = letters
        self.peeked: list[tuple[str, int]] = []

    def peek(self, queue_name: str, limit: int) -> list[DeadLetter]:
        self.peeked.append((queue_name, limit))
        return self.letters[:limit]

    def remove(self, queue_name: str, letter: DeadLetter) -> None:
        self.letters = [kept for kept in self.letters if kept.messageId != letter.messageId]


class RecordingReportPublisher:
    def __init__(self) -> None:
        self.reports: list[DlqReport] = []

    def publish(self, report: DlqReport) -> None:
        self.reports.append(report)
