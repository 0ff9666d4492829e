"""``run_once`` on the handlers' moto account: what the services' idempotency records keep apart."""

from __future__ import annotations

from pydantic import BaseModel

from services.shared.idempotency import run_once
from tests.handlers.conftest import Cloud


class Answer(BaseModel):
    said_by: str


def answer_once(key_prefix: str, said_by: str) -> Answer:
    return run_once(
        lambda: Answer(said_by=said_by),
        answer_type=Answer,
        table_name="orderflow-idempotency",
        key_prefix=key_prefix,
        key={"orderId": "ord-1"},
        expires_after_seconds=3600,
    )


def test_the_same_key_under_another_prefix_is_another_operation(cloud: Cloud) -> None:
    # Given a charge of an order, already answered once
    assert answer_once("charge", "charge").said_by == "charge"
    # When a refund of the same order runs once, with the same business key under its own prefix
    refund = answer_once("refund", "refund")
    # Then the refund did its own work instead of replaying the charge's answer
    assert refund.said_by == "refund"


def test_the_same_key_under_the_same_prefix_replays_the_first_answer(cloud: Cloud) -> None:
    # Given an operation already answered once for an order
    answer_once("charge", "first")
    # When it is asked again for the same order
    again = answer_once("charge", "second")
    # Then the stored first answer comes back, and the work did not run again
    assert again.said_by == "first"
