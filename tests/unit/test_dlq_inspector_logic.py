from __future__ import annotations

import json
from typing import Any

import pytest

from services.dlq_inspector.logic import PEEK_LIMIT, alarmed_queue, diagnose, inspect_dead_letters
from services.dlq_inspector.models import DeadLetter
from services.dlq_inspector.rejections import EXECUTION_INPUT_MAX_BYTES
from services.orders.models import ValidationResult
from tests.helpers.events import load_event
from tests.helpers.templates import template_body
from tests.unit.fakes import FakeDeadLetterSource, RecordingReportPublisher


def alarm_message() -> dict[str, Any]:
    message: dict[str, Any] = json.loads(load_event("sns_dlq_alarm")["Records"][0]["Sns"]["Message"])
    return message


def letter(body: str, receive_count: int | None = 5) -> DeadLetter:
    return DeadLetter(messageId="m-1", body=body, receiveCount=receive_count)


def test_alarm_notification_names_the_queue() -> None:
    # Given a CloudWatch alarm notification on a DLQ metric
    # When it is read
    # Then the alarm and queue are found
    assert alarmed_queue(json.dumps(alarm_message())) == (
        "orderflow-payment-dlq-not-empty",
        "orderflow-payment-dlq",
    )


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        json.dumps({"kind": "dlq-report", "queue": "orderflow-payment-dlq"}),
        json.dumps(alarm_message() | {"NewStateValue": "OK"}),
        json.dumps(alarm_message() | {"Trigger": {"Dimensions": [{"name": "FunctionName", "value": "x"}]}}),
        json.dumps([1, 2]),
    ],
)
def test_other_messages_are_not_alarms(message: str) -> None:
    # Given a message that is not a DLQ alarm going into ALARM
    # When it is read
    # Then it is ignored
    assert alarmed_queue(message) is None


def test_unparseable_body_is_malformed_json() -> None:
    # Given a body that is not JSON
    # When diagnosed
    diagnosis = diagnose("orderflow-payment-dlq", letter("{not json"))
    # Then it is malformed and not worth retrying
    assert diagnosis.verdict == "malformed-json"
    assert diagnosis.retryable is False


def test_off_contract_request_names_the_fields() -> None:
    # Given a payment request without an amount and with a bad action
    body = template_body("sqs_payment_charge")
    del body["amount"]
    body["action"] = "steal"
    # When diagnosed
    diagnosis = diagnose("orderflow-payment-dlq", letter(json.dumps(body)))
    # Then it violates the PaymentRequest contract, naming both fields
    assert diagnosis.verdict == "contract-violation"
    assert "PaymentRequest" in diagnosis.detail
    assert "amount: Field required" in diagnosis.detail
    assert "action: Input should be 'charge' or 'refund'" in diagnosis.detail
    assert diagnosis.orderId == "ord-1001"


def test_valid_request_that_kept_failing_exhausted_its_retries() -> None:
    # Given a valid inventory request on the inventory DLQ, received 3 times
    body = template_body("sqs_inventory_reserve")
    # When diagnosed
    diagnosis = diagnose("orderflow-inventory-dlq.fifo", letter(json.dumps(body), receive_count=3))
    # Then it can be redriven once the cause is fixed
    assert diagnosis.verdict == "exhausted-retries"
    assert diagnosis.retryable is True
    assert diagnosis.detail == "valid InventoryRequest that kept failing after 3 receives"
    assert diagnosis.action == "reserve"


def test_compensation_queue_recognises_requests_by_action() -> None:
    # Given a refund request on the compensation DLQ (no service in its name)
    body = template_body("sqs_payment_charge") | {"action": "refund"}
    # When diagnosed
    diagnosis = diagnose("orderflow-compensation-dlq", letter(json.dumps(body)))
    # Then it is recognised as a valid PaymentRequest
    assert diagnosis.verdict == "exhausted-retries"
    assert "PaymentRequest" in diagnosis.detail


def test_stream_failure_record_exhausted_its_retries() -> None:
    # Given a Lambda on-failure destination record for a Kinesis batch
    body = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3},
        "KinesisBatchInfo": {"shardId": "shardId-000000000000", "batchSize": 2},
    }
    # When diagnosed
    diagnosis = diagnose("orderflow-analytics-failures", letter(json.dumps(body)))
    # Then
    assert diagnosis.verdict == "exhausted-retries"
    assert diagnosis.detail.startswith("RetryAttemptsExhausted: ")


def test_unrecognisable_json_is_unknown() -> None:
    # Given JSON orderflow never sends, on a queue without a known service
    # When diagnosed
    diagnosis = diagnose("orderflow-compensation-dlq", letter(json.dumps({"hello": "world"})))
    # Then
    assert diagnosis.verdict == "unknown"


def test_report_counts_verdicts_and_is_published_once() -> None:
    # Given a DLQ with one malformed and two valid messages
    valid = json.dumps(template_body("sqs_payment_charge"))
    source = FakeDeadLetterSource([letter("oops"), letter(valid), letter(valid)])
    publisher = RecordingReportPublisher()
    # When the queue is inspected
    report = inspect_dead_letters(
        queue_name="orderflow-payment-dlq", alarm_name="a", now="t", source=source, publisher=publisher
    )
    # Then one report with the verdict counts is published, having peeked at most 10 messages
    assert publisher.reports == [report]
    assert report.counts == {"malformed-json": 1, "exhausted-retries": 2}
    assert report.sampled == 3
    assert source.peeked == [("orderflow-payment-dlq", PEEK_LIMIT)]


