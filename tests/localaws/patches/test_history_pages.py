"""Paged Step Functions reads on the embedded engine: GetExecutionHistory (corrected) and the list APIs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localaws.endpoint.defaults import MOTO_CONFIG
from localaws.patches import corrections, speedups

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/states"
PASS_STATES = 60  # 2 events each, plus ExecutionStarted and ExecutionSucceeded: 122 events, over one page


def sfn() -> Any:
    return cast(Any, boto3).client("stepfunctions", region_name=REGION)


@pytest.fixture
def engine() -> Iterator[Any]:
    with mock_aws(config=MOTO_CONFIG):
        speedups.install()
        corrections.CORRECTIONS.install()
        try:
            yield sfn()
        finally:
            corrections.CORRECTIONS.uninstall()
            speedups.uninstall()


def _machine(client: Any, name: str = "chain") -> str:
    states: dict[str, Any] = {
        f"Step {i}": {"Type": "Pass", **({"Next": f"Step {i + 1}"} if i < PASS_STATES else {"End": True})}
        for i in range(1, PASS_STATES + 1)
    }
    definition = json.dumps({"StartAt": "Step 1", "States": states})
    return str(client.create_state_machine(name=name, definition=definition, roleArn=ROLE)["stateMachineArn"])


def _finished(client: Any, machine: str, name: str = "run") -> str:
    arn = str(client.start_execution(stateMachineArn=machine, name=name, input="{}")["executionArn"])
    deadline = time.monotonic() + 30
    while client.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.05)
    return arn


@pytest.fixture
def execution(engine: Any) -> str:
    return _finished(engine, _machine(engine))


def _all_pages(client: Any, **kwargs: Any) -> list[list[dict[str, Any]]]:
    pages = []
    token = None
    while True:
        page = client.get_execution_history(**kwargs, **({"nextToken": token} if token else {}))
        pages.append(page["events"])
        token = page.get("nextToken")
        if not token:
            return pages


def test_the_last_events_in_reverse_are_the_newest_first(engine: Any, execution: str) -> None:
    # Given a finished execution of 122 events
    # When the last 4 are asked for, newest first
    page = engine.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=4)

    # Then exactly those come, ending event first, with a token for the rest
    assert [e["id"] for e in page["events"]] == [122, 121, 120, 119]
    assert page["events"][0]["type"] == "ExecutionSucceeded"
    assert page["nextToken"]


def test_without_max_results_a_page_holds_100_events(engine: Any, execution: str) -> None:
    # Given / When the history is read with no maxResults
    first = engine.get_execution_history(executionArn=execution)
    second = engine.get_execution_history(executionArn=execution, nextToken=first["nextToken"])

    # Then the first page holds AWS's default of 100, and the token brings the other 22
    assert [e["id"] for e in first["events"]] == list(range(1, 101))
    assert [e["id"] for e in second["events"]] == list(range(101, 123))
    assert "nextToken" not in second


@pytest.mark.parametrize("reverse", [False, True], ids=["oldest first", "newest first"])
def test_pages_joined_give_every_event_once_in_order(engine: Any, execution: str, reverse: bool) -> None:
    # Given the whole history in one page
    whole = engine.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    assert "nextToken" not in engine.get_execution_history(executionArn=execution, maxResults=1000)

    # When it is read 7 events at a time
    pages = _all_pages(engine, executionArn=execution, maxResults=7, reverseOrder=reverse)

    # Then every page is full but the last, and together they are the history, in the order asked for
    assert [len(page) for page in pages] == [7] * 17 + [3]
    joined = [event for page in pages for event in page]
    assert joined == (list(reversed(whole)) if reverse else whole)


def test_the_botocore_paginator_reads_the_whole_history(engine: Any, execution: str) -> None:
    # Given / When the paginator the tools use reads the history 10 at a time
    paginator = engine.get_paginator("get_execution_history")
    pages = list(paginator.paginate(executionArn=execution, PaginationConfig={"PageSize": 10}))

    # Then it took 13 pages and lost nothing
    assert len(pages) == 13
    assert [e["id"] for page in pages for e in page["events"]] == list(range(1, 123))


def test_a_token_of_another_reading_is_refused(engine: Any) -> None:
    # Given two executions and a forward token of the first
    machine = _machine(engine)
    first, second = _finished(engine, machine, "first"), _finished(engine, machine, "second")
    token = engine.get_execution_history(executionArn=first, maxResults=2)["nextToken"]

    # When the token is used for the other execution, the other order, or is not a token at all
    # Then each is refused as InvalidToken
    for kwargs in (
        {"executionArn": second, "nextToken": token},
        {"executionArn": first, "nextToken": token, "reverseOrder": True},
        {"executionArn": first, "nextToken": "not-a-token"},
    ):
        with pytest.raises(ClientError) as refused:
            engine.get_execution_history(maxResults=2, **kwargs)
        assert refused.value.response["Error"]["Code"] == "InvalidToken", kwargs


@pytest.mark.parametrize(
    ("operation", "kwargs", "key"),
    [
        ("list_state_machines", {}, "stateMachines"),
        ("list_executions", {"stateMachineArn": None}, "executions"),
        ("list_activities", {}, "activities"),
    ],
)
def test_the_list_apis_the_console_and_cli_use_page_with_tokens(
    engine: Any, operation: str, kwargs: dict[str, Any], key: str
) -> None:
    # Given three of each: state machines, executions of one of them, activities
    machines = [_machine(engine, f"chain-{i}") for i in range(3)]
    for i in range(3):
        _finished(engine, machines[0], f"run-{i}")
        engine.create_activity(name=f"activity-{i}")
    if "stateMachineArn" in kwargs:
        kwargs = {"stateMachineArn": machines[0]}

    # When listed one at a time, following nextToken
    seen: list[dict[str, Any]] = []
    token = None
    for _ in range(4):
        page = getattr(engine, operation)(maxResults=1, **kwargs, **({"nextToken": token} if token else {}))
        assert len(page[key]) == 1
        seen.extend(page[key])
        token = page.get("nextToken")
        if token is None:
            break

    # Then the three came on three pages, each once
    assert token is None
    assert len({json.dumps(item, default=str, sort_keys=True) for item in seen}) == 3
