"""``orderflow watch --once``: one frame of executions, queues and alarms."""

from __future__ import annotations

import argparse
import json

import pytest

from infra.naming import Names
from localaws.local_aws import LocalAws
from localaws.stepfunctions.history import TERMINAL_STATUSES
from localaws.tools import orders, watch
from tests.localaws.support import wait_for

pytestmark = pytest.mark.slow


def test_watch_once_prints_executions_with_their_state_queues_and_alarms(
    orderflow_local: LocalAws,
    orderflow_names: Names,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an order that has gone through the workflow, and a terminal wide enough for whole names
    monkeypatch.setenv("COLUMNS", "200")
    detail = orders.sample("malformed")
    order_id = detail["orderId"]
    orders.put_order(orderflow_local.client("events"), detail, orderflow_names("orders"))
    wait_for(lambda: _finished(orderflow_local, order_id), timeout=60, every=0.5)
    parser = argparse.ArgumentParser()
    watch.add_arguments(parser)

    # When `orderflow watch --once` runs against the endpoint
    status = watch.main(
        parser.parse_args(["--once", "--endpoint-url", orderflow_local.endpoint_url, "--max", "50"])
    )
    frame = capsys.readouterr().out

    # Then the frame shows the order with the state it ended in, the queues with their DLQs, and the alarms
    assert status == 0
    line = next(line for line in frame.splitlines() if order_id in line)
    assert "FAILED" in line and "Order Rejected" in line
    payment_line = next(line for line in frame.splitlines() if f" {orderflow_names('payment')} " in line)
    assert orderflow_names.dlq("payment") in payment_line
    assert orderflow_names("payment-dlq-not-empty") in frame
    assert orderflow_names("console-notifications") not in frame


def test_watch_explains_an_endpoint_that_does_not_answer(capsys: pytest.CaptureFixture[str]) -> None:
    # Given no endpoint on a port
    parser = argparse.ArgumentParser()
    watch.add_arguments(parser)

    # When watch runs against it
    status = watch.main(parser.parse_args(["--once", "--endpoint-url", "http://127.0.0.1:9"]))

    # Then it fails with a hint instead of a traceback
    assert status == 1
    assert "orderflow local up" in capsys.readouterr().err


def _finished(local: LocalAws, order_id: str) -> bool:
    """Whether the execution that took ``order_id`` has ended."""
    sfn = local.client("stepfunctions")
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if json.loads(described["input"]).get("detail", {}).get("orderId") == order_id:
                return described["status"] in TERMINAL_STATUSES
    return False
