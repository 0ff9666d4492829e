"""Every case of the bad-input corpus through the contract parser and the orders function: a verdict with
the field and the reason, never an exception, and small enough to be carried and recorded."""

from __future__ import annotations

import json

import pytest

from services.orders.handler import handler
from services.orders.logic import RAW_DETAIL_MAX_BYTES, STATE_LIMIT_BYTES, validate_order
from tests.helpers.bad_events import BadCase, case_ids, execution_input_size, load_bad_cases
from tests.helpers.lambda_context import FakeLambdaContext

CASES = load_bad_cases()
EVENT_ID = "5b1e3c1e-0d7c-4a51-9f1e-6f1f3c0d2a10"


def test_the_corpus_covers_at_least_forty_cases() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_the_contract_gives_each_case_its_verdict(case: BadCase) -> None:
    # Given a case of the corpus, as the workflow hands it to the orders function
    event = {
        "id": EVENT_ID,
        "detail-type": "OrderPlaced",
        "source": "orderflow.orders",
        "detail": case.detail,
    }

    # When the orders function validates it
    answer = handler(event, FakeLambdaContext())

    # Then the verdict is the expected one, naming the field and the reason
    if case.accepted:
        assert answer["valid"] is True, answer["reasons"]
    else:
        assert answer["valid"] is False
        field, reason = answer["reasons"][0].split(": ", 1)
        assert field == case.expect["field"], answer["reasons"]
        assert case.expect["reason"] in reason, answer["reasons"]
        assert answer["reason"].startswith(answer["reasons"][0])
    # And it is the parser's own verdict
    assert answer == validate_order(EVENT_ID, case.detail).to_output()


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_each_verdict_can_travel_through_the_workflow_and_be_recorded(case: BadCase) -> None:
    # Given the verdict on a case
    answer = validate_order(EVENT_ID, case.detail).to_output()

    # When it is written as the workflow's state (UTF-8 JSON)
    state = json.dumps({"validation": answer}, ensure_ascii=False).encode("utf-8")

    # Then it fits in a state with room to spare, and a rejected detail is kept only up to its cap
    assert len(state) < STATE_LIMIT_BYTES // 2
    if not case.accepted:
        assert len(answer["rawDetail"].encode()) <= RAW_DETAIL_MAX_BYTES + 200


def test_the_size_recipes_land_where_they_say() -> None:
    by_name = {case.name: case for case in CASES}
    entry = by_name["entry-at-256kb"].entry("bus")
    assert len(entry["Source"]) + len(entry["DetailType"]) + len(entry["Detail"].encode()) == 262_144
    assert execution_input_size(by_name["execution-input-just-fits"].detail) == 261_900
