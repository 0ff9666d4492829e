"""Each decision of the order workflow, one state at a time, with its services mocked (TestState).

Every Choice rule, every Catch and Retry, every ResultSelector and ResultPath of the synthesized workflow.
Retries are tested as AWS's TestState tests them: ``retrierRetryCount`` says how many were made; with
attempts left the state is RETRIABLE (with the next backoff), with none left the error goes on to Catch.
"""

from __future__ import annotations

import contextlib
import copy
import json
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from localaws.endpoint.defaults import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from services.shared.contract import Milestone
from tests.helpers.assembly import synthesized_app
from tests.workflows.backends import order_workflow_from_assembly
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


# Each milestone is announced (SNS) and tracked (Kinesis): one retry of States.TaskFailed, then on without.
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


# -- Choice rules --------------------------------------------------------------------------------------------

# state, its document, the state its rules choose
CHOICES = [
    (states.IS_ORDER_VALID, validated(valid=True), states.RECORD_ORDER),
    (states.IS_ORDER_VALID, validated(valid=False), states.RECORD_REJECTION),
    (states.CHOOSE_PAYMENT_LANE, validated(priority=True), states.REQUEST_PRIORITY_PAYMENT),
    (states.CHOOSE_PAYMENT_LANE, validated(priority=False), states.REQUEST_PAYMENT),
]
# The verdict on an order the orders function could not validate: the state holds the error, the context
# object the event (tested below, with its context).
CRASHED = {
    "Error": "Runtime.ExitError",
    "Cause": "RequestId: r1 Error: Runtime exited with error: signal: killed",
}
UNVALIDATED_CHOICES = [
    ({"id": "evt-9", "detail": {"orderId": "ord-9"}}, states.DESCRIBE_UNVALIDATED_ORDER),
    ({"id": "evt-9", "detail": {"orderId": 9}}, states.DESCRIBE_UNNAMED_ORDER),
    ({"id": "evt-9"}, states.DESCRIBE_UNNAMED_ORDER),
]
CHOICES += [(states.IS_UNVALIDATED_ORDER_NAMED, CRASHED, next_state) for _, next_state in UNVALIDATED_CHOICES]


@pytest.mark.parametrize(
    ("state", "document", "next_state"),
    [c for c in CHOICES if c[0] != states.IS_UNVALIDATED_ORDER_NAMED],
    ids=[f"{c[0]} → {c[2]}" for c in CHOICES if c[0] != states.IS_UNVALIDATED_ORDER_NAMED],
)
def test_a_choice_rule_picks_the_next_state(
    teststate: StateTester, state: str, document: dict[str, Any], next_state: str
) -> None:
    answer = teststate(state, document)
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", next_state)
    assert _json(answer["output"]) == document  # a Choice passes its input on


@pytest.mark.parametrize(("event", "next_state"), UNVALIDATED_CHOICES)
def test_an_unvalidated_order_is_named_by_its_event_when_it_can_be(
    teststate: StateTester, event: dict[str, Any], next_state: str
) -> None:
    answer = teststate(states.IS_UNVALIDATED_ORDER_NAMED, CRASHED, context={"Execution": {"Input": event}})
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", next_state)
    assert _output(answer) == CRASHED


@pytest.mark.parametrize(
    ("state", "order_key", "event_id"),
    [
        (states.DESCRIBE_UNVALIDATED_ORDER, "ord-9", "evt-9"),
        (states.DESCRIBE_UNNAMED_ORDER, "rejected-exec-9", ""),
    ],
)
def test_an_unvalidated_order_is_described_as_rejected_with_the_error(
    teststate: StateTester, state: str, order_key: str, event_id: str
) -> None:
    context = {"Execution": {"Input": {"id": "evt-9", "detail": {"orderId": "ord-9"}}, "Name": "exec-9"}}
    answer = teststate(state, CRASHED, context=context)
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", states.RECORD_REJECTION)
    assert _output(answer) == {
        "validation": {
            "valid": False,
            "orderKey": order_key,
            "eventId": event_id,
            "reason": "detail: not validated: the orders function failed (Runtime.ExitError) on every "
            "attempt",
            "rawDetail": "not kept: the order was never validated; the whole event is in the bus archive",
        }
    }


