"""``orderflow watch --once``: one frame of executions, queues and alarms."""

from __future__ import annotations

import argparse

import pytest

from infra.naming import Names
from localaws import watch
from localaws.runtime import LocalAws
from tests.console.test_api import finished, place

pytestmark = pytest.mark.slow


def test_watch_once_prints_executions_with_their_state_queues_and_alarms(
    orderflow_local: LocalAws,
    orderflow_names: Names,
    console_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an order that has gone through the workflow, and a terminal wide enough for whole names
    monkeypatch.setenv("COLUMNS", "200")
    order_id = place(console_url, "malformed")
    finished(console_url, order_id)
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
