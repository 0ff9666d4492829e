"""Each decision of the order workflow, one state at a time, with its services mocked (TestState).

Every Choice rule, every Catch and Retry, every ResultSelector and ResultPath of the synthesized workflow.
Retries are tested as AWS's TestState tests them: ``retrierRetryCount`` says how many were made; with
attempts left the state is RETRIABLE (with the next backoff), with none left the error goes on to Catch.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import pytest

from services.shared.contract import Milestone
from tests.workflows.states.conftest import StateTester
from workflows import states

ORDER_KEY = "ord-1001"


def validated(*, priority: bool = False, valid: bool = True) -> dict[str, Any]:
    """The execution's document after Validate Order: the event, and the validation at ``$.validation``."""
    order = {
        "orderId": ORDER_KEY,
        "customerId": "cust-42",
        "currency": "EUR",
        "items": [
            {"sku": "SKU-1", "quantity": 2, "unitPrice": "19.99"},
            {"sku": "SKU-7", "quantity": 1, "unitPrice": "5.00"},
        ],
        "totalAmount": "44.98",
        "priority": priority,
        "payment": {"method": "card", "token": "tok_visa"},
        "shippingAddress": {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
                            "postalCode": "SW1Y 4JH", "country": "GB"},
        "contact": {"email": "ada@example.com"},
    }  # fmt: skip
    return {
        "id": "evt-1",
        "detail-type": "OrderPlaced",
        "detail": order,
        "validation": {
            "valid": valid,
            "orderKey": ORDER_KEY,
            "order": order if valid else None,
            "reason": "" if valid else "currency: String should match pattern '^[A-Z]{3}$'",
            "rawDetail": "{}",
            "eventId": "evt-1",
        },
    }


def with_(document: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**copy.deepcopy(document), **fields}


PAYMENT = {"paymentId": "pay-1", "status": "CAPTURED", "amount": "44.98", "currency": "EUR"}
SHIPMENT = {"shipmentId": "shp-1", "trackingNumber": "TRK-1", "carrier": "Local Parcel Co"}
FAILURE = {"Error": "ShipmentRejected", "Cause": "carrier does not serve AQ"}
PAID = with_(validated(), payment=PAYMENT)
SHIPPED = with_(PAID, shipment=SHIPMENT)
REFUNDING = with_(PAID, failure=FAILURE)
FAILING = with_(validated(), failure=FAILURE)
COMPENSATING = with_(
    PAID, failure=FAILURE, compensationFailure={"Error": "States.Timeout", "Cause": "no answer"}
)

# What each service answers, in the shape of its API (checked under STRICT by TestState).
SNS_PUBLISHED = {"MessageId": "5f0f3f7e-0000-4000-8000-000000000001"}
KINESIS_PUT = {
    "SequenceNumber": "4959033827149025660855969253836157109592",
    "ShardId": "shardId-000000000000",
}
EVENTS_PUT = {"Entries": [{"EventId": "11710aed-b79e-4468-a20b-bb3c0c3b4860"}], "FailedEntryCount": 0}
SQS_SENT = {"MD5OfMessageBody": "3bcb6e8e7e854375b0bc1a59812c6e51", "MessageId": "3bcb6e8e-8b51-4375"}
DYNAMODB_WRITTEN: dict[str, Any] = {}


# -- Choice rules --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "next_state"),
    [
        (validated(valid=True), states.RECORD_ORDER),
        (validated(valid=False), states.RECORD_REJECTION),
    ],
    ids=["valid", "invalid"],
)
def test_is_order_valid(teststate: StateTester, document: dict[str, Any], next_state: str) -> None:
    answer = teststate(states.IS_ORDER_VALID, document)
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", next_state)
    assert answer["output"] == answer["inspectionData"]["input"]  # a Choice passes its input on


