"""speedups.task_threads: states run on kept workers, with moto's timeouts, histories and no starvation."""

from __future__ import annotations

import contextvars
import json
import re
import threading
from typing import Any

import pytest
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.state.exec import execute_state

from localaws.endpoint.defaults import MOTO_CONFIG
from localaws.patches import speedups
from localaws.patches.speedups import task_threads
from tests.localaws.patches.test_speedups import ROLE, normalized_history, stock_and_ours, wait_terminal
from tests.localaws.support import moto_client as client

REGION = "us-east-1"


pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test


def _queue() -> None:
    client("sqs").create_queue(QueueName="q")


# A task that finishes, then one that waits for a token nobody sends and times out into a Catch.
TIMEOUT_CAUGHT = {
    "StartAt": "Send",
    "States": {
        "Send": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {
                "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                "MessageBody.$": "$",
            },
            "ResultPath": "$.sent",
            "ResultSelector": {"ok": True},
            "Next": "Wait for token",
        },
        "Wait for token": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {
                "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                "MessageBody": {"token.$": "$$.Task.Token"},
            },
            "TimeoutSeconds": 1,
            "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "Timed out"}],
            "End": True,
        },
        "Timed out": {"Type": "Pass", "End": True},
    },
}


def _without_body_md5(results: list[Any]) -> list[Any]:
    return json.loads(re.sub(r'MD5OfMessageBody\\+": \\+"[0-9a-f]{32}', "MD5", json.dumps(results)))


def test_a_state_past_its_timeout_fails_and_is_caught_as_on_stock_moto() -> None:
    # Given a task that completes and a task that times out, on stock moto and with the speed-ups
    stock, ours = stock_and_ours(TIMEOUT_CAUGHT, [{"orderId": "o-1"}, {"orderId": "o-2"}], setup=_queue)

    # Then the same statuses, outputs and histories (but the MD5 of a body that holds a random task token),
    # the timeout caught as States.Timeout
    assert _without_body_md5(ours) == _without_body_md5(stock)
    for status, output, _ in ours:
        assert status == "SUCCEEDED"
        assert output["sent"] == {"ok": True} and output["error"]["Error"] == "States.Timeout"


def test_states_reuse_workers_and_a_blocked_state_never_starves_another() -> None:
    speedups.install(["task_threads"])
    assert execute_state.Thread is task_threads._pooled_thread
    with mock_aws(config=MOTO_CONFIG):
        sqs_url = client("sqs").create_queue(QueueName="q")["QueueUrl"]
        sfn = client("stepfunctions")
        waiting = sfn.create_state_machine(
            name="waiting",
            roleArn=ROLE,
            definition=json.dumps(
                {
                    "StartAt": "Wait for token",
                    "States": {
                        "Wait for token": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                            "Parameters": {"QueueUrl": sqs_url, "MessageBody": {"token.$": "$$.Task.Token"}},
                            "End": True,
                        }
                    },
                }
            ),
        )["stateMachineArn"]
        quick = sfn.create_state_machine(
            name="quick",
            roleArn=ROLE,
            definition=json.dumps(
                {
                    "StartAt": "Send",
                    "States": {
                        "Send": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::sqs:sendMessage",
                            "Parameters": {"QueueUrl": sqs_url, "MessageBody.$": "$"},
                            "ResultSelector": {"id.$": "$.MessageId"},
                            "End": True,
                        }
                    },
                }
            ),
        )["stateMachineArn"]

        # Given a few quick executions, one after the other: their states share kept workers
        started_before = task_threads.workers.started
        for n in range(4):
            arn = sfn.start_execution(stateMachineArn=quick, name=f"q-{n}", input="{}")["executionArn"]
            assert wait_terminal(arn)["status"] == "SUCCEEDED"
        assert task_threads.workers.started - started_before <= 2

        # When eight executions hold their workers waiting for tokens, and a quick one starts
        blocked = [
            sfn.start_execution(stateMachineArn=waiting, name=f"w-{n}", input="{}")["executionArn"]
            for n in range(8)
        ]
        quick_arn = sfn.start_execution(stateMachineArn=quick, name="q-after", input="{}")["executionArn"]

        # Then the quick one finishes while they wait, and each waiting one resumes with its token's output
        assert wait_terminal(quick_arn, timeout_s=20)["status"] == "SUCCEEDED"
        tokens: list[str] = []
        while len(tokens) < 8:
            for message in (
                client("sqs").receive_message(QueueUrl=sqs_url, MaxNumberOfMessages=10).get("Messages", [])
            ):
                body = json.loads(message["Body"])
                if "token" in body:
                    tokens.append(body["token"])
        for n, token in enumerate(tokens):
            sfn.send_task_success(taskToken=token, output=json.dumps({"answer": n}))
        answers = sorted(json.loads(wait_terminal(arn, timeout_s=20)["output"])["answer"] for arn in blocked)
        assert answers == list(range(8))
        assert normalized_history(blocked[0])[-1]["type"] == "ExecutionSucceeded"


def test_a_pooled_thread_behaves_as_a_thread_for_its_callers() -> None:
    # Given the stand-in, as execute_state calls it, and a context variable set on this thread
    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="fresh")
    marker.set("caller's")
    seen: list[tuple[str, str]] = []
    release = threading.Event()

    def target() -> None:
        release.wait(5)
        seen.append((marker.get(), threading.current_thread().name))

    thread = task_threads._pooled_thread(target=target, daemon=True)

    # When it starts, runs and is joined
    thread.start()
    alive_while_running = thread.is_alive()
    release.set()
    thread.join(5)

    # Then it ran once, in a fresh context on a named worker, and reports its life as a Thread does
    assert alive_while_running and not thread.is_alive()
    assert seen == [("fresh", seen[0][1])] and seen[0][1].endswith("(_exec_and_notify)")
    with pytest.raises(RuntimeError, match="only be started once"):
        thread.start()
    # and any other use gets a real thread
    assert isinstance(task_threads._pooled_thread(target=target), threading.Thread)
    assert isinstance(task_threads._pooled_thread(target=target, daemon=True, name="x"), threading.Thread)
