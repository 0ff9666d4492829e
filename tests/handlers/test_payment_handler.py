from __future__ import annotations

from typing import Any

import boto3
import pytest

from services.payment import handler as payment_handler
from services.payment.handler import handler
from services.payment.provider import DeterministicPaymentProvider
from tests.handlers.conftest import REGION, Cloud, Workflow
from tests.helpers.lambda_context import FakeLambdaContext
from tests.helpers.templates import template_body

QUEUE = "orderflow-payment"
TEMPLATE = "sqs_payment_charge"


def charge_body(
    token: str, card: str = "tok_visa", action: str = "charge", order_id: str = "ord-1001"
) -> dict[str, Any]:
    body = template_body(TEMPLATE)
    body.update(taskToken=token, action=action, orderId=order_id)
    body["payment"]["token"] = card
    return body


@pytest.fixture(autouse=True)
def provider(monkeypatch: pytest.MonkeyPatch) -> DeterministicPaymentProvider:
    """The provider the handler charges through, fresh for each test: its captures are the money taken.

    Every test gets one: the handler asks the provider for an order's capture before charging, so a capture
    left by an earlier test of the same order would answer for it.
    """
    fresh = DeterministicPaymentProvider()
    monkeypatch.setattr(payment_handler, "provider", fresh)
    return fresh