@pytest.mark.parametrize(
    ("priority", "next_state"),
    [(True, states.REQUEST_PRIORITY_PAYMENT), (False, states.REQUEST_PAYMENT)],
    ids=["priority", "standard"],
)
def test_choose_payment_lane(teststate: StateTester, priority: bool, next_state: str) -> None:
    answer = teststate(states.CHOOSE_PAYMENT_LANE, validated(priority=priority))
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", next_state)


# -- Catch ---------------------------------------------------------------------------------------------------

DUPLICATE = ("DynamoDB.ConditionalCheckFailedException", "The conditional request failed")


@pytest.mark.parametrize("state", [states.RECORD_ORDER, states.RECORD_REJECTION])
def test_an_order_already_recorded_is_a_duplicate(teststate: StateTester, state: str) -> None:
    answer = teststate(state, validated(), error=DUPLICATE)
    assert (answer["status"], answer["nextState"]) == ("CAUGHT_ERROR", states.DUPLICATE_ORDER)
    assert _output(answer)["duplicate"] == {"Error": DUPLICATE[0], "Cause": DUPLICATE[1]}


def test_recording_fails_the_order_on_any_other_error(teststate: StateTester) -> None:
    answer = teststate(
        states.RECORD_ORDER, validated(), error=("DynamoDB.ResourceNotFoundException", "no table")
    )
    assert (answer["status"], answer["error"]) == ("FAILED", "DynamoDB.ResourceNotFoundException")


@pytest.mark.parametrize("state", [states.REQUEST_PAYMENT, states.REQUEST_PRIORITY_PAYMENT])
@pytest.mark.parametrize(
    ("error", "next_state", "catch_index"),
    [
        ("PaymentDeclined", states.CANCEL_ORDER, 0),  # nothing was charged: no refund
        ("States.HeartbeatTimeout", states.REFUND_PAYMENT, 1),  # a charge may have happened
        ("States.Timeout", states.REFUND_PAYMENT, 1),
    ],
)
def test_a_failed_payment_cancels_or_refunds(
    teststate: StateTester, state: str, error: str, next_state: str, catch_index: int
) -> None:
    answer = teststate(state, validated(), error=(error, "from the payment service"))
    assert (answer["status"], answer["nextState"]) == ("CAUGHT_ERROR", next_state)
    assert _output(answer)["failure"] == {"Error": error, "Cause": "from the payment service"}
    assert answer["inspectionData"]["errorDetails"]["catchIndex"] == catch_index


def test_a_failed_shipment_releases_the_stock(teststate: StateTester) -> None:
    answer = teststate(states.REQUEST_SHIPMENT, PAID, error=(FAILURE["Error"], FAILURE["Cause"]))
    assert (answer["status"], answer["nextState"]) == ("CAUGHT_ERROR", states.RELEASE_STOCK)
    assert _output(answer)["failure"] == FAILURE


def test_an_item_out_of_stock_releases_what_was_reserved(teststate: StateTester) -> None:
    answer = teststate(
        states.RESERVE_STOCK,
        PAID,
        error=("OutOfStock", "SKU-7: only 0 available"),
        caused_by=states.RESERVE_ITEM,
    )
    assert (answer["status"], answer["nextState"]) == ("CAUGHT_ERROR", states.RELEASE_STOCK)
    assert _output(answer)["failure"] == {"Error": "OutOfStock", "Cause": "SKU-7: only 0 available"}


def test_a_release_that_fails_is_parked(teststate: StateTester) -> None:
    answer = teststate(
        states.RELEASE_STOCK, REFUNDING, error=("States.Timeout", "no answer"), caused_by=states.RELEASE_ITEM
    )
    assert (answer["status"], answer["nextState"]) == ("CAUGHT_ERROR", states.PARK_FAILED_RELEASE)
    assert _output(answer)["compensationFailure"] == {"Error": "States.Timeout", "Cause": "no answer"}


# -- Retry: attempts left → RETRIABLE with its backoff; none left → Catch, or the order fails ---------------


