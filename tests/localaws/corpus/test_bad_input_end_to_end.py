"""The bad-input corpus through the real path: PutEvents on the embedded stack, the rule, the workflow, the
orders function, the orders table. Each case must end where its verdict says, with the field and the
reason recorded, and no execution may die of a size limit (``States.DataLimitExceeded``) without a record.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.naming import Names
from localaws.local_aws import LocalAws
from localaws.patches import limits
from services.orders.logic import validate_order
from tests.helpers.bad_events import BadCase, load_bad_cases
from workflows import states

CASES = {case.name: case for case in load_bad_cases()}
DEADLINE_SECONDS = 180


def _door(case: BadCase, kind: str) -> str | None:
    return (case.door or {}).get(kind)


def _batches(cases: list[BadCase], bus: str) -> list[list[BadCase]]:
    """Cases grouped as PutEvents takes their entries: at most 10, at most 1 MB together."""
    batches: list[list[BadCase]] = [[]]
    size = 0
    for case in cases:
        entry_size = limits.put_events_entry_size(case.entry(bus))
        full = len(batches[-1]) == limits.PUT_EVENTS_MAX_ENTRIES
        if full or size + entry_size > limits.PUT_EVENTS_MAX_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(case)
        size += entry_size
    return [batch for batch in batches if batch]


def _put_all(events: Any, bus: str) -> dict[str, str]:
    """Put every case on the bus; each refused one must be refused as its door says. Event ids by case."""
    event_ids: dict[str, str] = {}
    for case in CASES.values():
        if _door(case, "request_error"):
            with pytest.raises(ClientError) as caught:
                events.put_events(Entries=[case.entry(bus)])
            assert caught.value.response["Error"]["Code"] == _door(case, "request_error"), case.name
    posted = [case for case in CASES.values() if not _door(case, "request_error")]
    for batch in _batches(posted, bus):
        answer = events.put_events(Entries=[case.entry(bus) for case in batch])
        for case, result in zip(batch, answer["Entries"], strict=True):
            assert result.get("ErrorCode") == _door(case, "entry_error"), (case.name, result)
            if "EventId" in result:
                event_ids[case.name] = result["EventId"]
    return event_ids


def _wait_for_records(local: LocalAws, names: Names, event_ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each posted case's order record, by case: written by the workflow, or for an event that could never
    reach it (dead-lettered), by the DLQ inspector that the queue's alarm wakes."""
    dynamodb = local.client("dynamodb")
    keys = {
        name: validate_order(event_id, CASES[name].detail).orderKey for name, event_id in event_ids.items()
    }
    records: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline and set(records) != set(event_ids):
        for name in set(event_ids) - set(records):
            key = {"orderId": {"S": keys[name]}}
            item = dynamodb.get_item(TableName=names("orders"), Key=key, ConsistentRead=True).get("Item")
            if item is not None:
                records[name] = item
        time.sleep(0.5)
    assert set(records) == set(event_ids), f"no record for {sorted(set(event_ids) - set(records))}"
    return records


def _executions_by_event_id(stepfunctions: Any, names: Names) -> dict[str, dict[str, Any]]:
    machine = next(
        m["stateMachineArn"]
        for m in stepfunctions.list_state_machines()["stateMachines"]
        if m["name"] == names("order-workflow")
    )
    return {
        execution["name"].split("_", 1)[0]: execution
        for page in stepfunctions.get_paginator("list_executions").paginate(stateMachineArn=machine)
        for execution in page["executions"]
    }


def _ended(stepfunctions: Any, execution_arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        described: dict[str, Any] = stepfunctions.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.25)


def test_every_corpus_case_ends_as_its_verdict_says(
    orderflow_local: LocalAws, orderflow_names: Names
) -> None:
    # Given the corpus, when each case is put on the bus as a producer posts an order
    event_ids = _put_all(orderflow_local.client("events"), orderflow_names("orders"))

    # Then each is recorded in the orders table with its verdict
    records = _wait_for_records(orderflow_local, orderflow_names, event_ids)
    for name, item in records.items():
        case = CASES[name]
        if case.accepted:
            assert item["status"]["S"] != "REJECTED", (name, item.get("reason"))
            continue
        assert item["status"]["S"] == "REJECTED", name
        reasons = item["reason"]["S"].split("; ")
        if _door(case, "dead_letter"):
            # An event too large to start the workflow (dead-lettered, under PutEvents' 1 MB): the DLQ
            # inspector recorded it, naming its size and the limit, then what the contract says of it
            size_reason = reasons.pop(0)
            assert size_reason.startswith("detail: too large: the event is "), (name, size_reason)
            assert "over the 262144 bytes Step Functions accepts" in size_reason, (name, size_reason)
            assert item["orderId"]["S"] == case.detail["orderId"], name
        field, reason = reasons[0].split(": ", 1)
        assert (field, case.expect["field"]) == (case.expect["field"], field), (name, reason)
        assert case.expect["reason"] in reason, (name, reason)
    # And the dead letters the inspector recorded are off the queue (the bus archive keeps the events)
    sqs = orderflow_local.client("sqs")
    dlq = sqs.get_queue_url(QueueName=orderflow_names("order-events-dlq"))["QueueUrl"]
    left = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    assert {json.loads(m["Body"])["id"] for m in left}.isdisjoint(event_ids.values())

    # And every rejected order's execution ended as a rejection: none died of a size limit
    stepfunctions = orderflow_local.client("stepfunctions")
    executions = _executions_by_event_id(stepfunctions, orderflow_names)
    for name in records:
        if not CASES[name].accepted and not _door(CASES[name], "dead_letter"):
            described = _ended(stepfunctions, executions[event_ids[name]]["executionArn"])
            assert (described["status"], described.get("error")) == ("FAILED", states.ORDER_REJECTED_ERROR), (
                name
            )
    assert not {event_ids[name] for name in event_ids if _door(CASES[name], "dead_letter")} & set(executions)