def forget_stored_answers() -> None:
    """Lose every stored idempotent answer, as when an invocation is killed before Powertools saves it."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for item in dynamodb.scan(TableName="orderflow-idempotency")["Items"]:
        dynamodb.delete_item(TableName="orderflow-idempotency", Key={"id": item["id"]})


def ledger_rows(order_id: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb", region_name=REGION).query(
        TableName="orderflow-payments",
        KeyConditionExpression="orderId = :o",
        ExpressionAttributeValues={":o": {"S": order_id}},
    )["Items"]


def test_approved_charge_answers_the_workflow_and_is_recorded_once(
    cloud: Cloud, workflow: Workflow, provider: DeterministicPaymentProvider
) -> None:
    # Given a workflow waiting for a payment
    waiting = workflow.start()
    event = cloud.deliver(QUEUE, TEMPLATE, [charge_body(waiting.token)])
    # When the payment handler processes the request
    response = handler(event, FakeLambdaContext())
    # Then the message is acknowledged and the workflow resumes with the captured payment
    assert response == {"batchItemFailures": []}
    outcome = workflow.outcome(waiting)
    assert outcome["status"] == "SUCCEEDED"
    assert outcome["output"]["status"] == "CAPTURED"
    assert outcome["output"]["amount"] == "24.98"
    assert outcome["output"]["currency"] == "EUR"
    assert outcome["output"]["paymentId"].startswith("pay_")
    # And the provider took the money once, and the ledger holds the charge, announced on the payment topic
    assert [c.payment_id for c in provider.captures("ord-1001")] == [outcome["output"]["paymentId"]]
    assert [row["entryId"]["S"] for row in ledger_rows("ord-1001")] == ["CHARGE"]
    published = cloud.published("payment-notifications")
    assert [message["MessageAttributes"]["event"]["Value"] for message in published] == ["captured"]


def test_redelivered_charge_does_not_charge_twice(
    cloud: Cloud, workflow: Workflow, provider: DeterministicPaymentProvider
) -> None:
    # Given an order already charged for one waiting step
    first = workflow.start()
    handler(cloud.deliver(QUEUE, TEMPLATE, [charge_body(first.token)]), FakeLambdaContext())
    first_payment = workflow.outcome(first)["output"]["paymentId"]
    cloud.published("payment-notifications")
    # When the same charge is requested again (a retried workflow step with a fresh token)
    second = workflow.start()
    response = handler(cloud.deliver(QUEUE, TEMPLATE, [charge_body(second.token)]), FakeLambdaContext())
    # Then the second step gets the original payment and nothing new is charged or announced
    assert response == {"batchItemFailures": []}
    assert workflow.outcome(second)["output"]["paymentId"] == first_payment
    assert len(provider.captures("ord-1001")) == 1
    assert len(ledger_rows("ord-1001")) == 1
    assert cloud.published("payment-notifications") == []


def test_charge_whose_stored_answer_was_lost_is_not_captured_again(
    cloud: Cloud, workflow: Workflow, provider: DeterministicPaymentProvider
) -> None:
    # Given an order charged, whose invocation was killed before its answer was stored (no replay left)
    first = workflow.start()
    handler(cloud.deliver(QUEUE, TEMPLATE, [charge_body(first.token)]), FakeLambdaContext())
    first_payment = workflow.outcome(first)["output"]["paymentId"]
    forget_stored_answers()
    # When the charge is requested again
    second = workflow.start()
    response = handler(cloud.deliver(QUEUE, TEMPLATE, [charge_body(second.token)]), FakeLambdaContext())
    # Then the ledger answers with the original payment, and the provider is not asked to capture again
    assert response == {"batchItemFailures": []}
    assert workflow.outcome(second)["output"]["paymentId"] == first_payment
    assert [c.payment_id for c in provider.captures("ord-1001")] == [first_payment]
    assert len(ledger_rows("ord-1001")) == 1


def test_declined_card_fails_the_task_and_acknowledges_the_message(cloud: Cloud, workflow: Workflow) -> None:
    # Given a workflow waiting for a payment with a declining card
    waiting = workflow.start()
    event = cloud.deliver(QUEUE, TEMPLATE, [charge_body(waiting.token, card="tok_decline")])
    # When the request is processed
    response = handler(event, FakeLambdaContext())
    # Then the workflow sees PaymentDeclined, and the message counts as processed
    assert response == {"batchItemFailures": []}
    assert workflow.outcome(waiting) == {"status": "FAILED", "error": "PaymentDeclined"}
    assert ledger_rows("ord-1001") == []


def test_redelivered_declined_charge_replays_the_decline(cloud: Cloud, workflow: Workflow) -> None:
    # Given an order whose charge was declined
    first = workflow.start()
    declining = [charge_body(first.token, card="tok_decline")]
    handler(cloud.deliver(QUEUE, TEMPLATE, declining), FakeLambdaContext())
    cloud.published("payment-notifications")
    # When the same charge is requested again with a fresh token
    second = workflow.start()
    redelivered = [charge_body(second.token, card="tok_decline")]
    response = handler(cloud.deliver(QUEUE, TEMPLATE, redelivered), FakeLambdaContext())
    # Then the stored answer fails the new task the same way, and no second decline is announced
    assert response == {"batchItemFailures": []}
    assert workflow.outcome(second) == {"status": "FAILED", "error": "PaymentDeclined"}
    assert cloud.published("payment-notifications") == []


def test_transient_failures_retry_with_backoff_until_approved(
    cloud: Cloud, workflow: Workflow, provider: DeterministicPaymentProvider
) -> None:
    # Given a charge whose provider fails transiently on the first two attempts
    waiting = workflow.start()
    event = cloud.deliver(QUEUE, TEMPLATE, [charge_body(waiting.token, card="tok_transient")])
    message_id = event["Records"][0]["messageId"]
    # When the first attempt is processed
    response = handler(event, FakeLambdaContext())
    # Then it is reported as a batch item failure and the workflow still waits
    assert response == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    assert workflow.outcome(waiting, wait=0)["status"] == "RUNNING"
    # And the message comes back after the short backoff (1 s), not the visibility timeout (30 s here):
    # receive gives up after 10 s, a third of that timeout, so receiving it at all is the proof
    retry = cloud.receive(QUEUE, 1, TEMPLATE)
    assert retry["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert handler(retry, FakeLambdaContext())["batchItemFailures"] == [{"itemIdentifier": message_id}]
    # When the third attempt arrives (after 2 s)
    third = cloud.receive(QUEUE, 1, TEMPLATE)
    assert third["Records"][0]["attributes"]["ApproximateReceiveCount"] == "3"
    # Then it is approved, captured once for the three attempts, and the ledger's charge says it took the
    # third delivery
    assert handler(third, FakeLambdaContext()) == {"batchItemFailures": []}
    assert workflow.outcome(waiting)["status"] == "SUCCEEDED"
    assert len(provider.captures("ord-1001")) == 1
    (charge,) = ledger_rows("ord-1001")
    assert charge["attempt"] == {"N": "3"}


def test_hanging_provider_sends_no_answer_but_acknowledges(cloud: Cloud, workflow: Workflow) -> None:
    # Given a charge the provider never answers
    waiting = workflow.start()
    event = cloud.deliver(QUEUE, TEMPLATE, [charge_body(waiting.token, card="tok_hang")])
    # When it is processed
    response = handler(event, FakeLambdaContext())
    # Then the message is acknowledged and the workflow is left to its heartbeat timeout
    assert response == {"batchItemFailures": []}
    assert workflow.outcome(waiting, wait=0.5)["status"] == "RUNNING"


def test_poison_message_fails_alone_in_its_batch(cloud: Cloud, workflow: Workflow) -> None:
    # Given a batch with a valid request and a body that is not JSON
    waiting = workflow.start()
    event = cloud.deliver(QUEUE, TEMPLATE, [charge_body(waiting.token), "{this is not json"])
    poison = next(r["messageId"] for r in event["Records"] if r["body"].startswith("{this"))
    # When the batch is processed
    response = handler(event, FakeLambdaContext())
    # Then only the poison message is reported failed; the valid one went through
    assert response == {"batchItemFailures": [{"itemIdentifier": poison}]}
    assert workflow.outcome(waiting)["status"] == "SUCCEEDED"


def test_refund_returns_the_captured_charge(cloud: Cloud, workflow: Workflow) -> None:
    # Given a captured order
    charged = workflow.start()
    handler(cloud.deliver(QUEUE, TEMPLATE, [charge_body(charged.token)]), FakeLambdaContext())
    payment_id = workflow.outcome(charged)["output"]["paymentId"]
    # When the workflow compensates with a refund
    refunding = workflow.start()
    response = handler(
        cloud.deliver(QUEUE, TEMPLATE, [charge_body(refunding.token, action="refund")]), FakeLambdaContext()
    )
    # Then the refund answers with the charged amount and is in the ledger
    assert response == {"batchItemFailures": []}
    output = workflow.outcome(refunding)["output"]
    assert output["status"] == "REFUNDED"
    assert output["amount"] == "24.98"
    assert output["refundId"].startswith("re_")
    assert payment_id != output["refundId"]
    assert sorted(row["entryId"]["S"] for row in ledger_rows("ord-1001")) == ["CHARGE", "REFUND"]


def test_refund_of_an_uncharged_order_has_nothing_to_refund(cloud: Cloud, workflow: Workflow) -> None:
    # Given an order that was never charged
    waiting = workflow.start()
    event = cloud.deliver(QUEUE, TEMPLATE, [charge_body(waiting.token, action="refund", order_id="ord-2")])
    # When a refund is requested
    handler(event, FakeLambdaContext())
    # Then
    assert workflow.outcome(waiting)["output"] == {
        "refundId": None,
        "status": "NOTHING_TO_REFUND",
        "amount": "0.00",
    }


def test_a_charge_after_the_refund_of_an_uncharged_order_takes_nothing(
    cloud: Cloud, workflow: Workflow, provider: DeterministicPaymentProvider
) -> None:
    # Given an order the workflow compensated before its charge was processed (the refund found nothing)
    refunding = workflow.start()
    handler(
        cloud.deliver(QUEUE, TEMPLATE, [charge_body(refunding.token, action="refund")]), FakeLambdaContext()
    )
    assert [row["entryId"]["S"] for row in ledger_rows("ord-1001")] == ["VOID"]
    # When the late charge is processed (a step still waiting for it, to see the answer)
    charging = workflow.start()
    handler(cloud.deliver(QUEUE, TEMPLATE, [charge_body(charging.token)]), FakeLambdaContext())
    # Then it is declined and nothing is taken
    assert workflow.outcome(charging)["status"] == "FAILED"
    assert provider.captures("ord-1001") == []
    assert [row["entryId"]["S"] for row in ledger_rows("ord-1001")] == ["VOID"]


def test_request_whose_task_no_longer_waits_is_dropped(cloud: Cloud) -> None:
    # Given a request carrying a token no execution waits for (timed out, or answered long ago)
    event = cloud.deliver(QUEUE, TEMPLATE, [template_body(TEMPLATE)])
    # When the request is processed
    response = handler(event, FakeLambdaContext())
    # Then the heartbeat reveals it, and the message is acknowledged without charging
    assert response == {"batchItemFailures": []}
    assert ledger_rows("ord-1001") == []


# A token whose task has ended (Step Functions answers TaskDoesNotExist / InvalidToken to its heartbeat).
CLOSED_TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAc0FrGJ1yfOdLhP5YlqrsJ2c7ENZjVeh"


def test_a_refund_the_workflow_stopped_waiting_for_is_still_made(cloud: Cloud, workflow: Workflow) -> None:
    # Given a captured order, and a refund request that waited in the queue past its heartbeat
    charged = workflow.start()
    handler(cloud.deliver(QUEUE, TEMPLATE, [charge_body(charged.token)]), FakeLambdaContext())
    assert not payment_handler.callbacks.heartbeat(CLOSED_TOKEN)
    # When the request is handled at last
    response = handler(
        cloud.deliver(QUEUE, TEMPLATE, [charge_body(CLOSED_TOKEN, action="refund")]), FakeLambdaContext()
    )
    # Then the money goes back all the same: the order is being cancelled either way
    assert response == {"batchItemFailures": []}
    assert sorted(row["entryId"]["S"] for row in ledger_rows("ord-1001")) == ["CHARGE", "REFUND"]


def test_a_charge_the_workflow_stopped_waiting_for_takes_nothing(cloud: Cloud) -> None:
    response = handler(cloud.deliver(QUEUE, TEMPLATE, [charge_body(CLOSED_TOKEN)]), FakeLambdaContext())
    assert response == {"batchItemFailures": []}
    assert ledger_rows("ord-1001") == []