@dataclass(frozen=True)
class RetryCase:
    """A retrier of ``state`` and an error it takes."""

    state: str
    document: dict[str, Any]
    error: str
    max_attempts: int
    backoff_after_one: int  # seconds, after one retry was made
    then: str | None  # where the error goes once the retries are used (None: the execution fails)


ITEM = {"orderId": ORDER_KEY, "sku": "SKU-1", "quantity": 2}
THROTTLED = "DynamoDB.ProvisionedThroughputExceededException"
RETRIES = [
    RetryCase(states.VALIDATE_ORDER, {"detail": {}}, "Lambda.ServiceException", 6, 4, None),
    RetryCase(states.VALIDATE_ORDER, {"detail": {}}, "Lambda.SdkClientException", 6, 4, None),
    RetryCase(states.REQUEST_PAYMENT, validated(), "SQS.AmazonSQSException", 3, 2, states.REFUND_PAYMENT),
    RetryCase(
        states.REQUEST_PRIORITY_PAYMENT,
        validated(priority=True),
        "SQS.SdkClientException",
        3,
        2,
        states.REFUND_PAYMENT,
    ),
    RetryCase(states.MARK_ORDER_PAID, PAID, THROTTLED, 3, 2, None),
    RetryCase(states.COMPLETE_ORDER, SHIPPED, "DynamoDB.InternalServerErrorException", 3, 2, None),
    RetryCase(states.CANCEL_ORDER, FAILING, THROTTLED, 3, 2, None),
    RetryCase(
        states.REFUND_PAYMENT, with_(PAID, failure=FAILURE), "States.Timeout", 3, 4, states.PARK_FAILED_REFUND
    ),
    RetryCase(states.RELEASE_ITEM, ITEM, "States.Timeout", 3, 4, None),
    RetryCase(states.PARK_FAILED_RELEASE, COMPENSATING, "SQS.AmazonSQSException", 5, 2, None),
    RetryCase(states.PARK_FAILED_REFUND, COMPENSATING, "SQS.AmazonSQSException", 5, 2, None),
    RetryCase(
        states.ALERT_FAILED_RELEASE, COMPENSATING, "SNS.InternalErrorException", 3, 2, states.REFUND_PAYMENT
    ),
    RetryCase(
        states.ALERT_FAILED_REFUND, COMPENSATING, "SNS.InternalErrorException", 3, 2, states.CANCEL_ORDER
    ),
    RetryCase(states.EMIT_ORDER_COMPLETED, SHIPPED, "EventBridge.InternalException", 3, 2, None),
    RetryCase(states.EMIT_ORDER_CANCELLED, FAILING, "EventBridge.InternalException", 3, 2, None),
]

# Each milestone's SNS notice and Kinesis record: one retry of States.TaskFailed, then on without them.
ANNOUNCED = {
    Milestone.PLACED: validated(),
    Milestone.PAID: PAID,
    Milestone.SHIPPED: SHIPPED,
    Milestone.CANCELLED: FAILING,
    Milestone.REJECTED: validated(valid=False),
}
AFTER_TRACK = {
    Milestone.PLACED: states.CHOOSE_PAYMENT_LANE,
    Milestone.PAID: states.RESERVE_STOCK,
    Milestone.SHIPPED: states.EMIT_ORDER_COMPLETED,
    Milestone.CANCELLED: states.EMIT_ORDER_CANCELLED,
    Milestone.REJECTED: states.ORDER_REJECTED,
}


def announcing(milestone: Milestone) -> dict[str, Any]:
    announcement = {"orderId": ORDER_KEY, "status": milestone.value, "orderValue": "1"}
    return with_(ANNOUNCED[milestone], announcement=announcement)


for _milestone in Milestone:
    RETRIES += [
        RetryCase(
            states.notify(_milestone),
            announcing(_milestone),
            "SNS.InternalErrorException",
            2,
            2,
            states.track(_milestone),
        ),
        RetryCase(
            states.track(_milestone),
            announcing(_milestone),
            "Kinesis.KMSThrottlingException",
            2,
            2,
            AFTER_TRACK[_milestone],
        ),
    ]