def test_an_event_the_rule_could_not_deliver_is_diagnosed_with_the_rules_reason() -> None:
    # Given an OrderPlaced event EventBridge dead-lettered: StartExecution refused its input
    event = {
        "id": "evt-1",
        "detail-type": "OrderPlaced",
        "source": "orderflow.orders",
        "detail": {"orderId": "o-9"},
    }
    letter = DeadLetter(
        messageId="m-1",
        body=json.dumps(event),
        attributes={
            "ERROR_CODE": "INVALID_PARAMETER",
            "ERROR_MESSAGE": "Member must have length less than or equal to 262144",
            "TARGET_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-order-workflow",
        },
    )

    # When it is diagnosed
    diagnosis = diagnose("orderflow-order-events-dlq", letter)

    # Then the verdict names the order, the target and the reason, and says a redrive cannot help
    assert diagnosis.verdict == "undeliverable-event"
    assert diagnosis.orderId == "o-9"
    assert "INVALID_PARAMETER: Member must have length less than or equal to 262144" in diagnosis.detail
    assert "stateMachine:orderflow-order-workflow" in diagnosis.detail
    assert diagnosis.retryable is False


class RecordedRejections:
    def __init__(self) -> None:
        self.orders: dict[str, ValidationResult] = {}

    def record(self, result: ValidationResult, *, now: str) -> bool:
        return self.orders.setdefault(result.orderKey, result) is result


class RecordedRearms:
    def __init__(self) -> None:
        self.alarms: list[str] = []

    def rearm(self, alarm_name: str, reason: str) -> None:
        self.alarms.append(alarm_name)


def undeliverable(index: int, *, pad: int, code: str = "INVALID_PARAMETER") -> DeadLetter:
    event = {
        "id": f"evt-{index}",
        "detail-type": "OrderPlaced",
        "source": "orderflow.orders",
        "detail": {"orderId": f"o-{index}", "note": "x" * pad},
    }
    return DeadLetter(
        messageId=f"m-{index}",
        body=json.dumps(event),
        receiptHandle=f"r-{index}",
        attributes={
            "ERROR_CODE": code,
            "ERROR_MESSAGE": "Member must have length less than or equal to 262144",
        },
    )


def test_undeliverable_orders_are_recorded_as_rejected_and_taken_off_the_queue() -> None:
    # Given 12 oversized OrderPlaced events (more than one peek) and one that may still be delivered
    letters = [undeliverable(i, pad=EXECUTION_INPUT_MAX_BYTES) for i in range(12)]
    retryable = undeliverable(99, pad=10, code="THROTTLING")
    source = FakeDeadLetterSource([*letters, retryable])
    rejections, alarms = RecordedRejections(), RecordedRearms()

    # When the order-events DLQ's alarm is inspected
    report = inspect_dead_letters(
        queue_name="orderflow-order-events-dlq",
        alarm_name="orderflow-order-events-dlq-not-empty",
        now="t",
        source=source,
        publisher=RecordingReportPublisher(),
        rejections=rejections,
        alarms=alarms,
    )

    # Then each oversized order is recorded as rejected, naming the field, its size and the limit
    assert sorted(rejections.orders) == sorted(f"o-{i}" for i in range(12))
    reason = rejections.orders["o-0"].reason
    size = len(letters[0].body.encode())
    assert reason.startswith(f"detail: too large: the event is {size} bytes")
    assert f"over the {EXECUTION_INPUT_MAX_BYTES} bytes" in reason
    # And their letters are off the queue; the one a redrive may deliver stays, unrecorded
    assert source.letters == [retryable]
    assert report.counts == {"undeliverable-event": 13}
    assert sum(1 for d in report.messages if d.recordedAs == "REJECTED") == 12
    # And the alarm is not re-armed while a letter is left that would raise it again at once
    assert alarms.alarms == []


def test_the_alarm_is_rearmed_once_the_recorded_letters_emptied_the_queue() -> None:
    source = FakeDeadLetterSource([undeliverable(1, pad=EXECUTION_INPUT_MAX_BYTES)])
    rejections, alarms = RecordedRejections(), RecordedRearms()
    inspect_dead_letters(
        queue_name="q",
        alarm_name="q-not-empty",
        now="t",
        source=source,
        publisher=RecordingReportPublisher(),
        rejections=rejections,
        alarms=alarms,
    )
    assert list(rejections.orders) == ["o-1"]
    assert source.letters == []
    assert alarms.alarms == ["q-not-empty"]


def test_without_a_recorder_the_inspector_only_looks() -> None:
    source = FakeDeadLetterSource([undeliverable(1, pad=EXECUTION_INPUT_MAX_BYTES)])
    alarms = RecordedRearms()
    inspect_dead_letters(
        queue_name="q",
        alarm_name="a",
        now="t",
        source=source,
        publisher=RecordingReportPublisher(),
        alarms=alarms,
    )
    assert len(source.letters) == 1
    assert alarms.alarms == []
