"""``run_once`` on the handlers' moto account: what the services' idempotency records keep apart."""

from __future__ import annotations

import time

import boto3
from pydantic import BaseModel

from services.shared.idempotency import run_once
from tests.handlers.conftest import REGION, Cloud


class Answer(BaseModel):
    said_by: str


def answer_once(key_prefix: str, said_by: str, *, expires_after_seconds: int = 3600) -> Answer:
    return run_once(
        lambda: Answer(said_by=said_by),
        answer_type=Answer,
        table_name="orderflow-idempotency",
        key_prefix=key_prefix,
        key={"orderId": "ord-1"},
        expires_after_seconds=expires_after_seconds,
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


def test_each_operation_keeps_its_own_expiry_on_a_shared_table(cloud: Cloud) -> None:
    # Given a charge answered with records kept an hour, on the table every operation shares
    answer_once("charge", "charge", expires_after_seconds=3600)
    # When a refund is answered with records kept a minute
    before = int(time.time())
    answer_once("refund", "refund", expires_after_seconds=60)
    after = int(time.time())
    # Then the refund's record expires a minute after it was written, not an hour (Powertools configures a
    # persistence layer once, so a layer shared by both would keep the charge's setting)
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName="orderflow-idempotency")["Items"]
    (refund,) = [item for item in items if item["id"]["S"].startswith("refund#")]
    assert before + 60 <= int(refund["expiration"]["N"]) <= after + 61