RETRY_CASES = [pytest.param(case, id=f"{case.state}: {case.error}") for case in RETRIES]


@pytest.mark.parametrize("case", RETRY_CASES)
def test_a_retrier_with_attempts_left_retries_with_its_backoff(
    teststate: StateTester, case: RetryCase
) -> None:
    answer = teststate(case.state, case.document, error=(case.error, "transient"), retries_made=1)
    assert (answer["status"], answer["error"]) == ("RETRIABLE", case.error)
    assert answer["inspectionData"]["errorDetails"]["retryBackoffIntervalSeconds"] == case.backoff_after_one


@pytest.mark.parametrize("case", RETRY_CASES)
def test_a_retrier_without_attempts_left_hands_the_error_on(teststate: StateTester, case: RetryCase) -> None:
    answer = teststate(
        case.state, case.document, error=(case.error, "still failing"), retries_made=case.max_attempts
    )
    if case.then is None:
        assert (answer["status"], answer["error"]) == ("FAILED", case.error)
    else:
        assert (answer["status"], answer["nextState"]) == ("CAUGHT_ERROR", case.then)


def test_an_error_no_retrier_takes_is_not_retried(teststate: StateTester) -> None:
    answer = teststate(states.VALIDATE_ORDER, {"detail": {}}, error=("ValidationCrashed", "a bug"))
    assert (answer["status"], answer["error"]) == ("FAILED", "ValidationCrashed")
    assert "errorDetails" not in answer["inspectionData"]


# -- ResultSelector and ResultPath ---------------------------------------------------------------------------


def test_reserve_stock_keeps_only_the_reservations(teststate: StateTester) -> None:
    reservations = [
        {
            "orderId": ORDER_KEY,
            "sku": "SKU-1",
            "quantity": 2,
            "reservation": {"sku": "SKU-1", "reservationId": "R1"},
        },
        {
            "orderId": ORDER_KEY,
            "sku": "SKU-7",
            "quantity": 1,
            "reservation": {"sku": "SKU-7", "reservationId": "R2"},
        },
    ]
    answer = teststate(states.RESERVE_STOCK, PAID, result=reservations)
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", states.REQUEST_SHIPMENT)
    assert _json(answer["inspectionData"]["afterResultSelector"]) == {
        "items": [{"sku": "SKU-1", "reservationId": "R1"}, {"sku": "SKU-7", "reservationId": "R2"}]
    }
    assert _output(answer) == with_(PAID, reservations=_json(answer["inspectionData"]["afterResultSelector"]))


@dataclass(frozen=True)
class ResultPathCase:
    """A Task's mocked result, and where its ResultPath puts it."""

    state: str
    document: dict[str, Any]
    result: Any
    result_path: str | None  # None: the result is discarded (ResultPath null)
    next_state: str  # "" for the last state of a Map iteration