def test_validate_order_catches_what_its_retries_leave_and_keeps_only_the_error(
    teststate: StateTester,
) -> None:
    event = {"id": "evt-9", "detail-type": "OrderPlaced", "detail": {"orderId": "ord-9"}}
    answer = teststate(states.VALIDATE_ORDER, event, error=("Runtime.ExitError", "killed"), retries_made=3)
    assert (answer["status"], answer["nextState"]) == ("CAUGHT_ERROR", states.IS_UNVALIDATED_ORDER_NAMED)
    assert _output(answer) == {"Error": "Runtime.ExitError", "Cause": "killed"}
    assert answer["inspectionData"]["errorDetails"]["catchIndex"] == 0


# -- Catch ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatchCase:
    """An error one catcher of ``state`` takes: where it goes, and where its error output is put."""

    state: str
    document: dict[str, Any]
    error: str
    next_state: str
    result_path: str
    catch_index: int
    retries_made: int | None = None  # the retries a retrier taking the error has used up
    caused_by: str | None = None  # the state inside a Map that failed


DUPLICATE = "DynamoDB.ConditionalCheckFailedException"
REJECTED = validated(valid=False)
CATCHES = [
    CatchCase(states.RECORD_ORDER, validated(), DUPLICATE, states.DUPLICATE_ORDER, "duplicate", 0),
    CatchCase(states.RECORD_REJECTION, REJECTED, DUPLICATE, states.DUPLICATE_ORDER, "duplicate", 0),
    # The order has ended already (a retried write whose first attempt applied): the record is left alone
    CatchCase(
        states.COMPLETE_ORDER, SHIPPED, DUPLICATE, states.describe(Milestone.SHIPPED), "alreadyEnded", 0
    ),
    CatchCase(
        states.CANCEL_ORDER, FAILING, DUPLICATE, states.describe(Milestone.CANCELLED), "alreadyEnded", 0
    ),
    CatchCase(states.REQUEST_SHIPMENT, PAID, "ShipmentRejected", states.RELEASE_STOCK, "failure", 0),
    # No answer (a lost callback): the parcel may be booked, so the saga cancels the shipment first.
    CatchCase(states.REQUEST_SHIPMENT, PAID, "States.HeartbeatTimeout", states.CANCEL_SHIPMENT, "failure", 1),
    CatchCase(
        states.CANCEL_SHIPMENT, REFUNDING, "States.Timeout", states.PARK_FAILED_SHIPMENT_CANCEL,
        "compensationFailure", 0, retries_made=3,
    ),
    CatchCase(
        states.ALERT_FAILED_SHIPMENT_CANCEL, COMPENSATING, "SNS.InternalErrorException", states.RELEASE_STOCK,
        "announcementError", 0, retries_made=3,
    ),
    CatchCase(
        states.RESERVE_STOCK, PAID, "OutOfStock", states.RELEASE_STOCK, "failure", 0,
        caused_by=states.RESERVE_ITEM,
    ),
    CatchCase(
        states.RELEASE_STOCK, REFUNDING, "States.Timeout", states.PARK_FAILED_RELEASE,
        "compensationFailure", 0, caused_by=states.RELEASE_ITEM,
    ),
    CatchCase(
        states.REFUND_PAYMENT, REFUNDING, "States.Timeout", states.PARK_FAILED_REFUND,
        "compensationFailure", 0, retries_made=3,
    ),
    CatchCase(
        states.ALERT_FAILED_RELEASE, COMPENSATING, "SNS.InternalErrorException", states.REFUND_PAYMENT,
        "announcementError", 0, retries_made=3,
    ),
    CatchCase(
        states.ALERT_FAILED_REFUND, COMPENSATING, "SNS.InternalErrorException", states.CANCEL_ORDER,
        "announcementError", 0, retries_made=3,
    ),
]  # fmt: skip
for _lane, _document in (
    (states.REQUEST_PAYMENT, validated()),
    (states.REQUEST_PRIORITY_PAYMENT, validated(priority=True)),
):
    CATCHES += [
        # Nothing was charged: cancel without a refund.
        CatchCase(_lane, _document, "PaymentDeclined", states.CANCEL_ORDER, "failure", 0),
        # A charge may have happened: refund, then cancel.
        CatchCase(_lane, _document, "States.HeartbeatTimeout", states.REFUND_PAYMENT, "failure", 1),
        CatchCase(_lane, _document, "States.Timeout", states.REFUND_PAYMENT, "failure", 1),
        CatchCase(
            _lane, _document, "SQS.AmazonSQSException", states.REFUND_PAYMENT, "failure", 1, retries_made=3
        ),
    ]


