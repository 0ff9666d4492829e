"""The transitions the cost model counts per path equal what real executions enter on the embedded stack."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest

from localaws.stepfunctions.history import TERMINAL_STATUSES, execution_path, read_history
from localaws.tools import orders
from localaws.tools.cost.definition import load_stack
from localaws.tools.cost.transitions import path_named, walk_path
from tests.localaws.support import wait_for

if TYPE_CHECKING:
    from pathlib import Path

    from infra.naming import Names
    from localaws.local_aws import LocalAws

pytestmark = pytest.mark.slow


def _executions_for(local: LocalAws, event_ids: list[str]) -> list[dict[str, Any]]:
    sfn = local.client("stepfunctions")
    found = []
    for machine in sfn.list_state_machines()["stateMachines"]:
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine["stateMachineArn"]):
            for execution in page["executions"]:
                described = sfn.describe_execution(executionArn=execution["executionArn"])
                if json.loads(described.get("input") or "{}").get("id") in event_ids:
                    found.append(described)
    return found


def _finished(local: LocalAws, event_ids: list[str]) -> list[dict[str, Any]] | None:
    executions = _executions_for(local, event_ids)
    done = len(executions) == len(event_ids) and all(e["status"] in TERMINAL_STATUSES for e in executions)
    return sorted(executions, key=lambda e: e["startDate"]) if done else None


def _billed_transitions(local: LocalAws, execution_arn: str, status: str) -> tuple[int, list[str]]:
    """Every state entered, plus every retry: what Step Functions Standard bills, read from the history."""
    events = read_history(local.client("stepfunctions"), execution_arn)
    runs = execution_path(events, status).runs
    return len(runs) + sum(run.retries for run in runs), [run.name for run in runs]


@dataclass(frozen=True)
class Case:
    sample: str
    path: str
    items: int
    deliveries: int = 1


CASES = [
    Case("normal", "completed", 1),
    Case("multi-sku", "completed", 3),
    Case("declined", "declined", 1),
    Case("out-of-stock", "out_of_stock", 2),
    Case("malformed", "rejected", 1),
    Case("normal", "duplicate", 1, deliveries=2),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.path}-{c.sample}" for c in CASES])
def test_counted_transitions_equal_the_execution_history(
    orderflow_local: LocalAws, orderflow_names: Names, orderflow_assembly: Path, case: Case
) -> None:
    # Given a sample order of that path, posted (twice, for a duplicate) to the embedded stack
    detail = orders.sample(case.sample)
    assert len(detail.get("items", [])) == case.items or case.path == "rejected"
    events = orderflow_local.client("events")
    event_ids: list[str] = []
    executions: list[dict[str, Any]] = []
    for _ in range(case.deliveries):
        event_ids.append(orders.put_order(events, detail, orderflow_names("orders")))
        # The duplicate is the later execution: let the first one record the order before it starts.
        executions = wait_for(partial(_finished, orderflow_local, list(event_ids)), timeout=90, every=0.5)
    execution = executions[-1]

    # When the cost model walks the synthesized definition along that path
    walk = walk_path(load_stack(orderflow_assembly).definition, path_named(case.path), items=case.items)

    # Then it counts exactly the states the execution entered (and retried), in the same order
    billed, entered = _billed_transitions(orderflow_local, execution["executionArn"], execution["status"])
    assert (walk.transitions, walk.entered) == (billed, entered)
    assert walk.error == execution.get("error")
