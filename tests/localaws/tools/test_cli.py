"""The ``orderflow`` command line."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from localaws.local_aws import LocalAws
from localaws.tools import cli, orders
from services.shared.contract import EVENT_SOURCE, ORDER_PLACED
from tests.localaws.support import wait_for


def _wait(local: LocalAws, execution_arn: str) -> None:
    sfn = local.client("stepfunctions")
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _capture_order_placed(local: LocalAws, bus: str) -> str:
    """A queue that receives every OrderPlaced event on ``bus`` (what a downstream subscriber would see)."""
    sqs, events = local.client("sqs"), local.client("events")
    queue = sqs.create_queue(QueueName="cli-order-placed")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="cli-order-placed",
        EventBusName=bus,
        EventPattern=json.dumps({"source": [EVENT_SOURCE], "detail-type": [ORDER_PLACED]}),
    )
    events.put_targets(Rule="cli-order-placed", EventBusName=bus, Targets=[{"Id": "capture", "Arn": arn}])
    return str(queue)


def test_put_order_publishes_an_order_placed_event(
    local_aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the running local AWS with bus fixture-orders, and a queue capturing OrderPlaced on it
    inbox = _capture_order_placed(local_aws, "fixture-orders")

    # When a sample order is put
    status = cli.main(
        [
            "put-order",
            "--sample",
            "normal",
            "--bus",
            "fixture-orders",
            "--endpoint-url",
            local_aws.endpoint_url,
        ]
    )

    # Then it succeeds and prints the generated order id and the event id
    out = capsys.readouterr().out
    assert status == 0
    printed = re.search(r"order (ord-\S+) placed on fixture-orders: event id (\S+)", out)
    assert printed, out
    order_id, event_id = printed.groups()
    # And that very event is on the bus: an OrderPlaced from orderflow.orders, carrying the order
    sqs = local_aws.client("sqs")
    messages = wait_for(lambda: sqs.receive_message(QueueUrl=inbox, WaitTimeSeconds=1).get("Messages"))
    (event,) = [json.loads(message["Body"]) for message in messages]
    assert (event["id"], event["source"], event["detail-type"]) == (event_id, EVENT_SOURCE, ORDER_PLACED)
    assert event["detail"] == orders.sample("normal", order_id=order_id)


def test_put_order_from_a_file_keeps_its_order_id(
    local_aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an order file with an explicit orderId
    order = json.loads((orders.SAMPLES_DIR / "multi-sku.json").read_text()) | {"orderId": "order-from-file"}
    path = tmp_path / "order.json"
    path.write_text(json.dumps(order))

    # When it is put
    status = cli.main(
        ["put-order", str(path), "--bus", "fixture-orders", "--endpoint-url", local_aws.endpoint_url]
    )

    # Then the order id is the file's
    assert status == 0
    assert "order order-from-file" in capsys.readouterr().out


def test_put_order_without_an_order_fails_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    # Given / When: neither a file nor a sample
    status = cli.main(["put-order", "--sample", "no-such-sample"])

    # Then the error lists the samples
    assert status == 1
    assert "normal" in capsys.readouterr().err


def test_put_order_to_an_unreachable_endpoint_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    # Given / When: nothing listens on the endpoint
    status = cli.main(["put-order", "--sample", "normal", "--endpoint-url", "http://127.0.0.1:9"])

    # Then the user is told to start the local AWS
    assert status == 1
    assert "orderflow local up" in capsys.readouterr().err


def test_local_up_without_cdk_out_says_to_synth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given / When: no cloud assembly
    status = cli.main(["local", "up", "--cdk-out", str(tmp_path / "missing"), "--port", "0"])

    # Then the user is told to synthesize first
    assert status == 1
    assert "make synth" in capsys.readouterr().err


def test_executions_list_and_show(local_aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    # Given one declined execution of the fixture state machine
    machine = local_aws.report.of_type("AWS::StepFunctions::StateMachine")[0].physical_id
    started = local_aws.client("stepfunctions").start_execution(
        stateMachineArn=machine, name="cli-declined", input=json.dumps({"action": "decline"})
    )
    _wait(local_aws, started["executionArn"])

    # When executions are listed and the declined one is shown by name
    listed = cli.main(["executions", "list", "--endpoint-url", local_aws.endpoint_url])
    listing = capsys.readouterr().out
    shown = cli.main(["executions", "show", "cli-declined", "--endpoint-url", local_aws.endpoint_url])
    detail = capsys.readouterr().out

    # Then both succeed, and the path shows Charge failing and Declined taking over
    assert listed == 0 and shown == 0
    assert "cli-declined" in listing
    assert "Charge" in detail and "Declined" in detail
    assert "PaymentDeclinedError" in detail


def test_local_up_takes_a_wait_scale_and_refuses_one_that_is_not_a_positive_number(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given `orderflow local up` with --wait-scale
    # Then a positive number is taken as it is, and none is left to $ORDERFLOW_WAIT_SCALE
    assert cli.build_parser().parse_args(["local", "up", "--wait-scale", "0.01"]).wait_scale == 0.01
    assert cli.build_parser().parse_args(["local", "up"]).wait_scale is None
    # And 0 is refused, naming the option and what it expects
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["local", "up", "--wait-scale", "0"])
    assert "--wait-scale='0': expected a number greater than 0" in capsys.readouterr().err
