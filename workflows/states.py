"""State names of the order workflow, defined once.

Tests, the local runtime's reports and the MockConfigFile scenarios refer to states by these names.
"""

from __future__ import annotations

from typing import Final

from services.shared.contract import Milestone

STATE_MACHINE_NAME_SUFFIX: Final = "order-workflow"

VALIDATE_ORDER: Final = "Validate Order"
# When the orders function kept failing (its runtime crashed on every attempt): the order is recorded as
# rejected with that reason, under its orderId when the event names one.
IS_UNVALIDATED_ORDER_NAMED: Final = "Is Unvalidated Order Named?"
DESCRIBE_UNVALIDATED_ORDER: Final = "Describe Unvalidated Order"
DESCRIBE_UNNAMED_ORDER: Final = "Describe Unnamed Order"
IS_ORDER_VALID: Final = "Is Order Valid?"
RECORD_REJECTION: Final = "Record Rejection"
ORDER_REJECTED: Final = "Order Rejected"
RECORD_ORDER: Final = "Record Order"
DUPLICATE_ORDER: Final = "Duplicate Order"

CHOOSE_PAYMENT_LANE: Final = "Choose Payment Lane"
REQUEST_PAYMENT: Final = "Request Payment"
REQUEST_PRIORITY_PAYMENT: Final = "Request Priority Payment"
MARK_ORDER_PAID: Final = "Mark Order Paid"

RESERVE_STOCK: Final = "Reserve Stock"
RESERVE_ITEM: Final = "Reserve Item"

REQUEST_SHIPMENT: Final = "Request Shipment"
COMPLETE_ORDER: Final = "Complete Order"
EMIT_ORDER_COMPLETED: Final = "Emit OrderCompleted"
ORDER_COMPLETED: Final = "Order Completed"

# Compensation (saga)
CANCEL_SHIPMENT: Final = "Cancel Shipment"
PARK_FAILED_SHIPMENT_CANCEL: Final = "Park Failed Shipment Cancel"
ALERT_FAILED_SHIPMENT_CANCEL: Final = "Alert Failed Shipment Cancel"
RELEASE_STOCK: Final = "Release Stock"
RELEASE_ITEM: Final = "Release Item"
REFUND_PAYMENT: Final = "Refund Payment"
PARK_FAILED_RELEASE: Final = "Park Failed Release"
ALERT_FAILED_RELEASE: Final = "Alert Failed Release"
PARK_FAILED_REFUND: Final = "Park Failed Refund"
ALERT_FAILED_REFUND: Final = "Alert Failed Refund"
CANCEL_ORDER: Final = "Cancel Order"
EMIT_ORDER_CANCELLED: Final = "Emit OrderCancelled"
ORDER_CANCELLED: Final = "Order Cancelled"


def describe(milestone: Milestone) -> str:
    """The Pass state that builds a milestone's lifecycle message."""
    return f"Describe {milestone.value.capitalize()}"


def notify(milestone: Milestone) -> str:
    """The SNS publish to ``order-status`` at a milestone."""
    return f"Notify {milestone.value.capitalize()}"


def track(milestone: Milestone) -> str:
    """The Kinesis putRecord of a lifecycle event at a milestone."""
    return f"Track {milestone.value.capitalize()}"


# Errors the workflow ends with (Fail states), beside the services' own error names.
ORDER_REJECTED_ERROR: Final = "OrderRejected"
ORDER_CANCELLED_ERROR: Final = "OrderCancelled"