for _milestone in Milestone:
    CATCHES += [
        CatchCase(
            states.notify(_milestone), announcing(_milestone), "SNS.InternalErrorException",
            states.track(_milestone), "announcementError", 0, retries_made=2,
        ),
        CatchCase(
            states.track(_milestone), announcing(_milestone), "Kinesis.KMSThrottlingException",
            AFTER_TRACK[_milestone], "announcementError", 0, retries_made=2,
        ),
    ]  # fmt: skip


@pytest.mark.parametrize("case", [pytest.param(case, id=f"{case.state}: {case.error}") for case in CATCHES])
def test_a_catcher_takes_its_errors_to_its_next_state(teststate: StateTester, case: CatchCase) -> None:
    answer = teststate(
        case.state, case.document, error=(case.error, "it failed"), retries_made=case.retries_made,
        caused_by=case.caused_by,
    )  # fmt: skip
    assert (answer["status"], answer["nextState"], answer["error"]) == (
        "CAUGHT_ERROR",
        case.next_state,
        case.error,
    )
    assert _output(answer) == with_(
        case.document, **{case.result_path: {"Error": case.error, "Cause": "it failed"}}
    )
    assert answer["inspectionData"]["errorDetails"]["catchIndex"] == case.catch_index


@pytest.mark.parametrize(
    ("state", "document", "status"),
    [(states.COMPLETE_ORDER, SHIPPED, "COMPLETED"), (states.CANCEL_ORDER, FAILING, "CANCELLED")],
)
def test_an_order_that_ended_is_never_ended_again(
    teststate: StateTester, state: str, document: dict[str, Any], status: str
) -> None:
    if teststate.where == "AWS":
        pytest.skip("writes to the orders table: run against the embedded endpoint only")
    # Given the order's record with a terminal status already, as an applied first attempt leaves it
    table = json.loads(teststate.definition)["States"][state]["Parameters"]["TableName"]
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=teststate.sfn.meta.endpoint_url,
        region_name=DEFAULT_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    entry = {"M": {"status": {"S": status}, "at": {"S": "2026-11-28T12:00:00Z"}}}
    dynamodb.put_item(
        TableName=table,
        Item={"orderId": {"S": ORDER_KEY}, "status": {"S": status}, "history": {"L": [entry]}},
    )
    # When the write runs again, for real
    answer = teststate(state, document)
    # Then DynamoDB refuses it, the workflow goes on with its announcement, and the history ends once
    assert (answer["status"], answer["error"]) == ("CAUGHT_ERROR", DUPLICATE)
    item = dynamodb.get_item(TableName=table, Key={"orderId": {"S": ORDER_KEY}})["Item"]
    assert [e["M"]["status"]["S"] for e in item["history"]["L"]] == [status]