RESULT_PATHS = [
    ResultPathCase(
        states.VALIDATE_ORDER, {"detail": {}}, validated()["validation"], "validation", states.IS_ORDER_VALID
    ),
    ResultPathCase(states.RECORD_ORDER, validated(), {}, None, states.describe(Milestone.PLACED)),
    ResultPathCase(
        states.RECORD_REJECTION, validated(valid=False), {}, None, states.describe(Milestone.REJECTED)
    ),
    ResultPathCase(states.REQUEST_PAYMENT, validated(), PAYMENT, "payment", states.MARK_ORDER_PAID),
    ResultPathCase(
        states.REQUEST_PRIORITY_PAYMENT, validated(priority=True), PAYMENT, "payment", states.MARK_ORDER_PAID
    ),
    ResultPathCase(states.MARK_ORDER_PAID, PAID, {}, None, states.describe(Milestone.PAID)),
    ResultPathCase(states.RESERVE_ITEM, ITEM, {"reservationId": "R1"}, "reservation", ""),
    ResultPathCase(states.REQUEST_SHIPMENT, PAID, SHIPMENT, "shipment", states.COMPLETE_ORDER),
    ResultPathCase(states.COMPLETE_ORDER, SHIPPED, {}, None, states.describe(Milestone.SHIPPED)),
    ResultPathCase(states.EMIT_ORDER_COMPLETED, SHIPPED, EVENTS_PUT, None, states.ORDER_COMPLETED),
    ResultPathCase(
        states.RELEASE_STOCK, REFUNDING, [{"release": {"released": 2}}], "releases", states.REFUND_PAYMENT
    ),
    ResultPathCase(states.RELEASE_ITEM, ITEM, {"released": 2}, "release", ""),
    ResultPathCase(states.REFUND_PAYMENT, REFUNDING, {"refundId": "ref-1"}, "refund", states.CANCEL_ORDER),
    ResultPathCase(states.PARK_FAILED_RELEASE, COMPENSATING, SQS_SENT, None, states.ALERT_FAILED_RELEASE),
    ResultPathCase(states.ALERT_FAILED_RELEASE, COMPENSATING, SNS_PUBLISHED, None, states.REFUND_PAYMENT),
    ResultPathCase(states.PARK_FAILED_REFUND, COMPENSATING, SQS_SENT, None, states.ALERT_FAILED_REFUND),
    ResultPathCase(states.ALERT_FAILED_REFUND, COMPENSATING, SNS_PUBLISHED, None, states.CANCEL_ORDER),
    ResultPathCase(states.CANCEL_ORDER, FAILING, {}, None, states.describe(Milestone.CANCELLED)),
    ResultPathCase(states.EMIT_ORDER_CANCELLED, FAILING, EVENTS_PUT, None, states.ORDER_CANCELLED),
]
for _milestone in Milestone:
    RESULT_PATHS += [
        ResultPathCase(
            states.notify(_milestone), announcing(_milestone), SNS_PUBLISHED, None, states.track(_milestone)
        ),
        ResultPathCase(
            states.track(_milestone), announcing(_milestone), KINESIS_PUT, None, AFTER_TRACK[_milestone]
        ),
    ]


@pytest.mark.parametrize("case", [pytest.param(case, id=case.state) for case in RESULT_PATHS])
def test_a_task_result_goes_where_its_result_path_says(teststate: StateTester, case: ResultPathCase) -> None:
    answer = teststate(case.state, case.document, result=case.result)
    assert answer["status"] == "SUCCEEDED"
    assert answer.get("nextState", "") == case.next_state
    placed = (
        case.document if case.result_path is None else with_(case.document, **{case.result_path: case.result})
    )
    assert _output(answer) == placed


@pytest.mark.parametrize("milestone", list(Milestone))
def test_each_milestone_is_described_at_announcement(teststate: StateTester, milestone: Milestone) -> None:
    document = ANNOUNCED[milestone]
    answer = teststate(states.describe(milestone), document)
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", states.notify(milestone))
    announcement = _output(answer)["announcement"]
    assert announcement["status"] == milestone.value
    assert announcement["orderId"] == ORDER_KEY
    assert _output(answer) == with_(document, announcement=announcement)


def test_the_end_states_end_the_order(teststate: StateTester) -> None:
    rejected = teststate(states.ORDER_REJECTED, validated(valid=False))
    cancelled = teststate(states.ORDER_CANCELLED, with_(validated(), failure=FAILURE))
    completed = teststate(states.ORDER_COMPLETED, SHIPPED)
    duplicate = teststate(states.DUPLICATE_ORDER, validated())
    assert (rejected["status"], rejected["error"]) == ("FAILED", states.ORDER_REJECTED_ERROR)
    assert (cancelled["status"], cancelled["error"]) == ("FAILED", states.ORDER_CANCELLED_ERROR)
    assert completed["status"] == duplicate["status"] == "SUCCEEDED"
    assert "nextState" not in completed and "nextState" not in duplicate


def _json(text: str) -> Any:
    return json.loads(text)


def _output(answer: dict[str, Any]) -> Any:
    return _json(answer["output"])
