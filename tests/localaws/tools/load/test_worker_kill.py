"""A Lambda worker killed in the middle of an invocation: the runtime replaces it, the queue redelivers the
message after its visibility timeout, and the order completes, charged once."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.naming import Names
from localaws.lambda_.runtime import InvocationStarted
from localaws.local_aws import LocalAws
from localaws.tools import orders
from localaws.tools.load.chaos import MIN_TIME_SCALE
from tests.localaws.support import wait_for


@pytest.fixture(scope="module")
def stack(orderflow_assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    # The load harness's time scale: the payment queue's 60 s of visibility pass in 30 s
    local = LocalAws(
        cdk_out=orderflow_assembly,
        port=0,
        run_dir=tmp_path_factory.mktemp("worker-kill"),
        time_scale=MIN_TIME_SCALE,
        watch_assembly=False,
    )
    local.start()
    try:
        orders.seed_catalogue(local.report)
        yield local
    finally:
        local.stop()


def test_a_killed_payment_worker_is_replaced_and_the_order_completes(
    stack: LocalAws, orderflow_names: Names
) -> None:
    # Given the first payment invocation's worker is SIGKILLed as the request reaches it
    payment = orderflow_names("payment")
    pids: list[int] = []
    killed: list[int] = []

    def kill_the_first(invocation: InvocationStarted) -> None:
        if invocation.function_name != payment:
            return
        pids.append(invocation.pid)
        if not killed:
            os.kill(invocation.pid, signal.SIGKILL)
            killed.append(invocation.pid)

    stack.invoker.invocation_listeners.append(kill_the_first)
    try:
        # When an order is placed
        detail = orders.sample("normal", order_id="kill-worker-1")
        orders.put_order(stack.client("events"), detail, orderflow_names("orders"))
        ddb = stack.client("dynamodb")

        def status() -> str | None:
            item = ddb.get_item(TableName=orderflow_names("orders"), Key={"orderId": {"S": "kill-worker-1"}})
            found = item.get("Item", {}).get("status", {}).get("S")
            return found if found in ("COMPLETED", "CANCELLED") else None

        # Then it completes: the charge came back after the visibility timeout, to a new worker
        assert wait_for(status, timeout=180) == "COMPLETED"
    finally:
        stack.invoker.invocation_listeners.remove(kill_the_first)
    assert killed
    assert any(pid != killed[0] for pid in pids[1:])
    charge = ddb.get_item(
        TableName=orderflow_names("payments"),
        Key={"orderId": {"S": "kill-worker-1"}, "entryId": {"S": "CHARGE"}},
    )["Item"]
    assert int(charge["attempt"]["N"]) >= 2  # recorded by a redelivery of the request
    # And the provider took the money once
    captures = ddb.query(
        TableName=orderflow_names("payment-provider"),
        KeyConditionExpression="orderId = :o",
        ExpressionAttributeValues={":o": {"S": "kill-worker-1"}},
    )["Items"]
    assert [c["kind"]["S"] for c in captures] == ["capture"]


def _order_status(stack: LocalAws, names: Names, order_id: str) -> dict[str, str] | None:
    item = (
        stack.client("dynamodb")
        .get_item(TableName=names("orders"), Key={"orderId": {"S": order_id}}, ConsistentRead=True)
        .get("Item")
    )
    if item is None or item["status"]["S"] not in ("COMPLETED", "CANCELLED", "REJECTED"):
        return None
    return {key: value["S"] for key, value in item.items() if "S" in value}


def _kill_validations(stack: LocalAws, names: Names, order_id: str, times: int) -> list[int]:
    """SIGKILL the orders function's worker as each of the first ``times`` validations of the order starts."""
    function = names("orders")
    killed: list[int] = []

    def kill(invocation: InvocationStarted) -> None:
        detail = invocation.event.get("detail") if isinstance(invocation.event, dict) else None
        if invocation.function_name != function or not isinstance(detail, dict):
            return
        if detail.get("orderId") == order_id and len(killed) < times:
            os.kill(invocation.pid, signal.SIGKILL)
            killed.append(invocation.pid)

    stack.invoker.invocation_listeners.append(kill)
    return killed


def test_a_killed_validation_is_retried_and_the_order_completes(
    stack: LocalAws, orderflow_names: Names
) -> None:
    # Given the orders function's worker is SIGKILLed as the order's first validation reaches it
    killed = _kill_validations(stack, orderflow_names, "kill-validate-1", times=1)
    try:
        # When the order is placed
        orders.put_order(
            stack.client("events"),
            orders.sample("normal", order_id="kill-validate-1"),
            orderflow_names("orders"),
        )
        record = wait_for(lambda: _order_status(stack, orderflow_names, "kill-validate-1"), timeout=180)
    finally:
        stack.invoker.invocation_listeners.pop()
    # Then Validate Order was retried after the crash, and the order completed
    assert killed
    assert record["status"] == "COMPLETED"
    sfn = stack.client("stepfunctions")
    history = sfn.get_execution_history(executionArn=record["executionArn"])["events"]
    failures = [
        e.get("taskFailedEventDetails") or e["lambdaFunctionFailedEventDetails"]
        for e in history
        if e["type"] in ("TaskFailed", "LambdaFunctionFailed")
    ]
    assert [f["error"] for f in failures] == ["Runtime.ExitError"]
    assert "Runtime exited with error: signal: killed" in failures[0]["cause"]


def test_an_order_whose_validation_always_crashes_is_recorded_rejected(
    stack: LocalAws, orderflow_names: Names
) -> None:
    # Given every validation of the order is killed (the first try and its three retries)
    killed = _kill_validations(stack, orderflow_names, "kill-validate-2", times=10)
    try:
        orders.put_order(
            stack.client("events"),
            orders.sample("normal", order_id="kill-validate-2"),
            orderflow_names("orders"),
        )
        record = wait_for(lambda: _order_status(stack, orderflow_names, "kill-validate-2"), timeout=180)
    finally:
        stack.invoker.invocation_listeners.pop()
    # Then once the retries ran out, the order is recorded as rejected with the reason: never lost
    assert len(killed) == 4
    assert record["status"] == "REJECTED"
    assert record["reason"] == (
        "detail: not validated: the orders function failed (Runtime.ExitError) on every attempt"
    )
    status = stack.client("stepfunctions").describe_execution(executionArn=record["executionArn"])
    assert (status["status"], status.get("error")) == ("FAILED", "OrderRejected")