def test_recording_fails_the_order_on_an_error_no_catcher_takes(teststate: StateTester) -> None:
    answer = teststate(
        states.RECORD_ORDER, validated(), error=("DynamoDB.ResourceNotFoundException", "no table")
    )
    assert (answer["status"], answer["error"]) == ("FAILED", "DynamoDB.ResourceNotFoundException")


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
UNVALIDATED = states.IS_UNVALIDATED_ORDER_NAMED
RETRIES = [
    RetryCase(states.VALIDATE_ORDER, {"detail": {}}, "Lambda.ServiceException", 6, 4, UNVALIDATED),
    RetryCase(states.VALIDATE_ORDER, {"detail": {}}, "Lambda.SdkClientException", 6, 4, UNVALIDATED),
    # A crashed or timed-out runtime: validation reads and writes nothing, so it is tried again
    RetryCase(states.VALIDATE_ORDER, {"detail": {}}, "Runtime.ExitError", 3, 4, UNVALIDATED),
    RetryCase(states.VALIDATE_ORDER, {"detail": {}}, "Lambda.Unknown", 3, 4, UNVALIDATED),
    RetryCase(states.VALIDATE_ORDER, {"detail": {}}, "Sandbox.Timedout", 3, 4, UNVALIDATED),
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
    RetryCase(states.CANCEL_SHIPMENT, REFUNDING, "States.Timeout", 3, 4, states.PARK_FAILED_SHIPMENT_CANCEL),
    RetryCase(states.PARK_FAILED_SHIPMENT_CANCEL, COMPENSATING, "SQS.AmazonSQSException", 5, 2, None),
    RetryCase(
        states.ALERT_FAILED_SHIPMENT_CANCEL,
        COMPENSATING,
        "SNS.InternalErrorException",
        3,
        2,
        states.RELEASE_STOCK,
    ),
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
    # Not retried, but caught: the order is still recorded (rejected, naming the error)
    answer = teststate(states.VALIDATE_ORDER, {"detail": {}}, error=("ValidationCrashed", "a bug"))
    assert (answer["status"], answer["nextState"]) == ("CAUGHT_ERROR", states.IS_UNVALIDATED_ORDER_NAMED)
    assert "retryBackoffIntervalSeconds" not in answer["inspectionData"].get("errorDetails", {})


# -- ResultSelector and ResultPath ---------------------------------------------------------------------------


# Their ResultSelector and ResultPath are tested here.
RESULT_SELECTORS = {states.VALIDATE_ORDER, states.RESERVE_STOCK}
# Their ResultPath ("$", the error alone) is tested by the Validate Order catch test.
CAUGHT_WHOLE = {states.VALIDATE_ORDER}


def test_validate_order_replaces_the_event_with_its_verdict(teststate: StateTester) -> None:
    # The event can be nearly as large as a state may be: past validation, the state is the verdict alone.
    verdict = validated()["validation"]
    event = {"id": "evt-1", "detail-type": "OrderPlaced", "detail": {"orderId": ORDER_KEY, "pad": "x" * 1000}}
    answer = teststate(states.VALIDATE_ORDER, event, result=verdict)
    assert (answer["status"], answer["nextState"]) == ("SUCCEEDED", states.IS_ORDER_VALID)
    assert _json(answer["inspectionData"]["afterResultSelector"]) == {"validation": verdict}
    assert _output(answer) == {"validation": verdict}


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
    ResultPathCase(
        states.CANCEL_SHIPMENT,
        REFUNDING,
        {"status": "CANCELLED", "shipmentId": "shp-1"},
        "shipmentCancellation",
        states.RELEASE_STOCK,
    ),
    ResultPathCase(
        states.PARK_FAILED_SHIPMENT_CANCEL, COMPENSATING, SQS_SENT, None, states.ALERT_FAILED_SHIPMENT_CANCEL
    ),
    ResultPathCase(
        states.ALERT_FAILED_SHIPMENT_CANCEL, COMPENSATING, SNS_PUBLISHED, None, states.RELEASE_STOCK
    ),
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


DESCRIBED = {states.describe(milestone) for milestone in Milestone}


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


# -- every decision of the synthesized workflow has its test above -------------------------------------------


def _all_states(machine: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for name, state in machine["States"].items():
        found[name] = state
        for inner in (state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])):
            if inner:
                found.update(_all_states(inner))
    return found


def _takes(error_equals: list[str], error: str) -> bool:
    return (
        error in error_equals
        or "States.ALL" in error_equals
        or ("States.TaskFailed" in error_equals and not error.startswith("States."))
    )


def test_every_choice_rule_catcher_retrier_selector_and_result_path_is_tested() -> None:
    definition = json.loads(
        order_workflow_from_assembly(synthesized_app(), region=DEFAULT_REGION, account=DEFAULT_ACCOUNT_ID)[1]
    )
    untested = []
    for name, state in _all_states(definition).items():
        chosen = {rule["Next"] for rule in state.get("Choices", [])} | set(
            filter(None, [state.get("Default")])
        )
        untested += [f"{name} → {n}" for n in chosen - {c[2] for c in CHOICES if c[0] == name}]
        for index, retrier in enumerate(state.get("Retry", [])):
            earlier = state["Retry"][:index]
            if not any(
                case.state == name
                and _takes(retrier["ErrorEquals"], case.error)
                and not any(_takes(e["ErrorEquals"], case.error) for e in earlier)
                for case in RETRIES
            ):
                untested.append(f"{name}: Retry[{index}]")
        for index, _catcher in enumerate(state.get("Catch", [])):
            if name in CAUGHT_WHOLE:
                continue
            if not any(case.state == name and case.catch_index == index for case in CATCHES):
                untested.append(f"{name}: Catch[{index}]")
        if "ResultSelector" in state and name not in RESULT_SELECTORS:
            untested.append(f"{name}: ResultSelector")
        tested_paths = (
            {case.state for case in RESULT_PATHS} | DESCRIBED | RESULT_SELECTORS
        )  # (its test checks both)
        if "ResultPath" in state and name not in tested_paths:
            untested.append(f"{name}: ResultPath")
    assert untested == []
